package store

import (
	"context"
	"time"

	"github.com/lib/pq"
)

// Parley's queues are tables whose rows leave a partial index as they are
// served: unnumbered events, pending recipients, texts in the outbox,
// count changes. Each served row leaves a dead index entry that every
// later scan steps over until VACUUM removes it, and a table that grew
// from nothing in minutes (a campaign's audience) is planned from
// statistics that still call it empty. PostgreSQL's autovacuum keeps
// both, and migration 00033 has it visit the queues more often than its
// defaults; on a server that runs with it off, Housekeep does that work.

// tableDue is a table due for VACUUM (and ANALYZE), or ANALYZE alone.
type tableDue struct {
	Table  string `db:"relname"`
	Vacuum bool   `db:"vacuum"`
}

// Housekeep vacuums and analyzes the tables that need it when the
// database does not; it returns what it did, for the log.
func (db *DB) Housekeep(ctx context.Context) ([]string, error) {
	due, err := db.dialect.tablesDue(ctx, db.db)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, t := range due {
		stmt := "ANALYZE " + pq.QuoteIdentifier(t.Table)
		if t.Vacuum {
			stmt = "VACUUM (ANALYZE) " + pq.QuoteIdentifier(t.Table)
		}
		start := time.Now()
		if _, err := db.db.ExecContext(ctx, stmt); err != nil {
			return done, err
		}
		done = append(done, stmt+" ("+time.Since(start).Round(time.Millisecond).String()+")")
	}
	return done, nil
}
