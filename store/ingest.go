package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/optout"
)

// Ingest applies an inbound text: on PostgreSQL with group commit, in one
// transaction with the texts arriving beside it (see commitGroup), else in
// a transaction of its own.
//
// A text PostgreSQL would refuse is never batched: it would take a lone
// text's steps in the batch (IngestBatch), a dozen round trips of its own,
// and hold one of the group's two workers and every text of its batch
// meanwhile.
func (db *DB) Ingest(ctx context.Context, p conversations.IngestPlan) (conversations.IngestResult, error) {
	if db.ingests != nil && storable(p.Text) {
		return db.groupIngest(ctx, p)
	}
	return db.IngestAlone(ctx, p)
}

// IngestAlone applies an inbound text in a transaction of its own.
//
// Two first texts from one phone may race to create its contact or
// conversation; the loser hits a unique index, and the whole transaction is
// retried, when it finds what the winner created. A deadlock is retried
// too: a group-commit batch holds the conversations of all its texts while
// it works through them, and a lone text locking a phone's conversation
// and then its consent row can meet it in the opposite order; PostgreSQL
// aborts one of the two.
func (db *DB) IngestAlone(ctx context.Context, p conversations.IngestPlan) (conversations.IngestResult, error) {
	var res conversations.IngestResult
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = db.inTx(ctx, func(tx *Tx) error {
			res, err = ingest(ctx, tx, p)
			return err
		})
		db.countDeadlock(err)
		if !parley.IsKind(err, parley.ECONFLICT) && !isDeadlock(err) {
			break
		}
	}
	return res, err
}

func ingest(ctx context.Context, tx *Tx, p conversations.IngestPlan) (conversations.IngestResult, error) {
	var res conversations.IngestResult
	ch := p.Channel
	// A text without a carrier id has no idempotency key: it is stored,
	// not taken for a retry of an earlier text without one.
	if p.Text.CarrierMessageID != "" {
		if dup, err := findInboundDuplicate(ctx, tx, ch, p.Text.CarrierMessageID); err == nil {
			res.Duplicate, res.Message = true, dup
			res.Conversation, err = getConversation(ctx, tx, ch.AccountID, dup.ConversationID)
			return res, err
		} else if !parley.IsKind(err, parley.ENOTFOUND) {
			return res, err
		}
	}

	contactID, err := findOrCreateContact(ctx, tx, ch.AccountID, p.Text.From, p.At)
	if err != nil {
		return res, fmt.Errorf("contact: %w", err)
	}
	conv, exists, err := lockConversation(ctx, tx, ch, p.Text.From)
	if err != nil {
		return res, err
	}
	if exists && conv.ContactID != contactID {
		if err := giveThreadsToOwners(ctx, tx, []strayThread{{ch.AccountID, p.Text.From, contactID}}, p.At); err != nil {
			return res, fmt.Errorf("threads to the phone's contact: %w", err)
		}
	}
	res.Transition = conversations.OnInbound(conv.Status, exists, p.KeywordOnly())
	res.Created = !exists
	if !exists {
		if conv.ID, err = insertConversation(ctx, tx, ch, contactID, p, res.Transition.Status); err != nil {
			return res, fmt.Errorf("insert conversation: %w", err)
		}
	}
	stored, err := insertInboundMessages(ctx, tx, []inboundMessage{{conv.ID, p}}, false)
	if err != nil {
		return res, fmt.Errorf("insert message: %w", err)
	}
	res.Message = stored[0]
	msgID := res.Message.ID
	target := conv.target(contactID, exists)
	logged, err := eventsStatement(tx, ch.AccountID, eventsOf(p.Events(target, res.Transition)))
	if err != nil {
		return res, fmt.Errorf("log events: %w", err)
	}
	// The thread's update, its episode, its sends' replies and its
	// activity depend on none of each other (a batch writes them the same
	// way): one round trip.
	d, u := dialectOf(tx), inboundUpdate{conv, p, res.Transition, msgID}
	if err := execTogether(ctx, tx, updateOnInboundStatement(d, u), reopenedEpisodes(d, u), repliedSends(d, u), logged); err != nil {
		return res, fmt.Errorf("update conversation, log its activity: %w", err)
	}
	if res.ConsentChanged, err = applyIntent(ctx, tx, ch.AccountID, conv.ID, msgID, p); err != nil {
		return res, fmt.Errorf("consent: %w", err)
	}
	if n, ok := p.Notification(target, res.Transition, msgID); ok {
		if err := notify(ctx, tx, n); err != nil {
			return res, fmt.Errorf("notify assignee: %w", err)
		}
	}
	if p.ReplyDue(res.ConsentChanged) {
		m, err := enqueueText(ctx, tx, keywordReply(ch, conv.ID, p), p.At)
		if err != nil {
			return res, fmt.Errorf("queue reply: %w", err)
		}
		res.Reply = &m
	}
	res.Conversation, err = getConversation(ctx, tx, ch.AccountID, conv.ID)
	return res, err
}

