package twilio_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/gateway/twilio"
	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
)

// Fake credentials must be alphanumeric, or twilio-go refuses them locally.
const (
	testAccount = "ACfeedfacefeedfacefeedfacefeedface"
	testToken   = "0123456789abcdef0123456789abcdef"
	sentSid     = "SMdeadbeefdeadbeefdeadbeefdeadbeef"
)

// fakeTwilio plays Twilio's Messages create endpoint. It checks what every
// call must carry and records the form of each.
type fakeTwilio struct {
	t      *testing.T
	status int
	body   string // the answer

	mu    sync.Mutex
	forms []url.Values
}

// messageJSON is Twilio's answer to a created message
// (twilio-go rest/api/v2010/model_api_v2010_message.go).
func messageJSON(sid, status, numSegments string) string {
	return fmt.Sprintf(`{
  "account_sid": %[4]q, "api_version": "2010-04-01", "body": "Your table is ready",
  "date_created": "Mon, 17 Aug 2026 14:32:10 +0000", "date_sent": null,
  "date_updated": "Mon, 17 Aug 2026 14:32:10 +0000", "direction": "outbound-api",
  "error_code": null, "error_message": null, "from": "+14155550199",
  "messaging_service_sid": null, "num_media": "0", "num_segments": %[3]q,
  "price": null, "price_unit": "USD", "sid": %[1]q, "status": %[2]q,
  "subresource_uris": {"media": "/2010-04-01/Accounts/%[4]s/Messages/%[1]s/Media.json"},
  "to": "+14155550100", "uri": "/2010-04-01/Accounts/%[4]s/Messages/%[1]s.json"
}`, sid, status, numSegments, testAccount)
}

// errorJSON is Twilio's error body (twilio-go client/error.go).
func errorJSON(status, code int, message string) string {
	return fmt.Sprintf(`{"code": %d, "message": %q, "more_info": "https://www.twilio.com/docs/errors/%d", "status": %d}`,
		code, message, code, status)
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	want := "/2010-04-01/Accounts/" + testAccount + "/Messages.json"
	if r.Method != http.MethodPost || r.URL.Path != want {
		f.t.Errorf("request %s %s, want POST %s", r.Method, r.URL.Path, want)
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != testAccount || pass != testToken {
		f.t.Errorf("basic auth = %q, %q, %v; want the channel's credentials", user, pass, ok)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		f.t.Errorf("Content-Type = %q", ct)
	}
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("form: %v", err)
	}
	f.mu.Lock()
	f.forms = append(f.forms, r.PostForm)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	fmt.Fprint(w, f.body)
}

func (f *fakeTwilio) lastForm() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.forms) == 0 {
		return nil
	}
	return f.forms[len(f.forms)-1]
}

func newTestSender(t *testing.T, baseURL string) *twilio.Sender {
	t.Helper()
	s, err := twilio.NewSender(baseURL, 2*time.Second)
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	return s
}

func text() campaigns.OutboundText {
	return campaigns.OutboundText{
		MessageID:         42,
		CarrierAccountID:  testAccount,
		AuthToken:         testToken,
		From:              "+14155550199",
		To:                "+14155550100",
		Body:              "Your table is ready",
		StatusCallbackURL: "https://parley.example.com/webhooks/twilio/status",
	}
}

