package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

// sendCampaign queues and sends a campaign to n phones: the carrier
// accepted every text at now and no receipt came.
func (tn *tenant) sendCampaign(t testing.TB, n int, now time.Time) []campaigns.OutboxItem {
	t.Helper()
	tn.queueCampaign(t, n, now)
	items := claim(t, tn.db, now.Add(time.Second), n)
	for _, it := range items {
		if err := tn.db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: newSID("SM"), Status: "sending"}, now); err != nil {
			t.Fatal(err)
		}
	}
	return items
}

// queueCampaign starts a campaign to n phones at n a second and runs its
// first tick: its texts wait in the outbox, due within the next second.
func (tn *tenant) queueCampaign(t testing.TB, n int, now time.Time) {
	t.Helper()
	phones := make([]string, n)
	for i := range phones {
		phones[i] = fmt.Sprintf("+1628%07d", 6000000+i)
	}
	tn.startCampaign(t, campaigns.Audience{Phones: phones}, n)
	tn.advance(t, now)
}

// outbound is what a test needs of an outbound message.
type outbound struct {
	Status           conversations.MessageStatus `db:"status"`
	CarrierMessageID string                      `db:"carrier_message_id"`
}

func outboundMessage(t testing.TB, db *store.DB, id parley.ID) outbound {
	t.Helper()
	var m outbound
	if err := db.SQL().GetContext(ctx, &m, db.SQL().Rebind(`SELECT status, carrier_message_id FROM messages WHERE id = ?`), id); err != nil {
		t.Fatal(err)
	}
	return m
}

func claimChecks(t testing.TB, db *store.DB, now time.Time, limit int) []campaigns.StatusCheck {
	t.Helper()
	checks, err := db.ClaimStatusChecks(ctx, now, time.Minute, limit)
	if err != nil {
		t.Fatalf("ClaimStatusChecks: %v", err)
	}
	return checks
}

