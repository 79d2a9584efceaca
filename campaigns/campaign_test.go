package campaigns

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

func TestScheduleValidation(t *testing.T) {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	const shape = "must be a cron expression: minute hour day-of-month month day-of-week, optionally after CRON_TZ=Zone, or @hourly, @daily, @weekly or @monthly"
	tests := []struct {
		schedule string
		problem  string // the whole field error; "" when valid
	}{
		{"0 9 * * *", ""},
		{"30 8 * * 1-5", ""},
		{"CRON_TZ=America/New_York 0 9 * * 1", ""},
		{"@daily", ""},
		{"@hourly", ""},
		{"* * * * *", "fires more often than once an hour"},
		{"0,30 9 * * *", "fires more often than once an hour"}, // twice within an hour on each day
		{"@every 30m", "fires more often than once an hour"},
		{"0 9 * *", shape},
		{"every morning", shape},
		{"x", shape},
		{"@fortnightly", shape},
		{"0 25 * * *", "must be a cron expression: its hour field takes 0-23, or a list, range or step of them"},
		{"0 9 * 13 *", "must be a cron expression: its month field takes 1-12 or JAN-DEC, or a list, range or step of them"},
		{"61 9 * * MON", "must be a cron expression: its minute field takes 0-59, or a list, range or step of them"},
		{"0 9 * * funday", "must be a cron expression: its day-of-week field takes 0-6 or SUN-SAT, or a list, range or step of them"},
		{"CRON_TZ=Mars/Olympus 0 9 * * *", "must be a cron expression whose CRON_TZ is a time zone such as America/New_York"},
		{"0 0 30 2 *", "never fires"}, // 30 February
	}
	for _, tt := range tests {
		c := Campaign{Name: "Weekly tips", ChannelID: 1, Body: "Hi", Audience: Audience{Phones: []string{"+14155550100"}}, Schedule: tt.schedule,
			RatePerSecond: DefaultRatePerSecond}
		err := c.Validate(now)
		var problem string
		if err != nil {
			problem = err.(*parley.Error).Fields["schedule"]
		}
		if problem != tt.problem {
			t.Errorf("schedule %q: problem %q, want %q (err %v)", tt.schedule, problem, tt.problem, err)
		}
	}
}

func TestNextRunAndRuns(t *testing.T) {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC) // a Monday
	c := Campaign{ID: 7, Name: "Morning tips", Schedule: "0 9 * * *", Status: StatusScheduled, Counts: Counts{Recipients: 3}}
	if next, _ := c.NextRun(now); !next.Equal(time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("next run %v, want tomorrow 09:00 UTC", next)
	}
	sendAt := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	c.SendAt = &sendAt
	if next, _ := c.NextRun(now); !next.Equal(sendAt) {
		t.Errorf("next run %v, want send_at itself (%v): it is a fire time", next, sendAt)
	}
	ny := Campaign{Schedule: "CRON_TZ=America/New_York 0 9 * * *"}
	if next, _ := ny.NextRun(now); !next.Equal(time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC)) {
		t.Errorf("New York 09:00 next run %v, want 14:00 UTC", next)
	}

	at := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	run := c.Run(at)
	if run.ParentID == nil || *run.ParentID != 7 || run.ID != 0 || run.Schedule != "" || run.SendAt != nil || run.Status != StatusSending ||
		run.Counts != (Counts{}) || !run.CreatedAt.Equal(at) {
		t.Errorf("run = %+v", run)
	}
	if run.Name != "Morning tips — 2026-03-03 09:00 UTC" {
		t.Errorf("run name %q", run.Name)
	}
	if c.Schedule == "" || c.ParentID != nil {
		t.Error("making a run changed the recurring campaign")
	}
}

func TestRecurringCampaignsWaitWhenStarted(t *testing.T) {
	if to, ok := ActionStart.Next(StatusDraft, true); !ok || to != StatusScheduled {
		t.Errorf("start of a waiting campaign → %s, %v", to, ok)
	}
	if to, ok := ActionResume.Next(StatusPaused, true); !ok || to != StatusScheduled {
		t.Errorf("resume of a waiting campaign → %s, %v", to, ok)
	}
	if to, ok := ActionStart.Next(StatusDraft, false); !ok || to != StatusSending {
		t.Errorf("start → %s, %v", to, ok)
	}
}

