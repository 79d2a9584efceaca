package store_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/optout"
	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/devdb"
	"github.com/parleyhq/parley/store/storetest"
)

// campaignCounts reads the campaign's counts and checks that they add up
// to its recipients.
func (tn *tenant) campaignCounts(t testing.TB, id parley.ID) (campaigns.Status, campaigns.Counts) {
	t.Helper()
	c, err := tn.db.GetCampaign(ctx, tn.account.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	n := c.Counts
	if sum := n.Queued + n.Sent + n.Delivered + n.Failed + n.SkippedOptedOut + n.Cancelled; sum != n.Recipients {
		t.Errorf("counts %+v add up to %d, not the %d recipients", n, sum, n.Recipients)
	}
	if want, err := tn.db.CampaignCountsOfRecipients(ctx, id); err != nil {
		t.Fatal(err)
	} else if n != want {
		t.Errorf("counts kept %+v, but its recipients count %+v", n, want)
	}
	return c.Status, n
}

// TestCampaignCountsFollowEveryText: each recipient is counted where its
// text is: queued until the carrier has it (in the outbox or being handed
// over), sent once the carrier accepted it even if no receipt ever comes,
// then delivered or failed; the campaign completes only once its outbox
// is empty, with nothing queued.
func TestCampaignCountsFollowEveryText(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		const (
			accepted    = "+16285550001" // accepted, and no receipt ever comes
			delivered   = "+16285550002"
			undelivered = "+16285550003"
			refused     = "+16285550004" // the carrier refuses the send
			stopped     = "+16285550005" // STOP while the text waits in the outbox
			crashed     = "+16285550006" // its sender died mid-send; the carrier has it
			optedOut    = "+16285550007" // opted out before the start
		)
		phones := []string{accepted, delivered, undelivered, refused, stopped, crashed, optedOut}
		if _, err := db.RecordConsent(ctx, optout.Change{AccountID: tn.account.ID, Phone: optedOut, Action: optout.ActionOptOut,
			Source: optout.SourceStaff, At: t0}); err != nil {
			t.Fatal(err)
		}
		c := tn.startCampaign(t, campaigns.Audience{Phones: phones}, 100)
		now := t0.Add(time.Second)
		tn.advance(t, now)
		want := campaigns.Counts{Recipients: 7, Queued: 6, SkippedOptedOut: 1}
		if _, got := tn.campaignCounts(t, c.ID); got != want {
			t.Fatalf("queued: counts %+v, want %+v", got, want)
		}

		items := map[string]campaigns.OutboxItem{}
		for _, it := range claim(t, db, now.Add(time.Second), 10) {
			items[it.Text.To] = it
		}
		if len(items) != 6 {
			t.Fatalf("claimed %d texts, want 6", len(items))
		}
		now = now.Add(2 * time.Second)
		tn.advance(t, now)
		if status, got := tn.campaignCounts(t, c.ID); got != want || status != campaigns.StatusSending {
			t.Fatalf("being handed over: %s with counts %+v, want sending with %+v", status, got, want)
		}

		sids := map[string]string{}
		markSent := func(phone, status string) {
			t.Helper()
			sids[phone] = newSID("SM")
			if err := db.MarkSent(ctx, items[phone], campaigns.Sent{CarrierMessageID: sids[phone], Status: status, Segments: 1}, now); err != nil {
				t.Fatal(err)
			}
		}
		receipt := func(phone string, status conversations.MessageStatus) {
			t.Helper()
			if _, err := db.ApplyStatus(ctx, conversations.StatusUpdate{ChannelID: tn.channel.ID, Carrier: conversations.CarrierTwilio, CarrierAccountID: tn.channel.CarrierAccountID,
				CarrierMessageID: sids[phone], Status: status, At: now}); err != nil {
				t.Fatal(err)
			}
		}
		steps := []struct {
			what string
			do   func()
			want campaigns.Counts
		}{
			{"accepted without a receipt", func() { markSent(accepted, "sending") },
				campaigns.Counts{Recipients: 7, Queued: 5, Sent: 1, SkippedOptedOut: 1}},
			{"delivered", func() {
				markSent(delivered, "sending")
				receipt(delivered, conversations.MessageSent)
				receipt(delivered, conversations.MessageDelivered)
			},
				campaigns.Counts{Recipients: 7, Queued: 4, Sent: 1, Delivered: 1, SkippedOptedOut: 1}},
			{"undelivered", func() { markSent(undelivered, "sending"); receipt(undelivered, conversations.MessageUndelivered) },
				campaigns.Counts{Recipients: 7, Queued: 3, Sent: 1, Delivered: 1, Failed: 1, SkippedOptedOut: 1}},
			{"refused by the carrier", func() {
				if err := db.MarkFailed(ctx, items[refused], 21211, "invalid number", false, now); err != nil {
					t.Fatal(err)
				}
			}, campaigns.Counts{Recipients: 7, Queued: 2, Sent: 1, Delivered: 1, Failed: 2, SkippedOptedOut: 1}},
			{"opted out while queued", func() {
				if err := db.MarkSkipped(ctx, items[stopped], campaigns.HoldOptedOut, now); err != nil {
					t.Fatal(err)
				}
			}, campaigns.Counts{Recipients: 7, Queued: 1, Sent: 1, Delivered: 1, Failed: 2, SkippedOptedOut: 2}},
			{"reconciled after a crash", func() {
				// The lease expires; the next claim finds the text at the
				// carrier, delivered meanwhile, and records that.
				now = now.Add(2 * lease)
				again := claimOne(t, db, now)
				if !again.Reclaimed {
					t.Fatal("the crashed send was not reclaimed")
				}
				items[crashed] = again
				markSent(crashed, "delivered")
			}, campaigns.Counts{Recipients: 7, Sent: 1, Delivered: 2, Failed: 2, SkippedOptedOut: 2}},
		}
		for _, s := range steps {
			s.do()
			if status, got := tn.campaignCounts(t, c.ID); got != s.want || status != campaigns.StatusSending {
				t.Errorf("%s: %s with counts %+v, want sending with %+v", s.what, status, got, s.want)
			}
		}
		now = now.Add(time.Second)
		tn.advance(t, now)
		if status, got := tn.campaignCounts(t, c.ID); status != campaigns.StatusCompleted || got.Queued != 0 {
			t.Errorf("outbox empty: %s with counts %+v, want completed with none queued", status, got)
		}
	})
}

