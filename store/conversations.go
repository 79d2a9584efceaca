package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

type conversationRow struct {
	ID                  int64  `db:"id"`
	AccountID           int64  `db:"account_id"`
	InboxID             int64  `db:"inbox_id"`
	ChannelID           int64  `db:"channel_id"`
	ContactID           int64  `db:"contact_id"`
	ContactName         string `db:"contact_name"`
	ContactPhone        string `db:"contact_phone"`
	BusinessPhone       string `db:"business_phone"`
	Status              string `db:"status"`
	Priority            string `db:"priority"`
	AssigneeID          *int64 `db:"assignee_id"`
	SnoozedUntil        *int64 `db:"snoozed_until"`
	RevocationFlaggedAt *int64 `db:"revocation_flagged_at"`
	OptedOut            bool   `db:"opted_out"`
	LastMessageAt       int64  `db:"last_message_at"`
	LastInboundAt       *int64 `db:"last_inbound_at"`
	CreatedAt           int64  `db:"created_at"`
	UpdatedAt           int64  `db:"updated_at"`
}

// selectConversation reads conversations with their contact's name and the
// phone's account-wide consent.
const selectConversation = `SELECT cv.id, cv.account_id, cv.inbox_id, cv.channel_id, cv.contact_id, ct.name AS contact_name,
       cv.contact_phone, cv.business_phone, cv.status, cv.priority, cv.assignee_id, cv.snoozed_until,
       cv.revocation_flagged_at, COALESCE(cs.opted_out, FALSE) AS opted_out, cv.last_message_at,
       cv.last_inbound_at, cv.created_at, cv.updated_at
FROM conversations cv
JOIN contacts ct ON ct.id = cv.contact_id
LEFT JOIN consents cs ON cs.account_id = cv.account_id AND cs.phone = cv.contact_phone`

func (r conversationRow) conversation() conversations.Conversation {
	return conversations.Conversation{
		ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), InboxID: parley.ID(r.InboxID), ChannelID: parley.ID(r.ChannelID),
		ContactID: parley.ID(r.ContactID), ContactName: r.ContactName, ContactPhone: r.ContactPhone, BusinessPhone: r.BusinessPhone,
		Status: conversations.Status(r.Status), Priority: conversations.Priority(r.Priority), AssigneeID: idPtr(r.AssigneeID),
		SnoozedUntil: fromMSPtr(r.SnoozedUntil), RevocationFlaggedAt: fromMSPtr(r.RevocationFlaggedAt), OptedOut: r.OptedOut,
		LastMessageAt: fromMS(r.LastMessageAt), LastInboundAt: fromMSPtr(r.LastInboundAt),
		CreatedAt: fromMS(r.CreatedAt), UpdatedAt: fromMS(r.UpdatedAt),
	}
}

// GetConversation returns a conversation of the account.
func (db *DB) GetConversation(ctx context.Context, accountID, conversationID parley.ID) (conversations.Conversation, error) {
	return getConversation(ctx, db.db, accountID, conversationID)
}

func getConversation(ctx context.Context, q sqlx.QueryerContext, accountID, id parley.ID) (conversations.Conversation, error) {
	var row conversationRow
	err := sqlx.GetContext(ctx, q, &row, rebind(q, selectConversation+` WHERE cv.account_id = ? AND cv.id = ?`), accountID, id)
	return row.conversation(), translate(err)
}

// rebind rewrites "?" placeholders for the connection's driver.
func rebind(q sqlx.QueryerContext, query string) string {
	switch v := q.(type) {
	case *sqlx.DB:
		return v.Rebind(query)
	case *sqlx.Tx:
		return v.Rebind(query)
	}
	return query
}

