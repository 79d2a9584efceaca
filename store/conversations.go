package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

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

// conversationWhere is a list filter as SQL conditions in three parts:
// base is what one ordered index walks (the account, then the view's
// assignee or else the inbox, and the cursor's position), rest the other
// filters, search the q, which needs plans of its own (see
// findConversationRows).
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

// searchWindow is how many of the most recent conversations of the base
// the window looks through, unless the statistics expect it to find
// little (probeWindow).
const searchWindow = 2000

// probeWindow is the window of a search the statistics expect to be
// sparse (windowSize).
const probeWindow = 500

// windowQuery looks for matches among the size most recent
// conversations of the base: a bounded walk of one index that fills the
// page at once when matches are common.
func windowQuery(w conversationWhere, size, limit int) (string, []any) {
	conds := append(append([]string{}, w.rest...), w.search...)
	q := conversationColumns + ` FROM (SELECT * FROM conversations cv WHERE ` + strings.Join(w.base, " AND ") + byActivity +
		` LIMIT ?) cv` + conversationJoins + ` WHERE ` + strings.Join(conds, " AND ") + byActivity + ` LIMIT ?`
	args := append(append(append(append([]any{}, w.bargs...), size), w.rargs...), w.sargs...)
	return q, append(args, limit)
}

// windowEdgeQuery reads the activity of the window's last row: none when
// the base is smaller than the window, so that what the window found is
// all there is. It reads only the base's index.
func windowEdgeQuery(w conversationWhere, size int) (string, []any) {
	return `SELECT cv.last_message_at FROM conversations cv WHERE ` + strings.Join(w.base, " AND ") + byActivity +
		` LIMIT 1 OFFSET ?`, append(append([]any{}, w.bargs...), size-1)
}

// hitColumns are the columns a list's filter and order read.
const hitColumns = `cv.id, cv.account_id, cv.assignee_id, cv.inbox_id, cv.status, cv.contact_id, cv.contact_phone, cv.last_message_at`

// hitsQuery collects every match through the search's own indexes (GIN
// bitmap OR phone ranges: a subquery with OFFSET 0, which keeps the
// filter's conditions out of it, so that the planner neither walks the
// recency index nor ANDs the bitmap with a filter's large one), checks the
// filter on each, and sorts them: fast when matches are rare. Common
// words that rarely meet are its weak spot (many postings, many rows):
// the recent index (recent_search.go) and a view's own index (inView)
// serve most of those.
//
// The matches are sorted by id and activity only, with the columns the
// filter reads, and the page's rows are read whole afterwards: sorting
// whole rows would copy every search document into the sort.
func hitsQuery(w conversationWhere, lookup string, largs []any, limit int) (string, []any) {
	conds, args := w.filter()
	q := conversationColumns + ` FROM (SELECT cv.id FROM (SELECT ` + hitColumns + ` FROM conversations cv WHERE cv.account_id = ? AND ` +
		lookup + ` OFFSET 0) cv WHERE ` + strings.Join(conds, " AND ") + byActivity + ` LIMIT ?) h
JOIN conversations cv ON cv.id = h.id` + conversationJoins + byActivity
	return q, append(append(append([]any{w.bargs[0]}, largs...), args...), limit)
}

// inView is the hits' lookup narrowed to the view's matches, through the
// view's search index (migration 00018), so that GIN intersects the view
// with the words before any row is read.
func (w conversationWhere) inView(h hitsLookup) (string, []any) {
	return h.where(w.view, w.vargs)
}

// recentFallsShort tells whether the statistics expect the recent index
// to hold less than a page of a narrowed view's matches, so that the list
// goes to the view's own hits at once. A view's hits cost what its own
// matches do, so a wrong guess costs little.
func recentFallsShort(w conversationWhere, t termStats, recentRows float64, limit int) bool {
	if w.view == "" || len(w.q.phone) > 0 || len(w.q.terms) == 0 || recentRows == 0 || t.rare == 1 {
		return false
	}
	return expectedShare(w.q.terms, t.freq, t.rare)*recentRows*w.viewShare(t) < float64(limit)
}

// hitsCap bounds the matches the first plan of a search of rare words
// reads (see cappedHitsQuery).
const hitsCap = searchWindow

// cappedHitsQuery collects at most hitsCap+1 of the view's matches and
// returns how many it found with the ids of the page among them: the
// list itself when they are fewer, so that a rare word's list costs its
// matches rather than a walk of the window. The cap bounds the cost when
// the statistics are stale: a word in many more conversations than the
// last ANALYZE saw.
func cappedHitsQuery(w conversationWhere, lookup string, largs []any, limit int) (string, []any) {
	conds, args := w.filter()
	q := `WITH m AS MATERIALIZED (SELECT ` + hitColumns + ` FROM conversations cv WHERE cv.account_id = ? AND ` + lookup + ` LIMIT ?)
SELECT (SELECT COUNT(*) FROM m), ARRAY(SELECT cv.id FROM m cv WHERE ` + strings.Join(conds, " AND ") + byActivity + ` LIMIT ?)`
	return q, append(append(append(append([]any{w.bargs[0]}, largs...), hitsCap+1), args...), limit)
}

