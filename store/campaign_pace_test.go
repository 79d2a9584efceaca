package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/store"
)

// TestCampaignBackpressure: when nothing drains the outbox (the dispatcher
// or the carrier is slower than the rate), a campaign stops queueing at two
// ticks of texts instead of filling the outbox, and goes on once they leave.
func TestCampaignBackpressure(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		phones := make([]string, 100)
		for i := range phones {
			phones[i] = fmt.Sprintf("+1628%07d", 5000000+i)
		}
		c := tn.startCampaign(t, campaigns.Audience{Phones: phones}, 10)
		now := t0
		for range 6 {
			now = now.Add(time.Second)
			tn.advance(t, now)
		}
		if n := len(outbox(t, db)); n != 20 {
			t.Fatalf("%d texts in the outbox after 6 ticks at 10/s with nothing sent; want 20 (two ticks)", n)
		}
		// The dispatcher catches up: the campaign goes on.
		for _, it := range claim(t, db, now.Add(time.Minute), 100) {
			if err := db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: newSID("SM"), Status: "sent"}, now); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(time.Second)
		tn.advance(t, now)
		if n := len(outbox(t, db)); n != 10 {
			t.Errorf("%d texts in the outbox after the backlog left; want the next tick's 10", n)
		}
		got, _ := db.GetCampaign(ctx, tn.account.ID, c.ID)
		if got.Counts.Recipients != 100 || got.Counts.Sent != 20 || got.Counts.Queued != 80 {
			t.Errorf("counts %+v; want 100 recipients, 20 sent, 80 queued or pending", got.Counts)
		}
	})
}

// TestLateTickQueuesThousandsAtOnce: a tick late by a few seconds makes up
// for them, thousands of texts in one transaction; their new conversations
// and texts go to the event log whatever a statement's parameter limit.
func TestLateTickQueuesThousandsAtOnce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		phones := make([]string, 4000)
		for i := range phones {
			phones[i] = fmt.Sprintf("+1628%07d", 3000000+i)
		}
		c := tn.startCampaign(t, campaigns.Audience{Phones: phones}, campaigns.MaxRatePerSecond)
		tn.advance(t, t0) // the first tick: one second's texts
		// As if the dispatcher had sent them: none waits in the outbox.
		if _, err := db.SQL().ExecContext(ctx, `DELETE FROM outbox`); err != nil {
			t.Fatal(err)
		}
		tn.advance(t, t0.Add(3*time.Second))
		want := campaigns.MaxAhead * campaigns.MaxRatePerSecond
		if got := count(t, db, `SELECT COUNT(*) FROM outbox`); got != want {
			t.Fatalf("a tick 2 s late queued %d texts; want %d (two ticks ahead)", got, want)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM events WHERE type = 'message.created'`); got != want+campaigns.MaxRatePerSecond {
			t.Errorf("%d message.created events for %d texts queued", got, want+campaigns.MaxRatePerSecond)
		}
		if _, counts := tn.campaignCounts(t, c.ID); counts.Queued != len(phones) {
			t.Errorf("counts %+v; want every recipient queued or pending", counts)
		}
	})
}
