package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
)

const phone = "+14155550100"

func (e *env) optOut(p string) map[string]any {
	e.t.Helper()
	return e.must(200, e.admin("GET", "/v1/optouts?phone="+url.QueryEscape(p), nil))
}

func TestStopIsConfirmedOnceAndBlocksTheNumber(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	e.text(phone, "Hi there")
	e.text(phone, "Stop.")

	e.eventually("the opt-out confirmation at the phone", func() bool { return len(e.received(phone)) == 1 })
	if got := e.received(phone)[0]; !strings.Contains(got, "START") {
		t.Errorf("confirmation = %q, want a hint to reply START", got)
	}
	c := e.optOut(phone)
	if c["opted_out"] != true || c["keyword"] != "STOP" {
		t.Errorf("consent = %v", c)
	}
	conv := e.must(200, e.admin("GET", "/v1/conversations?contact_phone="+url.QueryEscape(phone), nil))["data"].([]any)[0].(map[string]any)
	if conv["opted_out"] != true || conv["status"] != "new" {
		t.Errorf("conversation after STOP = %v (STOP changes no status)", conv)
	}

	// A second STOP is logged but not confirmed again.
	e.text(phone, "STOP")
	time.Sleep(300 * time.Millisecond)
	if n := len(e.received(phone)); n != 1 {
		t.Errorf("phone received %d texts after two STOPs, want one confirmation", n)
	}
	events := e.must(200, e.admin("GET", "/v1/optouts/"+url.PathEscape(phone)+"/events", nil))["data"].([]any)
	if len(events) != 2 {
		t.Errorf("consent events = %d, want 2 (every STOP is audited)", len(events))
	}

	// The confirmation travelled through the outbox and the carrier: its
	// delivery receipt came back through the status webhook.
	msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", conv["id"]), nil))["data"].([]any)
	var confirmation map[string]any
	for _, m := range msgs {
		if m.(map[string]any)["direction"] == "outbound" {
			confirmation = m.(map[string]any)
		}
	}
	if confirmation == nil {
		t.Fatal("the confirmation is not in the thread")
	}
	e.eventually("the confirmation's delivery receipt", func() bool {
		msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", conv["id"]), nil))["data"].([]any)
		for _, m := range msgs {
			if mm := m.(map[string]any); mm["id"] == confirmation["id"] {
				return mm["status"] == "delivered" && mm["carrier_message_id"] != nil
			}
		}
		return false
	})
	sent := e.carrier.MessagesTo(phone)[0]
	if sent.From != business || sent.StatusCallback != publicURL+"/webhooks/twilio/status" {
		t.Errorf("carrier got From=%q StatusCallback=%q", sent.From, sent.StatusCallback)
	}
}

func TestStartResubscribesAndHelpAnswers(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)

	e.text(phone, "YES") // never opted out: nothing to confirm
	e.text(phone, "help")
	e.eventually("the help text", func() bool { return len(e.received(phone)) == 1 })
	if got := e.received(phone)[0]; !strings.Contains(got, "Msg&data rates may apply") {
		t.Errorf("help text = %q", got)
	}
	e.text(phone, "stop")
	e.eventually("the opt-out confirmation", func() bool { return len(e.received(phone)) == 2 })
	e.text(phone, "  Start!  ")
	e.eventually("the opt-in confirmation", func() bool { return len(e.received(phone)) == 3 })
	if got := e.received(phone)[2]; !strings.Contains(strings.ToLower(got), "resubscribed") {
		t.Errorf("opt-in confirmation = %q", got)
	}
	if c := e.optOut(phone); c["opted_out"] != false || c["keyword"] != "START" {
		t.Errorf("consent = %v", c)
	}
	// Keyword-only first text: the conversation needs no work.
	conv := e.must(200, e.admin("GET", "/v1/conversations", nil))["data"].([]any)[0].(map[string]any)
	if conv["status"] != "resolved" {
		t.Errorf("status after only keywords = %v, want resolved", conv["status"])
	}
}