// TestCampaignNotCompletedWhileInTheOutbox: a text waiting for a retry
// keeps its campaign sending.
func TestCampaignNotCompletedWhileInTheOutbox(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		c := tn.startCampaign(t, campaigns.Audience{Phones: []string{"+16285550011"}}, 10)
		now := t0.Add(time.Second)
		tn.advance(t, now)
		it := claimOne(t, db, now.Add(time.Second))
		if err := db.MarkRetry(ctx, it, now.Add(time.Hour), "429", now); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			now = now.Add(time.Second)
			tn.advance(t, now)
		}
		if status, got := tn.campaignCounts(t, c.ID); status != campaigns.StatusSending || got.Queued != 1 {
			t.Errorf("a text waiting for its retry: %s with counts %+v, want sending with 1 queued", status, got)
		}
	})
}

// TestCancelledCampaignCountsAddUp: a cancel drops what the carrier does
// not have yet, and those recipients are counted as cancelled; what the
// carrier already took keeps its count.
func TestCancelledCampaignCountsAddUp(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		c := tn.startCampaign(t, campaigns.Audience{Phones: []string{"+16285550021", "+16285550022", "+16285550023"}}, 1)
		now := t0.Add(time.Second)
		tn.advance(t, now)
		it := claimOne(t, db, now.Add(time.Second))
		if err := db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: newSID("SM"), Status: "sending", Segments: 1}, now); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TransitionCampaign(ctx, tn.account.ID, c.ID, campaigns.ActionCancel, now); err != nil {
			t.Fatal(err)
		}
		want := campaigns.Counts{Recipients: 3, Sent: 1, Cancelled: 2}
		if status, got := tn.campaignCounts(t, c.ID); status != campaigns.StatusCancelled || got != want {
			t.Errorf("cancelled: %s with counts %+v, want cancelled with %+v", status, got, want)
		}
	})
}

