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
	"github.com/parleyhq/parley/optout"
)

// Ingest applies an inbound text: on PostgreSQL with group commit, in one
// transaction with the texts arriving beside it (see groupCommit), else in
// a transaction of its own.
func (db *DB) Ingest(ctx context.Context, p conversations.IngestPlan) (conversations.IngestResult, error) {
	if db.group != nil {
		return db.group.ingest(ctx, p)
	}
	return db.IngestAlone(ctx, p)
}

// IngestAlone applies an inbound text in a transaction of its own.
//
// Two first texts from one phone may race to create its contact or
// conversation; the loser hits a unique index, and the whole transaction is
// retried, when it finds what the winner created. A deadlock is retried
// too: a group-commit batch holding one phone's consent row while it locks
// the phone's conversation on another channel can meet a text locking in
// the opposite order, and PostgreSQL aborts one of the two.
func (db *DB) IngestAlone(ctx context.Context, p conversations.IngestPlan) (conversations.IngestResult, error) {
	var res conversations.IngestResult
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = db.inTx(ctx, func(tx *sqlx.Tx) error {
			res, err = ingest(ctx, tx, p)
			return err
		})
		if !parley.IsKind(err, parley.ECONFLICT) && !isDeadlock(err) {
			break
		}
	}
	return res, err
}

func ingest(ctx context.Context, tx *sqlx.Tx, p conversations.IngestPlan) (conversations.IngestResult, error) {
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
	res.Transition = conversations.OnInbound(conv.Status, exists, p.KeywordOnly())
	res.Created = !exists
	if !exists {
		if conv.ID, err = insertConversation(ctx, tx, ch, contactID, p, res.Transition.Status); err != nil {
			return res, fmt.Errorf("insert conversation: %w", err)
		}
	}
	msgID, err := insertInboundMessage(ctx, tx, ch, conv.ID, p)
	if err != nil {
		return res, fmt.Errorf("insert message: %w", err)
	}
	if err := updateOnInbound(ctx, tx, conv, p, res.Transition); err != nil {
		return res, fmt.Errorf("update conversation: %w", err)
	}
	if err := logInboundEvents(ctx, tx, ch.AccountID, conv, contactID, p, res.Transition, exists); err != nil {
		return res, fmt.Errorf("log events: %w", err)
	}
	if res.ConsentChanged, err = applyIntent(ctx, tx, ch.AccountID, conv.ID, msgID, p); err != nil {
		return res, fmt.Errorf("consent: %w", err)
	}
	if owner := conv.AssigneeID; owner != nil && !res.Transition.ClearAssignee {
		if err := notify(ctx, tx, conversations.Notification{AccountID: ch.AccountID, UserID: parley.ID(*owner),
			Kind: conversations.NotifyInbound, ConversationID: conv.ID, MessageID: &msgID, CreatedAt: p.At}); err != nil {
			return res, fmt.Errorf("notify assignee: %w", err)
		}
	}
	if reply, ok := replyFor(p, res.ConsentChanged); ok {
		m, err := enqueueText(ctx, tx, reply.draft(ch, conv.ID, p), p.At)
		if err != nil {
			return res, fmt.Errorf("queue reply: %w", err)
		}
		res.Reply = &m
	}
	if res.Conversation, err = getConversation(ctx, tx, ch.AccountID, conv.ID); err != nil {
		return res, err
	}
	res.Message, err = getMessage(ctx, tx, ch.AccountID, msgID)
	return res, err
}