func TestCarrierHandlesOptOut(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(map[string]any{"carrier_handles_optout": true})
	e.text(phone, "STOP")
	e.text(phone, "HELP")
	if c := e.optOut(phone); c["opted_out"] != true {
		t.Errorf("opt-out not recorded: %v", c)
	}
	time.Sleep(300 * time.Millisecond)
	if got := e.received(phone); len(got) != 0 {
		t.Errorf("Parley replied %q although the carrier handles opt-out", got)
	}
}

func TestStaffRecordOptOutButCannotOptIn(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	res := e.must(201, e.admin("POST", "/v1/optouts", map[string]any{"phone": "(415) 555-0100"}))
	if res["phone"] != phone || res["opted_out"] != true {
		t.Errorf("POST /v1/optouts = %v", res)
	}
	events := e.must(200, e.admin("GET", "/v1/optouts/"+url.PathEscape(phone)+"/events", nil))["data"].([]any)
	if len(events) != 1 || events[0].(map[string]any)["source"] != "staff" || events[0].(map[string]any)["user_id"] == nil {
		t.Errorf("events = %v", events)
	}
	for _, body := range []any{map[string]any{"phone": phone, "opted_out": false}, map[string]any{"phone": "not a phone"}} {
		if r := e.admin("POST", "/v1/optouts", body); r.Status != 422 {
			t.Errorf("POST /v1/optouts %v = %d, want 422", body, r.Status)
		}
	}
	if r := e.admin("DELETE", "/v1/optouts", nil); r.Status != 405 {
		t.Errorf("DELETE /v1/optouts = %d, want 405: nothing opts a phone back in", r.Status)
	}
	if r := e.admin("GET", "/v1/optouts", nil); r.Status != 422 {
		t.Errorf("GET /v1/optouts without phone = %d, want 422", r.Status)
	}
}

func TestRevocationInPlainWordsIsFlagged(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	e.text(phone, "please stop texting me")
	conv := e.must(200, e.admin("GET", "/v1/conversations", nil))["data"].([]any)[0].(map[string]any)
	if conv["revocation_flagged_at"] == nil {
		t.Errorf("conversation not flagged: %v", conv)
	}
	if c := e.optOut(phone); c["opted_out"] != false {
		t.Errorf("a flag is for staff, not an automatic opt-out: %v", c)
	}
}

func TestCarrierUnsubscribedErrorRecordsOptOut(t *testing.T) {
	e := boot(t, "", func(_ *Config, fc *twiliotest.Config) { fc.FailNumbers = map[string]int{phone: 21610} })
	e.setupChannel(nil)
	e.text(phone, "HELP") // the help reply is refused by the carrier: 21610
	e.eventually("the carrier's refusal to become an opt-out", func() bool { return e.optOut(phone)["opted_out"] == true })
	events := e.must(200, e.admin("GET", "/v1/optouts/"+url.PathEscape(phone)+"/events", nil))["data"].([]any)
	if src := events[len(events)-1].(map[string]any)["source"]; src != "carrier_error" {
		t.Errorf("source = %v, want carrier_error", src)
	}
	conv := e.must(200, e.admin("GET", "/v1/conversations", nil))["data"].([]any)[0].(map[string]any)
	msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", conv["id"]), nil))["data"].([]any)
	last := msgs[len(msgs)-1].(map[string]any)
	if last["status"] != "failed" || last["error_code"] != float64(21610) {
		t.Errorf("refused reply = %v", last)
	}
}

func TestRateLimitedSendIsRetried(t *testing.T) {
	e := boot(t, "", func(_ *Config, fc *twiliotest.Config) { fc.RateLimitEvery = 1 })
	e.setupChannel(nil)
	e.text(phone, "HELP")
	time.Sleep(500 * time.Millisecond)
	if n := len(e.received(phone)); n != 0 {
		t.Fatalf("a 429 delivered %d texts", n)
	}
	conv := e.must(200, e.admin("GET", "/v1/conversations", nil))["data"].([]any)[0].(map[string]any)
	msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", conv["id"]), nil))["data"].([]any)
	if st := msgs[len(msgs)-1].(map[string]any)["status"]; st != "queued" {
		t.Errorf("status while the carrier throttles = %v, want queued (to be retried)", st)
	}
}