func TestSenderSend(t *testing.T) {
	viaService := text()
	viaService.From = ""
	viaService.MessagingServiceSID = serviceSid
	mms := text()
	mms.MediaURLs = []string{"https://cdn.example.com/a.jpg", "https://cdn.example.com/b.png"}
	noCallback := text()
	noCallback.StatusCallbackURL = ""

	tests := []struct {
		name     string
		text     campaigns.OutboundText
		status   int
		answer   string
		want     campaigns.SendResult
		wantSent url.Values
	}{
		{name: "from a number", text: text(), status: 201, answer: messageJSON(sentSid, "queued", "1"),
			want: campaigns.SendResult{CarrierMessageID: sentSid, Status: "queued", Segments: 1},
			wantSent: url.Values{"To": {"+14155550100"}, "From": {"+14155550199"}, "Body": {"Your table is ready"},
				"StatusCallback": {"https://parley.example.com/webhooks/twilio/status"}}},
		{name: "via a messaging service", text: viaService, status: 201, answer: messageJSON(sentSid, "accepted", "2"),
			want: campaigns.SendResult{CarrierMessageID: sentSid, Status: "queued", Segments: 2}, // Parley's word for it
			wantSent: url.Values{"To": {"+14155550100"}, "MessagingServiceSid": {serviceSid}, "Body": {"Your table is ready"},
				"StatusCallback": {"https://parley.example.com/webhooks/twilio/status"}}},
		{name: "with media", text: mms, status: 201, answer: messageJSON(sentSid, "queued", "1"),
			want: campaigns.SendResult{CarrierMessageID: sentSid, Status: "queued", Segments: 1},
			wantSent: url.Values{"To": {"+14155550100"}, "From": {"+14155550199"}, "Body": {"Your table is ready"},
				"MediaUrl":       {"https://cdn.example.com/a.jpg", "https://cdn.example.com/b.png"},
				"StatusCallback": {"https://parley.example.com/webhooks/twilio/status"}}},
		{name: "no status callback", text: noCallback, status: 201, answer: messageJSON(sentSid, "queued", "1"),
			want:     campaigns.SendResult{CarrierMessageID: sentSid, Status: "queued", Segments: 1},
			wantSent: url.Values{"To": {"+14155550100"}, "From": {"+14155550199"}, "Body": {"Your table is ready"}}},
		{name: "segments not given", text: text(), status: 201, answer: `{"sid": "` + sentSid + `", "status": "queued"}`,
			want: campaigns.SendResult{CarrierMessageID: sentSid, Status: "queued"},
			wantSent: url.Values{"To": {"+14155550100"}, "From": {"+14155550199"}, "Body": {"Your table is ready"},
				"StatusCallback": {"https://parley.example.com/webhooks/twilio/status"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeTwilio{t: t, status: tt.status, body: tt.answer}
			srv := httptest.NewServer(fake)
			defer srv.Close()

			got, err := newTestSender(t, srv.URL).Send(context.Background(), tt.text)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if got != tt.want {
				t.Errorf("Send = %+v, want %+v", got, tt.want)
			}
			sent := fake.lastForm()
			for k, v := range tt.wantSent {
				if !slices.Equal(sent[k], v) {
					t.Errorf("sent %s = %q, want %q", k, sent[k], v)
				}
			}
			for k := range sent {
				if _, ok := tt.wantSent[k]; !ok {
					t.Errorf("sent unexpected %s = %q", k, sent[k])
				}
			}
		})
	}
}

func TestSenderRefusals(t *testing.T) {
	tests := []struct {
		name   string
		status int
		answer string
		want   campaigns.SendError
	}{
		{name: "unsubscribed recipient", status: 400, answer: errorJSON(400, 21610, "Attempt to send to unsubscribed recipient"),
			want: campaigns.SendError{HTTPStatus: 400, Code: 21610, Message: "Attempt to send to unsubscribed recipient", Unsubscribed: true}},
		{name: "bad credentials", status: 401, answer: errorJSON(401, 20003, "Authenticate"),
			want: campaigns.SendError{HTTPStatus: 401, Code: 20003, Message: "Authenticate"}},
		{name: "too many requests", status: 429, answer: errorJSON(429, 20429, "Too Many Requests"),
			want: campaigns.SendError{HTTPStatus: 429, Code: 20429, Message: "Too Many Requests", Temporary: true}},
		{name: "Twilio is down", status: 500, answer: errorJSON(500, 20500, "Internal Server Error"),
			want: campaigns.SendError{HTTPStatus: 500, Code: 20500, Message: "Internal Server Error", Temporary: true}},
		{name: "error body without status", status: 503, answer: `{"code": 20503, "message": "Service Unavailable"}`,
			want: campaigns.SendError{HTTPStatus: 503, Code: 20503, Message: "Service Unavailable", Temporary: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&fakeTwilio{t: t, status: tt.status, body: tt.answer})
			defer srv.Close()

			_, err := newTestSender(t, srv.URL).Send(context.Background(), text())
			var se *campaigns.SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send error = %v, want a *campaigns.SendError", err)
			}
			if *se != tt.want {
				t.Errorf("SendError = %+v, want %+v", *se, tt.want)
			}
		})
	}
}