// TestStatusChecks: a text still without a final status an hour after the
// carrier accepted it is due for a lookup, once; what the carrier says is
// recorded, never backwards; a final status (looked up or by callback)
// ends the lookups, and so does giving up.
func TestStatusChecks(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		accepted := t0.Add(time.Second)
		items := tn.sendCampaign(t, 4, accepted)
		if got := claimChecks(t, db, accepted.Add(time.Hour-time.Second), 10); len(got) != 0 {
			t.Fatalf("%d texts due before their hour", len(got))
		}
		// One gets its receipt by callback: never looked up.
		msgs := map[parley.ID]outbound{}
		for _, it := range items {
			msgs[it.MessageID] = outboundMessage(t, db, it.MessageID)
		}
		first := msgs[items[0].MessageID]
		if _, err := db.ApplyStatus(ctx, conversations.StatusUpdate{ChannelID: tn.channel.ID, Carrier: conversations.CarrierTwilio, CarrierAccountID: tn.channel.CarrierAccountID,
			CarrierMessageID: first.CarrierMessageID, Status: conversations.MessageDelivered, At: accepted}); err != nil {
			t.Fatal(err)
		}
		now := accepted.Add(time.Hour)
		checks := claimChecks(t, db, now, 10)
		if len(checks) != 3 {
			t.Fatalf("%d texts due after an hour, want the 3 without a receipt", len(checks))
		}
		for _, c := range checks {
			m := msgs[c.MessageID]
			if c.CarrierMessageID != m.CarrierMessageID || !c.AcceptedAt.Equal(accepted) || c.Checks != 0 ||
				c.Text.CarrierAccountID != tn.channel.CarrierAccountID || c.Text.AuthToken != tn.channel.AuthToken {
				t.Errorf("check %+v for message %+v", c, m)
			}
		}
		if again := claimChecks(t, db, now.Add(30*time.Second), 10); len(again) != 0 {
			t.Errorf("%d texts claimed again within the lease", len(again))
		}
		// delivered; still sent (looked at again later); sent by the
		// carrier but already delivered here (kept delivered).
		next, _ := campaigns.NextStatusCheck(accepted, 1, now)
		record := func(c campaigns.StatusCheck, s conversations.MessageStatus, next time.Time) {
			t.Helper()
			if err := db.RecordStatusCheck(ctx, c, campaigns.CarrierStatus{Status: s}, next, now); err != nil {
				t.Fatal(err)
			}
		}
		record(checks[0], conversations.MessageDelivered, next)
		record(checks[1], conversations.MessageSent, next)
		exec(t, db, `UPDATE messages SET status = 'delivered' WHERE id = ?`, checks[2].MessageID)
		record(checks[2], conversations.MessageSent, next)
		for i, want := range []conversations.MessageStatus{conversations.MessageDelivered, conversations.MessageSent, conversations.MessageDelivered} {
			if got := outboundMessage(t, db, checks[i].MessageID).Status; got != want {
				t.Errorf("text %d after its lookup: %s, want %s", i, got, want)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM status_checks`); n != 2 {
			t.Errorf("%d texts still to look up after one was delivered; want 2", n)
		}
		later := claimChecks(t, db, next, 10)
		if len(later) != 2 || later[0].Checks != 1 {
			t.Fatalf("due again at %v: %+v, want the 2 not delivered, checked once", next, later)
		}
		// Given up on: never looked up again.
		for _, c := range later {
			record(c, conversations.MessageSent, time.Time{})
		}
		if n := count(t, db, `SELECT COUNT(*) FROM status_checks`); n != 0 {
			t.Errorf("%d texts still to look up after giving up", n)
		}
	})
}

// TestStatusChecksClaimedOnce: pollers on two database handles (two
// instances) never take the same text.
func TestStatusChecksClaimedOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		other, err := store.Open(ctx, db.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		tn := newTenant(t, db, newSID("AC"), bizA)
		const n = 120
		accepted := t0.Add(time.Second)
		items := tn.sendCampaign(t, n, accepted)
		var want []parley.ID
		for _, it := range items {
			want = append(want, it.MessageID)
		}
		now := accepted.Add(time.Hour)
		handles := []*store.DB{db, other, db, other}
		claimed := claimConcurrently(t, len(handles), func(w int) ([]parley.ID, error) {
			checks, err := handles[w].ClaimStatusChecks(ctx, now, time.Minute, 7)
			ids := make([]parley.ID, len(checks))
			for i, c := range checks {
				ids[i] = c.MessageID
			}
			return ids, err
		})
		var all []parley.ID
		for _, ids := range claimed {
			all = append(all, ids...)
		}
		slices.Sort(all)
		slices.Sort(want)
		if !slices.Equal(all, want) {
			t.Fatalf("pollers claimed %d texts (%d distinct); want each of %d once", len(all), len(slices.Compact(slices.Clone(all))), n)
		}
	})
}

// twoOfThreeInFlight sends a campaign of three texts, which the carrier
// accepted at the time it returns, and delivers the first.
func twoOfThreeInFlight(t *testing.T, db *store.DB) time.Time {
	t.Helper()
	tn := newTenant(t, db, newSID("AC"), bizA)
	accepted := t0.Add(time.Second)
	items := tn.sendCampaign(t, 3, accepted)
	exec(t, db, `UPDATE messages SET status = 'delivered' WHERE id = ?`, items[0].MessageID)
	return accepted
}

// TestStatusChecksBookedForTextsAlreadyWaiting: texts already waiting for
// a receipt when the lookups arrive are looked up too.
func TestStatusChecksBookedForTextsAlreadyWaiting(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		accepted := twoOfThreeInFlight(t, db)
		if err := db.UndoMigrationsAfter(ctx, 20); err != nil { // 00021 books the lookups
			t.Fatal(err)
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		checks := claimChecks(t, db, accepted.Add(time.Hour), 10)
		if len(checks) != 2 || !checks[0].AcceptedAt.Equal(accepted) {
			t.Errorf("after the migration: %+v due, want the 2 texts still without a final status", checks)
		}
	})
}

// TestStatusCheckBatchesKeptOnDowngrade: rolled back past 00049, the texts
// booked together keep their lookups, each in a row of its own, and those
// still come due after their hour once migrated forward again.
func TestStatusCheckBatchesKeptOnDowngrade(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		accepted := twoOfThreeInFlight(t, db)
		if err := db.UndoMigrationsAfter(ctx, 48); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM status_checks WHERE next_check_at = ?`, accepted.Add(time.Hour).UnixMilli()); n != 2 {
			t.Errorf("%d texts booked for their hour after the rollback; want the 2 still in flight", n)
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if checks := claimChecks(t, db, accepted.Add(time.Hour), 10); len(checks) != 2 || !checks[0].AcceptedAt.Equal(accepted) {
			t.Errorf("migrated forward again: %+v due, want the 2 texts still without a final status", checks)
		}
	})
}
