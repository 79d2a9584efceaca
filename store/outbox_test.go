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
	"github.com/parleyhq/parley/optout"
	"github.com/parleyhq/parley/store"
)

const lease = time.Minute

// queueHelp has phone text HELP, which queues one auto-reply.
func (tn *tenant) queueHelp(t testing.TB, phone string) conversations.Message {
	t.Helper()
	res := tn.receive(t, text{from: phone, body: "HELP"})
	if res.Reply == nil {
		t.Fatal("HELP queued no reply")
	}
	return *res.Reply
}

func claim(t testing.TB, db *store.DB, now time.Time, limit int) []campaigns.OutboxItem {
	t.Helper()
	items, err := db.ClaimOutbox(ctx, now, lease, limit)
	if err != nil {
		t.Fatalf("ClaimOutbox: %v", err)
	}
	return items
}

func claimOne(t testing.TB, db *store.DB, now time.Time) campaigns.OutboxItem {
	t.Helper()
	items := claim(t, db, now, 10)
	if len(items) != 1 {
		t.Fatalf("claimed %d items; want 1", len(items))
	}
	return items[0]
}

func messageIDs(items []campaigns.OutboxItem) []parley.ID {
	ids := make([]parley.ID, len(items))
	for i, it := range items {
		ids[i] = it.MessageID
	}
	return ids
}

func getMessage(t testing.TB, db *store.DB, accountID, convID, msgID parley.ID) conversations.Message {
	t.Helper()
	msgs, _, err := db.ListMessages(ctx, accountID, convID, conversations.Page{Limit: conversations.MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.ID == msgID {
			return m
		}
	}
	t.Fatalf("message %d not in conversation %d", msgID, convID)
	return conversations.Message{}
}

func TestClaimOutbox(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		a.addChannel(t, conversations.Channel{CarrierAccountID: sidA, MessagingServiceSID: mgA, AuthToken: "pool-token"})
		help := a.queueHelp(t, alice)
		poolReply := a.receive(t, text{from: bob, to: "+14155550150", service: mgA, body: "STOP"}).Reply
		settings, _ := db.GetSettings(ctx, a.account.ID)

		now := t0.Add(time.Second)
		items := claim(t, db, now, 10)
		if len(items) != 2 {
			t.Fatalf("claimed %d items; want 2", len(items))
		}
		byMsg := map[parley.ID]campaigns.OutboxItem{items[0].MessageID: items[0], items[1].MessageID: items[1]}
		it, ok := byMsg[help.ID]
		if !ok {
			t.Fatalf("claimed %v; want the HELP reply %d", messageIDs(items), help.ID)
		}
		want := campaigns.OutboundText{CarrierAccountID: sidA, AuthToken: a.channel.AuthToken, From: bizA, To: alice, Body: settings.HelpText, MediaURLs: []string{}}
		if it.AccountID != a.account.ID || it.Purpose != campaigns.PurposeAutoReply || it.Attempts != 0 || it.ID == 0 ||
			it.Text.CarrierAccountID != want.CarrierAccountID || it.Text.AuthToken != want.AuthToken || it.Text.From != want.From ||
			it.Text.To != want.To || it.Text.Body != want.Body || it.Text.MessagingServiceSID != "" {
			t.Errorf("claimed %+v; want text %+v", it, want)
		}
		pool := byMsg[poolReply.ID]
		if pool.Text.MessagingServiceSID != mgA || pool.Text.AuthToken != "pool-token" || pool.Purpose != campaigns.PurposeOptOutConfirmation ||
			pool.Text.To != bob || pool.Text.Body != settings.OptOutReply {
			t.Errorf("claimed pool item %+v; want one sent through %s", pool, mgA)
		}

		tests := []struct {
			name string
			at   time.Time
			want int
		}{
			{"claimed items are invisible", now.Add(30 * time.Second), 0},
			{"still invisible just before the lease ends", now.Add(lease - time.Millisecond), 0},
			{"reclaimed once the lease expires", now.Add(lease + time.Second), 2},
			{"the reclaim took a new lease", now.Add(lease + 30*time.Second), 0},
		}
		for _, tt := range tests {
			got := claim(t, db, tt.at, 10)
			if len(got) != tt.want {
				t.Fatalf("%s: claimed %d items; want %d", tt.name, len(got), tt.want)
			}
			if tt.want > 0 && !slices.Equal(sortedIDs(got), sortedIDs(items)) {
				t.Fatalf("%s: claimed %v; want %v", tt.name, messageIDs(got), messageIDs(items))
			}
			for _, it := range got {
				if !it.Reclaimed || !it.ClaimedAt.Equal(now) {
					t.Errorf("%s: item %d Reclaimed=%v ClaimedAt=%v; want reclaimed from the claim at %v", tt.name, it.ID, it.Reclaimed, it.ClaimedAt, now)
				}
			}
		}
	})
}

