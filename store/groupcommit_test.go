package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/storetest"
)

// plan is what the ingester hands the store for a text to the tenant.
func (tn *tenant) plan(t testing.TB, from, body, sid string) conversations.IngestPlan {
	t.Helper()
	route, err := tn.db.FindInboundRoute(ctx, conversations.CarrierTwilio, tn.channel.CarrierAccountID, tn.channel.PhoneNumber, "")
	if err != nil {
		t.Fatal(err)
	}
	return conversations.Plan(route, conversations.InboundText{CarrierMessageID: sid, From: from, To: tn.channel.PhoneNumber, Body: body, Segments: 1}, t0)
}

// TestIngestBatch: texts written in one transaction behave as if each had
// its own: a failing text fails alone, a duplicate in the same batch is
// found, and a phone's texts keep their order.
func TestIngestBatch(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		broken := tn.plan(t, "+14155552003", "to nowhere", newSID("SM"))
		broken.Channel.ID = 987654 // no such channel: the conversation cannot be created
		plans := []conversations.IngestPlan{
			tn.plan(t, "+14155552001", "first", "SMbatch1"),
			broken,
			tn.plan(t, "+14155552002", "hello", newSID("SM")),
			tn.plan(t, "+14155552001", "first", "SMbatch1"), // the carrier's retry
			tn.plan(t, "+14155552001", "second", newSID("SM")),
		}
		results, errs := db.IngestBatch(ctx, plans)
		for i, err := range errs {
			if (err != nil) != (i == 1) {
				t.Errorf("text %d: error %v; want an error only for the text to a missing channel", i, err)
			}
		}
		if !results[0].Created || results[0].Duplicate || !results[3].Duplicate || results[3].Message.ID != results[0].Message.ID {
			t.Errorf("first %+v, retry %+v; want the retry found as the first's duplicate", results[0], results[3])
		}
		if results[4].Conversation.ID != results[0].Conversation.ID || results[4].Created {
			t.Errorf("the phone's second text went to conversation %v, want %v", results[4].Conversation.ID, results[0].Conversation.ID)
		}
		msgs, _, err := db.ListMessages(ctx, tn.account.ID, results[0].Conversation.ID, parley.Page{Limit: 10})
		if err != nil || len(msgs) != 2 || msgs[0].Body != "first" || msgs[1].Body != "second" {
			t.Errorf("thread %+v, %v; want first then second, once each", msgs, err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM conversations`); n != 2 {
			t.Errorf("%d conversations; want 2 (the failed text left nothing)", n)
		}
	})
}

// TestGroupCommitSharesTransactions: on PostgreSQL, texts arriving
// together through Ingest share transactions, and each is written once,
// plain texts and a phone's several texts alike.
func TestGroupCommitSharesTransactions(t *testing.T) {
	db := storetest.MustOpen(t, "postgres")
	tn := newTenant(t, db, newSID("AC"), bizA)
	const texts = 96
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range texts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			from := fmt.Sprintf("+1415555%04d", 3000+i%64) // two texts for half the phones, one for the others
			if _, err := db.Ingest(ctx, tn.plan(t, from, fmt.Sprintf("text %d", i), newSID("SM"))); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	batches, written := db.GroupCommitStats()
	t.Logf("%d texts in %d transactions", written, batches)
	if written != texts || batches >= texts {
		t.Errorf("%d texts in %d transactions; want all %d, sharing transactions", written, batches, texts)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM conversations`); n != 64 {
		t.Errorf("%d conversations, want one per phone (64)", n)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM messages`); n != texts {
		t.Errorf("%d messages, want %d", n, texts)
	}
}

// TestABatchCreatesAThreadAsItsFirstTextLeavesIt: a batch inserts a new
// thread with its first text's state and words, without updating it
// after; the thread is the one a lone ingest of the same text leaves,
// whether or not the text raises a revocation flag (which still takes the
// update), and is found by its first text's words.
func TestABatchCreatesAThreadAsItsFirstTextLeavesIt(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		batched := newTenant(t, db, newSID("AC"), bizA)
		alone := newTenant(t, db, newSID("AC"), bizB)
		at := t0.Add(90 * time.Minute)
		texts := []struct{ from, body string }{
			{"+14155556001", "is the gazebo quote ready"},
			{"+14155556002", "please stop texting me"},
		}
		var plans []conversations.IngestPlan
		for _, x := range texts {
			p := batched.plan(t, x.from, x.body, newSID("SM"))
			p.At = at
			plans = append(plans, p)
		}
		if _, errs := db.IngestBatch(ctx, plans); errs[0] != nil || errs[1] != nil {
			t.Fatal(errs)
		}
		for _, x := range texts {
			p := alone.plan(t, x.from, x.body, newSID("SM"))
			p.At = at
			if _, err := db.IngestAlone(ctx, p); err != nil {
				t.Fatal(err)
			}
			g, w := batched.thread(t, batched.channel, x.from), alone.thread(t, alone.channel, x.from)
			if g != w {
				t.Errorf("%q: batched\n%s\nalone\n%s", x.body, g, w)
			}
			id, _ := batched.conversationOn(t, batched.channel, x.from)
			c, err := db.GetConversation(ctx, batched.account.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if c.LastInboundAt == nil || !c.LastInboundAt.Equal(at) || !c.LastMessageAt.Equal(at) {
				t.Errorf("%q: last inbound %v, last message %v; want both %v", x.body, c.LastInboundAt, c.LastMessageAt, at)
			}
		}
		found, _, err := db.FindConversations(ctx, conversations.ConversationFilter{AccountID: batched.account.ID, Query: "gazebo"})
		if err != nil || len(found) != 1 {
			t.Errorf(`"gazebo" found %d threads (%v); want the new one`, len(found), err)
		}
	})
}

// TestIngestBatchMatchesOneByOne: a random script of texts (new threads,
// replies, carrier retries, several texts of a phone in one batch, consent
// keywords, revocation-like texts) with staff resolving and assigning in
// between, played through IngestBatch on one account and one text per
// transaction on another, leaves the same results and the same threads:
// statuses, assignees, messages, activity logs, notifications and consent.
func TestIngestBatchMatchesOneByOne(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		batched := newTenant(t, db, newSID("AC"), bizA)
		alone := newTenant(t, db, newSID("AC"), bizB)
		// A second number each: a phone may text both in one batch.
		second := map[*tenant]conversations.Channel{
			batched: batched.addChannel(t, conversations.Channel{CarrierAccountID: batched.channel.CarrierAccountID, PhoneNumber: bizA2}),
			alone:   alone.addChannel(t, conversations.Channel{CarrierAccountID: alone.channel.CarrierAccountID, PhoneNumber: "+14155550201"}),
		}
		rng := rand.New(rand.NewPCG(6, 6))
		phones := make([]string, 10)
		for i := range phones {
			phones[i] = fmt.Sprintf("+1415555%04d", 4000+i)
		}
		bodies := []string{"hi", "can I get a quote", "STOP", "START", "HELP", "please stop texting me", "thanks!"}
		type text struct {
			from, body, sid string
			second          bool // to the tenant's second number
		}
		var sent []text
		at := t0
		for round := range 60 {
			at = at.Add(time.Minute)
			if round%7 == 6 { // staff: resolve one thread, assign another to the admin
				resolve, assign := phones[rng.IntN(len(phones))], phones[rng.IntN(len(phones))]
				batched.staffAct(t, resolve, assign, at)
				alone.staffAct(t, resolve, assign, at)
				continue
			}
			texts := make([]text, 1+rng.IntN(12))
			for k := range texts {
				texts[k] = text{phones[rng.IntN(len(phones))], bodies[rng.IntN(len(bodies))], newSID("SM"), rng.IntN(4) == 0}
				if rng.IntN(10) == 0 {
					texts[k].sid = "" // no carrier id: never taken for a retry
				}
				if len(sent) > 0 && rng.IntN(8) == 0 {
					texts[k] = sent[rng.IntN(len(sent))] // a carrier's retry, maybe of a text in this batch
				}
				sent = append(sent, texts[k])
			}
			var plans []conversations.IngestPlan
			// plan is the text to one tenant, its carrier id that tenant's own.
			plan := func(tn *tenant, prefix string, x text) conversations.IngestPlan {
				sid := ""
				if x.sid != "" {
					sid = prefix + x.sid
				}
				p := tn.plan(t, x.from, x.body, sid)
				if x.second {
					p.Channel = second[tn]
					p.Text.To = second[tn].PhoneNumber
				}
				p.At = at
				return p
			}
			for _, x := range texts {
				plans = append(plans, plan(batched, "b", x))
			}
			got, errs := db.IngestBatch(ctx, plans)
			for k, x := range texts {
				want, err := db.IngestAlone(ctx, plan(alone, "a", x))
				if err != nil || errs[k] != nil {
					t.Fatalf("round %d text %d: batched error %v, alone %v", round, k, errs[k], err)
				}
				if g, w := outcome(got[k]), outcome(want); g != w {
					t.Errorf("round %d text %d (%+v): batched %s, alone %s", round, k, x, g, w)
				}
			}
		}
		for _, phone := range phones {
			for _, ch := range []bool{false, true} {
				g := batched.thread(t, batched.pick(ch, second[batched]), phone)
				w := alone.thread(t, alone.pick(ch, second[alone]), phone)
				if g != w {
					t.Errorf("%s (second number: %v) batched:\n%s\nalone:\n%s", phone, ch, g, w)
				}
			}
		}
	})
}

// TestBatchesCrossingNewPhones: two batches at once, each with a new
// phone's two texts (taking a lone text's steps) and the other batch's new
// phone once (plain), create the two contacts and conversations in one
// order, so neither waits on the other in a cycle (PostgreSQL would abort
// one after a second), and the later finds what the earlier created
// instead of failing: no batch is written again one text at a time.
func TestBatchesCrossingNewPhones(t *testing.T) {
	db := storetest.MustOpen(t, "postgres")
	tn := newTenant(t, db, newSID("AC"), bizA)
	before := db.BatchFallbacks()
	const rounds = 20
	for r := range rounds {
		p, q := fmt.Sprintf("+1415555%04d", 5000+2*r), fmt.Sprintf("+1415555%04d", 5001+2*r)
		batches := [][]conversations.IngestPlan{
			{tn.plan(t, p, "hi", newSID("SM")), tn.plan(t, p, "again", newSID("SM")), tn.plan(t, q, "hello", newSID("SM"))},
			{tn.plan(t, q, "hi", newSID("SM")), tn.plan(t, q, "again", newSID("SM")), tn.plan(t, p, "hello", newSID("SM"))},
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for _, b := range batches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, errs := db.IngestBatch(ctx, b); errors.Join(errs...) != nil {
					t.Error(errors.Join(errs...))
				}
			}()
		}
		close(start)
		wg.Wait()
	}
	if n := db.BatchFallbacks() - before; n != 0 {
		t.Errorf("%d of %d batches failed as a whole (a deadlock or a conflict) and were written again one text at a time", n, 2*rounds)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM messages`); n != 6*rounds {
		t.Errorf("%d messages, want %d", n, 6*rounds)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM conversations`); n != 2*rounds {
		t.Errorf("%d conversations, want one per phone (%d)", n, 2*rounds)
	}
	// Both batches create the contacts of p and q; the loser of each
	// phone's race keeps the winner's and drops its spare.
	if n := count(t, db, `SELECT COUNT(*) FROM contacts`); n != 2*rounds {
		t.Errorf("%d contacts, want one per phone (%d): a batch that lost a phone's race kept its spare", n, 2*rounds)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM conversations cv JOIN contact_phones p ON p.account_id = cv.account_id AND p.phone = cv.contact_phone
WHERE p.contact_id <> cv.contact_id`); n != 0 {
		t.Errorf("%d conversations belong to another contact than their phone's", n)
	}
}

// batchOutcome is what IngestBatch returned.
type batchOutcome struct {
	results []conversations.IngestResult
	errs    []error
}

// ingestBatchAside runs IngestBatch in the background.
func ingestBatchAside(db *store.DB, plans ...conversations.IngestPlan) <-chan batchOutcome {
	done := make(chan batchOutcome, 1)
	go func() {
		results, errs := db.IngestBatch(ctx, plans)
		done <- batchOutcome{results, errs}
	}()
	return done
}

// awaitLockWait returns once a statement like pattern waits on a lock in
// the test's database; the batch must not end first.
func awaitLockWait(t *testing.T, db *store.DB, pattern string, batch <-chan batchOutcome) {
	t.Helper()
	for {
		var waiting int
		if err := db.SQL().GetContext(ctx, &waiting, `SELECT COUNT(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`, pattern); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		select {
		case b := <-batch:
			t.Fatalf("the batch ended (%v) before a statement like %q waited on a lock", b.errs, pattern)
		default:
		}
	}
}

// TestALoneTextGivesWayToABatchWaitingOnIt: a batch's lone texts (two
// from one phone, the second a STOP) from a known contact whose first
// thread another transaction is creating wait for that transaction,
// which then waits for the contact the batch created for a new phone: a
// cycle. The lone texts give way and are written again after the batch,
// so the server never has to abort anyone as a deadlock's victim (a
// second's wait first); every text is stored once, the STOP applied.
func TestALoneTextGivesWayToABatchWaitingOnIt(t *testing.T) {
	db := storetest.MustOpen(t, "postgres")
	tn := newTenant(t, db, newSID("AC"), bizA)
	const fresh, known = "+14155556000", "+14155556001"
	ada := newContact(t, db, tn.account.ID, "Ada", known)
	before := db.Deadlocks()

	other, err := db.SQL().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Rollback() }()
	ms := t0.UnixMilli()
	if _, err := other.ExecContext(ctx, `INSERT INTO conversations (account_id, channel_id, inbox_id, contact_id, contact_phone,
    contact_phone_rev, business_phone, status, priority, last_message_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, '1006555141', $6, 'pending', 'none', $7, $7, $7)`,
		tn.account.ID, tn.channel.ID, tn.channel.InboxID, ada.ID, known, tn.channel.PhoneNumber, ms); err != nil {
		t.Fatal(err)
	}
	done := ingestBatchAside(db, tn.plan(t, fresh, "hi", newSID("SM")), tn.plan(t, known, "hello", newSID("SM")),
		tn.plan(t, known, "STOP", newSID("SM")))
	// The batch has created the new phone's contact and waits on the
	// other transaction's thread for the known phone's first text; now
	// the other waits on it.
	awaitLockWait(t, db, "%INSERT INTO conversations%", done)
	var cid int64
	if err := other.GetContext(ctx, &cid, `INSERT INTO contacts (account_id, name, type, attributes, created_at, updated_at)
VALUES ($1, '', '', '{}', $2, $2) RETURNING id`, tn.account.ID, ms); err != nil {
		t.Fatal(err)
	}
	if _, err := other.ExecContext(ctx, `INSERT INTO contact_phones (account_id, phone, contact_id, position) VALUES ($1, $2, $3, 0)
ON CONFLICT (account_id, phone) DO NOTHING`, tn.account.ID, fresh, cid); err != nil {
		t.Fatalf("the other transaction: %v", err)
	}
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	if b := <-done; errors.Join(b.errs...) != nil {
		t.Fatal(errors.Join(b.errs...))
	}
	if n := db.Deadlocks() - before; n != 0 {
		t.Errorf("the server aborted %d ingests as a deadlock's victim", n)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM messages WHERE account_id = ? AND direction = 'inbound'`, tn.account.ID); n != 3 {
		t.Errorf("%d texts stored, want the 3 of the batch", n)
	}
	if out, err := db.GetConsent(ctx, tn.account.ID, known); err != nil || !out.OptedOut {
		t.Errorf("%s opted out: %+v, %v; want the STOP applied", known, out, err)
	}
}

// TestABatchAnswersARetryOfATextInFlight: a carrier retries a text while
// another transaction is still storing the first delivery, so the batch's
// look-up does not find it. The batch waits for that transaction and
// answers the retry as a duplicate, storing nothing twice, instead of
// failing the statement its texts share and writing every one of them
// again, one transaction each.
func TestABatchAnswersARetryOfATextInFlight(t *testing.T) {
	db := storetest.MustOpen(t, "postgres")
	tn := newTenant(t, db, newSID("AC"), bizA)
	const phone = "+14155556100"
	first := tn.receive(t, text{from: phone, body: "hello"})
	retried := newSID("SM")
	before := db.BatchFallbacks()

	other, err := db.SQL().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Rollback() }()
	if _, err := other.ExecContext(ctx, `INSERT INTO messages (account_id, conversation_id, channel_id, direction, kind, body, media_urls,
    status, carrier_message_id, segments, created_at, updated_at)
VALUES ($1, $2, $3, 'inbound', 'text', 'are you open?', '[]', 'received', $4, 1, $5, $5)`,
		tn.account.ID, first.Conversation.ID, tn.channel.ID, retried, t0.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	done := ingestBatchAside(db, tn.plan(t, "+14155556101", "hi", newSID("SM")), tn.plan(t, phone, "are you open?", retried))
	awaitLockWait(t, db, "%INSERT INTO messages%", done)
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	b := <-done
	if err := errors.Join(b.errs...); err != nil {
		t.Fatal(err)
	}
	if n := db.BatchFallbacks() - before; n != 0 {
		t.Errorf("the batch failed as a whole %d times and was written again one text at a time", n)
	}
	if !b.results[1].Duplicate || b.results[1].Message.CarrierMessageID != retried {
		t.Errorf("the retry: %+v; want it answered as a duplicate of the first delivery", b.results[1])
	}
	if b.results[0].Duplicate || b.results[0].Message.ID == 0 || !b.results[0].Created {
		t.Errorf("the other text: %+v; want it stored in a new conversation", b.results[0])
	}
	if n := count(t, db, `SELECT COUNT(*) FROM messages WHERE carrier_message_id = ?`, retried); n != 1 {
		t.Errorf("%d messages with the retried carrier id, want 1", n)
	}
}

// TestIngestBatchUnstorableTextFailsAlone: a text PostgreSQL refuses (a
// NUL byte) fails alone; its neighbours are written in the shared
// statements, not one by one after a failed batch.
func TestIngestBatchUnstorableTextFailsAlone(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		before := db.BatchFallbacks()
		_, errs := db.IngestBatch(ctx, []conversations.IngestPlan{
			tn.plan(t, "+14155556001", "fine", newSID("SM")),
			tn.plan(t, "+14155556002", "nul \x00 inside", newSID("SM")),
			tn.plan(t, "+14155556003", "also fine", newSID("SM")),
		})
		if errs[0] != nil || errs[2] != nil {
			t.Errorf("neighbours failed: %v", errs)
		}
		if db.Dialect() == "postgres" && errs[1] == nil {
			t.Error("PostgreSQL stored a NUL byte?")
		}
		if n := db.BatchFallbacks() - before; n != 0 {
			t.Errorf("the batch failed as a whole %d time(s)", n)
		}
	})
}

// outcome is what a text's ingest result says, ids apart.
func outcome(r conversations.IngestResult) string {
	return fmt.Sprintf("dup=%v created=%v transition=%+v consent=%v reply=%v status=%s assigned=%v body=%q",
		r.Duplicate, r.Created, r.Transition, r.ConsentChanged, r.Reply != nil, r.Conversation.Status,
		r.Conversation.AssigneeID != nil, r.Message.Body)
}

// staffAct resolves the conversation with one phone and assigns the one
// with another to the admin, where they exist.
func (tn *tenant) staffAct(t *testing.T, resolve, assign string, at time.Time) {
	t.Helper()
	if id, ok := tn.conversationWith(t, resolve); ok {
		if _, err := tn.db.ChangeStatus(ctx, conversations.StatusChange{AccountID: tn.account.ID, ConversationID: id,
			Actor: tn.admin, Action: conversations.ActionResolve, At: at}); err != nil && !parley.IsKind(err, parley.EINVALID) {
			t.Fatal(err)
		}
	}
	if id, ok := tn.conversationWith(t, assign); ok {
		if _, err := tn.db.Assign(ctx, conversations.Assignment{AccountID: tn.account.ID, ConversationID: id,
			Actor: tn.admin, AssigneeID: &tn.admin.ID, At: at}); err != nil {
			t.Fatal(err)
		}
	}
}

func (tn *tenant) conversationWith(t *testing.T, phone string) (parley.ID, bool) {
	return tn.conversationOn(t, tn.channel, phone)
}

func (tn *tenant) conversationOn(t *testing.T, ch conversations.Channel, phone string) (parley.ID, bool) {
	t.Helper()
	var id int64
	err := tn.db.SQL().GetContext(ctx, &id, tn.db.SQL().Rebind(`SELECT id FROM conversations WHERE channel_id = ? AND contact_phone = ?`), ch.ID, phone)
	return parley.ID(id), err == nil
}

// pick is the tenant's first number, or the one given when second.
func (tn *tenant) pick(second bool, other conversations.Channel) conversations.Channel {
	if second {
		return other
	}
	return tn.channel
}

// thread describes the conversation of a number with a phone, ids apart: its state,
// its messages, its activity log, the admin's notifications of it and the
// phone's consent.
func (tn *tenant) thread(t *testing.T, ch conversations.Channel, phone string) string {
	t.Helper()
	id, ok := tn.conversationOn(t, ch, phone)
	if !ok {
		return "no conversation"
	}
	c, err := tn.db.GetConversation(ctx, tn.account.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "status=%s assigned=%v opted_out=%v last=%s inbound=%v flagged=%v\n", c.Status, c.AssigneeID != nil, c.OptedOut,
		c.LastMessageAt.Format(time.TimeOnly), c.LastInboundAt.Format(time.TimeOnly), c.RevocationFlaggedAt != nil)
	msgs, _, err := tn.db.ListMessages(ctx, tn.account.ID, id, parley.Page{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		fmt.Fprintf(&b, "  %s %s %q\n", m.Direction, m.Status, strings.ReplaceAll(m.Body, tn.account.Name, "the account"))
	}
	events, _, err := tn.db.ListEvents(ctx, tn.account.ID, id, parley.Page{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		delete(e.Data, "from") // assignees' ids differ between the accounts
		delete(e.Data, "to")
		fmt.Fprintf(&b, "  event %s %s %v\n", e.Type, e.ActorType, e.Data)
	}
	fmt.Fprintf(&b, "  notifications %d\n", count(t, tn.db, `SELECT COUNT(*) FROM notifications WHERE conversation_id = ?`, int64(id)))
	return b.String()
}

// logged is the event log's entries of the conversation with phone on the
// tenant's first number, in order, without the users' ids.
func (tn *tenant) logged(t *testing.T, phone string) string {
	t.Helper()
	id, ok := tn.conversationWith(t, phone)
	if !ok {
		return "no conversation"
	}
	var logged []struct {
		Type  string `db:"type"`
		Actor string `db:"actor_type"`
		Data  string `db:"data"`
	}
	q := tn.db.SQL().Rebind(`SELECT type, actor_type, data FROM events WHERE conversation_id = ? ORDER BY seq`)
	if err := tn.db.SQL().SelectContext(ctx, &logged, q, int64(id)); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range logged {
		fmt.Fprintf(&b, "  %s %s %s\n", e.Type, e.Actor, withoutIDs(t, e.Data))
	}
	return b.String()
}

// withoutIDs is an event's data without the users' ids it names, which
// differ between the tests' accounts.
func withoutIDs(t *testing.T, data string) string {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		t.Fatal(err)
	}
	strip := func(m map[string]any) {
		for _, k := range []string{"from", "to", "user_id", "assignee_id"} {
			delete(m, k)
		}
	}
	strip(d)
	if changes, ok := d["changes"].([]any); ok {
		for _, c := range changes {
			if m, ok := c.(map[string]any); ok {
				strip(m)
			}
		}
	}
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestAPlainBatchsRoundTrips: a batch of plain texts, half to threads that
// exist and half from new phones, takes a fixed number of statements on
// PostgreSQL whatever its size; each is a round trip the batch's texts
// wait for. They are: the contacts found and the missing ones created with
// their phones, the threads locked, the new ones created, the messages
// stored, the assignee's notification (one thread is assigned), the writes
// (threads updated, episodes opened, activity logged) with the threads
// read back as they then stand, and the event log's append at commit. A
// carrier's retry of a stored text costs one more, the look-up of the
// message its insert skipped, and is answered as a retry (its batch: the
// retry and a new phone, no notification). Every text's thread reads back
// as a later read finds it.
func TestAPlainBatchsRoundTrips(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		statements := func(want int, what string, batch func()) {
			t.Helper()
			before := db.TxStatements()
			batch()
			if n := db.TxStatements() - before; n != int64(want) && db.Dialect() == "postgres" {
				t.Errorf("%s ran %d statements; want %d", what, n, want)
			}
		}
		later := t0.Add(time.Hour)
		for _, size := range []int{2, 6, 20} {
			var plans []conversations.IngestPlan
			for i := range size / 2 {
				known := fmt.Sprintf("+1415556%02d%02d", size, i)
				tn.receive(t, text{from: known, body: "hi"})
				plans = append(plans, tn.planAt(t, known, "again", later), tn.planAt(t, fmt.Sprintf("+1415557%02d%02d", size, i), "hello", later))
			}
			tn.staffAct(t, plans[0].Text.From, plans[2%len(plans)].Text.From, t0) // one reopens, one is assigned
			var results []conversations.IngestResult
			statements(7, fmt.Sprintf("a batch of %d plain texts", size), func() {
				var errs []error
				results, errs = db.IngestBatch(ctx, plans)
				if err := errors.Join(errs...); err != nil {
					t.Fatal(err)
				}
			})
			for i, r := range results {
				if r.Created != (i%2 == 1) || r.Duplicate || r.Message.ID == 0 || r.Conversation.ContactPhone != plans[i].Text.From {
					t.Errorf("text %d: created %v, duplicate %v, message %d, thread of %s", i, r.Created, r.Duplicate, r.Message.ID, r.Conversation.ContactPhone)
				}
				tn.readsBackAsStored(t, i, r.Conversation)
			}

			retry := plans[0]
			next := tn.planAt(t, fmt.Sprintf("+1415558%02d00", size), "hello", later)
			events := count(t, db, `SELECT COUNT(*) FROM events`)
			var again []conversations.IngestResult
			statements(7, "a batch with a retry", func() {
				var errs []error
				again, errs = db.IngestBatch(ctx, []conversations.IngestPlan{retry, next})
				if err := errors.Join(errs...); err != nil {
					t.Fatal(err)
				}
			})
			if r := again[0]; !r.Duplicate || r.Message.ID != results[0].Message.ID || r.Conversation.ID != results[0].Conversation.ID {
				t.Errorf("the retry: duplicate %v, message %d, thread %d; want the stored %d in %d", r.Duplicate, r.Message.ID, r.Conversation.ID,
					results[0].Message.ID, results[0].Conversation.ID)
			}
			if r := again[1]; r.Duplicate || !r.Created {
				t.Errorf("the new phone's text beside the retry: duplicate %v, created %v", r.Duplicate, r.Created)
			}
			for i, r := range again {
				tn.readsBackAsStored(t, i, r.Conversation)
			}
			// The new phone's text logs its thread's creation and its
			// message; the retry, nothing.
			if n := count(t, db, `SELECT COUNT(*) FROM events`) - events; n != 2 {
				t.Errorf("%d events logged; want 2, the new text's alone", n)
			}
		}
	})
}

// readsBackAsStored fails unless the batch's text i read its thread back
// as the store now reads it.
func (tn *tenant) readsBackAsStored(t *testing.T, i int, got conversations.Conversation) {
	t.Helper()
	want, err := tn.db.GetConversation(ctx, tn.account.ID, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("text %d read back its thread as\n%+v\nthe store reads\n%+v", i, got, want)
	}
}

// TestALoneTextsRoundTrips: a text in a transaction of its own (any text
// on SQLite; on PostgreSQL one its batch writes again alone) takes a fixed number of statements on
// PostgreSQL: a plain one 7 (the carrier id looked up, its contact, its
// thread locked, its message stored, the thread's update with its
// activity, the thread read back, the event log's append), a STOP 11
// (those, the register, its audit row with the revocation flags cleared
// and the phone's threads, the keyword's activity, the confirmation
// queued in one and no read-back of it), a START 11. Results read back as
// the store reads them.
func TestALoneTextsRoundTrips(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, newSID("AC"), bizA)
		tn.receive(t, text{from: alice, body: "hi"})
		for _, c := range []struct {
			body string
			want int64
		}{{"hello", 7}, {"STOP", 11}, {"START", 11}} {
			before := db.TxStatements()
			res, err := db.IngestAlone(ctx, tn.planAt(t, alice, c.body, t0.Add(time.Hour)))
			if err != nil {
				t.Fatal(err)
			}
			if n := db.TxStatements() - before; n != c.want && db.Dialect() == "postgres" {
				t.Errorf("%s alone ran %d statements; want %d", c.body, n, c.want)
			}
			tn.readsBackAsStored(t, 0, res.Conversation)
			if c.body == "hello" {
				continue
			}
			if res.Reply == nil {
				t.Fatalf("%s: no confirmation queued", c.body)
			}
			if got := getMessage(t, db, tn.account.ID, res.Conversation.ID, res.Reply.ID); !reflect.DeepEqual(got, *res.Reply) {
				t.Errorf("%s: the confirmation queued reads\n%+v\nthe store reads\n%+v", c.body, *res.Reply, got)
			}
		}
	})
}

// WriterBusy sums the time SQLite's one writer was held: a write adds to
// it, no more than the write took; PostgreSQL has no such lane.
func TestWriterBusyCountsTheWritersTime(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		before, start := db.WriterBusy(), time.Now()
		newTenant(t, db, newSID("AC"), bizA)
		took, busy := time.Since(start), db.WriterBusy()-before
		switch {
		case db.Dialect() == "postgres" && db.WriterBusy() != 0:
			t.Errorf("PostgreSQL's writer busy %v; want 0", db.WriterBusy())
		case db.Dialect() == "sqlite" && (busy <= 0 || busy > took):
			t.Errorf("SQLite's writer busy %v for writes that took %v", busy, took)
		}
	})
}

// TestABatchsKeywordsAsAlone: consent keywords go with a batch's plain
// texts (a STOP clearing a flag on an assigned thread, a HELP, a START
// that changes nothing, a STOP as a new phone's first text) and leave what
// one transaction per text leaves: results, threads, activity, consent,
// the confirmations queued (read back as stored) and each thread's event
// log in the same order. On PostgreSQL the keywords add only their own
// statements to a plain batch's seven: a changed consent two (the
// register; its audit row, flags cleared and the phone's threads) and its
// confirmation one, an unchanged one two (the register; its audit row),
// a HELP its reply.
func TestABatchsKeywordsAsAlone(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		const flagged, helped, opted, plain, fresh = "+14155559001", "+14155559002", "+14155559003", "+14155559004", "+14155559005"
		bodies := []struct{ from, body string }{{flagged, "STOP"}, {helped, "HELP"}, {opted, "START"}, {plain, "hello"}, {fresh, "STOP"}}
		later := t0.Add(time.Hour)
		var results [2][]conversations.IngestResult
		tenants := [2]*tenant{newTenant(t, db, newSID("AC"), bizA), newTenant(t, db, newSID("AC"), bizB)}
		for k, tn := range tenants {
			for _, phone := range []string{flagged, helped, opted, plain} {
				tn.receive(t, text{from: phone, body: "hi"})
			}
			tn.receive(t, text{from: flagged, body: "please stop texting me"})
			tn.staffAct(t, "", flagged, t0)
			var plans []conversations.IngestPlan
			for _, b := range bodies {
				plans = append(plans, tn.planAt(t, b.from, b.body, later))
			}
			if k == 0 {
				before := db.TxStatements()
				var errs []error
				results[k], errs = db.IngestBatch(ctx, plans)
				if err := errors.Join(errs...); err != nil {
					t.Fatal(err)
				}
				if n := db.TxStatements() - before; n != 7+3+1+2+3 && db.Dialect() == "postgres" {
					t.Errorf("the batch ran %d statements; want %d", n, 7+3+1+2+3)
				}
				continue
			}
			for _, p := range plans {
				res, err := db.IngestAlone(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				results[k] = append(results[k], res)
			}
		}
		batched, alone := tenants[0], tenants[1]
		for i, b := range bodies {
			got, want := results[0][i], results[1][i]
			if g, w := outcome(got), outcome(want); g != w {
				t.Errorf("%s %q: batched %s, alone %s", b.from, b.body, g, w)
			}
			batched.readsBackAsStored(t, i, got.Conversation)
			if got.Reply != nil {
				if stored := getMessage(t, db, batched.account.ID, got.Conversation.ID, got.Reply.ID); !reflect.DeepEqual(stored, *got.Reply) {
					t.Errorf("%s %q: the reply queued reads\n%+v\nthe store reads\n%+v", b.from, b.body, *got.Reply, stored)
				}
			}
			if g, w := batched.thread(t, batched.channel, b.from), alone.thread(t, alone.channel, b.from); g != w {
				t.Errorf("%s batched:\n%s\nalone:\n%s", b.from, g, w)
			}
			if g, w := batched.logged(t, b.from), alone.logged(t, b.from); g != w {
				t.Errorf("%s's event log batched:\n%s\nalone:\n%s", b.from, g, w)
			}
		}
		for _, phone := range []string{flagged, fresh} {
			if c, err := db.GetConsent(ctx, batched.account.ID, phone); err != nil || !c.OptedOut {
				t.Errorf("%s opted out: %+v, %v; want the batch's STOP applied", phone, c, err)
			}
		}
		if results[0][0].Conversation.RevocationFlaggedAt != nil || results[0][0].Reply == nil || results[0][2].ConsentChanged {
			t.Errorf("the STOP left its flag %v, reply %v; the START changed consent %v", results[0][0].Conversation.RevocationFlaggedAt,
				results[0][0].Reply, results[0][2].ConsentChanged)
		}
	})
}

// TestAKeywordLocksItsPhonesThreadsInOrder: a STOP in a batch clears the
// revocation flags of its phone's threads on the account's other numbers;
// the batch locks those threads with its own, in the one statement that
// takes every batch's locks in id order, not later in the flags' update,
// where two batches could each hold what the other waits for.
func TestAKeywordLocksItsPhonesThreadsInOrder(t *testing.T) {
	db := storetest.MustOpen(t, "postgres")
	tn := newTenant(t, db, newSID("AC"), bizA)
	second := tn.addChannel(t, conversations.Channel{CarrierAccountID: tn.channel.CarrierAccountID, PhoneNumber: bizA2})
	const phone = "+14155559101"
	tn.receive(t, text{from: phone, body: "hi"})
	tn.receive(t, text{from: phone, to: bizA2, body: "please stop texting me"})
	flagged, ok := tn.conversationOn(t, second, phone)
	if !ok {
		t.Fatal("no thread on the second number")
	}
	other, err := db.SQL().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Rollback() }()
	if _, err := other.ExecContext(ctx, `SELECT id FROM conversations WHERE id = $1 FOR UPDATE`, int64(flagged)); err != nil {
		t.Fatal(err)
	}
	done := ingestBatchAside(db, tn.plan(t, phone, "STOP", newSID("SM")), tn.plan(t, "+14155559102", "hello", newSID("SM")))
	waiting := ""
	for waiting == "" {
		var qs []string
		if err := db.SQL().SelectContext(ctx, &qs, `SELECT query FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'`); err != nil {
			t.Fatal(err)
		}
		if len(qs) > 0 {
			waiting = qs[0]
		}
		select {
		case b := <-done:
			t.Fatalf("the batch ended (%v) without waiting for the flagged thread", b.errs)
		default:
		}
	}
	if !strings.Contains(waiting, "phone_wide") {
		t.Errorf("the batch waits for the flagged thread in\n%s\nwant the statement locking the batch's threads", waiting)
	}
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	if b := <-done; errors.Join(b.errs...) != nil {
		t.Fatal(errors.Join(b.errs...))
	}
	c, err := db.GetConversation(ctx, tn.account.ID, flagged)
	if err != nil {
		t.Fatal(err)
	}
	if c.RevocationFlaggedAt != nil || !c.OptedOut {
		t.Errorf("the second number's thread: flagged at %v, opted out %v; want the flag cleared by the STOP", c.RevocationFlaggedAt, c.OptedOut)
	}
}
