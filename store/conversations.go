package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/outcomes"
)

type conversationRow struct {
	ID                  int64   `db:"id"`
	AccountID           int64   `db:"account_id"`
	InboxID             int64   `db:"inbox_id"`
	ChannelID           int64   `db:"channel_id"`
	ContactID           int64   `db:"contact_id"`
	ContactName         string  `db:"contact_name"`
	ContactPhone        string  `db:"contact_phone"`
	BusinessPhone       string  `db:"business_phone"`
	Status              string  `db:"status"`
	Priority            string  `db:"priority"`
	AssigneeID          *int64  `db:"assignee_id"`
	SnoozedUntil        *int64  `db:"snoozed_until"`
	RevocationFlaggedAt *int64  `db:"revocation_flagged_at"`
	RevocationMessageID *int64  `db:"revocation_message_id"`
	RevocationRule      string  `db:"revocation_rule"`
	RevocationReason    string  `db:"revocation_reason"`
	OptedOut            bool    `db:"opted_out"`
	LastMessageAt       int64   `db:"last_message_at"`
	LastInboundAt       *int64  `db:"last_inbound_at"`
	OutcomeMask         int64   `db:"outcome_mask"`
	LinksCount          int     `db:"links_count"`
	FinalTagID          *int64  `db:"final_tag_id"`
	FinalTagType        *string `db:"final_tag_type"`
	CreatedAt           int64   `db:"created_at"`
	UpdatedAt           int64   `db:"updated_at"`
}

// conversationColumns and conversationJoins read conversations with their
// contact's name and the phone's account-wide consent; cv may be the table
// or a subquery over it.
const conversationColumns = `SELECT cv.id, cv.account_id, cv.inbox_id, cv.channel_id, cv.contact_id, ct.name AS contact_name,
       cv.contact_phone, cv.business_phone, cv.status, cv.priority, cv.assignee_id, cv.snoozed_until,
       cv.revocation_flagged_at, cv.revocation_message_id, cv.revocation_rule, cv.revocation_reason,
       COALESCE(cs.opted_out, FALSE) AS opted_out, cv.last_message_at,
       cv.last_inbound_at, cv.outcome_mask, cv.links_count, cv.final_tag_id, cv.final_tag_type, cv.created_at, cv.updated_at`

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
		Outcomes: outcomes.Mask(r.OutcomeMask), LinksCount: r.LinksCount,
		CreatedAt: fromMS(r.CreatedAt), UpdatedAt: fromMS(r.UpdatedAt), Revocation: r.revocation(),
	}
}

// revocation is the row's waiting flag, nil when none waits.
func (r conversationRow) revocation() *conversations.RevocationFlag {
	if r.RevocationFlaggedAt == nil {
		return nil
	}
	f := &conversations.RevocationFlag{At: fromMS(*r.RevocationFlaggedAt), Rule: r.RevocationRule, Reason: r.RevocationReason}
	if r.RevocationMessageID != nil {
		f.MessageID = parley.ID(*r.RevocationMessageID)
	}
	return f
}

// GetConversation returns a conversation of the account.
func (db *DB) GetConversation(ctx context.Context, accountID, conversationID parley.ID) (conversations.Conversation, error) {
	return getConversation(ctx, db.db, accountID, conversationID)
}

func getConversation(ctx context.Context, q sqlx.QueryerContext, accountID, id parley.ID) (conversations.Conversation, error) {
	var row taggedConversationRow
	err := sqlx.GetContext(ctx, q, &row, rebind(q, conversationColumns+taggedColumn+` FROM conversations cv`+conversationJoins+` WHERE cv.account_id = ? AND cv.id = ?`), accountID, id)
	if err != nil {
		return row.conversation(), translate(err)
	}
	convs, err := conversationsOfTagged(ctx, q, []taggedConversationRow{row})
	return convs[0], err
}

// rebind rewrites "?" placeholders for the connection's driver.
func rebind(q sqlx.QueryerContext, query string) string {
	switch v := q.(type) {
	case *sqlx.DB:
		return rebindFor(sqlx.BindType(v.DriverName()), query)
	case *Tx:
		return v.Rebind(query)
	case *sqlx.Tx:
		return v.Rebind(query)
	}
	return query
}