// conversationQuery builds the list query of a filter. The indexes it
// relies on: conversations_activity (account_id, last_message_at DESC, id
// DESC) serves view=all and the keyset walk; conversations_assignee
// (account_id, assignee_id, last_message_at DESC, id DESC) serves view=mine;
// q adds the full-text and phone indexes of search.go. Plans are printed
// by `parley dev listbench` (see README, Performance).
func (db *DB) conversationQuery(f conversations.ConversationFilter, page conversations.Page) (string, []any, error) {
	where, args := []string{"cv.account_id = ?"}, []any{f.AccountID}
	if len(f.Statuses) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(f.Statuses)), ", ")
		where = append(where, "cv.status IN ("+marks+")")
		for _, s := range f.Statuses {
			args = append(args, string(s))
		}
	}
	if f.InboxID != 0 {
		where, args = append(where, "cv.inbox_id = ?"), append(args, f.InboxID)
	}
	if f.AssigneeID != 0 {
		where, args = append(where, "cv.assignee_id = ?"), append(args, f.AssigneeID)
	}
	if f.Unassigned {
		where = append(where, "cv.assignee_id IS NULL")
	}
	if f.ContactID != 0 {
		where, args = append(where, "cv.contact_id = ?"), append(args, f.ContactID)
	}
	if f.ContactPhone != "" {
		where, args = append(where, "cv.contact_phone = ?"), append(args, f.ContactPhone)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		cond, qargs := db.dialect.conversationSearch(q, f.AccountID)
		where, args = append(where, cond), append(args, qargs...)
	}
	if page.Cursor != "" {
		key, err := decodeCursor(page.Cursor, 2)
		if err != nil {
			return "", nil, err
		}
		// Row-value comparison keeps the keyset on one index range.
		where = append(where, "(cv.last_message_at < ? OR (cv.last_message_at = ? AND cv.id < ?))")
		args = append(args, key[0], key[0], key[1])
	}
	q := selectConversation + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY cv.last_message_at DESC, cv.id DESC LIMIT ?`
	args = append(args, page.Limit+1)
	return q, args, nil
}

// FindConversations lists conversations by last activity, newest first.
func (db *DB) FindConversations(ctx context.Context, f conversations.ConversationFilter) ([]conversations.Conversation, string, error) {
	page := f.Page.Normalize()
	q, args, err := db.conversationQuery(f, page)
	if err != nil {
		return nil, "", err
	}
	var rows []conversationRow
	if err := db.db.SelectContext(ctx, &rows, db.db.Rebind(q), args...); err != nil {
		return nil, "", translate(err)
	}
	next := ""
	if len(rows) > page.Limit {
		rows = rows[:page.Limit]
		last := rows[len(rows)-1]
		next = encodeCursor(last.LastMessageAt, last.ID)
	}
	out := make([]conversations.Conversation, len(rows))
	for i, r := range rows {
		out[i] = r.conversation()
	}
	return out, next, nil
}

type messageRow struct {
	ID               int64   `db:"id"`
	AccountID        int64   `db:"account_id"`
	ConversationID   int64   `db:"conversation_id"`
	ChannelID        int64   `db:"channel_id"`
	Direction        string  `db:"direction"`
	Kind             string  `db:"kind"`
	Body             string  `db:"body"`
	MediaURLs        string  `db:"media_urls"`
	Status           string  `db:"status"`
	ErrorCode        *int    `db:"error_code"`
	CarrierMessageID *string `db:"carrier_message_id"`
	AuthorID         *int64  `db:"author_id"`
	CampaignID       *int64  `db:"campaign_id"`
	Segments         int     `db:"segments"`
	Encoding         string  `db:"encoding"`
	CreatedAt        int64   `db:"created_at"`
	UpdatedAt        int64   `db:"updated_at"`
}

const messageColumns = `id, account_id, conversation_id, channel_id, direction, kind, body, media_urls, status, error_code,
carrier_message_id, author_id, campaign_id, segments, encoding, created_at, updated_at`

func (r messageRow) message() (conversations.Message, error) {
	m := conversations.Message{
		ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), ConversationID: parley.ID(r.ConversationID),
		ChannelID: parley.ID(r.ChannelID), Direction: conversations.Direction(r.Direction), Kind: conversations.MessageKind(r.Kind),
		Body: r.Body, Status: conversations.MessageStatus(r.Status), ErrorCode: r.ErrorCode, AuthorID: idPtr(r.AuthorID),
		CampaignID: idPtr(r.CampaignID), Segments: r.Segments, Encoding: r.Encoding,
		CreatedAt: fromMS(r.CreatedAt), UpdatedAt: fromMS(r.UpdatedAt),
	}
	if r.CarrierMessageID != nil {
		m.CarrierMessageID = *r.CarrierMessageID
	}
	if err := json.Unmarshal([]byte(r.MediaURLs), &m.MediaURLs); err != nil {
		return m, fmt.Errorf("store: decode media urls: %w", err)
	}
	if m.MediaURLs == nil {
		m.MediaURLs = []string{}
	}
	return m, nil
}

// ListMessages lists a conversation's messages, oldest first.
func (db *DB) ListMessages(ctx context.Context, accountID, conversationID parley.ID, page conversations.Page) ([]conversations.Message, string, error) {
	page = page.Normalize()
	if _, err := db.GetConversation(ctx, accountID, conversationID); err != nil {
		return nil, "", err
	}
	where, args := "account_id = ? AND conversation_id = ?", []any{accountID, conversationID}
	if page.Cursor != "" {
		key, err := decodeCursor(page.Cursor, 1)
		if err != nil {
			return nil, "", err
		}
		where, args = where+" AND id > ?", append(args, key[0])
	}
	args = append(args, page.Limit+1)
	var rows []messageRow
	q := `SELECT ` + messageColumns + ` FROM messages WHERE ` + where + ` ORDER BY id LIMIT ?`
	if err := db.db.SelectContext(ctx, &rows, db.db.Rebind(q), args...); err != nil {
		return nil, "", translate(err)
	}
	next := ""
	if len(rows) > page.Limit {
		rows = rows[:page.Limit]
		next = encodeCursor(rows[len(rows)-1].ID)
	}
	out := make([]conversations.Message, len(rows))
	for i, r := range rows {
		m, err := r.message()
		if err != nil {
			return nil, "", err
		}
		out[i] = m
	}
	return out, next, nil
}
