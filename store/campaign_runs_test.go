package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/store"
)

// runsOf lists a recurring campaign's runs, newest first.
func (tn *tenant) runsOf(t testing.TB, parent parley.ID) []campaigns.Campaign {
	t.Helper()
	runs, _, err := tn.db.ListCampaigns(ctx, tn.account.ID, &parent, parley.Page{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func (tn *tenant) advance(t testing.TB, now time.Time) {
	t.Helper()
	if _, err := tn.db.AdvanceCampaigns(ctx, now, time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestRecurringCampaignRuns(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		c, err := db.CreateCampaign(ctx, campaigns.Campaign{AccountID: tn.account.ID, Name: "Daily tip", ChannelID: tn.channel.ID,
			Body: "Tip of the day", Audience: campaigns.Audience{Phones: []string{"+14155557001", "+14155557002"}}, OriginType: "campaign",
			Schedule: "0 9 * * *", RatePerSecond: 10, CreatedBy: tn.admin.ID, CreatedAt: t0, UpdatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		// t0 is 10:00 UTC: the first run is tomorrow at 09:00.
		day1 := time.Date(2026, 1, 6, 9, 0, 0, 0, time.UTC)
		c, err = db.TransitionCampaign(ctx, tn.account.ID, c.ID, campaigns.ActionStart, t0)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != campaigns.StatusScheduled || c.NextRunAt == nil || !c.NextRunAt.Equal(day1) {
			t.Fatalf("started: status %s, next run %v; want scheduled for %v", c.Status, c.NextRunAt, day1)
		}
		tn.advance(t, day1.Add(-time.Second))
		if runs := tn.runsOf(t, c.ID); len(runs) != 0 {
			t.Fatalf("%d runs before the schedule fired", len(runs))
		}

		// Instances ticking at once start one run per fire.
		const fires = 10
		for day := range fires {
			start := make(chan struct{})
			var wg sync.WaitGroup
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if _, err := db.AdvanceCampaigns(ctx, day1.Add(time.Duration(day)*24*time.Hour+100*time.Millisecond), time.Second); err != nil {
						t.Error(err)
					}
				}()
			}
			close(start)
			wg.Wait()
		}
		runs := tn.runsOf(t, c.ID)
		if len(runs) != fires {
			t.Fatalf("%d runs after %d fires, want one each", len(runs), fires)
		}
		run := runs[fires-1] // the first, on day 1
		if run.ParentID == nil || *run.ParentID != c.ID || run.Schedule != "" || run.Name != "Daily tip — 2026-01-06 09:00 UTC" {
			t.Errorf("run = %+v", run)
		}
		tn.advance(t, day1.Add(2*time.Second))
		if phones := recipientPhones(t, db, run.ID); len(phones) != 2 {
			t.Errorf("the run has recipients %v, want both phones", phones)
		}
		day1 = day1.Add((fires - 1) * 24 * time.Hour) // the last fire
		tn.advance(t, day1.Add(2*time.Second))
		if phones := recipientPhones(t, db, runs[0].ID); len(phones) != 2 {
			t.Errorf("the run has recipients %v, want both phones", phones)
		}
		parent, _ := db.GetCampaign(ctx, tn.account.ID, c.ID)
		if parent.Status != campaigns.StatusScheduled || !parent.NextRunAt.Equal(day1.Add(24*time.Hour)) || parent.Counts.Recipients != 0 {
			t.Errorf("after its run the recurring campaign is %s, next %v, %d recipients; want scheduled for the next day, none of its own",
				parent.Status, parent.NextRunAt, parent.Counts.Recipients)
		}

		// Paused, it skips the next fire; resumed, it picks the one after.
		if _, err := db.TransitionCampaign(ctx, tn.account.ID, c.ID, campaigns.ActionPause, day1.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		tn.advance(t, day1.Add(24*time.Hour+time.Second))
		if n := len(tn.runsOf(t, c.ID)); n != fires {
			t.Errorf("%d runs while paused, want still %d", n, fires)
		}
		c, err = db.TransitionCampaign(ctx, tn.account.ID, c.ID, campaigns.ActionResume, day1.Add(36*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		day3 := day1.Add(48 * time.Hour)
		if c.Status != campaigns.StatusScheduled || !c.NextRunAt.Equal(day3) {
			t.Errorf("resumed: %s, next %v; want scheduled for %v", c.Status, c.NextRunAt, day3)
		}
		// Down for days: one run when it comes back, not one per missed fire.
		tn.advance(t, day3.Add(72*time.Hour+time.Minute))
		if n := len(tn.runsOf(t, c.ID)); n != fires+1 {
			t.Errorf("%d runs after a long stop, want %d", n, fires+1)
		}
		c, err = db.TransitionCampaign(ctx, tn.account.ID, c.ID, campaigns.ActionCancel, day3.Add(73*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if c.NextRunAt != nil {
			t.Errorf("a cancelled recurring campaign has a next run %v", c.NextRunAt)
		}
		tn.advance(t, day3.Add(30*24*time.Hour))
		if n := len(tn.runsOf(t, c.ID)); n != fires+1 {
			t.Errorf("%d runs after cancel, want %d", n, fires+1)
		}
	})
}
