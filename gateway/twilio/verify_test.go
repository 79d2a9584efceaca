package twilio_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
)

const (
	otherAccount = "ACbeefbeefbeefbeefbeefbeefbeefbeef"
	otherToken   = "fedcba9876543210fedcba9876543210"
	ownNumber    = "+14155550199"
	otherNumber  = "+14155550299"
	ownService   = "MGfeedfacefeedfacefeedfacefeedface"
	otherService = "MGbeefbeefbeefbeefbeefbeefbeefbeef"
)

// TestVerifyChannel asks the fake carrier, as Parley asks Twilio, whether
// a channel's credentials own its number and messaging service.
func TestVerifyChannel(t *testing.T) {
	c := twiliotest.New(twiliotest.Config{
		Accounts: map[string]string{testAccount: testToken, otherAccount: otherToken},
		Owns:     map[string][]string{testAccount: {ownNumber, ownService}, otherAccount: {otherNumber, otherService}},
	})
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	t.Cleanup(c.Close)
	s := newTestSender(t, srv.URL)
	channel := func(edit func(*conversations.Channel)) conversations.Channel {
		ch := conversations.Channel{Carrier: conversations.CarrierTwilio, CarrierAccountID: testAccount, AuthToken: testToken, PhoneNumber: ownNumber}
		edit(&ch)
		return ch
	}
	tests := []struct {
		name    string
		channel conversations.Channel
		code    string // "" for verified
	}{
		{"its number", channel(func(*conversations.Channel) {}), ""},
		{"its service", channel(func(c *conversations.Channel) { c.PhoneNumber, c.MessagingServiceSID = "", ownService }), ""},
		{"its service and number", channel(func(c *conversations.Channel) { c.MessagingServiceSID = ownService }), ""},
		{"a wrong token", channel(func(c *conversations.Channel) { c.AuthToken = otherToken }), conversations.CodeCarrierCredentialsInvalid},
		{"a token twilio-go will not send", channel(func(c *conversations.Channel) { c.AuthToken = "not a token" }), conversations.CodeCarrierCredentialsInvalid},
		{"another account's token", channel(func(c *conversations.Channel) { c.CarrierAccountID = otherAccount }), conversations.CodeCarrierCredentialsInvalid},
		{"another account's number", channel(func(c *conversations.Channel) { c.PhoneNumber = otherNumber }), conversations.CodeNumberNotOnCarrierAccount},
		{"another account's service", channel(func(c *conversations.Channel) { c.PhoneNumber, c.MessagingServiceSID = "", otherService }),
			conversations.CodeServiceNotOnCarrierAccount},
		{"its number in another account's service", channel(func(c *conversations.Channel) { c.MessagingServiceSID = otherService }),
			conversations.CodeServiceNotOnCarrierAccount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.VerifyChannel(context.Background(), tt.channel)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("VerifyChannel = %v; want verified", err)
				}
				return
			}
			var pe *parley.Error
			if !errors.As(err, &pe) || pe.Kind != parley.EINVALID || pe.Code != tt.code {
				t.Fatalf("VerifyChannel = %v; want EINVALID %s", err, tt.code)
			}
		})
	}
}

// Both calls go through the base URL, messaging.twilio.com's too, with
// the channel's credentials.
func TestVerifyChannelRequests(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != testAccount || pass != testToken {
			t.Errorf("%s without the channel's credentials", r.URL.Path)
		}
		paths = append(paths, r.URL.Path+"?"+r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.URL.Path, "IncomingPhoneNumbers") {
			w.Write([]byte(`{"incoming_phone_numbers": [{"phone_number": "+14155550199"}], "next_page_uri": null}`))
			return
		}
		w.Write([]byte(`{"sid": "` + ownService + `", "account_sid": "` + testAccount + `"}`))
	}))
	t.Cleanup(srv.Close)
	ch := conversations.Channel{CarrierAccountID: testAccount, AuthToken: testToken, PhoneNumber: ownNumber, MessagingServiceSID: ownService}
	if err := newTestSender(t, srv.URL+"/twilio").VerifyChannel(context.Background(), ch); err != nil {
		t.Fatalf("VerifyChannel: %v", err)
	}
	want := []string{"/twilio/2010-04-01/Accounts/" + testAccount + "/IncomingPhoneNumbers.json?PageSize=50&PhoneNumber=%2B14155550199",
		"/twilio/v1/Services/" + ownService + "?"}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
}

// A carrier that cannot be asked is no answer: 502, never "invalid".
func TestVerifyChannelCarrierUnavailable(t *testing.T) {
	refused := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return "http://" + l.Addr().String()
	}
	failing := func(status int) func(t *testing.T) string {
		return func(t *testing.T) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "<html>down</html>", status)
			}))
			t.Cleanup(srv.Close)
			return srv.URL
		}
	}
	for name, base := range map[string]func(t *testing.T) string{
		"connection refused": refused, "a proxy's 502": failing(http.StatusBadGateway), "rate limited": failing(http.StatusTooManyRequests),
	} {
		t.Run(name, func(t *testing.T) {
			ch := conversations.Channel{CarrierAccountID: testAccount, AuthToken: testToken, PhoneNumber: ownNumber}
			err := newTestSender(t, base(t)).VerifyChannel(context.Background(), ch)
			if !parley.IsKind(err, parley.EUPSTREAM) {
				t.Fatalf("VerifyChannel = %v; want EUPSTREAM", err)
			}
		})
	}
}