// An item whose sender died mid-send comes back Reclaimed once its lease
// expires, with the start of the dead claim: the window in which the text
// may have reached the carrier.
func TestClaimOutboxReclaim(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		a.queueHelp(t, alice)

		first := t0.Add(time.Second)
		fresh := claimOne(t, db, first)
		if fresh.Reclaimed || !fresh.ClaimedAt.IsZero() {
			t.Fatalf("a first claim came back Reclaimed=%v ClaimedAt=%v; want a plain claim", fresh.Reclaimed, fresh.ClaimedAt)
		}
		// Not completed: the process died. Two minutes on, a 1-minute
		// lease has long expired.
		second := first.Add(2 * time.Minute)
		again := claimOne(t, db, second)
		if again.ID != fresh.ID || !again.Reclaimed || !again.ClaimedAt.Equal(first) {
			t.Fatalf("reclaim = id %d Reclaimed=%v ClaimedAt=%v; want item %d Reclaimed at %v", again.ID, again.Reclaimed, again.ClaimedAt, fresh.ID, first)
		}
		if again.Text.Body != fresh.Text.Body || again.Text.To != fresh.Text.To {
			t.Errorf("reclaimed text %+v; want %+v", again.Text, fresh.Text)
		}

		// The reclaim died too: the next one reports the reclaim's start.
		third := second.Add(2 * time.Minute)
		if it := claimOne(t, db, third); !it.Reclaimed || !it.ClaimedAt.Equal(second) {
			t.Fatalf("second reclaim: Reclaimed=%v ClaimedAt=%v; want the first reclaim's start %v", it.Reclaimed, it.ClaimedAt, second)
		}
	})
}

// A reclaimed item whose carrier lookup failed is retried unresolved: not
// before its retry time, and then as a reclaim of the original attempt,
// so it is looked up again rather than sent.
func TestMarkRetryKeepsReclaimUnresolved(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		reclaimed     bool
		wantReclaimed bool
	}{
		{"a reclaimed item stays unresolved", true, true},
		{"a plain retry is a plain claim", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db *store.DB) {
				a := newTenant(t, db, sidA, bizA)
				a.queueHelp(t, alice)
				it := claimOne(t, db, t0)
				if tt.reclaimed {
					it = claimOne(t, db, t0.Add(2*lease))
					if !it.Reclaimed || !it.ClaimedAt.Equal(t0) {
						t.Fatalf("reclaim = %+v", it)
					}
				}
				now := t0.Add(3 * lease)
				retryAt := now.Add(10 * time.Minute)
				if err := db.MarkRetry(ctx, it, retryAt, "lookup failed: http 503", now); err != nil {
					t.Fatalf("MarkRetry: %v", err)
				}
				if got := claim(t, db, retryAt.Add(-time.Millisecond), 10); len(got) != 0 {
					t.Fatalf("claimed %+v before its retry time", got)
				}
				next := claimOne(t, db, retryAt)
				if next.ID != it.ID || next.Attempts != 1 || next.Reclaimed != tt.wantReclaimed {
					t.Fatalf("retry = id %d attempts %d Reclaimed=%v; want item %d, 1 attempt, Reclaimed=%v",
						next.ID, next.Attempts, next.Reclaimed, it.ID, tt.wantReclaimed)
				}
				if tt.wantReclaimed && !next.ClaimedAt.Equal(t0) {
					t.Errorf("retry ClaimedAt = %v; want the crashed attempt's %v", next.ClaimedAt, t0)
				}
			})
		})
	}
}

