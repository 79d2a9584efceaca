package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/reports"
)

// The sends table (migration 00031) is what the outbound report reads: one
// row per business-originated text the carrier accepted, marked by the
// transactions that change what the report asks of it (the contact's first
// reply, the first assignment, the first episode closed after the send).
// Each later change marks the sends still awaiting it with one set-wise
// UPDATE through the partial indexes sends_awaiting_*, so that the report
// never has to look at messages, events or episodes.

// sendRow is what a send copies from its message and conversation.
type sendRow struct {
	AccountID      int64  `db:"account_id"`
	ConversationID int64  `db:"conversation_id"`
	ChannelID      int64  `db:"channel_id"`
	CampaignID     *int64 `db:"campaign_id"`
	ContactID      int64  `db:"contact_id"`
}

// recordSend records the carrier's acceptance of a business-originated
// text as a send, at most once per message: a reclaimed text reconciled
// at the carrier may be marked sent again. Replies, keyword answers and
// texts the carrier failed are no sends.
func recordSend(ctx context.Context, tx *Tx, item campaigns.OutboxItem, s campaigns.Sent, at time.Time) error {
	// The carrier has the text (it gave it an id), whatever became of it
	// since: a text it failed later was still accepted.
	origin, ok := campaigns.SendOrigin(item.Purpose)
	if !ok || s.CarrierMessageID == "" {
		return nil
	}
	// A text found at the carrier after a crash was accepted during the
	// attempt that crashed, not when it was found.
	if item.Reclaimed && !item.ClaimedAt.IsZero() && item.ClaimedAt.Before(at) {
		at = item.ClaimedAt
	}
	const q = `SELECT m.account_id, m.conversation_id, m.channel_id, m.campaign_id, cv.contact_id
FROM messages m JOIN conversations cv ON cv.id = m.conversation_id WHERE m.id = ?`
	var r sendRow
	if err := tx.GetContext(ctx, &r, tx.Rebind(q), item.MessageID); errors.Is(err, sql.ErrNoRows) {
		return nil // no message to account for (MarkSent updated none either)
	} else if err != nil {
		return err
	}
	// The contact is locked first: two sends to one contact are recorded
	// one after the other, so the second sees the first as its previous.
	firstSent, err := contactFirstSent(ctx, tx, r.ContactID, at)
	if err != nil {
		return err
	}
	prev, err := previousSends(ctx, tx, r, origin)
	if err != nil {
		return err
	}
	// A contact's sends are in time order: the previous one is never later.
	sentAt := ms(at)
	if prev.Any != nil && *prev.Any > sentAt {
		sentAt = *prev.Any
	}
	// The conversation is share-locked: an assignment or a reply
	// committing meanwhile either is seen here or sees this send.
	var assignee *int64
	if err := tx.GetContext(ctx, &assignee, tx.Rebind(`SELECT assignee_id FROM conversations WHERE id = ?`+dialectOf(tx).forShare()),
		r.ConversationID); err != nil {
		return err
	}
	var assignedAt *int64
	if assignee != nil {
		assignedAt = &sentAt
	}
	// What happened since the send already (a text recorded late, or a
	// reply or close that committed while this waited for the lock) is
	// read now: later changes mark the send themselves.
	since, err := sinceSent(ctx, tx, r.ConversationID, sentAt)
	if err != nil {
		return err
	}
	const ins = `INSERT INTO sends (message_id, account_id, conversation_id, contact_id, channel_id, campaign_id, origin_type,
    sent_at, contact_first_sent_at, first_assigned_at, first_assignee_id, first_reply_at,
    closed_episode_id, final_tag_id, final_tag_type,
    prev_sent_at, prev_channel_sent_at, prev_origin_sent_at, prev_channel_origin_sent_at, prev_campaign_sent_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (message_id) DO NOTHING`
	_, err = tx.ExecContext(ctx, tx.Rebind(ins), item.MessageID, r.AccountID, r.ConversationID, r.ContactID, r.ChannelID, r.CampaignID,
		origin, sentAt, firstSent, assignedAt, assignee, since.FirstReplyAt, since.EpisodeID, since.FinalTagID, since.FinalTagType,
		prev.Any, prev.Channel, prev.Origin, prev.ChannelOrigin, prev.Campaign)
	return err
}