func findInboundDuplicate(ctx context.Context, tx *Tx, ch conversations.Channel, carrierID string) (conversations.Message, error) {
	var row messageRow
	q := `SELECT ` + messageColumns + ` FROM messages WHERE carrier_message_id = ? AND channel_id = ?`
	if err := tx.GetContext(ctx, &row, tx.Rebind(q), carrierID, ch.ID); err != nil {
		return conversations.Message{}, translate(err)
	}
	return row.message()
}

func getMessage(ctx context.Context, q sqlx.QueryerContext, accountID, id parley.ID) (conversations.Message, error) {
	var row messageRow
	if err := sqlx.GetContext(ctx, q, &row, rebind(q, `SELECT `+messageColumns+` FROM messages WHERE account_id = ? AND id = ?`), accountID, id); err != nil {
		return conversations.Message{}, translate(err)
	}
	return row.message()
}

// findOrCreateContact returns the contact owning phone, creating an unnamed
// contact on first contact.
func findOrCreateContact(ctx context.Context, tx *Tx, accountID parley.ID, phone string, at time.Time) (parley.ID, error) {
	id, err := contactOfPhone(ctx, tx, accountID, phone)
	if err == nil || !parley.IsKind(translate(err), parley.ENOTFOUND) {
		return id, err
	}
	return createContactIfAbsent(ctx, tx, accountID, phone, at)
}

