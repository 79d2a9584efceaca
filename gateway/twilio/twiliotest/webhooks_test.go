package twiliotest_test

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"testing"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
)

const twiml = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

var messageSid = regexp.MustCompile(`^SM[0-9a-f]{32}$`)

func TestSendInbound(t *testing.T) {
	tests := []struct {
		name    string
		in      twiliotest.Inbound
		account string // whose token must validate
		want    map[string]string
		absent  []string
	}{
		{
			name: "plain text",
			in: twiliotest.Inbound{AccountSid: accountB, From: "+14155550199", To: "+14155550100",
				Body: "Hello, is this the bakery?"},
			account: accountB,
			want: map[string]string{"AccountSid": accountB, "From": "+14155550199", "To": "+14155550100",
				"Body": "Hello, is this the bakery?", "NumSegments": "1", "NumMedia": "0", "SmsStatus": "received",
				"ApiVersion": "2010-04-01", "FromCountry": "US", "ToCountry": "US"},
			absent: []string{"MessagingServiceSid", "MediaUrl0"},
		},
		{
			name: "picture through a messaging service",
			in: twiliotest.Inbound{AccountSid: accountA, From: "+14155550199", To: "+14155550100",
				MessagingServiceSid: "MG0123456789abcdef0123456789abcdef",
				MediaURLs:           []string{"https://media.example.com/a.jpg", "https://media.example.com/b.png"}},
			account: accountA,
			want: map[string]string{"MessagingServiceSid": "MG0123456789abcdef0123456789abcdef", "Body": "",
				"NumMedia": "2", "MediaUrl0": "https://media.example.com/a.jpg", "MediaContentType0": "image/jpeg",
				"MediaUrl1": "https://media.example.com/b.png", "MediaContentType1": "image/png"},
		},
		{
			name: "extra params are signed too",
			in: twiliotest.Inbound{AccountSid: accountA, From: "+14155550199", To: "+14155550100", Body: "Hi",
				ExtraParams: url.Values{"FromCity": {"SAN FRANCISCO"}, "NumSegments": {"3"}}},
			account: accountA,
			want:    map[string]string{"FromCity": "SAN FRANCISCO", "NumSegments": "3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startParley(t, 200, twiml)
			carrier, _ := startCarrier(t, twiliotest.Config{ParleyURL: p.URL, PublicURL: publicURL})
			res, err := carrier.SendInbound(context.Background(), tt.in)
			if err != nil {
				t.Fatalf("SendInbound: %v", err)
			}
			if res.StatusCode != 200 || res.Body != twiml || !messageSid.MatchString(res.MessageSid) {
				t.Errorf("result = %+v, want Parley's 200 TwiML and a generated SM sid", res)
			}
			hooks := p.webhooks()
			if len(hooks) != 1 {
				t.Fatalf("Parley received %d webhooks, want 1", len(hooks))
			}
			h := hooks[0]
			if h.Path != twiliotest.InboundPath {
				t.Errorf("posted to %s, want %s", h.Path, twiliotest.InboundPath)
			}
			token := map[string]string{accountA: tokenA, accountB: tokenB}[tt.account]
			if !validSignature(token, publicURL+twiliotest.InboundPath, h) {
				t.Errorf("signature does not validate over PARLEY_PUBLIC_URL + path with twilio-go")
			}
			if validSignature(token, p.URL+twiliotest.InboundPath, h) {
				t.Errorf("signature validates over the address Parley listens on; want only the public URL")
			}
			for _, name := range []string{"MessageSid", "SmsSid", "SmsMessageSid"} {
				if got := h.Form.Get(name); got != res.MessageSid {
					t.Errorf("%s = %q, want %q", name, got, res.MessageSid)
				}
			}
			for name, want := range tt.want {
				if got := h.Form.Get(name); got != want || !h.Form.Has(name) {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			for _, name := range tt.absent {
				if h.Form.Has(name) {
					t.Errorf("%s = %q, want it absent", name, h.Form.Get(name))
				}
			}
		})
	}
}

func TestSendInboundResendSameSid(t *testing.T) {
	p := startParley(t, 200, twiml)
	carrier, _ := startCarrier(t, twiliotest.Config{ParleyURL: p.URL})
	in := twiliotest.Inbound{AccountSid: accountA, From: "+14155550199", To: "+14155550100", Body: "STOP",
		MessageSid: "SMdeadbeefdeadbeefdeadbeefdeadbeef"}
	for range 2 {
		res, err := carrier.SendInbound(context.Background(), in)
		if err != nil || res.MessageSid != in.MessageSid {
			t.Fatalf("SendInbound = %+v, %v; want the given sid", res, err)
		}
	}
	for _, h := range p.webhooks() {
		if h.Form.Get("MessageSid") != in.MessageSid {
			t.Errorf("MessageSid = %q, want %q both times", h.Form.Get("MessageSid"), in.MessageSid)
		}
	}
}

func TestSendInboundAccount(t *testing.T) {
	p := startParley(t, 200, twiml)
	tests := []struct {
		name     string
		accounts map[string]string
		sid      string
		wantErr  bool
	}{
		{name: "empty sid with one account", accounts: map[string]string{accountA: tokenA}, sid: ""},
		{name: "empty sid with two accounts", accounts: map[string]string{accountA: tokenA, accountB: tokenB}, wantErr: true},
		{name: "unknown account", accounts: map[string]string{accountA: tokenA}, sid: accountB, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			carrier, _ := startCarrier(t, twiliotest.Config{Accounts: tt.accounts, ParleyURL: p.URL})
			before := len(p.webhooks())
			_, err := carrier.SendInbound(context.Background(), twiliotest.Inbound{AccountSid: tt.sid, From: "+14155550199", To: "+14155550100", Body: "Hi"})
			if tt.wantErr {
				if !errors.Is(err, twiliotest.ErrUnknownAccount) || len(p.webhooks()) != before {
					t.Errorf("err = %v, want ErrUnknownAccount and nothing posted", err)
				}
				return
			}
			hooks := p.webhooks()
			if err != nil || len(hooks) != before+1 || hooks[before].Form.Get("AccountSid") != accountA ||
				!validSignature(tokenA, p.URL+twiliotest.InboundPath, hooks[before]) {
				t.Errorf("err = %v; want a webhook of the only account signed with its token", err)
			}
		})
	}
}

func TestSendInboundParleyDown(t *testing.T) {
	p := startParley(t, 200, twiml)
	p.Close()
	carrier, _ := startCarrier(t, twiliotest.Config{ParleyURL: p.URL})
	if _, err := carrier.SendInbound(context.Background(), twiliotest.Inbound{From: "+14155550199", To: "+14155550100", Body: "Hi", AccountSid: accountA}); err == nil {
		t.Error("SendInbound to a stopped Parley succeeded, want an error")
	}
}

func TestStatusCallbacks(t *testing.T) {
	// Parley gives Twilio its public URL; the fake must post to where Parley
	// really listens, yet sign over the URL as given, query included.
	callback := publicURL + "/webhooks/twilio/status?msg=42"
	tests := []struct {
		name         string
		to           string
		wantStatuses []string
		wantError    string
	}{
		{name: "delivered", to: "+14155550199", wantStatuses: []string{"sent", "delivered"}},
		{name: "undeliverable", to: "+14155550404", wantStatuses: []string{"sent", "undelivered"}, wantError: "30003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startParley(t, 200, "")
			carrier, srv := startCarrier(t, twiliotest.Config{
				ParleyURL: p.URL, PublicURL: publicURL, StatusCallbacks: true, StatusDelay: 20 * time.Millisecond,
				UndeliverableNumbers: map[string]int{"+14155550404": 30003},
			})
			created := time.Now()
			m, err := twilioClient(t, srv.URL, accountA, tokenA).Api.CreateMessage(valid().SetTo(tt.to).SetStatusCallback(callback))
			if err != nil {
				t.Fatal(err)
			}
			hooks := p.waitFor(t, 2)
			var statuses []string
			for i, h := range hooks {
				statuses = append(statuses, h.Form.Get("MessageStatus"))
				if h.Path != "/webhooks/twilio/status?msg=42" {
					t.Errorf("callback %d posted to %s, want the callback's path and query", i, h.Path)
				}
				if !validSignature(tokenA, callback, h) {
					t.Errorf("callback %d signature does not validate over the StatusCallback URL", i)
				}
				if h.Form.Get("MessageSid") != *m.Sid || h.Form.Get("SmsSid") != *m.Sid ||
					h.Form.Get("SmsStatus") != h.Form.Get("MessageStatus") || h.Form.Get("AccountSid") != accountA ||
					h.Form.Get("From") != "+14155550100" || h.Form.Get("To") != tt.to || h.Form.Has("Body") {
					t.Errorf("callback %d form = %v", i, h.Form)
				}
				if h.ReceivedAt.Sub(created) < time.Duration(i+1)*20*time.Millisecond {
					t.Errorf("callback %d arrived after %v, want StatusDelay before each", i, h.ReceivedAt.Sub(created))
				}
			}
			if !slices.Equal(statuses, tt.wantStatuses) {
				t.Errorf("statuses = %v, want %v", statuses, tt.wantStatuses)
			}
			final := hooks[1].Form
			if final.Get("ErrorCode") != tt.wantError || final.Has("ErrorCode") != (tt.wantError != "") {
				t.Errorf("final ErrorCode = %q, want %q", final.Get("ErrorCode"), tt.wantError)
			}
			if len(final.Get("RawDlrDoneDate")) != 10 || hooks[0].Form.Has("RawDlrDoneDate") {
				t.Errorf("RawDlrDoneDate = %q on the final callback and %q on sent; want YYMMDDhhmm only on the final one",
					final.Get("RawDlrDoneDate"), hooks[0].Form.Get("RawDlrDoneDate"))
			}
			if got := carrier.MessagesTo(tt.to); len(got) != 1 || got[0].Status != tt.wantStatuses[1] {
				t.Errorf("stored text = %+v, want status %s", got, tt.wantStatuses[1])
			}
		})
	}
}