// sentSince is what a conversation saw after a send: the contact's first
// text and the first episode closed, with its final tag.
type sentSince struct {
	FirstReplyAt *int64  `db:"first_reply_at"`
	EpisodeID    *int64  `db:"episode_id"`
	FinalTagID   *int64  `db:"final_tag_id"`
	FinalTagType *string `db:"final_tag_type"`
}

func sinceSent(ctx context.Context, tx *Tx, conversationID int64, sentAt int64) (sentSince, error) {
	const q = `SELECT
    (SELECT MIN(created_at) FROM messages WHERE conversation_id = ? AND direction = 'inbound' AND created_at >= ?) AS first_reply_at,
    e.id AS episode_id, e.final_tag_id, e.final_tag_type
FROM (SELECT 1 AS one) x
LEFT JOIN episodes e ON e.id = (SELECT id FROM episodes WHERE conversation_id = ? AND closed_at >= ? ORDER BY closed_at, id LIMIT 1)`
	var s sentSince
	err := tx.GetContext(ctx, &s, tx.Rebind(q), conversationID, sentAt, conversationID, sentAt)
	return s, err
}

// contactFirstSent sets the contact's first send to at unless it has one,
// and returns it. It always writes the row, which locks the contact until
// the transaction ends.
func contactFirstSent(ctx context.Context, tx *Tx, contactID int64, at time.Time) (int64, error) {
	var first int64
	err := tx.GetContext(ctx, &first, tx.Rebind(`UPDATE contacts SET first_sent_at = COALESCE(first_sent_at, ?) WHERE id = ?
RETURNING first_sent_at`), ms(at), contactID)
	return first, err
}

// prevSends are the sent_at of a contact's latest earlier sends: any, on
// the new send's channel, of its origin type, both, and of its campaign.
type prevSends struct {
	Any           *int64 `db:"prev_any"`
	Channel       *int64 `db:"prev_channel"`
	Origin        *int64 `db:"prev_origin"`
	ChannelOrigin *int64 `db:"prev_channel_origin"`
	Campaign      *int64 `db:"prev_campaign"`
}

func previousSends(ctx context.Context, tx *Tx, r sendRow, origin string) (prevSends, error) {
	const q = `SELECT MAX(sent_at) AS prev_any,
    MAX(CASE WHEN channel_id = ? THEN sent_at END) AS prev_channel,
    MAX(CASE WHEN origin_type = ? THEN sent_at END) AS prev_origin,
    MAX(CASE WHEN channel_id = ? AND origin_type = ? THEN sent_at END) AS prev_channel_origin,
    MAX(CASE WHEN campaign_id = ? THEN sent_at END) AS prev_campaign
FROM sends WHERE contact_id = ?`
	var p prevSends
	err := tx.GetContext(ctx, &p, tx.Rebind(q), r.ChannelID, origin, r.ChannelID, origin, r.CampaignID, r.ContactID)
	return p, err
}

// markingSince is the oldest send a reply or an assignment at still
// marks: the report's widest window looks no further back.
func markingSince(at time.Time) int64 {
	return ms(at.Add(-reports.MaxReplyWindow))
}

// repliedSends marks the sends awaiting a reply in the conversations the
// inbound texts went to, one text per conversation, in one statement:
// each text is the first reply to its conversation's earlier sends.
func repliedSends(updates ...inboundUpdate) statement {
	if len(updates) == 0 {
		return statement{}
	}
	args := make([]any, 0, 3*len(updates))
	for _, u := range updates {
		args = append(args, int64(u.c.ID), ms(u.p.At), markingSince(u.p.At))
	}
	q := valuesRows(`WITH v (conversation_id, at, since) AS (VALUES `,
		`(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT))`, len(updates)) + `)
UPDATE sends SET first_reply_at = v.at
FROM v WHERE sends.conversation_id = v.conversation_id AND sends.first_reply_at IS NULL
    AND sends.sent_at <= v.at AND sends.sent_at >= v.since`
	return statement{q, args}
}

// assignedSends marks the conversation's sends awaiting an assignment as
// it gets the assignee to (nil, an unassignment, marks none).
func assignedSends(ctx context.Context, tx *Tx, conversationID parley.ID, to *parley.ID, at time.Time) error {
	if to == nil {
		return nil
	}
	const q = `UPDATE sends SET first_assigned_at = ?, first_assignee_id = ?
WHERE conversation_id = ? AND first_assigned_at IS NULL AND sent_at <= ? AND sent_at >= ?`
	_, err := tx.ExecContext(ctx, tx.Rebind(q), ms(at), *to, conversationID, ms(at), markingSince(at))
	return err
}

