package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
	"github.com/parleyhq/parley/store/storetest"
)

// campaignCounts reads a campaign's live counts.
func (e *env) campaign(id string) map[string]any {
	e.t.Helper()
	return e.must(200, e.admin("GET", "/v1/campaigns/"+id, nil))
}

func counts(c map[string]any) map[string]int {
	out := map[string]int{}
	for k, v := range c["counts"].(map[string]any) {
		out[k] = int(v.(float64))
	}
	return out
}

func TestCampaignReachesItsAudienceInTheirThreads(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(nil)
	gold := e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": "Ada Lovelace", "type": "customer",
		"attributes": map[string]any{"plan": "gold"}, "phones": []string{"+14155550501"}}))
	e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": "Alan Turing", "type": "customer",
		"attributes": map[string]any{"plan": "free"}, "phones": []string{"+14155550502"}}))
	e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": "Grace Hopper", "type": "customer",
		"attributes": map[string]any{"plan": "gold"}, "phones": []string{"+14155550503"}}))
	e.must(201, e.admin("POST", "/v1/optouts", map[string]any{"phone": "+14155550503"}))

	c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Gold renewals", "channel_id": ch["id"],
		"body": "Hi {{first_name|there}}, your {{attributes.plan}} plan renews soon.", "rate_per_second": 50,
		"audience": map[string]any{"filter": map[string]any{"contact_type": "customer", "attributes": map[string]any{"plan": "gold"}}}}))
	if c["status"] != "draft" {
		t.Fatalf("new campaign status %v, want draft", c["status"])
	}
	time.Sleep(1500 * time.Millisecond)
	if n := e.carrier.Count(); n != 0 {
		t.Fatalf("a draft sent %d texts", n)
	}
	// The start's answer and a GET right after it count the audience.
	started := e.must(200, e.admin("POST", fmt.Sprintf("/v1/campaigns/%s/start", c["id"]), nil))
	for _, got := range []map[string]any{started, e.campaign(c["id"].(string))} {
		if n := counts(got); n["recipients"] != 2 || n["queued"]+n["skipped_opted_out"] != 2 {
			t.Errorf("counts right after start = %v, want the 2 recipients, queued or skipped", n)
		}
	}
	e.eventually("the campaign completed", func() bool { return e.campaign(c["id"].(string))["status"] == "completed" })
	e.eventually("the text delivered", func() bool { return counts(e.campaign(c["id"].(string)))["delivered"] == 1 })

	got := counts(e.campaign(c["id"].(string)))
	if got["recipients"] != 2 || got["skipped_opted_out"] != 1 || got["delivered"] != 1 {
		t.Errorf("counts = %v, want 2 recipients (the gold ones), 1 skipped (opted out), 1 delivered", got)
	}
	if texts := e.received("+14155550501"); len(texts) != 1 || texts[0] != "Hi Ada, your gold plan renews soon." {
		t.Errorf("Ada received %q", texts)
	}
	if texts := e.received("+14155550502"); len(texts) != 0 {
		t.Errorf("a free-plan contact received %q", texts)
	}
	if texts := e.received("+14155550503"); len(texts) != 0 {
		t.Errorf("an opted-out contact received %q", texts)
	}

	// The text is in Ada's thread; her answer reopens it in context.
	threads := e.must(200, e.admin("GET", fmt.Sprintf("/v1/contacts/%s/conversations", gold["id"]), nil))["data"].([]any)
	conv := threads[0].(map[string]any)
	if conv["status"] != "pending" {
		t.Errorf("campaign thread status %v, want pending", conv["status"])
	}
	e.text("+14155550501", "Yes please renew")
	msgs := e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/messages", conv["id"]), nil))["data"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["campaign_id"] != c["id"] {
		t.Errorf("thread = %v", msgs)
	}
	conv = e.must(200, e.admin("GET", "/v1/conversations/"+conv["id"].(string), nil))
	if conv["status"] != "open" {
		t.Errorf("after the answer: %v, want open", conv["status"])
	}
	wantAPIError(t, e.admin("GET", fmt.Sprintf("/v1/campaigns/%s/recipients?status=bogus", c["id"]), nil), 422, "", "status")
	recips := e.must(200, e.admin("GET", fmt.Sprintf("/v1/campaigns/%s/recipients?status=skipped_opted_out", c["id"]), nil))["data"].([]any)
	if len(recips) != 1 || recips[0].(map[string]any)["phone"] != "+14155550503" {
		t.Errorf("skipped recipients = %v", recips)
	}
}

