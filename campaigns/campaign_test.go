package campaigns

import (
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

func TestScheduleValidation(t *testing.T) {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		schedule string
		problem  string // "" when valid
	}{
		{"0 9 * * *", ""},
		{"30 8 * * 1-5", ""},
		{"CRON_TZ=America/New_York 0 9 * * 1", ""},
		{"@daily", ""},
		{"@hourly", ""},
		{"* * * * *", "more often than once an hour"},
		{"0,30 9 * * *", "more often than once an hour"}, // twice within an hour on each day
		{"@every 30m", "more often than once an hour"},
		{"0 9 * *", "cron expression"},
		{"every morning", "cron expression"},
		{"CRON_TZ=Mars/Olympus 0 9 * * *", "cron expression"},
		{"0 0 30 2 *", "never fires"}, // 30 February
	}
	for _, tt := range tests {
		c := Campaign{Name: "Weekly tips", ChannelID: 1, Body: "Hi", Audience: Audience{Phones: []string{"+14155550100"}}, Schedule: tt.schedule}
		err := c.Validate(now)
		var problem string
		if err != nil {
			problem = err.(*parley.Error).Fields["schedule"]
		}
		if (tt.problem == "") != (problem == "") || !strings.Contains(problem, tt.problem) {
			t.Errorf("schedule %q: problem %q, want one saying %q (err %v)", tt.schedule, problem, tt.problem, err)
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