func sortedIDs(items []campaigns.OutboxItem) []parley.ID {
	ids := messageIDs(items)
	slices.Sort(ids)
	return ids
}

func TestClaimOutboxOrder(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		// A campaign text queued first: bulk traffic, priority 10. No store
		// method queues one yet, so write it as enqueueText would.
		conv := a.receive(t, text{from: bob, body: "hello"}).Conversation
		exec(t, db, `INSERT INTO messages (account_id, conversation_id, channel_id, direction, kind, body, status, created_at, updated_at)
VALUES (?, ?, ?, 'outbound', 'text', 'Spring sale!', 'queued', ?, ?)`, a.account.ID, conv.ID, a.channel.ID, t0.UnixMilli(), t0.UnixMilli())
		exec(t, db, `INSERT INTO outbox (account_id, message_id, channel_id, to_phone, purpose, priority, state, available_at, created_at, updated_at)
SELECT account_id, id, channel_id, ?, 'campaign', 10, 'queued', created_at, created_at, created_at FROM messages WHERE body = 'Spring sale!'`, bob)
		first := a.queueHelp(t, alice)
		second := a.queueHelp(t, "+14155550111")

		one := claim(t, db, t0.Add(time.Second), 1)
		if len(one) != 1 || one[0].MessageID != first.ID {
			t.Fatalf("first claim got %+v; want the older auto-reply %d before the earlier campaign text", one, first.ID)
		}
		items := claim(t, db, t0.Add(time.Second), 10)
		if len(items) != 2 || items[0].MessageID != second.ID || items[1].Purpose != "campaign" {
			t.Fatalf("second claim = %+v; want the other auto-reply, then the campaign text", items)
		}
	})
}

func TestMarkSent(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		reply := a.queueHelp(t, alice)
		it := claimOne(t, db, t0.Add(time.Second))
		at := t0.Add(2 * time.Second)
		if err := db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: "SMout1", Status: "sending", Segments: 2}, at); err != nil {
			t.Fatalf("MarkSent: %v", err)
		}
		m := getMessage(t, db, a.account.ID, reply.ConversationID, reply.ID)
		if m.CarrierMessageID != "SMout1" || m.Status != conversations.MessageSending || m.Segments != 2 || !m.UpdatedAt.Equal(at) {
			t.Errorf("message after MarkSent = %+v", m)
		}
		if got := claim(t, db, t0.Add(time.Hour), 10); len(got) != 0 {
			t.Errorf("a sent item was claimed again: %+v", got)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM outbox`); n != 0 {
			t.Errorf("%d outbox rows after MarkSent; want 0", n)
		}
		// The carrier's receipts find the message by its id.
		if _, err := db.ApplyStatus(ctx, conversations.StatusUpdate{ChannelID: a.channel.ID, Carrier: conversations.CarrierTwilio, CarrierAccountID: sidA,
			CarrierMessageID: "SMout1", Status: conversations.MessageDelivered, At: at}); err != nil {
			t.Errorf("ApplyStatus after MarkSent: %v", err)
		}
	})
}

// A carrier id is one message's: recording it for another (a reconciled
// send that matched a twin text) is refused, and the item is kept.
func TestMarkSentCarrierIDTaken(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		a.queueHelp(t, alice)
		twin := a.queueHelp(t, alice)
		items := claim(t, db, t0.Add(time.Second), 10)
		if len(items) != 2 {
			t.Fatalf("claimed %d items; want 2", len(items))
		}
		first, second := items[0], items[1]
		if second.MessageID != twin.ID {
			first, second = second, first
		}
		at := t0.Add(2 * time.Second)
		if err := db.MarkSent(ctx, first, campaigns.Sent{CarrierMessageID: "SMtwin", Status: "sending"}, at); err != nil {
			t.Fatal(err)
		}
		wantKind(t, db.MarkSent(ctx, second, campaigns.Sent{CarrierMessageID: "SMtwin", Status: "sending"}, at), parley.ECONFLICT)
		if m := getMessage(t, db, a.account.ID, twin.ConversationID, twin.ID); m.CarrierMessageID != "" || m.Status != conversations.MessageQueued {
			t.Errorf("twin after the refused MarkSent = %+v; want unchanged", m)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM outbox WHERE id = ?`, second.ID); n != 1 {
			t.Errorf("the twin's outbox row is gone after a refused MarkSent")
		}
	})
}

