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

// conversationColumns and conversationJoins read conversations with their
// contact's name and the phone's account-wide consent; cv may be the table
// or a subquery over it.
const conversationColumns = `SELECT cv.id, cv.account_id, cv.inbox_id, cv.channel_id, cv.contact_id, ct.name AS contact_name,
       cv.contact_phone, cv.business_phone, cv.status, cv.priority, cv.assignee_id, cv.snoozed_until,
       cv.revocation_flagged_at, COALESCE(cs.opted_out, FALSE) AS opted_out, cv.last_message_at,
       cv.last_inbound_at, cv.created_at, cv.updated_at`

const conversationJoins = `
JOIN contacts ct ON ct.id = cv.contact_id
LEFT JOIN consents cs ON cs.account_id = cv.account_id AND cs.phone = cv.contact_phone`

const selectConversation = conversationColumns + ` FROM conversations cv` + conversationJoins

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

// conversationWhere is a filter's conditions, the search apart: search
// needs a plan of its own (see FindConversations).
type conversationWhere struct {
	conds, search []string
	args, sargs   []any
}

func (w conversationWhere) all() ([]string, []any) {
	return append(append([]string{}, w.conds...), w.search...), append(append([]any{}, w.args...), w.sargs...)
}

// conversationFilterWhere builds a filter's conditions. The indexes they
// rely on: conversations_activity (account_id, last_message_at DESC, id
// DESC) serves view=all and the keyset walk; conversations_assignee
// (account_id, assignee_id, last_message_at DESC, id DESC) serves view=mine;
// q adds the full-text and phone indexes of search.go. Plans are printed
// by `parley dev listbench` (see README, Performance).
func (db *DB) conversationFilterWhere(f conversations.ConversationFilter, page conversations.Page) (conversationWhere, error) {
	w := conversationWhere{conds: []string{"cv.account_id = ?"}, args: []any{f.AccountID}}
	add := func(cond string, args ...any) { w.conds, w.args = append(w.conds, cond), append(w.args, args...) }
	if len(f.Statuses) > 0 {
		var args []any
		for _, s := range f.Statuses {
			args = append(args, string(s))
		}
		add("cv.status IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Statuses)), ", ")+")", args...)
	}
	if f.InboxID != 0 {
		add("cv.inbox_id = ?", f.InboxID)
	}
	if f.AssigneeID != 0 {
		add("cv.assignee_id = ?", f.AssigneeID)
	}
	if f.Unassigned {
		add("cv.assignee_id IS NULL")
	}
	if f.ContactID != 0 {
		add("cv.contact_id = ?", f.ContactID)
	}
	if f.ContactPhone != "" {
		add("cv.contact_phone = ?", f.ContactPhone)
	}
	if page.Cursor != "" {
		key, err := decodeCursor(page.Cursor, 2)
		if err != nil {
			return w, err
		}
		add("(cv.last_message_at < ? OR (cv.last_message_at = ? AND cv.id < ?))", key[0], key[0], key[1])
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		cond, qargs := db.dialect.conversationSearch(q, f.AccountID)
		w.search, w.sargs = []string{cond}, qargs
	}
	return w, nil
}

const byActivity = ` ORDER BY cv.last_message_at DESC, cv.id DESC`

// plainQuery selects the page with every condition in one WHERE.
func plainQuery(w conversationWhere, limit int) (string, []any) {
	conds, args := w.all()
	return selectConversation + ` WHERE ` + strings.Join(conds, " AND ") + byActivity + ` LIMIT ?`, append(args, limit)
}

// searchWindow is how many of the most recent conversations the first
// search plan looks through.
const searchWindow = 2000

// windowQuery looks for matches among the searchWindow most recent
// conversations of the filter only: a bounded walk of the recency index
// that fills the page at once when matches are common.
func windowQuery(w conversationWhere, limit int) (string, []any) {
	q := conversationColumns + ` FROM (SELECT * FROM conversations cv WHERE ` + strings.Join(w.conds, " AND ") + byActivity +
		` LIMIT ?) cv` + conversationJoins + ` WHERE ` + strings.Join(w.search, " AND ") + byActivity + ` LIMIT ?`
	args := append(append(append([]any{}, w.args...), searchWindow), w.sargs...)
	return q, append(args, limit)
}

// hitsQuery collects every match through the search indexes first (GIN
// bitmap OR phone ranges, materialized so the planner cannot fold it into
// a recency walk), then sorts just those: fast when matches are rare.
func hitsQuery(w conversationWhere, limit int) (string, []any) {
	q := `WITH hits AS MATERIALIZED (SELECT cv.id FROM conversations cv WHERE cv.account_id = ? AND ` + strings.Join(w.search, " AND ") + `)
` + conversationColumns + ` FROM hits JOIN conversations cv ON cv.id = hits.id` + conversationJoins +
		` WHERE ` + strings.Join(w.conds, " AND ") + byActivity + ` LIMIT ?`
	args := append(append(append([]any{w.args[0]}, w.sargs...), w.args...), limit)
	return q, args
}

// FindConversations lists conversations by last activity, newest first.
//
// A search on PostgreSQL picks its plan from what it finds rather than
// from estimates (a prefix query's selectivity is a fixed guess): the
// recency window first, which is exact whenever it fills the page; the
// index-collected hits otherwise. SQLite's FTS5 subqueries are planned well
// by SQLite, so it runs the plain query.
func (db *DB) FindConversations(ctx context.Context, f conversations.ConversationFilter) ([]conversations.Conversation, string, error) {
	page := f.Page.Normalize()
	w, err := db.conversationFilterWhere(f, page)
	if err != nil {
		return nil, "", err
	}
	var rows []conversationRow
	for _, plan := range db.conversationPlans(w) {
		q, args := plan(w, page.Limit+1)
		rows = rows[:0]
		if err := db.db.SelectContext(ctx, &rows, db.db.Rebind(q), args...); err != nil {
			return nil, "", translate(err)
		}
		if len(rows) > page.Limit {
			break
		}
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

// conversationPlans lists the queries to try in turn; the last one is
// always complete.
func (db *DB) conversationPlans(w conversationWhere) []func(conversationWhere, int) (string, []any) {
	if len(w.search) == 0 || db.dialect.name != "postgres" {
		return []func(conversationWhere, int) (string, []any){plainQuery}
	}
	return []func(conversationWhere, int) (string, []any){windowQuery, hitsQuery}
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
	if _, err := db.GetConversation(ctx, accountID, conversationID); err != nil {
		return nil, "", err
	}
	cond, args, limit, err := idPage(page, "id")
	if err != nil {
		return nil, "", err
	}
	var rows []messageRow
	q := `SELECT ` + messageColumns + ` FROM messages WHERE account_id = ? AND conversation_id = ? AND ` + cond + ` ORDER BY id LIMIT ?`
	if err := db.db.SelectContext(ctx, &rows, db.db.Rebind(q), append(append([]any{accountID, conversationID}, args...), limit)...); err != nil {
		return nil, "", translate(err)
	}
	rows, next := idCursor(rows, page, func(r messageRow) int64 { return r.ID })
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
