package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/gateway/telnyx"
)

// The fake serves Telnyx beside Twilio, as make run uses it: a phone's
// text reaches Parley as a message.received event signed with the key the
// fake publishes, the same key after a restart.
func TestRunServesTelnyx(t *testing.T) {
	type delivery struct {
		path, ts, sig string
		body          []byte
	}
	got := make(chan delivery, 4)
	parley := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- delivery{r.URL.Path, r.Header.Get(telnyx.TimestampHeader), r.Header.Get(telnyx.SignatureHeader), body}
	}))
	t.Cleanup(parley.Close)
	keys := map[string]bool{}
	for range 2 { // a restart keeps the key
		out := &syncBuffer{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"fakecarrier", "-addr", "127.0.0.1:0", "-parley-url", parley.URL}, env(nil), out)
		}()
		addr := waitForLine(t, out, regexp.MustCompile(`fake carrier listening .*addr=(\S+)`))
		res, err := http.Get("http://" + addr + "/fake/telnyx/public-key")
		if err != nil {
			t.Fatal(err)
		}
		var pk struct {
			PublicKey string   `json:"public_key"`
			Profile   string   `json:"messaging_profile_id"`
			Numbers   []string `json:"numbers"`
		}
		_ = json.NewDecoder(res.Body).Decode(&pk)
		res.Body.Close()
		keys[pk.PublicKey] = true
		if pk.Profile != demoTelnyxProfile || len(pk.Numbers) != 1 || pk.Numbers[0] != demoTelnyxNumber {
			t.Errorf("public-key answer = %+v", pk)
		}

		res, err = http.Post("http://"+addr+"/fake/telnyx/inbound", "application/json",
			strings.NewReader(`{"from":"+14155550100","text":"Is the shop open?","id":"7ee4241c-f127-47e5-9c34-3aac291f8058"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		select {
		case d := <-got:
			if d.path != "/webhooks/telnyx/"+demoTelnyxProfile+"/messages" || !strings.Contains(string(d.body), `"Is the shop open?"`) {
				t.Errorf("Parley got %s %s", d.path, d.body)
			}
			if err := telnyx.Verify(pk.PublicKey, d.ts, d.sig, d.body, time.Now()); err != nil {
				t.Errorf("the event does not verify with the published key: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no event reached Parley")
		}
		// Twilio's field name is refused, not sent on as an empty text.
		res, err = http.Post("http://"+addr+"/fake/telnyx/inbound", "application/json", strings.NewReader(`{"from":"+14155550100","body":"Hi"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf(`POST /fake/telnyx/inbound with "body": %d, want 400`, res.StatusCode)
		}
		select {
		case d := <-got:
			t.Errorf("Parley got %s %s", d.path, d.body)
		default:
		}

		// Telnyx's API on the same address, with the demo key.
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v2/phone_numbers?filter%5Bphone_number%5D=%2B14155550198", nil)
		req.Header.Set("Authorization", "Bearer "+demoTelnyxKey)
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
			t.Errorf("GET /v2/phone_numbers = %v, %v", res, err)
		} else {
			res.Body.Close()
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if len(keys) != 1 {
		t.Errorf("a restart changed the public key: %v", keys)
	}
}