// conversationWhere is a list filter as SQL conditions in three parts:
// base is what one ordered index walks (the account, then the view's
// assignee, else the inbox, else the outcomes asked for, and the cursor's
// position), rest the other filters, search the q, which needs plans of
// its own (see findConversationRows).
type conversationWhere struct {
	base, rest, search  []string
	bargs, rargs, sargs []any
	// q is the search, which the hits plan looks up (see searchHits);
	// q.fullPhone: a whole phone number, whose matches are a handful.
	q searchCond
	// contact: the list of one contact or one phone, a handful of rows.
	contact bool
	// view is the view's condition in the form its search index reads
	// (migration 00018), for the hits plan to look up the view's matches
	// alone (PostgreSQL's; SQLite has no hits plan).
	view  string
	vargs []any
	// assignee, unassigned and statuses are the filter's, for estimates
	// of its share of conversations (viewShare).
	assignee   parley.ID
	unassigned bool
	statuses   []conversations.Status
}

// viewShare estimates the share of conversations the filter's view and
// statuses keep, from their columns' statistics, as if independent.
func (w conversationWhere) viewShare(t termStats) float64 {
	share := 1.0
	switch {
	case w.assignee != 0:
		share = t.assignee.share(strconv.FormatInt(int64(w.assignee), 10))
	case w.unassigned:
		share = t.assignee.null
	}
	if len(w.statuses) > 0 {
		statuses := 0.0
		for _, s := range w.statuses {
			statuses += t.status.share(string(s))
		}
		share *= min(statuses, 1)
	}
	return share
}

// filter is every condition but the search.
func (w conversationWhere) filter() ([]string, []any) {
	return append(append([]string{}, w.base...), w.rest...), append(append([]any{}, w.bargs...), w.rargs...)
}

// all is every condition.
func (w conversationWhere) all() ([]string, []any) {
	conds, args := w.filter()
	return append(conds, w.search...), append(args, w.sargs...)
}