// cappedHits runs cappedHitsQuery and reads the page's rows in the same
// snapshot (a read-only repeatable-read transaction): read afterwards, a
// conversation assigned or answered in between would be listed as it is
// now, not as the filter saw it. No rows are read when found is over
// hitsCap.
func (db *DB) cappedHits(ctx context.Context, q string, args []any) (found int, rows []conversationRow, err error) {
	tx, err := db.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return 0, nil, translate(err)
	}
	defer tx.Rollback()
	var ids pq.Int64Array
	if err := tx.QueryRowContext(ctx, tx.Rebind(q), args...).Scan(&found, &ids); err != nil {
		return 0, nil, translate(err)
	}
	if found <= hitsCap && len(ids) > 0 {
		err = tx.SelectContext(ctx, &rows, tx.Rebind(selectConversation+` WHERE cv.id = ANY(?)`+byActivity), ids)
	}
	return found, rows, translate(err)
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
	out := make([]conversations.Conversation, len(rows))
	for i, r := range rows {
		out[i] = r.conversation()
	}
	return out, next, nil
}

// findConversationRows selects up to limit rows of a list. Without q, or
// on SQLite (whose FTS5 subqueries SQLite plans well), or for one
// contact's few conversations, that is one query the planner chooses an
// index for.
//
// A search on PostgreSQL picks its plan from what it finds rather than
// from the planner's estimates (a prefix query's selectivity is a fixed
// guess), in this order:
//
//   - when the word statistics say the matches are few (fewMatches), the
//     view's hits, capped: exact unless there turn out to be more;
//   - the recency window, exact whenever it fills the page or holds the
//     whole base;
//   - the hits active since the recent index's cutoff (recent_search.go),
//     unless the window reached back past it: exact when they fill the
//     page;
//   - all the view's hits.
//
// A full phone number goes to the hits at once.
//
// With explain, each query run is also run under EXPLAIN (ANALYZE,
// BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite, into explain.
func (db *DB) findConversationRows(ctx context.Context, w conversationWhere, limit int, explain *strings.Builder) ([]conversationRow, error) {
	explained := func(name string, q string, args []any) error {
		if explain == nil {
			return nil
		}
		fmt.Fprintf(explain, "-- %s\n", name)
		return db.explainInto(ctx, explain, q, args)
	}
	run := func(name string, q string, args []any) ([]conversationRow, error) {
		var rows []conversationRow
		if err := db.db.SelectContext(ctx, &rows, db.db.Rebind(q), args...); err != nil {
			return nil, translate(err)
		}
		return rows, explained(fmt.Sprintf("%s: %d rows", name, len(rows)), q, args)
	}
	if len(w.search) == 0 || !db.dialect.plansSearch() || w.contact {
		q, args := plainQuery(w, limit)
		return run("plain", q, args)
	}
	var hits hitsLookup
	looked := false
	lookUp := func() (err error) {
		if !looked {
			hits, err = db.searchHits(ctx, w.q)
			looked = err == nil
		}
		return err
	}
	stats := db.termStats(ctx)
	if len(w.q.phone) == 0 && fewMatches(stats, w.q.terms) {
		if err := lookUp(); err != nil {
			return nil, err
		}
		lookup, largs := w.inView(hits)
		q, args := cappedHitsQuery(w, lookup, largs, limit)
		found, rows, err := db.cappedHits(ctx, q, args)
		if err != nil {
			return nil, err
		}
		if err := explained(fmt.Sprintf("capped hits: %d found", found), q, args); err != nil {
			return nil, err
		}
		if found <= hitsCap {
			return rows, nil
		}
	}
	// edge: the activity of the window's last row; the recent index's
	// matches of the base are all in the window when its cutoff is not
	// newer (view=mine, whose 2,000 most recent conversations reach back
	// past the account's 100,000 most recent).
	edge := int64(math.MaxInt64)
	if !w.q.fullPhone {
		size := windowSize(stats, w.q.terms, limit)
		q, args := windowQuery(w, size, limit)
		rows, err := run("window", q, args)
		if err != nil || len(rows) >= limit {
			return rows, err
		}
		q, args = windowEdgeQuery(w, size)
		err = db.db.GetContext(ctx, &edge, db.db.Rebind(q), args...)
		if errors.Is(err, sql.ErrNoRows) {
			return rows, nil
		}
		if err != nil {
			return nil, translate(err)
		}
		if err := explained(fmt.Sprintf("window edge: %d", edge), q, args); err != nil {
			return nil, err
		}
	}
	if err := lookUp(); err != nil {
		return nil, err
	}
	if r := db.recentIndex(ctx); r.known && !w.q.fullPhone && r.cutoff < edge && !recentFallsShort(w, stats, r.rows, limit) {
		// The matches active after the recent index's cutoff: when they
		// fill the page, every other match is older (recent_search.go).
		// The cutoff is written into the SQL for the planner to see that
		// the partial index covers the query. Not narrowed to the view:
		// the planner would AND the view's whole btree index in.
		all, args := hits.where("", nil)
		q, args := hitsQuery(w, fmt.Sprintf("%s AND cv.last_message_at > %d", all, r.cutoff), args, limit)
		rows, err := run("recent hits", q, args)
		if err != nil || len(rows) >= limit {
			if err == nil {
				db.recentServed.Add(1)
			}
			return rows, err
		}
	}
	lookup, largs := w.inView(hits)
	q, args := hitsQuery(w, lookup, largs, limit)
	return run("hits", q, args)
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