func TestMarkRetry(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		a.queueHelp(t, alice)
		it := claimOne(t, db, t0)
		retryAt := t0.Add(10 * time.Minute)
		if err := db.MarkRetry(ctx, it, retryAt, "http 503", t0.Add(time.Second)); err != nil {
			t.Fatalf("MarkRetry: %v", err)
		}
		// Not before retryAt, even though the first lease has long expired.
		if got := claim(t, db, t0.Add(5*time.Minute), 10); len(got) != 0 {
			t.Fatalf("claimed %+v before its retry time", got)
		}
		again := claimOne(t, db, retryAt)
		if again.ID != it.ID || again.Attempts != 1 {
			t.Errorf("retry = %+v; want item %d with 1 attempt", again, it.ID)
		}
		if err := db.MarkRetry(ctx, again, retryAt.Add(time.Minute), "http 429", retryAt); err != nil {
			t.Fatal(err)
		}
		if third := claimOne(t, db, retryAt.Add(time.Minute)); third.Attempts != 2 {
			t.Errorf("attempts = %d; want 2", third.Attempts)
		}
	})
}

func TestMarkFailed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		code         int
		unsubscribed bool
	}{
		{"recipient unsubscribed", 21610, true},
		{"other refusal", 21211, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db *store.DB) {
				a := newTenant(t, db, sidA, bizA)
				reply := a.queueHelp(t, alice)
				it := claimOne(t, db, t0)
				at := t0.Add(time.Second)
				if err := db.MarkFailed(ctx, it, tt.code, "carrier said no", tt.unsubscribed, at); err != nil {
					t.Fatalf("MarkFailed: %v", err)
				}
				m := getMessage(t, db, a.account.ID, reply.ConversationID, reply.ID)
				if m.Status != conversations.MessageFailed || m.ErrorCode == nil || *m.ErrorCode != tt.code {
					t.Errorf("message = %+v; want failed with %d", m, tt.code)
				}
				if n := count(t, db, `SELECT COUNT(*) FROM outbox`); n != 0 {
					t.Errorf("%d outbox rows after MarkFailed; want 0", n)
				}
				consent, _ := db.GetConsent(ctx, a.account.ID, alice)
				if consent.OptedOut != tt.unsubscribed {
					t.Errorf("opted out = %v; want %v", consent.OptedOut, tt.unsubscribed)
				}
				events, _, _ := db.ListConsentEvents(ctx, a.account.ID, alice, parley.Page{Limit: 200})
				if !tt.unsubscribed {
					if len(events) != 0 {
						t.Errorf("consent events = %+v; want none", events)
					}
					return
				}
				if len(events) != 1 || events[0].Action != optout.ActionOptOut || events[0].Source != optout.SourceCarrierError ||
					events[0].Detail != "carrier said no" || !events[0].CreatedAt.Equal(at) {
					t.Errorf("consent events = %+v; want one carrier_error opt-out", events)
				}
				if c, _ := db.GetConversation(ctx, a.account.ID, reply.ConversationID); !c.OptedOut {
					t.Error("the thread does not show the carrier's opt-out")
				}
			})
		})
	}
}