// conversationFilterWhere builds a filter's conditions, so that every
// list walks one index ordered by activity and stops at the page (each
// list's plan and cost at 1M conversations: docs/PERFORMANCE.md).
func (db *DB) conversationFilterWhere(ctx context.Context, f conversations.ConversationFilter, page conversations.Page) (conversationWhere, error) {
	w := conversationWhere{base: []string{"cv.account_id = ?"}, bargs: []any{f.AccountID},
		assignee: f.AssigneeID, unassigned: f.Unassigned, statuses: f.Statuses}
	base := func(cond string, args ...any) { w.base, w.bargs = append(w.base, cond), append(w.bargs, args...) }
	rest := func(cond string, args ...any) { w.rest, w.rargs = append(w.rest, cond), append(w.rargs, args...) }
	// The base is the one of the view or the inbox that leads an index
	// ordered by activity: conversations_assignee, conversations_unassigned,
	// else conversations_inbox; without them, conversations_activity.
	walked := false
	if f.AssigneeID != 0 {
		base("cv.assignee_id = ?", f.AssigneeID)
		walked = true
		w.view, w.vargs = "conversation_assignee_word(cv.assignee_id) @@ ?::tsquery", []any{tsqueryWord(fmt.Sprintf("~%d", f.AssigneeID))}
	}
	if f.Unassigned {
		// Walked through the partial index conversations_unassigned:
		// through conversations_assignee the planner would filter a walk
		// of conversations_activity instead.
		if walked {
			rest("cv.assignee_id IS NULL")
		} else {
			base("cv.assignee_id IS NULL")
			walked = true
			w.view = "cv.assignee_id IS NULL"
		}
	}
	if f.InboxID != 0 {
		// Walked through conversations_inbox, so that a small or empty
		// inbox's list does not walk every conversation of the account.
		if walked {
			rest("cv.inbox_id = ?", f.InboxID)
		} else {
			base("cv.inbox_id = ?", f.InboxID)
		}
	}
	if len(f.Statuses) > 0 {
		// In the base: the index checks the status on its entries, and a
		// search's window walks only conversations of those statuses.
		lo, hi, exact := statusSpan(f.Statuses)
		if lo == hi {
			base("cv.status = ?", lo)
		} else {
			// The span is implied by the list; an index can check it on
			// its entries (a list is only a filter on rows when the index
			// is walked in order).
			base("cv.status >= ? AND cv.status <= ?", lo, hi)
		}
		if !exact {
			var args []any
			for _, s := range f.Statuses {
				args = append(args, string(s))
			}
			rest("cv.status IN ("+placeholders(len(f.Statuses))+")", args...)
		}
	}
	// A contact's few conversations come from conversations_contact /
	// conversations_phone, with q too (plainQuery).
	if f.ContactID != 0 {
		rest("cv.contact_id = ?", f.ContactID)
		w.contact = true
	}
	if f.ContactPhone != "" {
		rest("cv.contact_phone = ?", f.ContactPhone)
		w.contact = true
	}
	if f.Priority != "" {
		// Checked on the rows the base's index walks: no index leads
		// with the priority.
		rest("cv.priority = ?", string(f.Priority))
	}
	if f.OutcomesAny != 0 {
		// outcome_mask <> 0 is implied by the bit test; written out, it
		// lets the planner walk the partial index conversations_with_outcomes
		// (only conversations that have an outcome) when no view or inbox
		// leads the base.
		cond := "cv.outcome_mask <> 0 AND (cv.outcome_mask & ?) <> 0"
		if walked || f.InboxID != 0 {
			rest(cond, int64(f.OutcomesAny))
		} else {
			base(cond, int64(f.OutcomesAny))
		}
	}
	if f.OutcomesAbsent != 0 {
		// A filter on the rows walked. outcome_mask = 0 is implied; written
		// out, the planner estimates from the column's statistics (most
		// conversations have no outcome) rather than guess that the bit
		// test keeps few rows, and sort them all instead of walking.
		if f.OutcomesAbsent == outcomes.MaskOf(outcomes.Types...) {
			rest("cv.outcome_mask = 0")
		} else {
			rest("(cv.outcome_mask = 0 OR (cv.outcome_mask & ?) = 0)", int64(f.OutcomesAbsent))
		}
	}
	// Tags are checked on the rows the base's index walks: a tag's
	// conversations through conversation_tags_tag, the final tag on the
	// row itself.
	if f.TagID != nil {
		rest("EXISTS (SELECT 1 FROM conversation_tags ctg WHERE ctg.account_id = cv.account_id AND ctg.tag_id = ? AND ctg.conversation_id = cv.id)", *f.TagID)
	}
	if f.TagType != "" {
		rest(`EXISTS (SELECT 1 FROM conversation_tags ctg JOIN tags tg ON tg.id = ctg.tag_id
    WHERE ctg.conversation_id = cv.id AND tg.type = ?)`, string(f.TagType))
	}
	if f.FinalTagID != nil {
		rest("cv.final_tag_id = ?", *f.FinalTagID)
	}
	if f.FinalTagType != "" {
		rest("cv.final_tag_type = ?", string(f.FinalTagType))
	}
	if f.RevocationFlagged {
		rest("cv.revocation_flagged_at IS NOT NULL")
	}
	if page.Cursor != "" {
		key, err := decodeCursor(page.Cursor, 2)
		if err != nil {
			return w, err
		}
		// The first condition is implied by the second; it is the one an
		// index can start its walk at (an OR is only a filter), so a
		// later page costs what the first does.
		base("cv.last_message_at <= ? AND (cv.last_message_at < ? OR (cv.last_message_at = ? AND cv.id < ?))", key[0], key[0], key[0], key[1])
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		w.q = db.dialect.conversationSearch(q, f.AccountID)
		w.search, w.sargs = []string{w.q.cond}, w.q.args
	}
	return w, nil
}

// statusSpan returns the least and greatest of statuses, and whether every
// status between them is in the list, so that the span says all.
func statusSpan(statuses []conversations.Status) (lo, hi string, exact bool) {
	in := map[string]bool{}
	for _, s := range statuses {
		in[string(s)] = true
	}
	lo, hi = string(statuses[0]), string(statuses[0])
	for s := range in {
		lo, hi = min(lo, s), max(hi, s)
	}
	exact = true
	for _, s := range []conversations.Status{conversations.StatusNew, conversations.StatusOpen, conversations.StatusPending,
		conversations.StatusSnoozed, conversations.StatusResolved, conversations.StatusClosed} {
		if string(s) > lo && string(s) < hi && !in[string(s)] {
			exact = false
		}
	}
	return lo, hi, exact
}

const byActivity = ` ORDER BY cv.last_message_at DESC, cv.id DESC`