// TestRecipientsListedByTheirCount: a recipients filter named after a
// count lists whom that count holds: failed are the texts the carrier
// refused and those it could not deliver, each with its own status.
func TestRecipientsListedByTheirCount(t *testing.T) {
	const ok, refused, unreachable = "+14155550511", "+14155550512", "+14155550513"
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect), func(_ *Config, fc *twiliotest.Config) {
				fc.FailNumbers = map[string]int{refused: 21211}
				fc.UndeliverableNumbers = map[string]int{unreachable: 30003}
			})
			ch := e.setupChannel(nil)
			c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Three", "channel_id": ch["id"], "body": "Hello",
				"audience": map[string]any{"phones": []string{ok, refused, unreachable}}}))
			id := c["id"].(string)
			e.must(200, e.admin("POST", "/v1/campaigns/"+id+"/start", nil))
			want := map[string]int{"recipients": 3, "queued": 0, "sent": 0, "delivered": 1, "failed": 2, "skipped_opted_out": 0, "cancelled": 0}
			e.eventually("both failures counted", func() bool { return equalCounts(counts(e.campaign(id)), want) })
			for name, n := range want {
				if name == "recipients" {
					continue
				}
				recips := e.must(200, e.admin("GET", "/v1/campaigns/"+id+"/recipients?status="+name, nil))["data"].([]any)
				if len(recips) != n {
					t.Errorf("?status=%s lists %d recipients, its count says %d: %v", name, len(recips), n, recips)
				}
			}
			// The finer statuses still list their own, and each row says its own.
			for status, phone := range map[string]string{"undelivered": unreachable, "failed": refused} {
				recips := e.must(200, e.admin("GET", "/v1/campaigns/"+id+"/recipients?status="+status, nil))["data"].([]any)
				found := false
				for _, r := range recips {
					rec := r.(map[string]any)
					found = found || (rec["phone"] == phone && rec["status"] == status)
				}
				if !found {
					t.Errorf("?status=%s does not list %s as %s: %v", status, phone, status, recips)
				}
			}
		})
	}
}