func findInboundDuplicate(ctx context.Context, tx *sqlx.Tx, ch conversations.Channel, carrierID string) (conversations.Message, error) {
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
func findOrCreateContact(ctx context.Context, tx *sqlx.Tx, accountID parley.ID, phone string, at time.Time) (parley.ID, error) {
	var id int64
	err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT contact_id FROM contact_phones WHERE account_id = ? AND phone = ?`), accountID, phone)
	if err == nil {
		return parley.ID(id), nil
	}
	if !parley.IsKind(translate(err), parley.ENOTFOUND) {
		return 0, err
	}
	cid, err := insertContact(ctx, tx, conversations.Contact{AccountID: accountID, Attributes: map[string]any{}, CreatedAt: at, UpdatedAt: at})
	if err != nil {
		return 0, err
	}
	return cid, addContactPhone(ctx, tx, accountID, cid, phone, 0)
}

// convState is the part of a conversation the state machine reads.
type convState struct {
	ID         parley.ID            `db:"id"`
	Status     conversations.Status `db:"status"`
	AssigneeID *int64               `db:"assignee_id"`
}

// lockConversation reads the (channel, phone) conversation and, on
// PostgreSQL, locks it so concurrent texts apply the state machine in turn.
func lockConversation(ctx context.Context, tx *sqlx.Tx, ch conversations.Channel, phone string) (convState, bool, error) {
	var c convState
	q := `SELECT id, status, assignee_id FROM conversations WHERE channel_id = ? AND contact_phone = ?`
	if tx.DriverName() == "postgres" {
		// NO KEY UPDATE serialises texts of the conversation without
		// blocking other transactions' inserts that reference it.
		q += " FOR NO KEY UPDATE"
	}
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

func insertConversation(ctx context.Context, tx *sqlx.Tx, ch conversations.Channel, contactID parley.ID, p conversations.IngestPlan, status conversations.Status) (parley.ID, error) {
	return insertConversationRow(ctx, tx, ch, contactID, p.Text.From, p.Text.To, status, nil, p.At)
}

// insertConversationRow creates the (channel, contact phone) conversation.
func insertConversationRow(ctx context.Context, tx *sqlx.Tx, ch conversations.Channel, contactID parley.ID, contactPhone, businessPhone string,
	status conversations.Status, assignee *parley.ID, at time.Time) (parley.ID, error) {
	const q = `INSERT INTO conversations (account_id, channel_id, inbox_id, contact_id, contact_phone, contact_phone_rev,
    business_phone, status, priority, assignee_id, last_message_at, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'none', ?, ?, ?, ?) RETURNING id`
	var id int64
	err := tx.GetContext(ctx, &id, tx.Rebind(q), ch.AccountID, ch.ID, ch.InboxID, contactID, contactPhone, reversedDigits(contactPhone),
		businessPhone, string(status), assignee, ms(at), ms(at), ms(at))
	return parley.ID(id), err
}

func insertInboundMessage(ctx context.Context, tx *sqlx.Tx, ch conversations.Channel, convID parley.ID, p conversations.IngestPlan) (parley.ID, error) {
	media, err := json.Marshal(nonNil(p.Text.MediaURLs))
	if err != nil {
		return 0, err
	}
	const q = `INSERT INTO messages (account_id, conversation_id, channel_id, direction, kind, body, media_urls, status,
    carrier_message_id, segments, created_at, updated_at)
VALUES (?, ?, ?, 'inbound', 'text', ?, ?, 'received', ?, ?, ?, ?) RETURNING id`
	var carrierID *string // NULL: the unique index ignores it
	if p.Text.CarrierMessageID != "" {
		carrierID = &p.Text.CarrierMessageID
	}
	var id int64
	err = tx.GetContext(ctx, &id, tx.Rebind(q), ch.AccountID, convID, ch.ID, p.Text.Body, string(media),
		carrierID, p.Text.Segments, ms(p.At), ms(p.At))
	return parley.ID(id), err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func updateOnInbound(ctx context.Context, tx *sqlx.Tx, c convState, p conversations.IngestPlan, t conversations.InboundTransition) error {
	assignee := c.AssigneeID
	if t.ClearAssignee {
		assignee = nil
	}
	var flagged *int64
	if p.RevocationSuspected {
		v := ms(p.At)
		flagged = &v
	}
	// A reopened conversation is no longer snoozed. Activity times only
	// move forward: webhooks may commit out of order.
	const q = `UPDATE conversations SET status = ?, assignee_id = ?, business_phone = ?,
    last_message_at = CASE WHEN last_message_at > ? THEN last_message_at ELSE ? END,
    last_inbound_at = CASE WHEN last_inbound_at > ? THEN last_inbound_at ELSE ? END,
    snoozed_until = CASE WHEN ? = 'snoozed' THEN snoozed_until ELSE NULL END,
    revocation_flagged_at = COALESCE(?, revocation_flagged_at), updated_at = ?
WHERE id = ?`
	_, err := tx.ExecContext(ctx, tx.Rebind(q), string(t.Status), assignee, p.Text.To, ms(p.At), ms(p.At), ms(p.At), ms(p.At),
		string(t.Status), flagged, ms(p.At), c.ID)
	return err
}

func logInboundEvents(ctx context.Context, tx *sqlx.Tx, accountID parley.ID, c convState, contactID parley.ID,
	p conversations.IngestPlan, t conversations.InboundTransition, existed bool) error {
	contact := &contactID
	at := p.At
	if !existed {
		if err := insertEvent(ctx, tx, accountID, c.ID, conversations.EventCreated, conversations.ActorContact, contact,
			map[string]any{"status": t.Status}, at); err != nil {
			return err
		}
	} else if t.Changed {
		if err := insertEvent(ctx, tx, accountID, c.ID, conversations.EventStatusChanged, conversations.ActorContact, contact,
			map[string]any{"from": c.Status, "to": t.Status, "reason": "inbound"}, at); err != nil {
			return err
		}
	}
	if t.ClearAssignee && c.AssigneeID != nil {
		if err := insertEvent(ctx, tx, accountID, c.ID, conversations.EventAssigneeChanged, conversations.ActorSystem, nil,
			map[string]any{"from": parley.ID(*c.AssigneeID), "to": nil, "reason": "reopened_after_close"}, at); err != nil {
			return err
		}
	}
	if p.RevocationSuspected {
		return insertEvent(ctx, tx, accountID, c.ID, conversations.EventRevocationFlagged, conversations.ActorContact, contact,
			map[string]any{"reason": "text reads like a request to stop texting"}, at)
	}
	return nil
}

// applyIntent records a consent keyword: the account-wide register, its
// audit log and the conversation's activity log.
func applyIntent(ctx context.Context, tx *sqlx.Tx, accountID, convID, msgID parley.ID, p conversations.IngestPlan) (bool, error) {
	var action optout.Action
	var event conversations.EventType
	switch p.Intent {
	case optout.IntentOptOut:
		action, event = optout.ActionOptOut, conversations.EventOptedOut
	case optout.IntentOptIn:
		action, event = optout.ActionOptIn, conversations.EventOptedIn
	case optout.IntentHelp:
		return false, insertEvent(ctx, tx, accountID, convID, conversations.EventHelpRequested, conversations.ActorContact, nil,
			map[string]any{"keyword": p.Keyword}, p.At)
	default:
		return false, nil
	}
	changed, err := recordConsent(ctx, tx, optout.Change{AccountID: accountID, Phone: p.Text.From, Action: action,
		Source: optout.SourceKeyword, Keyword: p.Keyword, MessageID: &msgID, At: p.At})
	if err != nil {
		return false, err
	}
	return changed, insertEvent(ctx, tx, accountID, convID, event, conversations.ActorContact, nil,
		map[string]any{"keyword": p.Keyword, "changed": changed}, p.At)
}

// autoReply is a confirmation or help text to queue.
type autoReply struct {
	body    string
	purpose string
}

// replyFor decides whether the plan's reply goes out: help always, consent
// confirmations only when the consent changed.
func replyFor(p conversations.IngestPlan, consentChanged bool) (autoReply, bool) {
	if p.Reply == "" {
		return autoReply{}, false
	}
	switch p.Intent {
	case optout.IntentHelp:
		return autoReply{p.Reply, campaigns.PurposeAutoReply}, true
	case optout.IntentOptIn:
		return autoReply{p.Reply, campaigns.PurposeAutoReply}, consentChanged
	case optout.IntentOptOut:
		return autoReply{p.Reply, campaigns.PurposeOptOutConfirmation}, consentChanged
	}
	return autoReply{}, false
}

func (r autoReply) draft(ch conversations.Channel, convID parley.ID, p conversations.IngestPlan) outboundDraft {
	return outboundDraft{AccountID: ch.AccountID, ConversationID: convID, ChannelID: ch.ID, To: p.Text.From,
		Body: r.body, Purpose: r.purpose}
}