func TestMarkSkipped(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		reply := a.queueHelp(t, alice)
		it := claimOne(t, db, t0)
		if err := db.MarkSkipped(ctx, it, campaigns.HoldOptedOut, t0.Add(time.Second)); err != nil {
			t.Fatalf("MarkSkipped: %v", err)
		}
		m := getMessage(t, db, a.account.ID, reply.ConversationID, reply.ID)
		if m.Status != conversations.MessageFailed || m.ErrorCode == nil || *m.ErrorCode != 21610 || m.CarrierMessageID != "" {
			t.Errorf("skipped message = %+v; want failed with 21610 and never sent", m)
		}
		if got := claim(t, db, t0.Add(time.Hour), 10); len(got) != 0 {
			t.Errorf("a skipped item was claimed again: %+v", got)
		}
		if events, _, _ := db.ListConsentEvents(ctx, a.account.ID, alice, parley.Page{Limit: 200}); len(events) != 0 {
			t.Errorf("skipping logged consent events %+v", events)
		}
	})
}

// Several dispatchers drain one outbox: every item goes to exactly one.
func TestClaimOutboxConcurrent(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		const n = 200
		want := make([]parley.ID, 0, n)
		for range n {
			want = append(want, a.queueHelp(t, alice).ID)
		}
		const workers = 4
		claimed := claimConcurrently(t, workers, func(int) ([]parley.ID, error) {
			items, err := db.ClaimOutbox(ctx, t0.Add(time.Second), lease, 7)
			return messageIDs(items), err
		})
		var all []parley.ID
		for w := range workers {
			all = append(all, claimed[w]...)
		}
		slices.Sort(all)
		if len(all) != n || !slices.Equal(all, want) {
			dups := len(all) - len(slices.Compact(slices.Clone(all)))
			t.Fatalf("workers claimed %d items (%d duplicates); want each of %d exactly once", len(all), dups, n)
		}
		busy := 0
		for w := range workers {
			if len(claimed[w]) > 0 {
				busy++
			}
		}
		t.Logf("%d of %d workers got items: %v", busy, workers, []int{len(claimed[0]), len(claimed[1]), len(claimed[2]), len(claimed[3])})
	})
}

// claimConcurrently runs workers that claim at once, each until its claim
// comes back empty, and returns what each claimed.
func claimConcurrently(t *testing.T, workers int, claim func(w int) ([]parley.ID, error)) [][]parley.ID {
	t.Helper()
	claimed := make([][]parley.ID, workers)
	errs := make([]error, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			<-start
			for {
				ids, err := claim(w)
				if err != nil || len(ids) == 0 {
					errs[w] = err
					return
				}
				claimed[w] = append(claimed[w], ids...)
			}
		})
	}
	close(start)
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: %v", w, err)
		}
	}
	return claimed
}

// TestRenewLease: a claim renews its own lease, and once its lease has
// expired and another worker has claimed the text, it no longer can.
func TestRenewLease(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		a.queueHelp(t, alice)
		first := claimOne(t, db, t0)
		if !first.LeaseUntil.Equal(t0.Add(lease)) {
			t.Errorf("lease until %v, want %v", first.LeaseUntil, t0.Add(lease))
		}
		if ok, err := db.RenewLease(ctx, first, t0.Add(2*lease)); err != nil || !ok {
			t.Fatalf("renewing its own lease: %v %v", ok, err)
		}
		if got := claim(t, db, t0.Add(lease+time.Second), 10); len(got) != 0 {
			t.Fatalf("a renewed lease was taken at its old end: %+v", got)
		}
		second := claimOne(t, db, t0.Add(2*lease+time.Second)) // the renewed lease ran out too
		if !second.Reclaimed {
			t.Error("the second claim is not a reclaim")
		}
		if ok, err := db.RenewLease(ctx, first, t0.Add(3*lease)); err != nil || ok {
			t.Errorf("the first claim renewed a lease another worker holds: %v %v", ok, err)
		}
		if ok, _ := db.RenewLease(ctx, second, t0.Add(3*lease)); !ok {
			t.Error("the second claim cannot renew its own lease")
		}
	})
}