func TestCampaignRateLifecycleAndValidation(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(nil)
	phones := make([]string, 30)
	for i := range phones {
		phones[i] = fmt.Sprintf("+1628%07d", 2000000+i)
	}
	c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Slow", "channel_id": ch["id"], "body": "Hello",
		"rate_per_second": 5, "audience": map[string]any{"phones": phones}}))
	id := c["id"].(string)
	e.must(200, e.admin("POST", "/v1/campaigns/"+id+"/start", nil))
	e.eventually("the first texts", func() bool { return e.carrier.Count() > 0 })
	paused := e.must(200, e.admin("POST", "/v1/campaigns/"+id+"/pause", nil))
	if paused["status"] != "paused" {
		t.Fatalf("pause: %v", paused["status"])
	}
	atPause := e.settledTexts()
	if atPause >= 30 {
		t.Fatalf("all %d texts went out at 5/s before the pause", atPause)
	}
	time.Sleep(1500 * time.Millisecond) // a tick and more: a paused campaign queues nothing
	if n := e.carrier.Count(); n != atPause {
		t.Errorf("a paused campaign went on sending: %d → %d", atPause, n)
	}
	wantAPIError(t, e.admin("POST", "/v1/campaigns/"+id+"/start", nil), 409, "campaign_state")
	e.must(200, e.admin("POST", "/v1/campaigns/"+id+"/resume", nil))
	e.eventually("sending again", func() bool { return e.carrier.Count() > atPause })
	cancelled := e.must(200, e.admin("POST", "/v1/campaigns/"+id+"/cancel", nil))
	if cancelled["status"] != "cancelled" {
		t.Fatalf("cancel: %v", cancelled["status"])
	}
	final := e.settledTexts()
	if final >= 30 {
		t.Errorf("a cancelled campaign sent all %d texts", final)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := e.carrier.Count(); n != final {
		t.Errorf("texts went on after cancel: %d → %d", final, n)
	}
	wantAPIError(t, e.admin("POST", "/v1/campaigns/"+id+"/resume", nil), 409, "campaign_state")

	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown field in the template", map[string]any{"name": "x", "channel_id": ch["id"], "body": "Hi {{firstname}}", "audience": map[string]any{"phones": []string{"+14155550501"}}}, "body"},
		{"no audience", map[string]any{"name": "x", "channel_id": ch["id"], "body": "Hi"}, "audience"},
		{"a phone that is not one", map[string]any{"name": "x", "channel_id": ch["id"], "body": "Hi", "audience": map[string]any{"phones": []string{"nope"}}}, "audience.phones"},
		{"send_at in the past", map[string]any{"name": "x", "channel_id": ch["id"], "body": "Hi", "send_at": "2020-01-01T00:00:00Z", "audience": map[string]any{"phones": []string{"+14155550501"}}}, "send_at"},
		{"bad cron", map[string]any{"name": "x", "channel_id": ch["id"], "body": "Hi", "schedule": "every day", "audience": map[string]any{"phones": []string{"+14155550501"}}}, "schedule"},
		{"bad rate", map[string]any{"name": "x", "channel_id": ch["id"], "body": "Hi", "rate_per_second": 10_001, "audience": map[string]any{"phones": []string{"+14155550501"}}}, "rate_per_second"},
		{"an unknown field in the filter", map[string]any{"name": "x", "channel_id": ch["id"], "body": "Hi", "audience": map[string]any{"filter": map[string]any{"typ": "lead"}}}, "audience.filter.typ"},
		{"zero rate", map[string]any{"name": "x", "channel_id": ch["id"], "body": "Hi", "rate_per_second": 0, "audience": map[string]any{"phones": []string{"+14155550501"}}}, "rate_per_second"},
		{"negative rate", map[string]any{"name": "x", "channel_id": ch["id"], "body": "Hi", "rate_per_second": -1, "audience": map[string]any{"phones": []string{"+14155550501"}}}, "rate_per_second"},
		{"unknown channel", map[string]any{"name": "x", "channel_id": "999", "body": "Hi", "audience": map[string]any{"phones": []string{"+14155550501"}}}, "channel_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantAPIError(t, e.admin("POST", "/v1/campaigns", tt.body), 422, "", tt.field)
		})
	}

	// The maximum rate is taken and kept: a fast campaign is not capped
	// below what it asked for.
	fast := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Fast", "channel_id": ch["id"], "body": "Hello",
		"rate_per_second": 10_000, "audience": map[string]any{"phones": []string{"+14155550501"}}}))
	if got := e.must(200, e.admin("GET", "/v1/campaigns/"+fast["id"].(string), nil)); got["rate_per_second"] != float64(10_000) {
		t.Errorf("a campaign at 10,000/s reads back at %v", got["rate_per_second"])
	}
	// An omitted rate, and only an omitted one, is the default.
	plain := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Plain", "channel_id": ch["id"], "body": "Hello",
		"audience": map[string]any{"phones": []string{"+14155550501"}}}))
	if plain["rate_per_second"] != float64(10) {
		t.Errorf("a campaign without a rate has %v, want the default 10", plain["rate_per_second"])
	}
}

