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

// TestCampaignTextsTakeTheirOriginsPriority: a campaign's texts wait
// behind staff replies, unless the campaign sends quick messages, which go
// out as a staff member's own would.
func TestCampaignTextsTakeTheirOriginsPriority(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		for i, origin := range []string{"campaign", campaigns.PurposeQuickMessage} {
			c, err := db.CreateCampaign(ctx, campaigns.Campaign{AccountID: tn.account.ID, Name: origin, ChannelID: tn.channel.ID,
				Body: "Hello", Audience: campaigns.Audience{Phones: []string{fmt.Sprintf("+1628555%04d", i)}}, OriginType: origin,
				RatePerSecond: 10, CreatedBy: tn.admin.ID, CreatedAt: t0, UpdatedAt: t0})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.TransitionCampaign(ctx, tn.account.ID, c.ID, campaigns.ActionStart, t0); err != nil {
				t.Fatal(err)
			}
		}
		tn.advance(t, t0)
		if got := count(t, db, `SELECT COUNT(*) FROM outbox WHERE purpose = 'campaign' AND priority = 10`); got != 1 {
			t.Errorf("%d campaign texts at the bulk priority; want 1", got)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM outbox WHERE purpose = 'quick_message' AND priority = 1`); got != 1 {
			t.Errorf("%d quick-message campaign texts at a staff text's priority; want 1", got)
		}
	})
}

// TestCampaignTicksFiringEarlyOrLateLoseNoBatch: the scheduler fires about
// once a second, each fire a few milliseconds off. A batch due 3 ms after
// a fire is taken by that fire, not a second later: every fire queues the
// campaign's rate, and the schedule stays where it was.
func TestCampaignTicksFiringEarlyOrLateLoseNoBatch(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		phones := make([]string, 60)
		for i := range phones {
			phones[i] = fmt.Sprintf("+1628%07d", 5100000+i)
		}
		tn.startCampaign(t, campaigns.Audience{Phones: phones}, 10)
		// The first fire runs 3 ms late; the next ones on time, early, late.
		// Each fire's texts are sent before the next (no backpressure).
		fires := []time.Duration{3, 1000, 1997, 3004, 3999}
		sendAll := func(now time.Time) int {
			items := claim(t, db, now.Add(time.Second), 100)
			for _, it := range items {
				if err := db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: newSID("SM"), Status: "sent"}, now); err != nil {
					t.Fatal(err)
				}
			}
			return len(items)
		}
		for i, off := range fires {
			now := t0.Add(off * time.Millisecond)
			tn.advance(t, now)
			if n := sendAll(now); n != 10 {
				t.Fatalf("fire %d (+%dms) queued %d texts; want the rate's 10", i+1, off, n)
			}
			// Nothing more until the next fire, however often asked.
			tn.advance(t, now.Add(100*time.Millisecond))
			if n := len(outbox(t, db)); n != 0 {
				t.Fatalf("a second call 100ms after fire %d queued %d more", i+1, n)
			}
		}
	})
}