// A failure found at the carrier after the send (a reconciled send, a
// status lookup) is recorded as MarkFailed records a refused one: the
// carrier's code kept, and one the adapter calls unsubscribed (Twilio's
// 21610) an opt-out.
func TestFailureFoundAtTheCarrier(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		status       conversations.MessageStatus
		code         int
		unsubscribed bool
	}{
		{"recipient unsubscribed", conversations.MessageFailed, 21610, true},
		{"undelivered, unsubscribed", conversations.MessageUndelivered, 21610, true},
		{"unreachable", conversations.MessageUndelivered, 30003, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db *store.DB) {
				a := newTenant(t, db, sidA, bizA)
				check := func(t *testing.T, msg conversations.Message, phone string) {
					t.Helper()
					m := getMessage(t, db, a.account.ID, msg.ConversationID, msg.ID)
					if m.Status != tt.status || m.ErrorCode == nil || *m.ErrorCode != tt.code {
						t.Errorf("message = %s, code %v; want %s with %d", m.Status, m.ErrorCode, tt.status, tt.code)
					}
					consent, _ := db.GetConsent(ctx, a.account.ID, phone)
					if consent.OptedOut != tt.unsubscribed {
						t.Errorf("opted out = %v; want %v", consent.OptedOut, tt.unsubscribed)
					}
					events, _, _ := db.ListConsentEvents(ctx, a.account.ID, phone, parley.Page{Limit: 200})
					if tt.unsubscribed && (len(events) != 1 || events[0].Source != optout.SourceCarrierError) {
						t.Errorf("consent events = %+v; want one carrier_error opt-out", events)
					}
				}
				at := t0.Add(time.Second)

				t.Run("reconciled", func(t *testing.T) {
					reply := a.queueHelp(t, alice)
					it := claimOne(t, db, t0)
					if err := db.MarkSent(ctx, it, campaigns.Sent{CarrierMessageID: "SMfailed", Status: string(tt.status), ErrorCode: tt.code,
						Unsubscribed: tt.unsubscribed}, at); err != nil {
						t.Fatalf("MarkSent: %v", err)
					}
					check(t, reply, alice)
				})

				t.Run("looked up", func(t *testing.T) {
					items := a.sendCampaign(t, 1, at)
					checks := claimChecks(t, db, at.Add(time.Hour), 10)
					if len(checks) != 1 {
						t.Fatalf("%d texts due for a lookup; want 1", len(checks))
					}
					code := tt.code
					if err := db.RecordStatusCheck(ctx, checks[0], campaigns.CarrierStatus{Status: tt.status, ErrorCode: &code, Unsubscribed: tt.unsubscribed}, time.Time{}, at.Add(time.Hour)); err != nil {
						t.Fatal(err)
					}
					var msg conversations.Message
					if err := db.SQL().GetContext(ctx, &msg.ConversationID, db.SQL().Rebind(`SELECT conversation_id FROM messages WHERE id = ?`), items[0].MessageID); err != nil {
						t.Fatal(err)
					}
					msg.ID = items[0].MessageID
					check(t, msg, items[0].Text.To)
				})
			})
		})
	}
}

