package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/optout"
)

// IngestBatch applies texts in one transaction and returns each text's
// result and error in the order given, as if each had had a transaction
// of its own.
//
// Most texts of a batch are plain: not a carrier's retry, the only text
// of their phone in the batch. Those are written together, a statement
// per step for all of them (look up, store, update, log, notify, read
// back), which is where a batch saves over a transaction per text: a
// dozen round trips and statements per text become a dozen per batch. A
// consent keyword among them adds its register's statements and its
// reply's, as a lone text's (applyKeywords, queueReplies). A carrier's
// retry of a text stored before, the only text of its phone in the batch,
// goes with them until its message's insert skips it (its carrier id is
// taken), and is answered as a retry from a look-up then and the
// read-back, writing nothing: no batch looks its carrier ids up first, a
// round trip that most batches, without a retry, would pay for nothing.
// The others go through the very steps of a lone text, each under a
// savepoint so that its failure is its own.
//
// Locks are taken in one order by every batch so that concurrent batches
// do not wait on each other in a cycle: first every phone of the batch
// without a contact gets one, in phone order (a unique-index lock, as in
// the campaign queue: contacts before conversations); then the
// conversations that exist are locked, in id order, with every thread of
// an opting-out phone on the account's other numbers (the opt-out clears
// their flags); consents are written in phone order; then the missing ones
// are created in phone order, a statement for each run of plain texts
// between the lone texts' steps. A lone text may still lock a conversation
// created since, out of that order: its steps give way (applySaved).
//
// A text that lost a race with another transaction (a unique index) or was
// a deadlock's victim, and every text when the transaction itself fails
// (a plain text's write failing fails the statement it shares), is
// retried in a transaction of its own.
func (db *DB) IngestBatch(ctx context.Context, plans []conversations.IngestPlan) ([]conversations.IngestResult, []error) {
	results := make([]conversations.IngestResult, len(plans))
	errs := make([]error, len(plans))
	if len(plans) == 0 {
		return results, errs
	}
	err := db.inTx(ctx, func(tx *Tx) error {
		b, err := lookUpBatch(ctx, tx, plans)
		if err != nil {
			return err
		}
		var run []*plainText // plain texts whose conversations are to create
		for _, i := range b.order {
			if _, ok := b.retries[i]; ok {
				continue
			} else if pt := b.plainAt[i]; pt != nil {
				pt.t = conversations.OnInbound(pt.conv.Status, pt.exists, pt.p.KeywordOnly())
				if !pt.exists {
					run = append(run, pt)
				}
				continue
			}
			if err := b.createThreads(ctx, tx, run); err != nil {
				return err
			}
			run = run[:0]
			if err := applySaved(ctx, tx, plans[i], &results[i], &errs[i]); err != nil {
				return err
			}
		}
		if err := b.createThreads(ctx, tx, run); err != nil {
			return err
		}
		writes, err := b.applyPlain(ctx, tx)
		if err != nil {
			return err
		}
		return b.readBack(ctx, tx, writes, results)
	})
	if err != nil {
		db.batchFallbacks.Add(1)
	}
	db.countDeadlock(err)
	for i := range plans {
		db.countDeadlock(errs[i])
		if err != nil || parley.IsKind(errs[i], parley.ECONFLICT) || isDeadlock(errs[i]) {
			results[i], errs[i] = db.IngestAlone(ctx, plans[i])
		}
	}
	return results, errs
}

