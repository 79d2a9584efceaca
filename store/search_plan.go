package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/lib/pq"

	"github.com/parleyhq/parley/conversations"
)

// The search planner: PostgreSQL's conversation searches pick their plan
// from what they find (the recency window, the hits through the search
// indexes, the recent index) rather than from the planner's estimates of a
// prefix query, which are a fixed guess. SQLite plans its FTS5 subqueries
// well and runs the plain query; dialect.plansSearch chooses.

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
const hitColumns = `cv.id, cv.account_id, cv.assignee_id, cv.inbox_id, cv.status, cv.priority, cv.contact_id, cv.contact_phone, cv.outcome_mask,
	cv.final_tag_id, cv.final_tag_type, cv.revocation_flagged_at, cv.last_message_at`

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
// With trace, each statement run is also told to trace, after it ran.
func (db *DB) findConversationRows(ctx context.Context, w conversationWhere, limit int, trace func(ListQuery)) ([]conversationRow, error) {
	traced := func(step string, q string, args []any) {
		if trace != nil {
			trace(ListQuery{Step: step, SQL: q, Args: args})
		}
	}
	run := func(name string, q string, args []any) ([]conversationRow, error) {
		var rows []conversationRow
		if err := db.db.SelectContext(ctx, &rows, db.rebind(q), args...); err != nil {
			return nil, translate(err)
		}
		traced(fmt.Sprintf("%s: %d rows", name, len(rows)), q, args)
		return rows, nil
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
		traced(fmt.Sprintf("capped hits: %d found", found), q, args)
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
		err = db.db.GetContext(ctx, &edge, db.rebind(q), args...)
		if errors.Is(err, sql.ErrNoRows) {
			return rows, nil
		}
		if err != nil {
			return nil, translate(err)
		}
		traced(fmt.Sprintf("window edge: %d", edge), q, args)
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

// ListQuery is one statement a conversation list ran: the planner's step
// and what it found, and the statement ("?" placeholders) with its
// arguments.
type ListQuery struct {
	Step string
	SQL  string
	Args []any
}

// TraceConversations lists conversations as FindConversations does and
// returns the statements it ran, in order, for tools that show their plans
// (store/devdb).
func (db *DB) TraceConversations(ctx context.Context, f conversations.ConversationFilter) ([]ListQuery, error) {
	page := f.Page.Normalize()
	w, err := db.conversationFilterWhere(ctx, f, page)
	if err != nil {
		return nil, err
	}
	var ran []ListQuery
	_, err = db.findConversationRows(ctx, w, page.Limit+1, func(q ListQuery) { ran = append(ran, q) })
	return ran, err
}