// TestCampaignQuietHours: at 23:00 in New York a New York number waits
// while a California number (20:00 there) is texted; the next morning the
// New York number gets its text and the campaign completes.
func TestCampaignQuietHours(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 6, 2, 3, 0, 0, 0, time.UTC)} // 23:00 New York, 20:00 Los Angeles
	e := boot(t, "", withClock(clock))
	ch := e.setupChannel(nil)
	s := e.must(200, e.admin("PATCH", "/v1/settings/conversations", map[string]any{
		"quiet_hours": map[string]any{"start": "21:00", "end": "08:00", "timezone": "America/New_York"}}))
	if s["quiet_hours"] == nil {
		t.Fatalf("settings = %v", s)
	}
	wantAPIError(t, e.admin("PATCH", "/v1/settings/conversations", map[string]any{
		"quiet_hours": map[string]any{"start": "9pm", "end": "08:00", "timezone": "Mars/Base"}}), 422, "", "quiet_hours.start", "quiet_hours.timezone")

	ny, la := "+12125550601", "+14155550602"
	c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Evening", "channel_id": ch["id"], "body": "Hello",
		"audience": map[string]any{"phones": []string{ny, la}}}))
	e.must(200, e.admin("POST", "/v1/campaigns/"+c["id"].(string)+"/start", nil))
	e.eventually("the California text", func() bool { return len(e.received(la)) == 1 })
	time.Sleep(1500 * time.Millisecond)
	if got := e.received(ny); len(got) != 0 {
		t.Fatalf("a New York number was texted at 23:00 its time: %q", got)
	}
	if st := e.campaign(c["id"].(string))["status"]; st != "sending" {
		t.Errorf("status while a recipient waits = %v, want sending", st)
	}
	clock.Advance(10 * time.Hour) // 09:00 New York
	e.eventually("the New York text in the morning", func() bool { return len(e.received(ny)) == 1 })
	clock.Advance(2 * time.Second) // the campaign's next tick is due on Parley's clock
	e.eventually("the campaign completed", func() bool { return e.campaign(c["id"].(string))["status"] == "completed" })

	// Clearing the quiet hours.
	if s := e.must(200, e.admin("PATCH", "/v1/settings/conversations", map[string]any{"quiet_hours": nil})); s["quiet_hours"] != nil {
		t.Errorf("quiet_hours after null = %v", s["quiet_hours"])
	}
}

// settledTexts waits until the texts already handed to the outbox have
// reached the carrier (the count stops changing) and returns the count.
func (e *env) settledTexts() int {
	e.t.Helper()
	last, stable := -1, 0
	e.eventually("the outbox to settle", func() bool {
		n := e.carrier.Count()
		if n == last {
			stable++
		} else {
			last, stable = n, 0
		}
		return stable >= 25 // 25 polls of 20 ms: half a second without a new text
	})
	return last
}

// TestStopMidCampaign: a phone that opts out while a campaign is running
// gets nothing after its STOP but the confirmation.
func TestStopMidCampaign(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(nil)
	phones := make([]string, 12)
	for i := range phones {
		phones[i] = fmt.Sprintf("+1628%07d", 3000000+i)
	}
	last := phones[len(phones)-1]
	c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Trickle", "channel_id": ch["id"], "body": "Campaign text",
		"rate_per_second": 2, "audience": map[string]any{"phones": phones}}))
	e.must(200, e.admin("POST", "/v1/campaigns/"+c["id"].(string)+"/start", nil))
	e.eventually("the first campaign texts", func() bool { return len(e.received(phones[0])) == 1 })
	e.text(last, "STOP")
	e.eventually("the campaign completed", func() bool { return e.campaign(c["id"].(string))["status"] == "completed" })
	e.settledTexts()
	for _, body := range e.received(last) {
		if body == "Campaign text" {
			t.Errorf("%s received the campaign after its STOP", last)
		}
	}
	if got := counts(e.campaign(c["id"].(string))); got["skipped_opted_out"] != 1 || got["recipients"] != 12 {
		t.Errorf("counts = %v, want 1 skipped of 12", got)
	}
}