// plainQuery selects the page with every condition in one WHERE.
func plainQuery(w conversationWhere, limit int) (string, []any) {
	conds, args := w.all()
	return selectConversation + ` WHERE ` + strings.Join(conds, " AND ") + byActivity + ` LIMIT ?`, append(args, limit)
}

// FindConversations lists conversations by last activity, newest first.
func (db *DB) FindConversations(ctx context.Context, f conversations.ConversationFilter) ([]conversations.Conversation, string, error) {
	page := f.Page.Normalize()
	w, err := db.conversationFilterWhere(ctx, f, page)
	if err != nil {
		return nil, "", err
	}
	rows, err := db.findConversationRows(ctx, w, page.Limit+1, nil)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > page.Limit {
		rows = rows[:page.Limit]
		last := rows[len(rows)-1]
		next = encodeCursor(last.LastMessageAt, last.ID)
	}
	out, err := conversationsWithTags(ctx, db.db, rows)
	return out, next, err
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
	ErrorReason      *string `db:"error_reason"`
	CarrierMessageID *string `db:"carrier_message_id"`
	AuthorID         *int64  `db:"author_id"`
	CampaignID       *int64  `db:"campaign_id"`
	Segments         int     `db:"segments"`
	Encoding         string  `db:"encoding"`
	CreatedAt        int64   `db:"created_at"`
	UpdatedAt        int64   `db:"updated_at"`
}

const messageColumns = `id, account_id, conversation_id, channel_id, direction, kind, body, media_urls, status, error_code, error_reason,
carrier_message_id, author_id, campaign_id, segments, encoding, created_at, updated_at`

func (r messageRow) message() (conversations.Message, error) {
	m := conversations.Message{
		ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), ConversationID: parley.ID(r.ConversationID),
		ChannelID: parley.ID(r.ChannelID), Direction: conversations.Direction(r.Direction), Kind: conversations.MessageKind(r.Kind),
		Body: r.Body, Status: conversations.MessageStatus(r.Status), ErrorCode: r.ErrorCode, AuthorID: idPtr(r.AuthorID),
		CampaignID: idPtr(r.CampaignID), Segments: r.Segments, Encoding: r.Encoding,
		CreatedAt: fromMS(r.CreatedAt), UpdatedAt: fromMS(r.UpdatedAt),
	}
	if r.ErrorReason != nil {
		m.ErrorReason = *r.ErrorReason
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
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q), append(append([]any{accountID, conversationID}, args...), limit)...); err != nil {
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

// GetMessages reads messages or notes of the account by id, in no
// particular order; ids it does not find are left out (the subjects of a
// batch of events).
func (db *DB) GetMessages(ctx context.Context, accountID parley.ID, ids []parley.ID) ([]conversations.Message, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	q, args, err := sqlx.In(`SELECT `+messageColumns+` FROM messages WHERE account_id = ? AND id IN (?)`, accountID, ids)
	if err != nil {
		return nil, err
	}
	var rows []messageRow
	if err := db.db.SelectContext(ctx, &rows, db.db.Rebind(q), args...); err != nil {
		return nil, translate(err)
	}
	out := make([]conversations.Message, 0, len(rows))
	for _, r := range rows {
		m, err := r.message()
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// GetConversations reads conversations of the account by id, in no
// particular order; ids it does not find are left out.
func (db *DB) GetConversations(ctx context.Context, accountID parley.ID, ids []parley.ID) ([]conversations.Conversation, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	q, args, err := sqlx.In(selectConversation+` WHERE cv.account_id = ? AND cv.id IN (?)`, accountID, ids)
	if err != nil {
		return nil, err
	}
	var rows []conversationRow
	if err := db.db.SelectContext(ctx, &rows, db.db.Rebind(q), args...); err != nil {
		return nil, translate(err)
	}
	return conversationsWithTags(ctx, db.db, rows)
}

// GetMessage reads one message or note of the account (an event's
// subject); ENOTFOUND when there is none.
func (db *DB) GetMessage(ctx context.Context, accountID, messageID parley.ID) (conversations.Message, error) {
	var row messageRow
	q := `SELECT ` + messageColumns + ` FROM messages WHERE account_id = ? AND id = ?`
	if err := db.db.GetContext(ctx, &row, db.db.Rebind(q), accountID, messageID); err != nil {
		return conversations.Message{}, translate(err)
	}
	return row.message()
}