// closedSends gives the conversation's sends awaiting a closed episode
// the episode that just closed at with its final tag (finalID and
// finalType, NULL when none): the first episode closed after a send keeps
// classifying it after a reopen. The episode closed last at that time is
// the one just closed.
func closedSends(ctx context.Context, tx *Tx, conversationID parley.ID, finalID, finalType any, at time.Time) error {
	const q = `UPDATE sends SET final_tag_id = ?, final_tag_type = ?,
    closed_episode_id = (SELECT MAX(id) FROM episodes WHERE conversation_id = ? AND closed_at = ?)
WHERE conversation_id = ? AND closed_episode_id IS NULL AND sent_at <= ?`
	_, err := tx.ExecContext(ctx, tx.Rebind(q), finalID, finalType, conversationID, ms(at), conversationID, ms(at))
	return err
}

// LinkSendsSQL links every send of an account (the one argument) to its
// contact's previous sends (prev_*_sent_at), as recordSend does for one:
// for sends written in bulk (the dev seed, test fixtures).
var LinkSendsSQL = linkSendsSQL("account_id = ?")

// linkSendsSQL links the sends of the contacts scope selects.
func linkSendsSQL(scope string) string {
	return `UPDATE sends SET prev_sent_at = l.prev_any, prev_channel_sent_at = l.prev_channel,
    prev_origin_sent_at = l.prev_origin, prev_channel_origin_sent_at = l.prev_channel_origin,
    prev_campaign_sent_at = l.prev_campaign
FROM (SELECT message_id,
        LAG(sent_at) OVER (PARTITION BY contact_id ORDER BY sent_at, message_id) AS prev_any,
        LAG(sent_at) OVER (PARTITION BY contact_id, channel_id ORDER BY sent_at, message_id) AS prev_channel,
        LAG(sent_at) OVER (PARTITION BY contact_id, origin_type ORDER BY sent_at, message_id) AS prev_origin,
        LAG(sent_at) OVER (PARTITION BY contact_id, channel_id, origin_type ORDER BY sent_at, message_id) AS prev_channel_origin,
        CASE WHEN campaign_id IS NOT NULL
             THEN LAG(sent_at) OVER (PARTITION BY contact_id, campaign_id ORDER BY sent_at, message_id) END AS prev_campaign
    FROM sends WHERE ` + scope + `) l
WHERE sends.message_id = l.message_id`
}

// moveSends gives the sends of the account's conversations with these
// phones to contact to, as their conversations moved there, and redoes
// what depends on a contact's sends for every contact involved: their
// first sends and the links between their sends.
func moveSends(ctx context.Context, tx *Tx, accountID parley.ID, phones []string, to parley.ID) error {
	q, args, err := sqlx.In(`SELECT DISTINCT s.contact_id FROM sends s JOIN conversations cv ON cv.id = s.conversation_id
WHERE cv.account_id = ? AND cv.contact_phone IN (?) AND s.contact_id <> ?`, accountID, phones, to)
	if err != nil {
		return err
	}
	var from []int64
	if err := tx.SelectContext(ctx, &from, tx.Rebind(q), args...); err != nil || len(from) == 0 {
		return err
	}
	contacts := append(from, int64(to))
	steps := []struct {
		q    string
		args []any
	}{
		{`UPDATE sends SET contact_id = ? WHERE conversation_id IN
    (SELECT id FROM conversations WHERE account_id = ? AND contact_phone IN (?)) AND contact_id <> ?`, []any{to, accountID, phones, to}},
		{`UPDATE contacts SET first_sent_at = (SELECT MIN(sent_at) FROM sends WHERE contact_id = contacts.id) WHERE id IN (?)`, []any{contacts}},
		{`UPDATE sends SET contact_first_sent_at = (SELECT first_sent_at FROM contacts WHERE id = sends.contact_id)
WHERE contact_id IN (?)`, []any{contacts}},
		{linkSendsSQL("contact_id IN (?)"), []any{contacts}},
	}
	for _, st := range steps {
		q, args, err := sqlx.In(st.q, st.args...)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return err
		}
	}
	return nil
}