// TestCampaignSendAt: a campaign started before its send_at waits as
// scheduled, then sends when Parley's clock reaches it.
func TestCampaignSendAt(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)}
	e := boot(t, "", withClock(clock))
	ch := e.setupChannel(nil)
	c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Tomorrow", "channel_id": ch["id"], "body": "Good morning",
		"send_at": "2026-03-03T15:00:00Z", "audience": map[string]any{"phones": []string{"+14155550701"}}}))
	if st := e.must(200, e.admin("POST", "/v1/campaigns/"+c["id"].(string)+"/start", nil))["status"]; st != "scheduled" {
		t.Fatalf("status after start = %v, want scheduled", st)
	}
	time.Sleep(1500 * time.Millisecond)
	if got := e.received("+14155550701"); len(got) != 0 {
		t.Fatalf("sent before send_at: %q", got)
	}
	clock.Advance(24*time.Hour + time.Second)
	e.eventually("the text at send_at", func() bool { return len(e.received("+14155550701")) == 1 })
	clock.Advance(2 * time.Second)
	e.eventually("the campaign completed", func() bool { return e.campaign(c["id"].(string))["status"] == "completed" })
}

// TestChannelThroughputLimit: a channel limited to 2 texts a second never
// sends faster, whatever the campaign's own rate.
func TestChannelThroughputLimit(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(map[string]any{"messages_per_second": 2})
	if ch["messages_per_second"] != float64(2) {
		t.Fatalf("channel = %v", ch)
	}
	wantAPIError(t, e.admin("POST", "/v1/channels", map[string]any{"carrier": "twilio", "phone_number": "+14155550198",
		"inbox_id": ch["inbox_id"], "account_sid": accountSID, "auth_token": authToken, "messages_per_second": -1}), 422, "", "messages_per_second")
	phones := make([]string, 6)
	for i := range phones {
		phones[i] = fmt.Sprintf("+1628%07d", 4000000+i)
	}
	c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Fast", "channel_id": ch["id"], "body": "Hi",
		"rate_per_second": 100, "audience": map[string]any{"phones": phones}}))
	e.must(200, e.admin("POST", "/v1/campaigns/"+c["id"].(string)+"/start", nil))
	e.eventually("every text", func() bool { return e.carrier.Count() == len(phones) })
	checkTurns(t, e.carrier.Messages(), 500*time.Millisecond, "a 2/s channel")
}

// checkTurns checks texts (in the order the carrier got them) against
// turns booked turn apart. A text that reaches the carrier late under load
// brings the next one closer, so each stretch of texts is checked against
// its turns, less one text's lateness: a pace of twice the turns still
// fails it.
func checkTurns(t *testing.T, msgs []twiliotest.Message, turn time.Duration, what string) {
	t.Helper()
	const late = 150 * time.Millisecond
	for i := range msgs {
		for j := i + 1; j < len(msgs); j++ {
			if span, least := msgs[j].DateCreated.Sub(msgs[i].DateCreated), time.Duration(j-i)*turn-late; span < least {
				t.Errorf("texts %d to %d only %v apart on %s (want at least %v)", i, j, span, what, least)
			}
		}
	}
}