// TestSenderTransportFailures covers answers that are not Twilio's: they
// must be temporary unless Twilio had already taken the text.
func TestSenderTransportFailures(t *testing.T) {
	refused := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}
	serve := func(h http.HandlerFunc) func(t *testing.T) string {
		return func(t *testing.T) string {
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			return srv.URL
		}
	}

	tests := []struct {
		name          string
		base          func(t *testing.T) string
		wantTemporary bool
		wantStatus    int
	}{
		{name: "connection refused", base: refused, wantTemporary: true},
		{name: "proxy error page", base: serve(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "<html>Bad Gateway</html>", http.StatusBadGateway)
		}), wantTemporary: true, wantStatus: 502},
		{name: "wrong base URL", base: serve(http.NotFound), wantTemporary: false, wantStatus: 404},
		{name: "accepted but unreadable", base: serve(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"sid": "SM`)
		}), wantTemporary: false, wantStatus: 201},
		{name: "accepted without a sid", base: serve(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"status": "queued"}`)
		}), wantTemporary: false, wantStatus: 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newTestSender(t, tt.base(t)).Send(context.Background(), text())
			var se *campaigns.SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send error = %v, want a *campaigns.SendError", err)
			}
			if se.Temporary != tt.wantTemporary || se.HTTPStatus != tt.wantStatus {
				t.Errorf("SendError = %+v, want Temporary %v, HTTPStatus %d", *se, tt.wantTemporary, tt.wantStatus)
			}
		})
	}
}

func TestSenderMissingCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a text without credentials reached Twilio")
	}))
	defer srv.Close()
	tx := text()
	tx.AuthToken = ""
	_, err := newTestSender(t, srv.URL).Send(context.Background(), tx)
	var se *campaigns.SendError
	if !errors.As(err, &se) || se.Temporary {
		t.Errorf("Send error = %v, want a final *campaigns.SendError", err)
	}
}

// TestSenderCancellation checks that a hung Twilio cannot hold a send
// beyond the caller's context or the Sender's timeout.
func TestSenderCancellation(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	t.Run("caller cancels", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := newTestSender(t, srv.URL).Send(ctx, text())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Send error = %v, want one wrapping context.Canceled", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Send returned after %v", d)
		}
	})
	t.Run("sender timeout", func(t *testing.T) {
		s, err := twilio.NewSender(srv.URL, 150*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = s.Send(context.Background(), text())
		var se *campaigns.SendError
		if !errors.As(err, &se) || !se.Temporary {
			t.Errorf("Send error = %v, want a temporary *campaigns.SendError", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Send returned after %v", d)
		}
	})
}

func TestNewSenderBaseURL(t *testing.T) {
	t.Run("path prefix", func(t *testing.T) {
		var gotPath string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gotPath = r.URL.Path
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, messageJSON(sentSid, "queued", "1"))
		}))
		defer srv.Close()
		if _, err := newTestSender(t, srv.URL+"/twilio/").Send(context.Background(), text()); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if want := "/twilio/2010-04-01/Accounts/" + testAccount + "/Messages.json"; gotPath != want {
			t.Errorf("path = %q, want %q", gotPath, want)
		}
	})
	for _, bad := range []string{"127.0.0.1:8090", "ftp://127.0.0.1", "http://", "http://h/?x=1", "://"} {
		t.Run("rejects "+bad, func(t *testing.T) {
			if _, err := twilio.NewSender(bad, time.Second); err == nil {
				t.Errorf("NewSender(%q) accepted it", bad)
			}
		})
	}
	t.Run("rejects a negative timeout", func(t *testing.T) {
		if _, err := twilio.NewSender("", -time.Second); err == nil {
			t.Error("NewSender accepted a negative timeout")
		}
	})
}

// startFakeCarrier serves the fake carrier with the test account.
func startFakeCarrier(t *testing.T) string {
	t.Helper()
	c := twiliotest.New(twiliotest.Config{Accounts: map[string]string{testAccount: testToken}})
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	t.Cleanup(c.Close)
	return srv.URL
}

// TestSenderLookup finds texts the fake carrier accepted, through its
// Messages list, and tells them from their neighbours.
func TestSenderLookup(t *testing.T) {
	viaService := text()
	viaService.From, viaService.MessagingServiceSID = "", serviceSid
	with := func(edit func(*campaigns.OutboundText)) campaigns.OutboundText {
		tx := text()
		edit(&tx)
		return tx
	}
	otherBody := with(func(tx *campaigns.OutboundText) { tx.Body = "Your order shipped" })
	otherFrom := with(func(tx *campaigns.OutboundText) { tx.From = "+14155550198" })
	otherTo := with(func(tx *campaigns.OutboundText) { tx.To = "+14155550101" })
	otherService := viaService
	otherService.MessagingServiceSID = "MG" + strings.Repeat("0", 32)

	tests := []struct {
		name      string
		carrier   []campaigns.OutboundText // sent first, oldest first
		lookup    campaigns.OutboundText
		since     time.Duration // from just before the sends
		wantIndex int           // which sent text Lookup finds; -1 for none
	}{
		{name: "the text the carrier accepted", carrier: []campaigns.OutboundText{text()}, lookup: text(), wantIndex: 0},
		{name: "nothing sent", lookup: text(), wantIndex: -1},
		{name: "another text to the same number is not it", carrier: []campaigns.OutboundText{otherBody}, lookup: text(), wantIndex: -1},
		{name: "the same text from another number is not it", carrier: []campaigns.OutboundText{otherFrom}, lookup: text(), wantIndex: -1},
		{name: "the same text to another number is not it", carrier: []campaigns.OutboundText{otherTo}, lookup: text(), wantIndex: -1},
		{name: "found among other texts to the number", carrier: []campaigns.OutboundText{otherBody, text(), otherFrom, otherBody}, lookup: text(), wantIndex: 1},
		{name: "the newest of identical texts", carrier: []campaigns.OutboundText{text(), otherBody, text()}, lookup: text(), wantIndex: 2},
		{name: "created before since is not it", carrier: []campaigns.OutboundText{text()}, lookup: text(), since: 2 * time.Second, wantIndex: -1},
		{name: "since on an earlier day", carrier: []campaigns.OutboundText{text()}, lookup: text(), since: -36 * time.Hour, wantIndex: 0},
		{name: "through a messaging service", carrier: []campaigns.OutboundText{text(), viaService}, lookup: viaService, wantIndex: 1},
		{name: "through another messaging service is not it", carrier: []campaigns.OutboundText{otherService}, lookup: viaService, wantIndex: -1},
		{name: "from the number is not the service's", carrier: []campaigns.OutboundText{text()}, lookup: viaService, wantIndex: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSender(t, startFakeCarrier(t))
			// The fake's times, like Twilio's, are whole seconds.
			start := time.Now().Truncate(time.Second)
			var sids []string
			for _, tx := range tt.carrier {
				res, err := s.Send(context.Background(), tx)
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				sids = append(sids, res.CarrierMessageID)
			}
			got, found, err := s.Lookup(context.Background(), tt.lookup, start.Add(tt.since))
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if tt.wantIndex < 0 {
				if found {
					t.Errorf("Lookup found %+v; want none", got)
				}
				return
			}
			if !found || got.CarrierMessageID != sids[tt.wantIndex] {
				t.Fatalf("Lookup = %+v, %v; want %s (sent %v)", got, found, sids[tt.wantIndex], sids)
			}
			if got.Status == "" || got.Segments != 1 {
				t.Errorf("Lookup = %+v; want the carrier's status and segments", got)
			}
		})
	}
}

// TestSenderLookupPages follows the list past its first page, and refuses
// to answer "not found" when its bound cut the window short.
func TestSenderLookupPages(t *testing.T) {
	sendAll := func(t *testing.T, s *twilio.Sender, n int, body string) {
		t.Helper()
		tx := text()
		for i := range n {
			tx.Body = fmt.Sprintf("%s %d", body, i)
			if _, err := s.Send(context.Background(), tx); err != nil {
				t.Fatalf("Send: %v", err)
			}
		}
	}
	t.Run("found on a later page", func(t *testing.T) {
		s := newTestSender(t, startFakeCarrier(t))
		start := time.Now().Truncate(time.Second)
		want, err := s.Send(context.Background(), text())
		if err != nil {
			t.Fatal(err)
		}
		sendAll(t, s, 120, "Reminder") // newer: the text is on page three
		got, found, err := s.Lookup(context.Background(), text(), start)
		if err != nil || !found || got.CarrierMessageID != want.CarrierMessageID {
			t.Fatalf("Lookup = %+v, %v, %v; want %s", got, found, err, want.CarrierMessageID)
		}
	})
	t.Run("window not searched to its start", func(t *testing.T) {
		s := newTestSender(t, startFakeCarrier(t))
		start := time.Now().Truncate(time.Second)
		if _, err := s.Send(context.Background(), text()); err != nil {
			t.Fatal(err)
		}
		sendAll(t, s, 250, "Reminder")
		if got, found, err := s.Lookup(context.Background(), text(), start); err == nil {
			t.Fatalf("Lookup = %+v, %v, nil; want an error: the window has more texts than it reads", got, found)
		}
	})
}

// TestSenderLookupRequest checks what Lookup asks Twilio for, and that a
// list it cannot get or read is an error, never "not found".
func TestSenderLookupRequest(t *testing.T) {
	// messageJSON's text was created at 14:32:10 UTC; the time filter
	// itself is tested against the fake carrier above.
	since := time.Date(2026, 8, 17, 14, 0, 0, 0, time.UTC)
	page := func(messages ...string) string {
		return `{"messages": [` + strings.Join(messages, ",") + `], "next_page_uri": null, "page": 0, "page_size": 50, "start": 0, "end": 0}`
	}
	viaService := text()
	viaService.From, viaService.MessagingServiceSID = "", serviceSid

	tests := []struct {
		name      string
		text      campaigns.OutboundText
		status    int
		answer    string
		wantQuery url.Values
		wantFound bool
		wantErr   bool
	}{
		{name: "from a number", text: text(), status: 200, answer: page(messageJSON(sentSid, "delivered", "1")),
			wantQuery: url.Values{"To": {"+14155550100"}, "From": {"+14155550199"}, "DateSent>": {"2026-08-17T00:00:00Z"}, "PageSize": {"50"}},
			wantFound: true},
		{name: "through a messaging service", text: viaService, status: 200, answer: page(messageJSON(sentSid, "delivered", "1")),
			wantQuery: url.Values{"To": {"+14155550100"}, "DateSent>": {"2026-08-17T00:00:00Z"}, "PageSize": {"50"}}},
		{name: "an inbound text is not it", text: text(), status: 200,
			answer: page(strings.Replace(messageJSON(sentSid, "received", "1"), "outbound-api", "inbound", 1))},
		{name: "unreadable date_created", text: text(), status: 200,
			answer: page(strings.Replace(messageJSON(sentSid, "delivered", "1"), "Mon, 17 Aug 2026 14:32:10 +0000", "yesterday", 1)), wantErr: true},
		{name: "Twilio is down", text: text(), status: 503, answer: errorJSON(503, 20503, "Service Unavailable"), wantErr: true},
		{name: "bad credentials", text: text(), status: 401, answer: errorJSON(401, 20003, "Authenticate"), wantErr: true},
		{name: "not Twilio's answer", text: text(), status: 200, answer: `<html>`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var query url.Values
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if want := "/2010-04-01/Accounts/" + testAccount + "/Messages.json"; r.Method != http.MethodGet || r.URL.Path != want {
					t.Errorf("request %s %s, want GET %s", r.Method, r.URL.Path, want)
				}
				if user, pass, ok := r.BasicAuth(); !ok || user != testAccount || pass != testToken {
					t.Errorf("basic auth = %q, %q, %v; want the channel's credentials", user, pass, ok)
				}
				query = r.URL.Query()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.answer)
			}))
			defer srv.Close()

			got, found, err := newTestSender(t, srv.URL).Lookup(context.Background(), tt.text, since)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Lookup error = %v, want error %v", err, tt.wantErr)
			}
			if found != tt.wantFound {
				t.Errorf("Lookup = %+v, found %v; want found %v", got, found, tt.wantFound)
			}
			if tt.wantFound && (got != campaigns.SendResult{CarrierMessageID: sentSid, Status: "delivered", Segments: 1}) {
				t.Errorf("Lookup = %+v", got)
			}
			for k, v := range tt.wantQuery {
				if !slices.Equal(query[k], v) {
					t.Errorf("query %s = %q, want %q", k, query[k], v)
				}
			}
			if tt.wantQuery != nil && len(query) != len(tt.wantQuery) {
				t.Errorf("query = %v, want %v", query, tt.wantQuery)
			}
		})
	}

	t.Run("since's UTC day", func(t *testing.T) {
		var got string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r.URL.Query().Get("DateSent>")
			fmt.Fprint(w, page())
		}))
		defer srv.Close()
		// 21:31 PDT is 04:31 UTC the next day.
		late := time.Date(2026, 8, 17, 21, 31, 0, 0, time.FixedZone("PDT", -7*3600))
		if _, _, err := newTestSender(t, srv.URL).Lookup(context.Background(), text(), late); err != nil {
			t.Fatal(err)
		}
		if got != "2026-08-18T00:00:00Z" {
			t.Errorf("DateSent> = %q, want the start of since's UTC day", got)
		}
	})
}

func TestSenderLookupMissingCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a lookup without credentials reached Twilio")
	}))
	defer srv.Close()
	tx := text()
	tx.CarrierAccountID = ""
	if _, _, err := newTestSender(t, srv.URL).Lookup(context.Background(), tx, time.Now()); err == nil {
		t.Error("Lookup without credentials answered")
	}
}