// TestDraftCampaign: a draft becomes a campaign of its author's account
// only for those who may run campaigns, validated, its send_at in UTC to
// the millisecond.
func TestDraftCampaign(t *testing.T) {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	at := time.Date(2026, 3, 3, 9, 30, 0, 123456789, time.FixedZone("EST", -5*3600))
	d := Draft{Name: " Renewals ", ChannelID: 7, Body: "Hi {{first_name|there}}", Audience: Audience{Phones: []string{"(415) 555-0100"}}, SendAt: &at}
	admin := conversations.User{ID: 3, AccountID: 9, Role: conversations.RoleAdmin}
	c, err := d.Campaign(admin, now)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 3, 3, 14, 30, 0, 123000000, time.UTC)
	if c.AccountID != 9 || c.CreatedBy != 3 || c.Name != "Renewals" || c.RatePerSecond != DefaultRatePerSecond ||
		!c.SendAt.Equal(want) || c.SendAt.Location() != time.UTC || c.Audience.Phones[0] != "+14155550100" || !c.CreatedAt.Equal(now) {
		t.Errorf("campaign = %+v (send_at %v)", c, c.SendAt)
	}
	agent := conversations.User{ID: 4, AccountID: 9, Role: conversations.RoleAgent}
	if _, err := d.Campaign(agent, now); !parley.IsKind(err, parley.EFORBIDDEN) {
		t.Errorf("an agent without view-all: %v, want EFORBIDDEN", err)
	}
	agent.ViewAllConversations = true
	if _, err := d.Campaign(agent, now); err != nil {
		t.Errorf("an agent with view-all: %v", err)
	}
	d.Body = "Hi {{firstname}}"
	if _, err := d.Campaign(admin, now); !parley.IsKind(err, parley.EINVALID) {
		t.Errorf("an unknown field: %v, want EINVALID", err)
	}
}

// TestDraftRate: an omitted rate is the default; a given one is taken as
// given, so 0 is refused like -1 instead of becoming the default.
func TestDraftRate(t *testing.T) {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	admin := conversations.User{ID: 3, AccountID: 9, Role: conversations.RoleAdmin}
	rate := func(n int) *int { return &n }
	tests := []struct {
		name string
		rate *int
		want int // 0: refused on rate_per_second
	}{
		{"omitted", nil, DefaultRatePerSecond},
		{"one", rate(1), 1},
		{"the maximum", rate(MaxRatePerSecond), MaxRatePerSecond},
		{"zero", rate(0), 0},
		{"negative", rate(-1), 0},
		{"above the maximum", rate(MaxRatePerSecond + 1), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Draft{Name: "Renewals", ChannelID: 7, Body: "Hi", Audience: Audience{Phones: []string{"+14155550100"}}, RatePerSecond: tt.rate}
			c, err := d.Campaign(admin, now)
			if tt.want == 0 {
				var e *parley.Error
				if !errors.As(err, &e) || e.Kind != parley.EINVALID || e.Fields["rate_per_second"] == "" {
					t.Errorf("Campaign = rate %d, %v; want EINVALID on rate_per_second", c.RatePerSecond, err)
				}
				return
			}
			if err != nil || c.RatePerSecond != tt.want {
				t.Errorf("Campaign = rate %d, %v; want %d", c.RatePerSecond, err, tt.want)
			}
		})
	}
}

func TestPreview(t *testing.T) {
	text, seg, err := Preview("Hi {{ first_name | there }}, see you soon", Recipient{Name: "Ada Lovelace"})
	if err != nil || text != "Hi Ada, see you soon" || seg.Segments != 1 || seg.Encoding != conversations.EncodingGSM7 {
		t.Errorf("Preview = %q, %+v, %v", text, seg, err)
	}
	// The segments are the recipient's own: an emoji in a name makes it UCS-2.
	if _, seg, _ := Preview("Hi {{name}}", Recipient{Name: "Ada 🎉"}); seg.Encoding != conversations.EncodingUCS2 {
		t.Errorf("a name with an emoji: %+v", seg)
	}
	if text, _, _ := Preview("Hi {{first_name|there}}", Recipient{}); text != "Hi there" {
		t.Errorf("without a name: %q", text)
	}
	for _, body := range []string{"", "  ", "Hi {{nickname}}", "Hi {{first_name"} {
		if _, _, err := Preview(body, Recipient{}); !parley.IsKind(err, parley.EINVALID) {
			t.Errorf("Preview(%q): %v, want EINVALID", body, err)
		}
	}
}

// TestCheckRunner: only admins and users who see every conversation create
// and run campaigns, which text into conversations that may be anyone's.
func TestCheckRunner(t *testing.T) {
	tests := []struct {
		name string
		user conversations.User
		ok   bool
	}{
		{"admin", conversations.User{Role: conversations.RoleAdmin}, true},
		{"agent who sees all", conversations.User{Role: conversations.RoleAgent, ViewAllConversations: true}, true},
		{"agent", conversations.User{Role: conversations.RoleAgent}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRunner(tt.user)
			if tt.ok != (err == nil) {
				t.Fatalf("CheckRunner = %v, want allowed %v", err, tt.ok)
			}
			if err != nil && !parley.IsKind(err, parley.EFORBIDDEN) {
				t.Fatalf("refusal is %v, want forbidden", err)
			}
		})
	}
}

func TestRecipientStatusesOf(t *testing.T) {
	for filter, want := range map[string][]string{
		"":                  nil,
		"queued":            {"pending", "queued"},
		"sent":              {"sending", "sent", "unknown"},
		"delivered":         {"delivered"},
		"failed":            {"undelivered", "failed"},
		"skipped_opted_out": {"skipped_opted_out"},
		"cancelled":         {"cancelled"},
		"undelivered":       {"undelivered"},
		"pending":           {"pending"},
	} {
		if got := RecipientStatusesOf(filter); !slices.Equal(got, want) {
			t.Errorf("RecipientStatusesOf(%q) = %v, want %v", filter, got, want)
		}
	}
}
