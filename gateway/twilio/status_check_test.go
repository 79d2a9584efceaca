package twilio_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
)

// TestSenderCheckStatus fetches a text's current status from the fake
// carrier, whose callbacks are dropped: only asking tells Parley.
func TestSenderCheckStatus(t *testing.T) {
	const unreachable, unsubscribed = "+14155550111", "+14155550112"
	c := twiliotest.New(twiliotest.Config{Accounts: map[string]string{testAccount: testToken},
		StatusCallbacks: true, DropStatusCallbacks: true, UndeliverableNumbers: map[string]int{unreachable: 30003, unsubscribed: 21610}})
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	t.Cleanup(c.Close)
	s := newTestSender(t, srv.URL)
	send := func(to string) string {
		t.Helper()
		tx := text()
		tx.To = to
		res, err := s.Send(context.Background(), tx)
		if err != nil {
			t.Fatal(err)
		}
		return res.CarrierMessageID
	}
	delivered, undelivered, optedOut := send(text().To), send(unreachable), send(unsubscribed)
	final := func(sid string) bool {
		for _, m := range c.Messages() {
			if m.Sid == sid {
				return m.Status == "delivered" || m.Status == "undelivered"
			}
		}
		return false
	}
	for deadline := time.Now().Add(5 * time.Second); !final(delivered) || !final(undelivered) || !final(optedOut); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the fake carrier never settled its texts")
		}
	}

	// A reconciliation's lookup finds the carrier's code too.
	tx := text()
	tx.To = unreachable
	found, ok, err := s.Lookup(context.Background(), tx, time.Now().Add(-time.Minute))
	if err != nil || !ok || found.CarrierMessageID != undelivered || found.Status != "undelivered" || found.ErrorCode != 30003 {
		t.Errorf("Lookup = %+v, %v, %v; want %s undelivered with code 30003", found, ok, err, undelivered)
	}

	// Only Twilio's 21610 says the recipient unsubscribed.
	tx.To = unsubscribed
	if found, ok, err := s.Lookup(context.Background(), tx, time.Now().Add(-time.Minute)); err != nil || !ok || !found.Unsubscribed {
		t.Errorf("Lookup = %+v, %v, %v; want %s unsubscribed", found, ok, err, optedOut)
	}

	code, unsub := 30003, 21610
	for _, tt := range []struct {
		name string
		sid  string
		want campaigns.CarrierStatus
	}{
		{"delivered", delivered, campaigns.CarrierStatus{Status: conversations.MessageDelivered}},
		{"undelivered, with the carrier's code", undelivered, campaigns.CarrierStatus{Status: conversations.MessageUndelivered, ErrorCode: &code}},
		{"undelivered, unsubscribed", optedOut, campaigns.CarrierStatus{Status: conversations.MessageUndelivered, ErrorCode: &unsub, Unsubscribed: true}},
	} {
		got, err := s.CheckStatus(context.Background(), text(), tt.sid)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got.Status != tt.want.Status || (got.ErrorCode == nil) != (tt.want.ErrorCode == nil) || got.Unsubscribed != tt.want.Unsubscribed ||
			(got.ErrorCode != nil && *got.ErrorCode != *tt.want.ErrorCode) {
			t.Errorf("%s: CheckStatus = %+v, want %+v", tt.name, got, tt.want)
		}
	}

	// What the carrier will never answer is not asked again.
	wrongToken := text()
	wrongToken.AuthToken = "ffffffffffffffffffffffffffffffff"
	for _, tt := range []struct {
		name string
		text campaigns.OutboundText
		sid  string
		http int
	}{
		{"unknown sid", text(), "SM00000000000000000000000000000000", http.StatusNotFound},
		{"wrong credentials", wrongToken, delivered, http.StatusUnauthorized},
		{"not a sid", text(), "../Messages", 0},
	} {
		_, err := s.CheckStatus(context.Background(), tt.text, tt.sid)
		var se *campaigns.SendError
		if !errors.As(err, &se) || se.Temporary || se.HTTPStatus != tt.http {
			t.Errorf("%s: CheckStatus error %v; want a permanent refusal with HTTP %d", tt.name, err, tt.http)
		}
	}
}

// TestSenderCheckStatusUnreachable: a carrier that cannot be reached is
// asked again later.
func TestSenderCheckStatusUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>Bad Gateway</html>", http.StatusBadGateway)
	}))
	defer srv.Close()
	_, err := newTestSender(t, srv.URL).CheckStatus(context.Background(), text(), sentSid)
	var se *campaigns.SendError
	if !errors.As(err, &se) || !se.Temporary {
		t.Errorf("CheckStatus error %v; want a temporary one", err)
	}
}
