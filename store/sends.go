package store

import (
	"context"
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

// acceptedSend is a business-originated text the carrier accepted, at
// (milliseconds) when it did.
type acceptedSend struct {
	messageID parley.ID
	origin    string
	at        int64
}

// acceptedSendOf is the send a text the carrier accepted records; false
// for replies, keyword answers and texts the carrier never took.
func acceptedSendOf(item campaigns.OutboxItem, s campaigns.Sent, at time.Time) (acceptedSend, bool) {
	// The carrier has the text (it gave it an id), whatever became of it
	// since: a text it failed later was still accepted.
	origin, ok := campaigns.SendOrigin(item.Purpose)
	if !ok || s.CarrierMessageID == "" {
		return acceptedSend{}, false
	}
	// A text found at the carrier after a crash was accepted during the
	// attempt that crashed, not when it was found.
	if item.Reclaimed && !item.ClaimedAt.IsZero() && item.ClaimedAt.Before(at) {
		at = item.ClaimedAt
	}
	return acceptedSend{item.MessageID, origin, ms(at)}, true
}

// sendRow is a send on its way to its row: what it copies from its
// message and conversation, then what recordSends works out.
type sendRow struct {
	MessageID      int64  `db:"message_id"`
	AccountID      int64  `db:"account_id"`
	ConversationID int64  `db:"conversation_id"`
	ChannelID      int64  `db:"channel_id"`
	CampaignID     *int64 `db:"campaign_id"`
	ContactID      int64  `db:"contact_id"`

	origin      string
	sentAt      int64
	firstSentAt int64
	prev        prevSends
	assignee    *int64
	since       sentSince
}

// recordSends records the carrier's acceptance of texts as sends, at most
// once per message (a reclaimed text reconciled at the carrier may be
// marked sent again), a statement per step for all of them. Sends to one
// contact are recorded in the order given, each the previous of the next.
func recordSends(ctx context.Context, tx *Tx, sends []acceptedSend) error {
	if len(sends) == 0 {
		return nil
	}
	rows, err := sendRows(ctx, tx, sends)
	if err != nil || len(rows) == 0 {
		return err
	}
	// The contacts are locked first: two sends to one contact are recorded
	// one after the other, so the later sees the earlier as its previous.
	if err := contactsFirstSent(ctx, tx, rows); err != nil {
		return err
	}
	if err := previousSends(ctx, tx, rows); err != nil {
		return err
	}
	// The conversations are share-locked: an assignment or a reply
	// committing meanwhile either is seen here or sees these sends.
	if err := sendAssignees(ctx, tx, rows); err != nil {
		return err
	}
	// What happened since a send already (a text recorded late, or a
	// reply or close that committed while this waited for the lock) is
	// read now: later changes mark the send themselves.
	if err := sinceSent(ctx, tx, rows); err != nil {
		return err
	}
	return insertSends(ctx, tx, rows)
}

// sendRows reads each send's message and conversation, in the order
// given; a send without its message (MarkSent updated none either) has
// none.
func sendRows(ctx context.Context, tx *Tx, sends []acceptedSend) ([]*sendRow, error) {
	ids := make([]any, len(sends))
	for i, s := range sends {
		ids[i] = s.messageID
	}
	found, err := selectIn[sendRow](ctx, tx, `SELECT m.id AS message_id, m.account_id, m.conversation_id, m.channel_id, m.campaign_id, cv.contact_id
FROM messages m JOIN conversations cv ON cv.id = m.conversation_id WHERE m.id IN (?)`, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]sendRow, len(found))
	for _, r := range found {
		byID[r.MessageID] = r
	}
	rows := make([]*sendRow, 0, len(sends))
	for _, s := range sends {
		if r, ok := byID[int64(s.messageID)]; ok {
			r.origin, r.sentAt = s.origin, s.at
			rows = append(rows, &r)
		}
	}
	return rows, nil
}

// contactsFirstSentQuery sets the first send of contacts without one.
func contactsFirstSentQuery(d dialect) string {
	return `WITH ` + d.batchRows("v", "cid BIGINT", "at BIGINT") +
		` UPDATE contacts SET first_sent_at = v.at FROM v WHERE contacts.id = v.cid AND contacts.first_sent_at IS NULL`
}