func TestStatusCallbacksOnlyMoveForward(t *testing.T) {
	e := boot(t, "", func(_ *Config, fc *twiliotest.Config) { fc.StatusCallbacks = false })
	e.setupChannel(nil)
	e.text(phone, "HELP")
	e.eventually("the help text", func() bool { return len(e.carrier.MessagesTo(phone)) == 1 })
	sid := e.carrier.MessagesTo(phone)[0].Sid
	conv := e.must(200, e.admin("GET", "/v1/conversations", nil))["data"].([]any)[0].(map[string]any)
	status := func() map[string]any {
		msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", conv["id"]), nil))["data"].([]any)
		return msgs[len(msgs)-1].(map[string]any)
	}
	e.eventually("the carrier id to be recorded", func() bool { return status()["carrier_message_id"] == sid })

	steps := []struct {
		status string
		code   int
		want   string
	}{
		{"delivered", 0, "delivered"},
		{"sent", 0, "delivered"}, // late, out of order: ignored
		{"sending", 0, "delivered"},
	}
	for _, s := range steps {
		code, err := e.carrier.SendStatus(t.Context(), sid, s.status, s.code)
		if err != nil || code != 200 {
			t.Fatalf("status callback %s: %d %v", s.status, code, err)
		}
		if got := status()["status"]; got != s.want {
			t.Errorf("after %s: status = %v, want %v", s.status, got, s.want)
		}
	}
}

func TestUndeliveredKeepsTheErrorCode(t *testing.T) {
	e := boot(t, "", func(_ *Config, fc *twiliotest.Config) { fc.UndeliverableNumbers = map[string]int{phone: 30003} })
	e.setupChannel(nil)
	e.text(phone, "HELP")
	conv := e.must(200, e.admin("GET", "/v1/conversations", nil))["data"].([]any)[0].(map[string]any)
	e.eventually("an undelivered receipt with its code", func() bool {
		msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", conv["id"]), nil))["data"].([]any)
		last := msgs[len(msgs)-1].(map[string]any)
		return last["status"] == "undelivered" && last["error_code"] == float64(30003)
	})
}

func TestStatusWebhookRejectsBadSignatures(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	form := url.Values{"MessageSid": {"SM00000000000000000000000000000077"}, "MessageStatus": {"delivered"}, "AccountSid": {accountSID}}
	if r := e.webhookPost("/webhooks/twilio/status", form, "wrongtoken", true); r.Status != 403 {
		t.Errorf("bad signature: %d, want 403", r.Status)
	}
	if r := e.webhookPost("/webhooks/twilio/status", form, authToken, true); r.Status != 200 {
		t.Errorf("signed callback for an unknown message: %d, want 200 (nothing to do, no retry)", r.Status)
	}
	form.Set("AccountSid", "AC00000000000000000000000000000099")
	if r := e.webhookPost("/webhooks/twilio/status", form, authToken, true); r.Status != 404 {
		t.Errorf("unknown account: %d, want 404", r.Status)
	}
}

// TestReceiptsRacingTheSendAreNotLost: with no delay, the carrier's
// "delivered" can reach Parley before Parley has recorded the carrier's id
// for the text. Every reply must still end up delivered.
func TestReceiptsRacingTheSendAreNotLost(t *testing.T) {
	e := boot(t, "", func(_ *Config, fc *twiliotest.Config) { fc.StatusDelay = 0 })
	e.setupChannel(nil)
	const n = 10
	for i := 0; i < n; i++ {
		e.text(fmt.Sprintf("+1415555%04d", 1000+i), "HELP")
	}
	e.eventually("every help reply delivered", func() bool {
		convs := e.must(200, e.admin("GET", "/v1/conversations?limit=50", nil))["data"].([]any)
		delivered := 0
		for _, c := range convs {
			msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", c.(map[string]any)["id"]), nil))["data"].([]any)
			for _, m := range msgs {
				if mm := m.(map[string]any); mm["direction"] == "outbound" && mm["status"] == "delivered" {
					delivered++
				}
			}
		}
		return delivered == n
	})
}