// TestHoldsOfABatch: one query tells, for each claimed text, whether it
// must not go after all: its phone opted out (unless the text is the
// opt-out's own confirmation) or its campaign was cancelled.
func TestHoldsOfABatch(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, sidA, bizA)
		const stopped, other = "+16285550101", "+16285550102"
		if _, err := db.RecordConsent(ctx, optout.Change{AccountID: tn.account.ID, Phone: stopped, Action: optout.ActionOptOut,
			Source: optout.SourceStaff, At: t0}); err != nil {
			t.Fatal(err)
		}
		running := tn.startCampaign(t, campaigns.Audience{Phones: []string{other}}, 10)
		cancelled := tn.startCampaign(t, campaigns.Audience{Phones: []string{other}}, 10)
		if _, err := db.TransitionCampaign(ctx, tn.account.ID, cancelled.ID, campaigns.ActionCancel, t0); err != nil {
			t.Fatal(err)
		}
		text := func(to, purpose string, campaign parley.ID) campaigns.OutboxItem {
			return campaigns.OutboxItem{AccountID: tn.account.ID, Purpose: purpose, CampaignID: campaign, Text: campaigns.OutboundText{To: to}}
		}
		items := []campaigns.OutboxItem{
			text(stopped, "campaign", running.ID),
			text(stopped, campaigns.PurposeOptOutConfirmation, 0),
			text(other, "campaign", cancelled.ID),
			text(other, "campaign", running.ID),
			text(other, campaigns.PurposeReply, 0),
		}
		holds, err := db.Holds(ctx, items)
		if err != nil {
			t.Fatal(err)
		}
		want := []campaigns.Hold{campaigns.HoldOptedOut, campaigns.HoldNone, campaigns.HoldCampaignCancelled, campaigns.HoldNone, campaigns.HoldNone}
		if !slices.Equal(holds, want) {
			t.Errorf("holds = %q; want %q", holds, want)
		}
		// Texts checked one at a time by many workers at once are read
		// together; each still gets its own answer.
		together, errs := db.HoldsReadTogether(ctx, items)
		if !slices.Equal(together, want) || slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
			t.Errorf("holds read together = %q (%v); want %q", together, errs, want)
		}
		var wg sync.WaitGroup
		for round := range 20 {
			for i, it := range items {
				wg.Go(func() {
					got, err := db.Holds(ctx, []campaigns.OutboxItem{it})
					if err != nil || len(got) != 1 || got[0] != want[i] {
						t.Errorf("round %d, text %d checked alone: %q, %v; want %q", round, i, got, err, want[i])
					}
				})
			}
		}
		wg.Wait()
	})
}

// campaignAnnouncements counts the campaign.updated events of a campaign
// after position after, and returns the log's last position.
func (tn *tenant) campaignAnnouncements(t *testing.T, id parley.ID, after int64) (int, int64) {
	t.Helper()
	n := 0
	for _, e := range logOf(t, tn.db, tn.account.ID, after) {
		if e.Type == events.CampaignUpdated && e.SubjectID == id {
			n++
		}
		after = e.Seq
	}
	return n, after
}

// TestCampaignCountsFoldedOnceAndAnnounced: the changes recorded beside
// each status change are folded into the campaign's row by the next tick
// round, once even when two instances fold at the same moment; a change
// after the campaign completed (a late receipt, here a plain UPDATE that
// no store method made) is counted too, and announced by one
// campaign.updated, and a round with nothing to fold announces nothing.
func TestCampaignCountsFoldedOnceAndAnnounced(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		phones := make([]string, 40)
		for i := range phones {
			phones[i] = fmt.Sprintf("+1628%07d", 7000000+i)
		}
		c := tn.startCampaign(t, campaigns.Audience{Phones: phones}, len(phones))
		now := t0.Add(time.Second)
		tn.advance(t, now)
		items := claim(t, db, now.Add(time.Second), len(phones))
		for _, it := range items {
			if err := db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: newSID("SM"), Status: "sending", Segments: 1}, now); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(time.Second)
		tn.advance(t, now)
		if left := countChangesLeft(t, db); left != 0 {
			t.Errorf("%d count changes left after a tick round, want all folded", left)
		}
		if status, got := tn.campaignCounts(t, c.ID); status != campaigns.StatusCompleted || got.Sent != len(phones) {
			t.Fatalf("all accepted: %s with counts %+v, want completed with %d sent", status, got, len(phones))
		}

		_, head := tn.campaignAnnouncements(t, c.ID, 0)
		for _, it := range items[:10] {
			exec(t, db, `UPDATE messages SET status = 'delivered' WHERE id = ?`, it.MessageID)
		}
		want := campaigns.Counts{Recipients: len(phones), Sent: len(phones) - 10, Delivered: 10}
		if _, got := tn.campaignCounts(t, c.ID); got != want {
			t.Errorf("before the fold: counts %+v, want %+v", got, want)
		}
		now = now.Add(time.Second)
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if _, err := db.AdvanceCampaigns(ctx, now, time.Second); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if left := countChangesLeft(t, db); left != 0 {
			t.Errorf("%d count changes left after two folds, want none", left)
		}
		if _, got := tn.campaignCounts(t, c.ID); got != want {
			t.Errorf("after two folds at once: counts %+v, want %+v", got, want)
		}
		told, head := tn.campaignAnnouncements(t, c.ID, head)
		if told != 1 {
			t.Errorf("late receipts announced by %d campaign.updated, want 1", told)
		}
		tn.advance(t, now.Add(time.Second))
		if told, _ := tn.campaignAnnouncements(t, c.ID, head); told != 0 {
			t.Errorf("a round with nothing to fold announced %d campaign.updated, want none", told)
		}
	})
}

