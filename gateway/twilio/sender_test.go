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
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/gateway/twilio"
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
			want: campaigns.SendResult{CarrierMessageID: sentSid, Status: "accepted", Segments: 2},
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
			want: campaigns.SendError{HTTPStatus: 400, Code: 21610, Message: "Attempt to send to unsubscribed recipient"}},
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
