package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
)

// PostgreSQL's search keeps a second GIN index, partial, over the most
// recently active conversations: conversations_search_recent_<cutoff>,
// WHERE last_message_at > cutoff. A search whose recency window comes up
// short looks its matches up there first; when they fill the page they
// are the newest matches of all (every other match is older than the
// cutoff), so the list need not read and sort every match: a fraction of
// the cost for common words that rarely meet (docs/PERFORMANCE.md).
//
// The cutoff is fixed in the index's predicate, so the index is rebuilt
// from time to time (RebuildRecentSearch) as activity moves on. Which
// index exists never changes a result: the lookup is a condition on
// last_message_at like any other, the index only makes it fast.

// RecentSearchShare is the share of conversations, the most recently
// active, that a rebuilt recent index covers.
const RecentSearchShare = 0.1

// RecentSearchAge is how old the recent index may grow before the
// scheduler rebuilds it.
const RecentSearchAge = 24 * time.Hour

const recentIndexPrefix = "conversations_search_recent_"

// recentIndex is the recent index as search_recent records it.
type recentIndex struct {
	cutoff int64
	built  time.Time
	// known is false before the first build.
	known bool
	// rows is how many conversations the index covered when built; 0
	// when unknown.
	rows float64
}

// recentCutoffAge is how long a process keeps the cutoff before reading it
// again: another process's rebuild reaches it within this time, and until
// then its lookups are as correct, only slower.
const recentCutoffAge = time.Minute

// recentIndex returns the recent index as search_recent records it; not
// known before the first build, and on SQLite.
func (db *DB) recentIndex(ctx context.Context) recentIndex {
	if !db.dialect.plansSearch() {
		return recentIndex{}
	}
	return db.recent.get(recentCutoffAge, func() (recentIndex, bool) {
		var row struct {
			Cutoff  int64 `db:"cutoff"`
			BuiltAt int64 `db:"built_at"`
			Covered int64 `db:"covered"`
		}
		switch err := db.db.GetContext(ctx, &row, `SELECT cutoff, built_at, covered FROM search_recent WHERE id = 1`); {
		case err == sql.ErrNoRows:
			return recentIndex{}, true
		case err != nil:
			return recentIndex{}, false // read again next time
		}
		return recentIndex{cutoff: row.Cutoff, built: fromMS(row.BuiltAt), known: true, rows: float64(row.Covered)}, true
	})
}

// RecentSearchServed counts the lists the recent index served alone.
func (db *DB) RecentSearchServed() int64 { return db.recentServed.Load() }

// RecentSearchBuiltAt says when the recent index was last built; zero
// before the first build, and always on SQLite.
func (db *DB) RecentSearchBuiltAt(ctx context.Context) time.Time {
	return db.recentIndex(ctx).built
}

// RebuildRecentSearch builds the recent index anew over the share of
// conversations most recently active, records its cutoff, and drops the
// previous one. Both are done CONCURRENTLY: texts keep coming in meanwhile
// (the build takes seconds at 1M conversations). One process at a time:
// while another holds the lock it returns at once. Nothing on SQLite, or
// without conversations.
func (db *DB) RebuildRecentSearch(ctx context.Context, share float64, now time.Time) error {
	if !db.dialect.plansSearch() {
		return nil
	}
	conn, err := db.db.Connx(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var locked bool
	if err := conn.GetContext(ctx, &locked, `SELECT pg_try_advisory_lock(hashtextextended('search-recent:' || current_schema(), 0))`); err != nil || !locked {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended('search-recent:' || current_schema(), 0))`)
	var cutoff sql.NullInt64
	var total int64
	if err := conn.QueryRowxContext(ctx, `SELECT percentile_disc($1::float8) WITHIN GROUP (ORDER BY last_message_at), COUNT(*) FROM conversations`, 1-share).Scan(&cutoff, &total); err != nil || !cutoff.Valid {
		return err
	}
	name := fmt.Sprintf("%s%d", recentIndexPrefix, cutoff.Int64)
	// A build cut off earlier leaves an invalid index, perhaps of this name.
	if err := dropRecentIndexes(ctx, conn, "", false); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE INDEX CONCURRENTLY IF NOT EXISTS %s ON conversations USING GIN (search_tsv)
WHERE last_message_at > %d`, name, cutoff.Int64)); err != nil {
		return fmt.Errorf("store: build %s: %w", name, err)
	}
	// The covered conversations, as many as the share asked for (ties at
	// the cutoff aside).
	covered := int64(math.Round(share * float64(total)))
	if _, err := conn.ExecContext(ctx, `INSERT INTO search_recent (id, cutoff, built_at, covered) VALUES (1, $1, $2, $3)
ON CONFLICT (id) DO UPDATE SET cutoff = EXCLUDED.cutoff, built_at = EXCLUDED.built_at, covered = EXCLUDED.covered`, cutoff.Int64, ms(now), covered); err != nil {
		return err
	}
	db.recent.forget()
	return dropRecentIndexes(ctx, conn, name, true)
}

// dropRecentIndexes drops the recent indexes but keep: every one when
// valid is true, else only those an interrupted build left invalid.
func dropRecentIndexes(ctx context.Context, conn *sqlx.Conn, keep string, valid bool) error {
	var names []string
	if err := conn.SelectContext(ctx, &names, `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'conversations'::regclass AND starts_with(c.relname, $1) AND c.relname <> $2 AND ($3 OR NOT i.indisvalid)`,
		recentIndexPrefix, keep, valid); err != nil {
		return err
	}
	for _, n := range names {
		if _, err := conn.ExecContext(ctx, `DROP INDEX CONCURRENTLY IF EXISTS `+n); err != nil {
			return fmt.Errorf("store: drop %s: %w", n, err)
		}
	}
	return nil
}
