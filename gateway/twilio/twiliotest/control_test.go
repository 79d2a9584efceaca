package twiliotest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
)

func TestControlMessages(t *testing.T) {
	carrier, srv := startCarrier(t, twiliotest.Config{})
	tw := twilioClient(t, srv.URL, accountA, tokenA)
	for _, to := range []string{"+14155550101", "+14155550102", "+14155550101"} {
		if _, err := tw.Api.CreateMessage(valid().SetTo(to)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		query string
		want  int
	}{
		{name: "all", query: "", want: 3},
		{name: "to a number", query: "?to=%2B14155550101", want: 2},
		{name: "to a number typed with a bare plus", query: "?to=+14155550102", want: 1},
		{name: "to a number never texted", query: "?to=%2B14155550999", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got struct {
				Data []twiliotest.Message `json:"data"`
			}
			status := call(t, srv, http.MethodGet, "/fake/messages"+tt.query, "", &got)
			if status != http.StatusOK || got.Data == nil || len(got.Data) != tt.want {
				t.Fatalf("GET /fake/messages%s = %d with %d texts, want 200 with %d", tt.query, status, len(got.Data), tt.want)
			}
			for _, m := range got.Data {
				if m.Body != "Hi there" || m.Sid == "" || m.DateCreated.IsZero() {
					t.Errorf("text = %+v, want its sid, body and date", m)
				}
			}
		})
	}

	if status := call(t, srv, http.MethodDelete, "/fake/messages", "", nil); status != http.StatusNoContent {
		t.Errorf("DELETE /fake/messages = %d, want 204", status)
	}
	if n := len(carrier.Messages()); n != 0 {
		t.Errorf("after DELETE the phones hold %d texts, want none", n)
	}
}

func TestControlInbound(t *testing.T) {
	p := startParley(t, http.StatusForbidden, "bad signature")
	_, srv := startCarrier(t, twiliotest.Config{Accounts: map[string]string{accountA: tokenA}, ParleyURL: p.URL})
	down := startParley(t, 200, "")
	down.Close()
	_, unreachable := startCarrier(t, twiliotest.Config{Accounts: map[string]string{accountA: tokenA}, ParleyURL: down.URL})

	tests := []struct {
		name       string
		srv        *httptest.Server
		body       string
		wantStatus int
		wantParley int
	}{
		{name: "Parley's answer is passed on", srv: srv,
			body:       `{"from": "+14155550199", "to": "+14155550100", "body": "Hi", "message_sid": "SMdeadbeefdeadbeefdeadbeefdeadbeef"}`,
			wantStatus: http.StatusOK, wantParley: http.StatusForbidden},
		{name: "bad JSON", srv: srv, body: `{"from": `, wantStatus: http.StatusBadRequest},
		{name: "no sender", srv: srv, body: `{"to": "+14155550100", "body": "Hi"}`, wantStatus: http.StatusBadRequest},
		{name: "another fake's field", srv: srv, body: `{"from": "+14155550199", "to": "+14155550100", "text": "Hi"}`, wantStatus: http.StatusBadRequest},
		{name: "unknown account", srv: srv, body: `{"account_sid": "` + accountB + `", "from": "+14155550199", "to": "+14155550100"}`,
			wantStatus: http.StatusBadRequest},
		{name: "Parley unreachable", srv: unreachable, body: `{"from": "+14155550199", "to": "+14155550100", "body": "Hi"}`,
			wantStatus: http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]any
			status := call(t, tt.srv, http.MethodPost, "/fake/inbound", tt.body, &got)
			if status != tt.wantStatus {
				t.Fatalf("POST /fake/inbound = %d %v, want %d", status, got, tt.wantStatus)
			}
			if tt.wantParley == 0 {
				if _, ok := got["error"]; !ok {
					t.Errorf("answer = %v, want an error object", got)
				}
				return
			}
			if got["parley_status"] != float64(tt.wantParley) || got["parley_body"] != "bad signature" ||
				got["message_sid"] != "SMdeadbeefdeadbeefdeadbeefdeadbeef" {
				t.Errorf("answer = %v, want Parley's status and body and the sid", got)
			}
		})
	}
}

func TestUnknownPath(t *testing.T) {
	_, srv := startCarrier(t, twiliotest.Config{})
	var got struct {
		Code int `json:"code"`
	}
	if status := call(t, srv, http.MethodGet, "/2010-04-01/Accounts/"+accountA+"/Calls.json", "", &got); status != 404 || got.Code != 20404 {
		t.Errorf("unknown resource = %d code %d, want 404 code 20404", status, got.Code)
	}
}

// call sends a request to the fake, decodes its JSON answer into v and
// returns its status.
func call(t *testing.T, srv *httptest.Server, method, path, body string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s %s: decoding answer: %v", method, path, err)
		}
	}
	return resp.StatusCode
}