// Acceptances, then receipts, recorded at once share transactions
// (PostgreSQL's group commit), and each keeps its own outcome: a twin's
// taken carrier id, a forged receipt and an early one are answered to
// themselves alone, their neighbours recorded.
func TestSendsAndReceiptsTogether(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		// Replies and quick messages (which record sends), two of them to
		// one phone: its second send links to its first in the same batch.
		const n = 24
		const twice = "+14155553999"
		for i := range n - 2 {
			if phone := fmt.Sprintf("+1415555%04d", 3000+i); i%2 == 0 {
				a.queueHelp(t, phone)
			} else {
				a.quick(t, phone, t0)
			}
		}
		a.quick(t, twice, t0)
		a.quick(t, twice, t0)
		items := claim(t, db, t0.Add(time.Second), n)
		if len(items) != n {
			t.Fatalf("claimed %d items; want %d", len(items), n)
		}
		carrierID := func(i int) string {
			if i == n-1 {
				return "SMtogether0" // item 0's: a twin
			}
			return fmt.Sprintf("SMtogether%d", i)
		}
		// A receipt that came before its text was recorded.
		_, err := db.ApplyStatus(ctx, conversations.StatusUpdate{ChannelID: a.channel.ID, Carrier: conversations.CarrierTwilio,
			CarrierAccountID: sidA, CarrierMessageID: carrierID(3), Status: conversations.MessageDelivered, At: t0.Add(1500 * time.Millisecond)})
		wantKind(t, err, parley.ENOTFOUND)
		// And a forged one, verified with another account's channel that
		// claims the same carrier account: parked, never applied.
		b := newTenant(t, db, sidB, bizB)
		forger := b.addChannel(t, conversations.Channel{CarrierAccountID: sidA, PhoneNumber: bizA2, AuthToken: "b-token"})
		_, err = db.ApplyStatus(ctx, conversations.StatusUpdate{ChannelID: forger.ID, Carrier: conversations.CarrierTwilio,
			CarrierAccountID: sidA, CarrierMessageID: carrierID(5), Status: conversations.MessageFailed, At: t0.Add(1500 * time.Millisecond)})
		wantKind(t, err, parley.ENOTFOUND)
		batchesBefore, textsBefore := db.SentGroupStats()
		fallbacksBefore := db.BatchFallbacks()
		start := make(chan struct{})
		errs := make([]error, n)
		var wg sync.WaitGroup
		markSent := func(i int) error {
			return db.MarkSent(ctx, items[i], campaigns.Sent{CarrierMessageID: carrierID(i), Status: "sending", Segments: 1}, t0.Add(2*time.Second))
		}
		for i := range n - 1 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = markSent(i)
			}()
		}
		close(start)
		wg.Wait()
		// No batch failed: each was written together, in a few statements.
		if f := db.BatchFallbacks() - fallbacksBefore; f != 0 {
			t.Errorf("%d batches of acceptances fell back to one text at a time", f)
		}
		errs[n-1] = markSent(n - 1) // item 0's carrier id: refused
		for i, err := range errs[:n-1] {
			if err != nil {
				t.Errorf("item %d: %v", i, err)
			}
		}
		wantKind(t, errs[n-1], parley.ECONFLICT)
		if got := count(t, db, `SELECT COUNT(*) FROM messages WHERE carrier_message_id LIKE 'SMtogether%' AND status IN ('sending', 'delivered')`); got != n-1 {
			t.Errorf("%d texts recorded as sent; want %d", got, n-1)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM outbox`); got != 1 {
			t.Errorf("%d outbox rows left; want the twin's alone", got)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM messages WHERE carrier_message_id = ? AND status = 'delivered'`, carrierID(3)); got != 1 {
			t.Errorf("the early receipt was not applied when its text was recorded")
		}
		if got := count(t, db, `SELECT COUNT(*) FROM messages WHERE carrier_message_id = ? AND status = 'sending'`, carrierID(5)); got != 1 {
			t.Errorf("a forged early receipt decided what became of the text")
		}
		if got := count(t, db, `SELECT COUNT(*) FROM early_statuses WHERE carrier_message_id IN (?, ?)`, carrierID(3), carrierID(5)); got != 0 {
			t.Errorf("%d early receipts kept after their texts were recorded", got)
		}
		// Every recorded text still in flight is booked for a lookup an
		// hour on, together with its batch rather than in a row of its
		// own; the delivered one is final, and the twin was not recorded.
		if got := count(t, db, `SELECT COUNT(*) FROM status_checks`); got != 0 {
			t.Errorf("%d texts with a status check of their own before any is late", got)
		}
		if got := len(claimChecks(t, db, t0.Add(2*time.Second+time.Hour), 2*n)); got != n-2 {
			t.Errorf("%d texts due for a lookup after an hour; want %d", got, n-2)
		}
		wantSends := 0
		for i, it := range items {
			if it.Purpose == campaigns.PurposeQuickMessage && i != n-1 {
				wantSends++
			}
		}
		if got := count(t, db, `SELECT COUNT(*) FROM sends`); got != wantSends {
			t.Errorf("%d sends recorded; want %d", got, wantSends)
		}
		if items[n-1].Text.To != twice {
			if got := count(t, db, `SELECT COUNT(*) FROM sends s JOIN contact_phones p ON p.contact_id = s.contact_id
WHERE p.phone = ? AND s.prev_sent_at IS NOT NULL`, twice); got != 1 {
				t.Errorf("of two sends to one phone, %d link to a previous one; want 1", got)
			}
		}
		if batches, texts := db.SentGroupStats(); texts-textsBefore != n || batches-batchesBefore >= n {
			t.Errorf("%d acceptances: %d through the group commit, in %d transactions", n, texts-textsBefore, batches-batchesBefore)
		}

		// Their receipts, at once: two for each text (sent and delivered,
		// in either order), a forged one and one for an id not recorded.
		type receipt struct {
			ch     conversations.Channel
			sid    string
			status conversations.MessageStatus
		}
		var receipts []receipt
		for i := range n - 1 {
			first, second := conversations.MessageSent, conversations.MessageDelivered
			if i%2 == 1 {
				first, second = second, first
			}
			receipts = append(receipts, receipt{a.channel, carrierID(i), first}, receipt{a.channel, carrierID(i), second})
		}
		receipts = append(receipts, receipt{forger, carrierID(1), conversations.MessageFailed}, receipt{a.channel, "SMnotyet", conversations.MessageSent})
		statusBatchesBefore, receiptsBefore := db.StatusGroupStats()
		fallbacksBefore = db.BatchFallbacks()
		start = make(chan struct{})
		errs = make([]error, len(receipts))
		for i, r := range receipts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = db.ApplyStatus(ctx, conversations.StatusUpdate{ChannelID: r.ch.ID, Carrier: conversations.CarrierTwilio,
					CarrierAccountID: sidA, CarrierMessageID: r.sid, Status: r.status, At: t0.Add(time.Minute)})
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs[:len(errs)-2] {
			if err != nil {
				t.Errorf("receipt %d: %v", i, err)
			}
		}
		wantKind(t, errs[len(errs)-2], parley.EFORBIDDEN)
		wantKind(t, errs[len(errs)-1], parley.ENOTFOUND)
		if f := db.BatchFallbacks() - fallbacksBefore; f != 0 {
			t.Errorf("%d batches of receipts fell back to one receipt at a time", f)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM messages WHERE carrier_message_id LIKE 'SMtogether%' AND status = 'delivered'`); got != n-1 {
			t.Errorf("%d texts delivered; want %d (the forged failure applied to none)", got, n-1)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM early_statuses WHERE carrier_message_id = 'SMnotyet'`); got != 1 {
			t.Errorf("the receipt for an unknown id was parked %d times; want once", got)
		}
		if batches, applied := db.StatusGroupStats(); applied-receiptsBefore != int64(len(receipts)) || batches-statusBatchesBefore >= int64(len(receipts)) {
			t.Errorf("%d receipts: %d through the group commit, in %d transactions", len(receipts), applied-receiptsBefore, batches-statusBatchesBefore)
		}
	})
}