func TestNoStatusCallbacks(t *testing.T) {
	tests := []struct {
		name     string
		enabled  bool
		callback string
	}{
		{name: "callbacks off", enabled: false, callback: publicURL + twiliotest.StatusPath},
		{name: "no StatusCallback given", enabled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startParley(t, 200, "")
			carrier, srv := startCarrier(t, twiliotest.Config{ParleyURL: p.URL, StatusCallbacks: tt.enabled})
			params := valid()
			if tt.callback != "" {
				params.SetStatusCallback(tt.callback)
			}
			if _, err := twilioClient(t, srv.URL, accountA, tokenA).Api.CreateMessage(params); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			if n := len(p.webhooks()); n != 0 {
				t.Errorf("Parley received %d callbacks, want none", n)
			}
			if got := carrier.Messages()[0].Status; got != "queued" {
				t.Errorf("status = %q, want queued", got)
			}
		})
	}
}

func TestSendStatus(t *testing.T) {
	p := startParley(t, 200, "")
	carrier, srv := startCarrier(t, twiliotest.Config{ParleyURL: p.URL, PublicURL: publicURL})
	tw := twilioClient(t, srv.URL, accountA, tokenA)
	withCallback, err := tw.Api.CreateMessage(valid().SetStatusCallback(publicURL + "/webhooks/twilio/status?id=7"))
	if err != nil {
		t.Fatal(err)
	}
	without, err := tw.Api.CreateMessage(new(api.CreateMessageParams).SetTo("+14155550199").
		SetMessagingServiceSid("MG0123456789abcdef0123456789abcdef").SetBody("Hi"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		sid      string
		status   string
		code     int
		wantURL  string
		wantForm map[string]string
	}{
		{name: "to the callback given at create", sid: *withCallback.Sid, status: "failed", code: 30007,
			wantURL: publicURL + "/webhooks/twilio/status?id=7", wantForm: map[string]string{"MessageStatus": "failed", "ErrorCode": "30007"}},
		{name: "out of order", sid: *withCallback.Sid, status: "sent",
			wantURL: publicURL + "/webhooks/twilio/status?id=7", wantForm: map[string]string{"MessageStatus": "sent"}},
		{name: "to Parley's status webhook when none was given", sid: *without.Sid, status: "delivered",
			wantURL:  publicURL + twiliotest.StatusPath,
			wantForm: map[string]string{"MessageStatus": "delivered", "MessagingServiceSid": "MG0123456789abcdef0123456789abcdef"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(p.webhooks())
			code, err := carrier.SendStatus(context.Background(), tt.sid, tt.status, tt.code)
			if err != nil || code != 200 {
				t.Fatalf("SendStatus = %d, %v; want 200", code, err)
			}
			h := p.webhooks()[before]
			if !validSignature(tokenA, tt.wantURL, h) {
				t.Errorf("signature does not validate over %s", tt.wantURL)
			}
			for name, want := range tt.wantForm {
				if got := h.Form.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			got, err := tw.Api.FetchMessage(tt.sid, nil)
			if err != nil || deref(got.Status) != tt.status || (tt.code != 0) != (got.ErrorCode != nil) {
				t.Errorf("fetched status %q error_code %v, %v; want %q", deref(got.Status), got.ErrorCode, err, tt.status)
			}
		})
	}
	if _, err := carrier.SendStatus(context.Background(), "SM00000000000000000000000000000000", "sent", 0); err == nil {
		t.Error("SendStatus of an unknown sid succeeded, want an error")
	}
}

func TestCloseStopsPendingCallbacks(t *testing.T) {
	p := startParley(t, 200, "")
	carrier, srv := startCarrier(t, twiliotest.Config{ParleyURL: p.URL, StatusCallbacks: true, StatusDelay: time.Hour})
	if _, err := twilioClient(t, srv.URL, accountA, tokenA).Api.CreateMessage(valid().SetStatusCallback(p.URL + twiliotest.StatusPath)); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { carrier.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return while a callback was pending")
	}
	if n := len(p.webhooks()); n != 0 {
		t.Errorf("Parley received %d callbacks, want none", n)
	}
}

func TestResetDropsPendingCallbacks(t *testing.T) {
	p := startParley(t, 200, "")
	carrier, srv := startCarrier(t, twiliotest.Config{ParleyURL: p.URL, StatusCallbacks: true, StatusDelay: 50 * time.Millisecond})
	if _, err := twilioClient(t, srv.URL, accountA, tokenA).Api.CreateMessage(valid().SetStatusCallback(p.URL + twiliotest.StatusPath)); err != nil {
		t.Fatal(err)
	}
	carrier.Reset()
	time.Sleep(150 * time.Millisecond)
	if n := len(p.webhooks()); n != 0 || len(carrier.Messages()) != 0 {
		t.Errorf("after Reset: %d callbacks and %d texts, want none", n, len(carrier.Messages()))
	}
}