// TestRecurringCampaign: a campaign with a cron schedule starts a run each
// time the schedule fires; each run is a campaign of its own whose texts
// reach the audience again; pause skips fires; a bad schedule is a 422.
func TestRecurringCampaign(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)}
	e := boot(t, "", withClock(clock))
	ch := e.setupChannel(nil)
	const phone = "+14155550801"
	for schedule, problem := range map[string]string{"* * * * *": "more often than once an hour", "at nine": "cron expression"} {
		r := e.admin("POST", "/v1/campaigns", map[string]any{"name": "Too often", "channel_id": ch["id"], "body": "Hi",
			"schedule": schedule, "audience": map[string]any{"phones": []string{phone}}})
		wantAPIError(t, r, 422, "", "schedule")
		if got := r.JSON()["error"].(map[string]any)["fields"].(map[string]any)["schedule"]; !strings.Contains(fmt.Sprint(got), problem) {
			t.Errorf("schedule %q: field error %v, want it to say %q", schedule, got, problem)
		}
	}

	c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Daily tip", "channel_id": ch["id"], "body": "Tip {{first_name|friend}}",
		"schedule": "CRON_TZ=America/New_York 0 9 * * *", "audience": map[string]any{"phones": []string{phone}}}))
	id := c["id"].(string)
	c = e.must(200, e.admin("POST", "/v1/campaigns/"+id+"/start", nil))
	if c["status"] != "scheduled" || c["next_run_at"] != "2026-03-03T14:00:00Z" {
		t.Fatalf("started: status %v, next run %v; want scheduled for 09:00 in New York", c["status"], c["next_run_at"])
	}
	time.Sleep(1500 * time.Millisecond)
	if got := e.received(phone); len(got) != 0 {
		t.Fatalf("sent before the first run: %q", got)
	}

	clock.Advance(23*time.Hour + time.Second) // 14:00:01 UTC the next day
	e.eventually("the first run's text", func() bool { return len(e.received(phone)) == 1 })
	clock.Advance(24 * time.Hour) // the second day's run
	e.eventually("the second run's text", func() bool { return len(e.received(phone)) == 2 })
	if got := e.received(phone); got[0] != "Tip friend" || got[1] != "Tip friend" {
		t.Errorf("texts %q", got)
	}
	list := e.must(200, e.admin("GET", "/v1/campaigns?parent_id="+id, nil))["data"].([]any)
	if len(list) != 2 {
		t.Fatalf("%d runs listed, want 2", len(list))
	}
	for _, r := range list {
		run := r.(map[string]any)
		if run["parent_id"] != id || !strings.HasPrefix(run["name"].(string), "Daily tip — 2026-03-0") {
			t.Errorf("run %v", run)
		}
		e.eventually("the run's counts", func() bool { return counts(e.campaign(run["id"].(string)))["recipients"] == 1 })
	}
	if p := e.campaign(id); p["status"] != "scheduled" || p["next_run_at"] != "2026-03-05T14:00:00Z" {
		t.Errorf("after two runs: status %v, next %v", p["status"], p["next_run_at"])
	}

	e.must(200, e.admin("POST", "/v1/campaigns/"+id+"/pause", nil))
	clock.Advance(24 * time.Hour)
	time.Sleep(1500 * time.Millisecond)
	if n := len(e.received(phone)); n != 2 {
		t.Errorf("%d texts after a fire while paused, want still 2", n)
	}
	wantAPIError(t, e.admin("GET", "/v1/campaigns?parent_id=abc", nil), 422, "", "parent_id")
}

// TestCancelHoldsTextsWaitingForTheirTurn: texts a dispatcher has already
// taken from the outbox and is pacing through a slow channel are not sent
// once their campaign is cancelled; their recipients say cancelled.
func TestCancelHoldsTextsWaitingForTheirTurn(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(map[string]any{"messages_per_second": 1})
	phones := make([]string, 12)
	for i := range phones {
		phones[i] = fmt.Sprintf("+1628%07d", 3000000+i)
	}
	c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Slow lane", "channel_id": ch["id"], "body": "Hello",
		"rate_per_second": 12, "audience": map[string]any{"phones": phones}}))
	id := c["id"].(string)
	e.must(200, e.admin("POST", "/v1/campaigns/"+id+"/start", nil))
	// The twelve are queued within the first second; by the third text the
	// dispatcher holds the rest, waiting for the channel's one a second.
	e.eventually("the first texts", func() bool { return e.carrier.Count() >= 3 })
	e.must(200, e.admin("POST", "/v1/campaigns/"+id+"/cancel", nil))
	atCancel := e.carrier.Count()
	time.Sleep(3 * time.Second) // three more turns of the channel
	final := e.carrier.Count()
	if final > atCancel+1 { // one may have been on the wire as the cancel landed
		t.Errorf("texts went on after cancel: %d → %d", atCancel, final)
	}
	e.eventually("the held texts settled", func() bool {
		recips := e.must(200, e.admin("GET", "/v1/campaigns/"+id+"/recipients?status=cancelled&limit=200", nil))["data"].([]any)
		return len(recips) == len(phones)-final
	})
	cn := counts(e.campaign(id))
	if cn["queued"] != 0 || cn["failed"] != 0 || cn["sent"]+cn["delivered"] != final {
		t.Errorf("counts after cancel %v; want nothing queued or failed, %d sent", cn, final)
	}
}