// contactsFirstSent sets each contact's first send unless it has one, to
// its first send here. The contacts are locked until the transaction
// ends, in id order as every batch does; only those without a first send
// are written: a campaign to customers texted before rewrote each of
// their rows, a dead row and two index entries a text.
func contactsFirstSent(ctx context.Context, tx *Tx, rows []*sendRow) error {
	first := map[int64]int64{}
	var contacts []int64
	for _, r := range rows {
		if _, ok := first[r.ContactID]; !ok {
			first[r.ContactID] = r.sentAt
			contacts = append(contacts, r.ContactID)
		}
	}
	had, err := selectIn[struct {
		ID          int64  `db:"id"`
		FirstSentAt *int64 `db:"first_sent_at"`
	}](ctx, tx, `SELECT id, first_sent_at FROM contacts WHERE id IN (?) ORDER BY id`+dialectOf(tx).forUpdate(), contacts)
	if err != nil {
		return err
	}
	var unset [][]any
	for _, h := range had {
		if h.FirstSentAt != nil {
			first[h.ID] = *h.FirstSentAt
		} else {
			unset = append(unset, []any{h.ID, first[h.ID]})
		}
	}
	if len(unset) > 0 {
		if err := execBatch(ctx, tx, contactsFirstSentQuery(dialectOf(tx)), unset); err != nil {
			return err
		}
	}
	for _, r := range rows {
		r.firstSentAt = first[r.ContactID]
	}
	return nil
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

// previousSends links each send to its contact's previous sends, those
// recorded before and those earlier here, and sets its time: a contact's
// sends are in time order, the previous one never later.
func previousSends(ctx context.Context, tx *Tx, rows []*sendRow) error {
	batch := make([][]any, len(rows))
	for i, r := range rows {
		batch[i] = []any{i, r.ContactID, r.ChannelID, r.origin, r.CampaignID}
	}
	q := `WITH ` + dialectOf(tx).batchRows("v", "i INTEGER", "contact_id BIGINT", "channel_id BIGINT", "origin_type TEXT", "campaign_id BIGINT") + `
SELECT v.i, MAX(s.sent_at) AS prev_any,
    MAX(CASE WHEN s.channel_id = v.channel_id THEN s.sent_at END) AS prev_channel,
    MAX(CASE WHEN s.origin_type = v.origin_type THEN s.sent_at END) AS prev_origin,
    MAX(CASE WHEN s.channel_id = v.channel_id AND s.origin_type = v.origin_type THEN s.sent_at END) AS prev_channel_origin,
    MAX(CASE WHEN s.campaign_id = v.campaign_id THEN s.sent_at END) AS prev_campaign
FROM v JOIN sends s ON s.contact_id = v.contact_id GROUP BY v.i`
	var found []struct {
		I int `db:"i"`
		prevSends
	}
	if err := selectBatch(ctx, tx, &found, q, batch); err != nil {
		return err
	}
	for _, f := range found {
		rows[f.I].prev = f.prevSends
	}
	for i, r := range rows {
		for _, e := range rows[:i] {
			if e.ContactID == r.ContactID {
				r.follow(e)
			}
		}
		if r.prev.Any != nil && *r.prev.Any > r.sentAt {
			r.sentAt = *r.prev.Any
		}
	}
	return nil
}

// follow counts e, an earlier send to r's contact in the same batch,
// which the query of the sends recorded before could not see.
func (r *sendRow) follow(e *sendRow) {
	later := func(cur **int64, match bool) {
		if match && (*cur == nil || **cur < e.sentAt) {
			at := e.sentAt
			*cur = &at
		}
	}
	sameChannel, sameOrigin := e.ChannelID == r.ChannelID, e.origin == r.origin
	later(&r.prev.Any, true)
	later(&r.prev.Channel, sameChannel)
	later(&r.prev.Origin, sameOrigin)
	later(&r.prev.ChannelOrigin, sameChannel && sameOrigin)
	later(&r.prev.Campaign, r.CampaignID != nil && e.CampaignID != nil && *e.CampaignID == *r.CampaignID)
}

// sendAssignees reads the conversations' assignees under a share lock.
func sendAssignees(ctx context.Context, tx *Tx, rows []*sendRow) error {
	ids := make([]any, len(rows))
	for i, r := range rows {
		ids[i] = r.ConversationID
	}
	found, err := selectIn[struct {
		ID         int64  `db:"id"`
		AssigneeID *int64 `db:"assignee_id"`
	}](ctx, tx, `SELECT id, assignee_id FROM conversations WHERE id IN (?)`+dialectOf(tx).forShare(), ids)
	if err != nil {
		return err
	}
	assignees := make(map[int64]*int64, len(found))
	for _, f := range found {
		assignees[f.ID] = f.AssigneeID
	}
	for _, r := range rows {
		r.assignee = assignees[r.ConversationID]
	}
	return nil
}

// sentSince is what a conversation saw after a send: the contact's first
// text and the first episode closed, with its final tag.
type sentSince struct {
	FirstReplyAt *int64  `db:"first_reply_at"`
	EpisodeID    *int64  `db:"episode_id"`
	FinalTagID   *int64  `db:"final_tag_id"`
	FinalTagType *string `db:"final_tag_type"`
}

// sinceSentQuery reads, for each of a batch of sends, sentSince; the
// episode is looked up by its key (lookupLeftJoin): as a join of the
// planner's choosing, each batch of acceptances hashed every episode.
func sinceSentQuery(d dialect) string {
	return `WITH ` + d.batchRows("v", "i INTEGER", "conversation_id BIGINT", "sent_at BIGINT") + `
SELECT v.i,
    (SELECT MIN(created_at) FROM messages WHERE conversation_id = v.conversation_id AND direction = 'inbound' AND created_at >= v.sent_at) AS first_reply_at,
    e.id AS episode_id, e.final_tag_id, e.final_tag_type
FROM v` + d.lookupLeftJoin("episodes", "e", `e.id = (SELECT id FROM episodes WHERE conversation_id = v.conversation_id AND closed_at >= v.sent_at ORDER BY closed_at, id LIMIT 1)`)
}

func sinceSent(ctx context.Context, tx *Tx, rows []*sendRow) error {
	batch := make([][]any, len(rows))
	for i, r := range rows {
		batch[i] = []any{i, r.ConversationID, r.sentAt}
	}
	q := sinceSentQuery(dialectOf(tx))
	var found []struct {
		I int `db:"i"`
		sentSince
	}
	if err := selectBatch(ctx, tx, &found, q, batch); err != nil {
		return err
	}
	for _, f := range found {
		rows[f.I].since = f.sentSince
	}
	return nil
}

// sendColumns are a send's columns as insertSends writes them.
var sendColumns = []string{"message_id BIGINT", "account_id BIGINT", "conversation_id BIGINT", "contact_id BIGINT", "channel_id BIGINT",
	"campaign_id BIGINT", "origin_type TEXT", "sent_at BIGINT", "contact_first_sent_at BIGINT", "first_assigned_at BIGINT",
	"first_assignee_id BIGINT", "first_reply_at BIGINT", "closed_episode_id BIGINT", "final_tag_id BIGINT", "final_tag_type TEXT",
	"prev_sent_at BIGINT", "prev_channel_sent_at BIGINT", "prev_origin_sent_at BIGINT", "prev_channel_origin_sent_at BIGINT", "prev_campaign_sent_at BIGINT"}

func insertSends(ctx context.Context, tx *Tx, rows []*sendRow) error {
	batch := make([][]any, len(rows))
	for i, r := range rows {
		var assignedAt *int64
		if r.assignee != nil {
			assignedAt = &r.sentAt
		}
		batch[i] = []any{r.MessageID, r.AccountID, r.ConversationID, r.ContactID, r.ChannelID, r.CampaignID,
			r.origin, r.sentAt, r.firstSentAt, assignedAt, r.assignee, r.since.FirstReplyAt, r.since.EpisodeID, r.since.FinalTagID, r.since.FinalTagType,
			r.prev.Any, r.prev.Channel, r.prev.Origin, r.prev.ChannelOrigin, r.prev.Campaign}
	}
	// WHERE true: SQLite reads an ON CONFLICT right after a FROM as a join's.
	q := `WITH ` + dialectOf(tx).batchRows("v", sendColumns...) + `
INSERT INTO sends (message_id, account_id, conversation_id, contact_id, channel_id, campaign_id, origin_type,
    sent_at, contact_first_sent_at, first_assigned_at, first_assignee_id, first_reply_at,
    closed_episode_id, final_tag_id, final_tag_type,
    prev_sent_at, prev_channel_sent_at, prev_origin_sent_at, prev_channel_origin_sent_at, prev_campaign_sent_at)
SELECT * FROM v WHERE true ON CONFLICT (message_id) DO NOTHING`
	return execBatch(ctx, tx, q, batch)
}

// markingSince is the oldest send a reply or an assignment at still
// marks: the report's widest window looks no further back.
func markingSince(at time.Time) int64 {
	return ms(at.Add(-reports.MaxReplyWindow))
}

// repliedSends marks the sends awaiting a reply in the conversations the
// inbound texts went to, one text per conversation, in one statement:
// each text is the first reply to its conversation's earlier sends.
func repliedSends(d dialect, updates ...inboundUpdate) statement {
	if len(updates) == 0 {
		return statement{}
	}
	rows := make([][]any, len(updates))
	for i, u := range updates {
		rows[i] = []any{int64(u.c.ID), ms(u.p.At), markingSince(u.p.At)}
	}
	return batchStatement(repliedSendsQuery(d), rows)
}

// repliedSendsQuery is repliedSends' statement. Each text's sends are
// looked up by sends_awaiting_reply (lookupJoin), then updated by key:
// as a plain UPDATE … FROM, SQLite planned from statistics of an empty
// table a scan of every send awaiting a reply for each text.
func repliedSendsQuery(d dialect) string {
	return `WITH ` + d.batchRows("v", "conversation_id BIGINT", "at BIGINT", "since BIGINT") + `,
replied AS MATERIALIZED (SELECT s.message_id, v.at FROM v` + d.lookupJoin("sends", "s", `s.conversation_id = v.conversation_id
    AND s.first_reply_at IS NULL AND s.sent_at <= v.at AND s.sent_at >= v.since`) + `)
UPDATE sends SET first_reply_at = (SELECT at FROM replied WHERE replied.message_id = sends.message_id)
WHERE message_id IN (SELECT message_id FROM replied)`
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