// contactOfPhone returns the contact a phone belongs to.
func contactOfPhone(ctx context.Context, tx *Tx, accountID parley.ID, phone string) (parley.ID, error) {
	var id int64
	err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT contact_id FROM contact_phones WHERE account_id = ? AND phone = ?`), accountID, phone)
	return parley.ID(id), err
}

// createContactIfAbsent creates the unnamed contact of a phone's first
// text unless another transaction gave the phone a contact first (having
// waited for it to commit), when it returns that contact.
func createContactIfAbsent(ctx context.Context, tx *Tx, accountID parley.ID, phone string, at time.Time) (parley.ID, error) {
	cid, err := insertContact(ctx, tx, conversations.Contact{AccountID: accountID, Attributes: map[string]any{}, CreatedAt: at, UpdatedAt: at})
	if err != nil {
		return 0, err
	}
	r, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO contact_phones (account_id, phone, contact_id, position) VALUES (?, ?, ?, 0)
ON CONFLICT (account_id, phone) DO NOTHING`), accountID, phone, cid)
	if err != nil {
		return 0, err
	}
	if n, err := r.RowsAffected(); err != nil || n == 1 {
		return cid, err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM contacts WHERE id = ?`), cid); err != nil {
		return 0, err
	}
	return contactOfPhone(ctx, tx, accountID, phone)
}

// convState is the part of a conversation the state machine reads.
type convState struct {
	ID         parley.ID            `db:"id"`
	Status     conversations.Status `db:"status"`
	AssigneeID *int64               `db:"assignee_id"`
	ContactID  parley.ID            `db:"contact_id"`
}

// lockConversation reads the (channel, phone) conversation and, on
// PostgreSQL, locks it so concurrent texts apply the state machine in turn.
func lockConversation(ctx context.Context, tx *Tx, ch conversations.Channel, phone string) (convState, bool, error) {
	var c convState
	q := `SELECT id, status, assignee_id, contact_id FROM conversations WHERE channel_id = ? AND contact_phone = ?` +
		dialectOf(tx).forUpdate()
	err := tx.GetContext(ctx, &c, tx.Rebind(q), ch.ID, phone)
	if err != nil {
		// sqlx allocates c's pointer fields before it learns there is no
		// row, so a miss returns a fresh zero value, not c.
		if err = translate(err); parley.IsKind(err, parley.ENOTFOUND) {
			return convState{}, false, nil
		}
		return convState{}, false, err
	}
	return c, true, nil
}

// insertConversation creates the conversation of a lone inbound text and
// opens its first episode; a conversation another transaction created
// first is a conflict, as its unique index says.
func insertConversation(ctx context.Context, tx *Tx, ch conversations.Channel, contactID parley.ID, p conversations.IngestPlan, status conversations.Status) (parley.ID, error) {
	id, err := insertThreadIfAbsent(ctx, tx, newThread{ch: ch, contactID: contactID, phone: p.Text.From, businessPhone: p.Text.To, status: status, at: p.At, inbound: true})
	if err == nil && id == 0 {
		err = errAlreadyExists()
	}
	return id, err
}

// insertThreadIfAbsent creates one conversation and opens its first
// episode, unless another transaction created it first: then it returns
// 0, having waited for that transaction to commit.
func insertThreadIfAbsent(ctx context.Context, tx *Tx, t newThread) (parley.ID, error) {
	created, episode, err := insertThreads(ctx, tx, []newThread{t}, false)
	if err != nil || len(created) == 0 {
		return 0, err
	}
	return parley.ID(created[0].ID), execTogether(ctx, tx, episode)
}

// newThread is a conversation to create with its first text.
type newThread struct {
	ch            conversations.Channel
	contactID     parley.ID
	phone         string // the contact's
	businessPhone string
	status        conversations.Status
	assignee      *parley.ID
	body          string // the first text's
	at            time.Time
	inbound       bool // the first text came from the contact
}

// createdThread is a conversation insertThreads created.
type createdThread struct {
	ID        int64  `db:"id"`
	ChannelID int64  `db:"channel_id"`
	Phone     string `db:"contact_phone"`
}

// insertThreads creates, in one statement and in the order given, the
// conversations that no other transaction created first (waiting for
// such a one to commit). With withWords a conversation's search document
// starts with its first text's words, so that it is written once; it
// returns those created and the statement opening their first episodes.
func insertThreads(ctx context.Context, tx *Tx, ts []newThread, withWords bool) ([]createdThread, statement, error) {
	rows := make([][]any, len(ts))
	for i, t := range ts {
		var inboundAt *int64
		if t.inbound {
			at := ms(t.at)
			inboundAt = &at
		}
		rows[i] = []any{t.ch.AccountID, t.ch.ID, t.ch.InboxID, t.contactID, t.phone, reversedDigits(t.phone), t.businessPhone,
			string(t.status), t.assignee, ms(t.at), inboundAt, t.body}
	}
	var created []createdThread
	if err := selectBatch(ctx, tx, &created, insertThreadsQuery(dialectOf(tx), withWords), rows); err != nil {
		return nil, statement{}, err
	}
	byKey := make(map[convKey]newThread, len(ts))
	for _, t := range ts {
		byKey[convKey{t.ch.ID, t.phone}] = t
	}
	eps := make([]openingEpisode, len(created))
	for i, c := range created {
		t := byKey[convKey{parley.ID(c.ChannelID), c.Phone}]
		eps[i] = openingEpisode{t.ch.AccountID, parley.ID(c.ID), t.at}
	}
	return created, openEpisodesStatement(dialectOf(tx), eps), nil
}

// insertThreadsQuery is insertThreads' statement. (SQLite needs a WHERE
// before an upsert's ON CONFLICT after a SELECT.)
func insertThreadsQuery(d dialect, withWords bool) string {
	col, val := "", ""
	if withWords {
		col, val = d.searchWordsInsert("v.body")
	}
	return `WITH ` + d.batchRows("v", "account_id BIGINT", "channel_id BIGINT", "inbox_id BIGINT", "contact_id BIGINT", "phone TEXT",
		"phone_rev TEXT", "business_phone TEXT", "status TEXT", "assignee_id BIGINT", "at BIGINT", "inbound_at BIGINT", "body TEXT") + `
INSERT INTO conversations (account_id, channel_id, inbox_id, contact_id, contact_phone, contact_phone_rev,
    business_phone, status, priority, assignee_id, last_message_at, last_inbound_at, created_at, updated_at, waiting_since` + col + `)
SELECT account_id, channel_id, inbox_id, contact_id, phone, phone_rev, business_phone, status, 'none', assignee_id, at, inbound_at, at, at, at` + val + ` FROM v
WHERE true ON CONFLICT (channel_id, contact_phone) DO NOTHING RETURNING id, channel_id, contact_phone`
}

// convKey names a conversation by its unique (channel, contact phone).
type convKey struct {
	channel parley.ID
	phone   string
}

// inboundMessage is an inbound text to store in its conversation.
type inboundMessage struct {
	conversationID parley.ID
	p              conversations.IngestPlan
}

// insertInboundMessages stores texts of distinct conversations in one
// statement and returns them as stored, in the order given.
//
// With skipStored, a text whose carrier id another transaction stored
// meanwhile (a carrier's retry of a text still being written when the
// batch looked) is skipped, its message left zero, instead of failing the
// statement every text of a batch shares.
func insertInboundMessages(ctx context.Context, tx *Tx, texts []inboundMessage, skipStored bool) ([]conversations.Message, error) {
	batch := make([][]any, 0, len(texts))
	for _, t := range texts {
		media, err := json.Marshal(nonNil(t.p.Text.MediaURLs))
		if err != nil {
			return nil, err
		}
		var carrierID *string // NULL: the unique index ignores it
		if t.p.Text.CarrierMessageID != "" {
			carrierID = &t.p.Text.CarrierMessageID
		}
		batch = append(batch, []any{t.p.Channel.AccountID, t.conversationID, t.p.Channel.ID, t.p.Text.Body, string(media),
			carrierID, t.p.Text.Segments, ms(t.p.At)})
	}
	d := dialectOf(tx)
	q := `WITH ` + d.batchRows("v", "account_id BIGINT", "conversation_id BIGINT", "channel_id BIGINT", "body TEXT",
		"media_urls TEXT", "carrier_message_id TEXT", "segments INTEGER", "at BIGINT") + `
INSERT INTO messages (account_id, conversation_id, channel_id, direction, kind, body, media_urls, status,
    carrier_message_id, segments, created_at, updated_at)
SELECT account_id, conversation_id, channel_id, 'inbound', 'text', body, ` + d.jsonValue("media_urls") + `, 'received',
    carrier_message_id, segments, at, at FROM v`
	if skipStored {
		q += ` WHERE true ON CONFLICT DO NOTHING` // (SQLite needs the WHERE before an upsert after a SELECT)
	}
	q += ` RETURNING ` + messageColumns
	var rows []messageRow
	if err := selectBatch(ctx, tx, &rows, q, batch); err != nil {
		return nil, err
	}
	byConv, err := messagesByConversation(rows)
	if err != nil {
		return nil, err
	}
	stored := make([]conversations.Message, len(texts))
	for i, t := range texts {
		if m, ok := byConv[t.conversationID]; ok {
			stored[i] = m
			tx.recordMessage(events.MessageCreated, m, conversations.ActorContact, nil, t.p.At)
		}
	}
	return stored, nil
}

// messagesByConversation keys the messages an insert of texts to distinct
// conversations returned: RETURNING's order is not promised.
func messagesByConversation(rows []messageRow) (map[parley.ID]conversations.Message, error) {
	out := make(map[parley.ID]conversations.Message, len(rows))
	for _, r := range rows {
		m, err := r.message()
		if err != nil {
			return nil, err
		}
		out[m.ConversationID] = m
	}
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// inboundUpdate is what an inbound text changes on its conversation.
type inboundUpdate struct {
	c   convState
	p   conversations.IngestPlan
	t   conversations.InboundTransition
	msg parley.ID // the text's message, once inserted
}

// updateOnInboundStatement applies inbound texts to their conversations,
// one text per conversation, in one statement.
func updateOnInboundStatement(d dialect, updates ...inboundUpdate) statement {
	if len(updates) == 0 {
		return statement{}
	}
	rows := make([][]any, 0, len(updates))
	for _, u := range updates {
		assignee := u.c.AssigneeID
		if u.t.ClearAssignee {
			assignee = nil
		}
		var flagged, flaggedBy *int64
		if u.p.RevocationSuspected {
			at, msg := ms(u.p.At), int64(u.msg)
			flagged, flaggedBy = &at, &msg
		}
		rows = append(rows, []any{int64(u.c.ID), string(u.t.Status), assignee, u.p.Text.To, ms(u.p.At), flagged, flaggedBy,
			u.p.RevocationRule, u.p.RevocationReason, u.p.Text.Body, int64(u.p.Channel.AccountID), u.p.Text.From})
	}
	return batchStatement(updateOnInboundQuery(d), rows)
}

// updatedThreads names the WITH query of updatedOnInbound, which the
// batch's read-back reads (conversationsByIDQuery).
const updatedThreads = "updated"

// updatedOnInbound is updateOnInboundStatement as the WITH query
// updatedThreads of a statement that reads the threads back (readBack),
// its rows returned as they now stand; on SQLite, which reads them after,
// as it is.
func updatedOnInbound(d dialect, updates ...inboundUpdate) statement {
	st := updateOnInboundStatement(d, updates...)
	if st.query != "" && d.writesInWith() {
		st.query += ` RETURNING conversations.*`
		st.name = updatedThreads
	}
	return st
}

// updateOnInboundQuery is updateOnInboundStatement's statement.
func updateOnInboundQuery(d dialect) string {
	// A reopened conversation is no longer snoozed. Activity times only
	// move forward: webhooks may commit out of order.
	// A flag already waiting stays as it was raised (its day-old reminder
	// counts from then); a new one takes its text, rule and reason. A
	// phone already opted out raises none: there is nothing left to ask.
	return `WITH ` + d.batchRows("v", "id BIGINT", "status TEXT", "assignee_id BIGINT", "business_phone TEXT", "at BIGINT", "flagged BIGINT",
		"flagged_by BIGINT", "rule TEXT", "reason TEXT", "body TEXT", "account_id BIGINT", "phone TEXT") + `,
f AS (SELECT v.*, CASE WHEN cs.phone IS NULL THEN v.flagged END AS raised
    FROM v LEFT JOIN consents cs ON cs.account_id = v.account_id AND cs.phone = v.phone AND cs.opted_out)
UPDATE conversations SET ` + d.searchWordsSet() + `status = v.status, assignee_id = v.assignee_id, business_phone = v.business_phone,
    last_message_at = CASE WHEN conversations.last_message_at > v.at THEN conversations.last_message_at ELSE v.at END,
    last_inbound_at = CASE WHEN conversations.last_inbound_at > v.at THEN conversations.last_inbound_at ELSE v.at END,
    snoozed_until = CASE WHEN v.status = 'snoozed' THEN conversations.snoozed_until ELSE NULL END,
    revocation_message_id = CASE WHEN conversations.revocation_flagged_at IS NULL AND v.raised IS NOT NULL THEN v.flagged_by ELSE conversations.revocation_message_id END,
    revocation_rule = CASE WHEN conversations.revocation_flagged_at IS NULL AND v.raised IS NOT NULL THEN v.rule ELSE conversations.revocation_rule END,
    revocation_reason = CASE WHEN conversations.revocation_flagged_at IS NULL AND v.raised IS NOT NULL THEN v.reason ELSE conversations.revocation_reason END,
    revocation_flagged_at = COALESCE(conversations.revocation_flagged_at, v.raised), updated_at = v.at
FROM f AS v WHERE conversations.id = v.id`
}

// reopenedEpisodes opens an episode for each conversation a text
// reopened (a resolved or closed one becoming live again).
func reopenedEpisodes(d dialect, updates ...inboundUpdate) statement {
	var eps []openingEpisode
	for _, u := range updates {
		if u.c.ID != 0 && conversations.Opens(u.c.Status, u.t.Status) {
			eps = append(eps, openingEpisode{u.p.Channel.AccountID, u.c.ID, u.p.At})
		}
	}
	return openEpisodesStatement(d, eps)
}

// target is the conversation as the domain's ingest decisions read it.
func (c convState) target(contactID parley.ID, existed bool) conversations.InboundTarget {
	var assignee *parley.ID
	if c.AssigneeID != nil {
		id := parley.ID(*c.AssigneeID)
		assignee = &id
	}
	return conversations.InboundTarget{ConversationID: c.ID, Status: c.Status, AssigneeID: assignee,
		Existed: existed, ContactID: contactID}
}

// applyIntent records a consent keyword: the account-wide register, its
// audit log and the conversation's activity log.
func applyIntent(ctx context.Context, tx *Tx, accountID, convID, msgID parley.ID, p conversations.IngestPlan) (bool, error) {
	changed, err := keywordConsent(ctx, tx, accountID, msgID, p)
	if err != nil {
		return false, err
	}
	if e, ok := p.KeywordEvent(convID, changed); ok {
		return changed, insertEvents(ctx, tx, accountID, eventsOf([]conversations.Event{e}))
	}
	return changed, nil
}

// keywordConsent applies the consent change a text's keyword asks for, if
// any, to the register and its audit log; it reports whether the consent
// changed.
func keywordConsent(ctx context.Context, tx *Tx, accountID, msgID parley.ID, p conversations.IngestPlan) (bool, error) {
	action, ok := p.ConsentAction()
	if !ok {
		return false, nil
	}
	return recordConsent(ctx, tx, optout.Change{AccountID: accountID, Phone: p.Text.From, Action: action,
		Source: optout.SourceKeyword, Keyword: p.Keyword, MessageID: &msgID, At: p.At})
}

// keywordReply is the plan's reply, queued in the conversation.
func keywordReply(ch conversations.Channel, convID parley.ID, p conversations.IngestPlan) outboundDraft {
	return outboundDraft{AccountID: ch.AccountID, ConversationID: convID, ChannelID: ch.ID, To: p.Text.From,
		Body: p.Reply, Purpose: campaigns.KeywordReplyPurpose(p.Intent)}
}