// applySaved ingests one text under a savepoint; its failure is its own
// (res, textErr). The error returned is the transaction's: the batch
// cannot go on.
//
// The text's steps give way when they wait on a lock: a conversation
// created after the batch locked its own is locked here, out of the
// batch's order, and another batch may be waiting for a contact this one
// created. Given up, the text is written again after the batch, alone,
// instead of both batches waiting for the server to find the cycle.
func applySaved(ctx context.Context, tx *Tx, p conversations.IngestPlan, res *conversations.IngestResult, textErr *error) error {
	d := dialectOf(tx)
	if _, err := tx.ExecContext(ctx, joinStatements(`SAVEPOINT text`, d.waitsGiveWay())); err != nil {
		return err
	}
	*res, *textErr = ingest(ctx, tx, p)
	if *textErr != nil {
		*res, *textErr = conversations.IngestResult{}, translate(*textErr)
		_, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT text; RELEASE SAVEPOINT text`)
		return err
	}
	_, err := tx.ExecContext(ctx, joinStatements(`RELEASE SAVEPOINT text`, d.unwaits()))
	return err
}

// joinStatements runs statements without parameters in one round trip.
func joinStatements(stmts ...string) string {
	return strings.Join(slices.DeleteFunc(stmts, func(s string) bool { return s == "" }), "; ")
}

// textBatch is a batch sorted out: every text in the order its creations
// take locks, the plain ones with what the look-ups found of them, and the
// retries of stored texts with the stored message.
type textBatch struct {
	order   []int
	plain   []*plainText
	plainAt map[int]*plainText            // by index in the batch
	retries map[int]conversations.Message // by index in the batch
	// opened opens the episodes of the threads the batch created; it
	// goes with the plain texts' writes (applyPlain), a round trip less.
	opened []statement
}

// plainText is a plain text of a batch on its way through the steps.
type plainText struct {
	i         int // in the batch
	p         conversations.IngestPlan
	contactID parley.ID
	conv      convState
	exists    bool
	t         conversations.InboundTransition
	msg       conversations.Message
	// created: its conversation was inserted by this batch already as the
	// text leaves it, so applyPlain does not update it.
	created bool
	// activity: the entries its thread's activity log gains, its
	// keyword's last.
	activity []event
	// consentChanged and reply: its keyword's change to the register and
	// the confirmation or help text queued.
	consentChanged bool
	reply          *conversations.Message
}

// createThreads creates the conversations of a run of plain texts, in
// the run's order. A phone's first texts may arrive in two batches at
// once: a conversation the other batch created first is found and read,
// as a text coming after it would, instead of failing the statements the
// batch shares. Their episodes are opened with the batch's writes: no
// step before reads them, and a lone text's steps never touch a plain
// text's thread (its phone is another).
func (b *textBatch) createThreads(ctx context.Context, tx *Tx, run []*plainText) error {
	if len(run) == 0 {
		return nil
	}
	// A thread is inserted as its first text leaves it, with the text's
	// words, and not updated after: each write puts a row version into
	// every one of its indexes, and a row this transaction inserted has its
	// foreign keys checked again on update. A text that may revoke consent
	// still takes the update, which raises the flag with its message's id
	// and adds the words. One statement, in the run's order.
	ts := make([]newThread, len(run))
	for i, pt := range run {
		ts[i] = newThread{ch: pt.p.Channel, contactID: pt.contactID, phone: pt.p.Text.From, businessPhone: pt.p.Text.To,
			status: pt.t.Status, body: pt.p.Text.Body, at: pt.p.At, inbound: true}
		if pt.p.RevocationSuspected {
			ts[i].body = ""
		}
	}
	created, episodes, err := insertThreads(ctx, tx, ts, true)
	if err != nil {
		return fmt.Errorf("insert conversations: %w", err)
	}
	ids := make(map[convKey]parley.ID, len(created))
	for _, c := range created {
		ids[convKey{parley.ID(c.ChannelID), c.Phone}] = parley.ID(c.ID)
	}
	for _, pt := range run {
		if id, ok := ids[convKey{pt.p.Channel.ID, pt.p.Text.From}]; ok {
			pt.conv.ID, pt.created = id, !pt.p.RevocationSuspected
			continue
		}
		if pt.conv, pt.exists, err = lockConversation(ctx, tx, pt.p.Channel, pt.p.Text.From); err != nil {
			return err
		}
		pt.t = conversations.OnInbound(pt.conv.Status, pt.exists, pt.p.KeywordOnly())
	}
	b.opened = append(b.opened, episodes)
	return nil
}

// lookUpBatch sorts a batch's texts into plain and alone, finds or
// creates their contacts, and locks every existing conversation of the
// batch.
func lookUpBatch(ctx context.Context, tx *Tx, plans []conversations.IngestPlan) (textBatch, error) {
	b := textBatch{plainAt: map[int]*plainText{}, retries: map[int]conversations.Message{}}
	// By phone: a contact, its consent and its conversations are all keyed
	// by the phone. A phone's texts keep their order of arrival, whatever
	// number they went to (STOP to one, START to another): the sort is
	// stable and looks at nothing else.
	b.order = make([]int, len(plans))
	for i := range b.order {
		b.order[i] = i
	}
	slices.SortStableFunc(b.order, func(x, y int) int { return cmp.Compare(plans[x].Text.From, plans[y].Text.From) })
	phones := map[string]int{}
	sids := map[carrierKey]int{}
	for _, p := range plans {
		phones[p.Text.From]++
		sids[carrierKey{p.Channel.ID, p.Text.CarrierMessageID}]++
	}
	for _, i := range b.order {
		p := plans[i]
		sid := carrierKey{p.Channel.ID, p.Text.CarrierMessageID}
		if phones[p.Text.From] > 1 || (sid.id != "" && sids[sid] > 1) || !storable(p.Text) {
			continue
		}
		pt := &plainText{i: i, p: p}
		b.plain = append(b.plain, pt)
		b.plainAt[i] = pt
	}
	contacts, err := b.contacts(ctx, tx, plans)
	if err != nil {
		return b, err
	}
	convs, err := lockConversations(ctx, tx, plans)
	if err != nil {
		return b, err
	}
	var strays []strayThread
	for _, pt := range b.plain {
		pt.conv, pt.exists = convs[convKey{pt.p.Channel.ID, pt.p.Text.From}]
		pt.contactID = contacts[contactKey{pt.p.Channel.AccountID, pt.p.Text.From}]
		if pt.exists && pt.conv.ContactID != pt.contactID {
			strays = append(strays, strayThread{pt.p.Channel.AccountID, pt.p.Text.From, pt.contactID})
		}
	}
	return b, giveThreadsToOwners(ctx, tx, strays, plans[0].At)
}

// contacts finds the contact of every phone of the batch that is to store
// a text, creating those missing, account by account and in phone order
// (contactsOfPhones), before any conversation is locked or created. A
// lone text then finds its contact.
func (b textBatch) contacts(ctx context.Context, tx *Tx, plans []conversations.IngestPlan) (map[contactKey]parley.ID, error) {
	byAccount := map[parley.ID][]string{}
	first := map[parley.ID]time.Time{} // an account's earliest text: its new contacts' creation
	seen := map[contactKey]bool{}
	for _, i := range b.order {
		p := plans[i]
		k := contactKey{p.Channel.AccountID, p.Text.From}
		if seen[k] || !storable(p.Text) {
			continue
		}
		seen[k] = true
		byAccount[k.account] = append(byAccount[k.account], k.phone)
		if at, ok := first[k.account]; !ok || p.At.Before(at) {
			first[k.account] = p.At
		}
	}
	found := make(map[contactKey]parley.ID, len(seen))
	for _, acc := range slices.Sorted(maps.Keys(byAccount)) {
		cs, err := contactsOfPhones(ctx, tx, acc, byAccount[acc], first[acc])
		if err != nil {
			return nil, fmt.Errorf("contacts: %w", err)
		}
		for phone, c := range cs {
			found[contactKey{acc, phone}] = parley.ID(c.ID)
		}
	}
	return found, nil
}

// storable reports whether PostgreSQL takes a text's strings: not invalid
// UTF-8 nor a NUL byte. A text it would refuse goes alone, so its failure
// does not fail the statement the plain texts share.
func storable(t conversations.InboundText) bool {
	for _, s := range append([]string{t.Body, t.From, t.To, t.CarrierMessageID}, t.MediaURLs...) {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return false
		}
	}
	return true
}

// carrierKey is a text's idempotency key: its carrier id on its channel.
type carrierKey struct {
	channel parley.ID
	id      string
}

// messagesByCarrierIDQuery reads the messages of a batch of carrier ids:
// by messages_carrier_id (carrier_message_id, channel_id), an index probe
// per id whatever the statistics said when the plan was made, and a row
// read only for a retry.
func messagesByCarrierIDQuery(d dialect) string {
	return `WITH ` + d.batchRows("v", "carrier_id TEXT") + ` SELECT ` + messageColumns + ` FROM v` +
		d.lookupJoin("messages", "m", "m.carrier_message_id = v.carrier_id")
}

// seenCarrierIDs finds the stored messages of the batch's carrier ids:
// those texts are a carrier's retries.
func seenCarrierIDs(ctx context.Context, tx *Tx, plans []conversations.IngestPlan) (map[carrierKey]conversations.Message, error) {
	var ids [][]any
	for _, p := range plans {
		if p.Text.CarrierMessageID != "" {
			ids = append(ids, []any{p.Text.CarrierMessageID})
		}
	}
	seen := map[carrierKey]conversations.Message{}
	if len(ids) == 0 {
		return seen, nil
	}
	var rows []messageRow
	if err := selectBatch(ctx, tx, &rows, messagesByCarrierIDQuery(dialectOf(tx)), ids); err != nil {
		return nil, err
	}
	for _, r := range rows {
		m, err := r.message()
		if err != nil {
			return nil, err
		}
		seen[carrierKey{m.ChannelID, m.CarrierMessageID}] = m
	}
	return seen, nil
}

// lockConversationsQuery reads a batch's conversations by their keys
// (channel, phone), locked in id order (see lockConversation). With
// phoneWide it also locks every thread of the phones marked so, on any
// of the account's numbers: an opt-out keyword's register change writes
// them (their revocation flags cleared), and they are locked here, in the
// one order, rather than after. Every thread is found by its own key,
// number by number, and then read by id: on a small table never analyzed
// the planner found the account's threads through conversations_created
// and joined the ids to a scan of the table, plans it would have kept.
// The lookup by id takes each lock as it runs, once an id, in the ids'
// sorted order (as receiptTargetsQuery's does).
func lockConversationsQuery(d dialect, phoneWide bool) string {
	if !phoneWide {
		return `WITH ` + d.batchRows("k", "channel_id BIGINT", "contact_phone TEXT") + `
SELECT id, channel_id, contact_phone, status, assignee_id, contact_id FROM conversations
WHERE (channel_id, contact_phone) IN (SELECT channel_id, contact_phone FROM k) ORDER BY id` + d.forUpdate()
	}
	return `WITH ` + d.batchRows("k", "channel_id BIGINT", "contact_phone TEXT", "account_id BIGINT", "phone_wide BOOLEAN") + `,
ids AS (SELECT c.id FROM k` + d.lookupJoin("conversations", "c", "c.channel_id = k.channel_id AND c.contact_phone = k.contact_phone") + `
    UNION SELECT c.id FROM k JOIN channels ch ON ch.account_id = k.account_id AND k.phone_wide` +
		d.lookupJoin("conversations", "c", "c.channel_id = ch.id AND c.contact_phone = k.contact_phone") + `)
SELECT c.id, c.channel_id, c.contact_phone, c.status, c.assignee_id, c.contact_id FROM (SELECT id FROM ids ORDER BY id) i` +
		d.lookupJoin("conversations", "c", "c.id = i.id") + ` ORDER BY c.id` + d.forUpdateOf("c")
}

// lockConversations reads the batch's existing conversations and, on
// PostgreSQL, locks them in id order, so that batches committing side by
// side take these locks in one order; with them, every thread of a phone
// whose text opts it out.
func lockConversations(ctx context.Context, tx *Tx, plans []conversations.IngestPlan) (map[convKey]convState, error) {
	keys := map[convKey]bool{}
	phoneWide := slices.ContainsFunc(plans, optsOut)
	var batch [][]any
	for _, p := range plans {
		k := convKey{p.Channel.ID, p.Text.From}
		if keys[k] {
			continue
		}
		keys[k] = true
		if phoneWide {
			batch = append(batch, []any{p.Channel.ID, p.Text.From, p.Channel.AccountID, optsOut(p)})
		} else {
			batch = append(batch, []any{p.Channel.ID, p.Text.From})
		}
	}
	q := lockConversationsQuery(dialectOf(tx), phoneWide)
	var rows []struct {
		convState
		ChannelID    int64  `db:"channel_id"`
		ContactPhone string `db:"contact_phone"`
	}
	if err := selectBatch(ctx, tx, &rows, q, batch); err != nil {
		return nil, err
	}
	convs := make(map[convKey]convState, len(rows))
	for _, r := range rows {
		convs[convKey{parley.ID(r.ChannelID), r.ContactPhone}] = r.convState
	}
	return convs, nil
}

// optsOut reports whether a text's keyword opts its phone out, which
// clears the flags of the phone's threads on every number.
func optsOut(p conversations.IngestPlan) bool {
	action, ok := p.ConsentAction()
	return ok && action == optout.ActionOptOut
}

// contactKey names a contact by one of its phones.
type contactKey struct {
	account parley.ID
	phone   string
}

// applyPlain writes the plain texts, each step one statement for all;
// lookUpBatch and createThreads have given each its contact, conversation
// and transition. The last step's writes (the threads updated, their
// episodes, the activity logged) are returned, to go with the read-back:
// they go after a keyword's register and reply, whose writes to the same
// threads they commute with (queueReplies). The log's events are recorded
// in a lone text's order.
func (b *textBatch) applyPlain(ctx context.Context, tx *Tx) ([]statement, error) {
	if len(b.plain) == 0 {
		return b.opened, nil
	}
	texts := make([]inboundMessage, len(b.plain))
	for k, pt := range b.plain {
		texts[k] = inboundMessage{pt.conv.ID, pt.p}
	}
	stored, err := insertInboundMessages(ctx, tx, texts, true)
	if err != nil {
		return nil, fmt.Errorf("insert messages: %w", err)
	}
	if stored, err = b.carriersRetries(ctx, tx, stored); err != nil {
		return nil, err
	}
	updates := make([]inboundUpdate, 0, len(b.plain))
	for k, pt := range b.plain {
		if !pt.created {
			updates = append(updates, inboundUpdate{c: pt.conv, p: pt.p, t: pt.t, msg: stored[k].ID})
		}
	}
	// Each text's activity, its keyword's consent, its notification and
	// its reply, in a lone text's order: the log's events follow it.
	var notes []conversations.Notification
	for k, pt := range b.plain {
		pt.msg = stored[k]
		target := pt.conv.target(pt.contactID, pt.exists)
		pt.activity = eventsOf(pt.p.Events(target, pt.t))
		tx.recordConversationEvents(pt.p.Channel.AccountID, pt.activity)
		if n, ok := pt.p.Notification(target, pt.t, pt.msg.ID); ok {
			notes = append(notes, n)
		}
	}
	if err := b.applyKeywords(ctx, tx); err != nil {
		return nil, err
	}
	// The notifications' ids are read back.
	if err := notify(ctx, tx, notes...); err != nil {
		return nil, fmt.Errorf("notify assignees: %w", err)
	}
	if err := b.queueReplies(ctx, tx); err != nil {
		return nil, err
	}
	// The conversations' updates and their activity depend on none of
	// each other: one round trip, with the read-back.
	d := dialectOf(tx)
	writes := append([]statement{updatedOnInbound(d, updates...), reopenedEpisodes(d, updates...), repliedSends(d, updates...)}, b.opened...)
	activity := map[parley.ID][]event{} // by account
	for _, pt := range b.plain {
		activity[pt.p.Channel.AccountID] = append(activity[pt.p.Channel.AccountID], pt.activity...)
	}
	for acc, evs := range activity {
		st, err := activityStatement(tx, acc, evs)
		if err != nil {
			return nil, err
		}
		writes = append(writes, st)
	}
	return writes, nil
}

// applyKeywords records the consent keywords of the batch's texts, each
// phone's once (a phone has one text in the batch's plain ones): the
// register, its audit log and the phone's threads' events, statement by
// statement as a lone text does; each keyword's activity entry joins its
// text's.
func (b *textBatch) applyKeywords(ctx context.Context, tx *Tx) error {
	for _, pt := range b.plain {
		if !pt.p.KeywordOnly() {
			continue
		}
		acc := pt.p.Channel.AccountID
		changed, err := keywordConsent(ctx, tx, acc, pt.msg.ID, pt.p)
		if err != nil {
			return fmt.Errorf("consent: %w", err)
		}
		pt.consentChanged = changed
		if e, ok := pt.p.KeywordEvent(pt.conv.ID, changed); ok {
			entry := eventsOf([]conversations.Event{e})
			tx.recordConversationEvents(acc, entry)
			pt.activity = append(pt.activity, entry...)
		}
	}
	return nil
}

// queueReplies queues the confirmations and help texts the batch's
// keywords are due. A reply's touch of its thread (its activity and
// words) and the batch's update of the same thread after commute: each
// moves the activity times forward only and adds words.
func (b *textBatch) queueReplies(ctx context.Context, tx *Tx) error {
	for _, pt := range b.plain {
		if !pt.p.ReplyDue(pt.consentChanged) {
			continue
		}
		m, err := enqueueText(ctx, tx, keywordReply(pt.p.Channel, pt.conv.ID, pt.p), pt.p.At)
		if err != nil {
			return fmt.Errorf("queue reply: %w", err)
		}
		pt.reply = &m
	}
	return nil
}

// carriersRetries turns the plain texts that insertInboundMessages
// skipped into retries of the messages stored with their carrier ids
// (before the batch, or by another transaction meanwhile), answered as
// such; it returns the stored messages of the plain texts left.
func (b *textBatch) carriersRetries(ctx context.Context, tx *Tx, stored []conversations.Message) ([]conversations.Message, error) {
	var skipped []conversations.IngestPlan
	for k, pt := range b.plain {
		if stored[k].ID == 0 {
			skipped = append(skipped, pt.p)
		}
	}
	if len(skipped) == 0 {
		return stored, nil
	}
	seen, err := seenCarrierIDs(ctx, tx, skipped)
	if err != nil {
		return nil, err
	}
	plain, kept := b.plain[:0:0], stored[:0:0]
	for k, pt := range b.plain {
		if stored[k].ID != 0 {
			plain, kept = append(plain, pt), append(kept, stored[k])
			continue
		}
		m, ok := seen[carrierKey{pt.p.Channel.ID, pt.p.Text.CarrierMessageID}]
		if !ok {
			return nil, fmt.Errorf("text %s: not stored, and no message has its carrier id", pt.p.Text.CarrierMessageID)
		}
		b.retries[pt.i] = m
		delete(b.plainAt, pt.i)
	}
	b.plain = plain
	return kept, nil
}

// conversationsByIDQuery reads a batch of conversations by id, each
// looked up by its key whatever the statistics said when the plan was
// made, and whether any tag is on each. With updated, those the WITH
// query updatedThreads of the same statement changed are read from its
// RETURNING rows (updatedOnInbound), as they now stand; their contacts
// and consents are looked up by key too: joined as the planner chose
// from young tables' statistics, the read-back hashed every contact.
func conversationsByIDQuery(d dialect, updated bool) string {
	from := ` FROM v` + d.lookupJoin("conversations", "cv", "cv.id = v.id")
	if updated {
		from = ` FROM (SELECT * FROM ` + updatedThreads + ` UNION ALL SELECT c.* FROM v` + d.lookupJoin("conversations", "c", "c.id = v.id") +
			` WHERE c.id NOT IN (SELECT id FROM ` + updatedThreads + `)) cv`
	}
	return `WITH ` + d.batchRows("v", "id BIGINT") + ` ` + conversationColumns + taggedColumn + from +
		d.lookupJoin("contacts", "ct", "ct.id = cv.contact_id") +
		d.lookupLeftJoin("consents", "cs", "cs.account_id = cv.account_id AND cs.phone = cv.contact_phone")
}

// readBack runs the plain texts' last writes and reads the conversations
// of the plain texts and the retries as they then stand, into their
// results: on PostgreSQL, one statement.
func (b textBatch) readBack(ctx context.Context, tx *Tx, writes []statement, results []conversations.IngestResult) error {
	ids := make([][]any, 0, len(b.plain)+len(b.retries))
	listed := map[parley.ID]bool{}
	list := func(id parley.ID) {
		if !listed[id] {
			listed[id] = true
			ids = append(ids, []any{id})
		}
	}
	for _, pt := range b.plain {
		list(pt.conv.ID)
	}
	for _, m := range b.retries {
		list(m.ConversationID)
	}
	if len(ids) == 0 {
		return execTogether(ctx, tx, writes...)
	}
	updated := slices.ContainsFunc(writes, func(s statement) bool { return s.name == updatedThreads && s.query != "" })
	var rows []taggedConversationRow
	readRows := batchStatement(conversationsByIDQuery(dialectOf(tx), updated), ids)
	if err := selectTogether(ctx, tx, &rows, readRows, writes...); err != nil {
		return fmt.Errorf("update conversations, log activity, read them back: %w", err)
	}
	read, err := conversationsOfTagged(ctx, tx, rows)
	if err != nil {
		return err
	}
	convs := make(map[parley.ID]conversations.Conversation, len(read))
	for _, c := range read {
		convs[c.ID] = c
	}
	for _, pt := range b.plain {
		results[pt.i] = conversations.IngestResult{Conversation: convs[pt.conv.ID], Message: pt.msg, Created: !pt.exists, Transition: pt.t,
			ConsentChanged: pt.consentChanged, Reply: pt.reply}
	}
	for i, m := range b.retries {
		results[i] = conversations.IngestResult{Duplicate: true, Message: m, Conversation: convs[m.ConversationID]}
	}
	return nil
}

// placeholders is n comma-separated "?".
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