// TestReplyGoesBeforeACampaignOnASlowChannel: on a channel limited to one
// text a second, a staff reply written while a campaign is going out takes
// the next turn instead of waiting behind the campaign's texts.
func TestReplyGoesBeforeACampaignOnASlowChannel(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(map[string]any{"messages_per_second": 1})
	const customer = "+14155550901"
	e.text(customer, "Hi, is my order ready?")
	conv := e.must(200, e.admin("GET", "/v1/conversations?contact_phone=%2B14155550901", nil))["data"].([]any)[0].(map[string]any)
	phones := make([]string, 15)
	for i := range phones {
		phones[i] = fmt.Sprintf("+1628%07d", 4000000+i)
	}
	c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Busy lane", "channel_id": ch["id"], "body": "Spring sale",
		"rate_per_second": 15, "audience": map[string]any{"phones": phones}}))
	e.must(200, e.admin("POST", "/v1/campaigns/"+c["id"].(string)+"/start", nil))
	e.eventually("the campaign under way", func() bool { return e.carrier.Count() >= 3 })

	e.must(202, e.admin("POST", "/v1/conversations/"+conv["id"].(string)+"/messages", map[string]any{"body": "Yes, it is ready"}))
	before := e.carrier.Count()
	e.eventually("the reply at the phone", func() bool { return len(e.received(customer)) == 1 })
	// The reply waits at most for the text already holding the turn.
	if ahead := e.carrier.Count() - 1 - before; ahead > 1 {
		t.Errorf("%d campaign texts went out between the reply and its delivery; want at most the one holding the turn", ahead)
	}
	if n := e.carrier.Count(); n >= len(phones)+1 {
		t.Errorf("the reply went out after the whole campaign (%d texts)", n)
	}
}

// TestChannelThroughputAcrossInstances: two programs on one PostgreSQL
// share a 2/s channel's turns: together they never send faster.
func TestChannelThroughputAcrossInstances(t *testing.T) {
	dbURL := storetest.URL(t, "postgres") // skips loudly without PostgreSQL
	e1 := boot(t, dbURL)
	e2 := boot(t, dbURL)
	ch := e1.setupChannel(map[string]any{"messages_per_second": 2})
	phones := make([]string, 8)
	for i := range phones {
		phones[i] = fmt.Sprintf("+1628%07d", 4100000+i)
	}
	c := e1.must(201, e1.admin("POST", "/v1/campaigns", map[string]any{"name": "Shared lane", "channel_id": ch["id"], "body": "Hi",
		"rate_per_second": 100, "audience": map[string]any{"phones": phones}}))
	e1.must(200, e1.admin("POST", "/v1/campaigns/"+c["id"].(string)+"/start", nil))
	all := func() []twiliotest.Message { return append(e1.carrier.Messages(), e2.carrier.Messages()...) }
	e1.eventually("every text", func() bool { return len(all()) == len(phones) })
	msgs := all()
	slices.SortFunc(msgs, func(a, b twiliotest.Message) int { return a.DateCreated.Compare(b.DateCreated) })
	checkTurns(t, msgs, 500*time.Millisecond, "a 2/s channel shared by two programs")
	t.Logf("texts sent by each program: %d and %d", len(e1.carrier.Messages()), len(e2.carrier.Messages()))
}
