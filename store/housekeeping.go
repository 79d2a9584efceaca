package store

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"
)

// Parley's queues are tables whose rows leave a partial index as they are
// served: pending recipients, texts in the outbox, count changes. Each
// served row leaves a dead index entry that every later scan steps over
// until VACUUM removes it, and a table that grew from nothing in minutes
// (a campaign's audience) is planned from statistics that still call it
// empty. PostgreSQL's autovacuum keeps both, and migration 00033 has it
// visit the queues more often than its defaults; on a server that runs
// with it off, Housekeep does that work. It is called every few seconds
// for the queues' sake; it vacuums any table as soon as it is due (dead
// entries slow every lookup of a table updated as often as
// conversations), in one process as autovacuum does, but analyzes a
// table other than the queues at most once per autovacuum_naptime, as
// autovacuum would: the statistics of a large table change slowly, and
// each ANALYZE holds a core the texts would have had.
//
// A column with a raised statistics target (conversations' search words,
// migration 00019: 1000) sizes the sample of every ANALYZE of its table:
// 300,000 rows instead of 30,000, each column's statistics computed over
// all of them. Those columns are re-sampled when the changes since their
// last sampling pass half the table's rows (wideScale: a table growing by
// inserts alone, each time it doubles); the others at the table's own
// threshold, by an ANALYZE that names them.

// wideScale is the share of a table's rows that must have changed since
// its last full ANALYZE before its widely sampled columns are analyzed
// again.
const wideScale = 0.5

// tableDue is a table due for VACUUM, ANALYZE or both.
type tableDue struct {
	Table   string `db:"relname"`
	Vacuum  bool   `db:"vacuum"`
	Analyze bool   `db:"analyze"`
	// Changes are the rows changed since the last full ANALYZE (a partial
	// one does not count them again), AnalyzeAt the table's threshold.
	Changes   float64 `db:"changes"`
	AnalyzeAt float64 `db:"analyze_at"`
	// WideAt is the threshold of the widely sampled columns, Narrow the
	// other columns when there are such columns (else empty).
	WideAt float64        `db:"wide_at"`
	Narrow pq.StringArray `db:"narrow"`
}

// partialAnalyzes remembers, for each table analyzed without its widely
// sampled columns, its changes counted at that ANALYZE: the server's count
// goes on from there until a full one.
type partialAnalyzes struct {
	mu      sync.Mutex
	changes map[string]float64
}

// statement is what t needs now, "" when nothing: the full statement, or
// one naming the narrow columns while the wide ones are not due.
func (a *partialAnalyzes) statement(t tableDue) string {
	table := pq.QuoteIdentifier(t.Table)
	// One process, as autovacuum's: a manual VACUUM otherwise vacuums a
	// table's indexes in parallel workers, taking every core of a small
	// server from the texts for its duration.
	if !t.Analyze {
		return "VACUUM (PARALLEL 0) " + table
	}
	verb := "ANALYZE "
	if t.Vacuum {
		verb = "VACUUM (ANALYZE, PARALLEL 0) "
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(t.Narrow) == 0 || t.Changes > t.WideAt {
		delete(a.changes, t.Table)
		return verb + table
	}
	since, seen := a.changes[t.Table]
	if t.Changes < since {
		since = 0 // another's full ANALYZE counted from 0 again
	}
	if seen && !t.Vacuum && t.Changes-since <= t.AnalyzeAt {
		return ""
	}
	if a.changes == nil {
		a.changes = map[string]float64{}
	}
	a.changes[t.Table] = t.Changes
	cols := make([]string, len(t.Narrow))
	for i, c := range t.Narrow {
		cols[i] = pq.QuoteIdentifier(c)
	}
	return verb + table + " (" + strings.Join(cols, ", ") + ")"
}

// Housekeep vacuums and analyzes the tables that need it when the
// database does not; it returns what it did, for the log.
func (db *DB) Housekeep(ctx context.Context) ([]string, error) {
	due, err := db.dialect.tablesDue(ctx, db.db, db.analyzePace)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, t := range due {
		stmt := db.analyzed.statement(t)
		if stmt == "" {
			continue
		}
		start := time.Now()
		if _, err := db.db.ExecContext(ctx, stmt); err != nil {
			return done, err
		}
		done = append(done, stmt+" ("+time.Since(start).Round(time.Millisecond).String()+")")
	}
	return done, nil
}