// TestMigrationKeepsCampaignCounts: campaigns under way when the counts
// move into their rows (migration 00032) keep their figures.
func TestMigrationKeepsCampaignCounts(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		phones := []string{"+16285550031", "+16285550032", "+16285550033", "+16285550034"}
		c := tn.startCampaign(t, campaigns.Audience{Phones: phones}, 2)
		now := t0.Add(time.Second)
		tn.advance(t, now)
		it := claim(t, db, now.Add(time.Second), 1)[0]
		if err := db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: newSID("SM"), Status: "sending", Segments: 1}, now); err != nil {
			t.Fatal(err)
		}
		_, before := tn.campaignCounts(t, c.ID)
		if err := db.UndoMigrationsAfter(ctx, 31); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if _, got := tn.campaignCounts(t, c.ID); got != before || got.Recipients != len(phones) || got.Sent != 1 {
			t.Errorf("after the migration: counts %+v, want %+v as before", got, before)
		}
		tn.advance(t, now.Add(time.Second))
		if _, got := tn.campaignCounts(t, c.ID); got != before {
			t.Errorf("after the migration and a fold: counts %+v, want %+v", got, before)
		}
	})
}

func countChangesLeft(t *testing.T, db *store.DB) int {
	t.Helper()
	n, err := db.CampaignCountChangesLeft(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCancelLargeAudienceAfterSmallMoves: a session whose count trigger
// first paired a recipient or two (a campaign queueing at 1/s) then
// cancels 40,000 pending recipients within seconds, not the minutes a
// plan kept from the small statements took (n² pairs). One connection,
// so that both run in the same session; a statement timeout stands for
// the hang.
func TestCancelLargeAudienceAfterSmallMoves(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		if db.Dialect() != "postgres" {
			t.Skip("PostgreSQL's statement-level triggers only")
		}
		one, err := store.Open(ctx, db.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer one.Close()
		one.SQL().SetMaxOpenConns(1)
		if _, err := one.SQL().ExecContext(ctx, `SET statement_timeout = '20s'`); err != nil {
			t.Fatal(err)
		}
		tn := newTenant(t, one, newSID("AC"), bizA)
		const n = 40_000
		if _, err := storetest.DevDB(t, db).Seed(ctx, db, devdb.SeedSpec{AccountID: tn.account.ID, Contacts: n, ContactType: "customer", Now: t0}); err != nil {
			t.Fatal(err)
		}
		c := tn.startCampaign(t, campaigns.Audience{Filter: &campaigns.AudienceFilter{ContactType: "customer"}}, 1)
		now := t0
		for expanded := 0; expanded < n; {
			now = now.Add(time.Second)
			tn.advance(t, now)
			expanded = count(t, one, `SELECT COUNT(*) FROM campaign_recipients WHERE campaign_id = ?`, c.ID)
		}
		queued := count(t, one, `SELECT COUNT(*) FROM campaign_recipients WHERE campaign_id = ? AND status = 'queued'`, c.ID)
		if queued == 0 {
			t.Fatal("no recipient queued one at a time before the cancel")
		}
		if _, err := one.TransitionCampaign(ctx, tn.account.ID, c.ID, campaigns.ActionCancel, now); err != nil {
			t.Fatalf("cancel: %v", err)
		}
		got, err := one.GetCampaign(ctx, tn.account.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The queued texts had not left the outbox: theirs are cancelled too.
		if got.Counts.Cancelled != n {
			t.Errorf("%d recipients counted cancelled, want all %d", got.Counts.Cancelled, n)
		}
	})
}
