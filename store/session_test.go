package store_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/store"
)

// TestPostgresSessionsRunWithoutJIT: Parley's PostgreSQL connections have
// JIT compilation off (a short statement whose estimate a stale statistic
// inflated spent most of a second compiling itself), and keep the URL's
// own options beside it.
func TestPostgresSessionsRunWithoutJIT(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		if db.Dialect() != "postgres" {
			t.Skip("PostgreSQL's sessions only")
		}
		var jit string
		if err := db.SQL().GetContext(ctx, &jit, `SHOW jit`); err != nil {
			t.Fatal(err)
		}
		if jit != "off" {
			t.Errorf("jit is %q in Parley's sessions, want off", jit)
		}
		// The test database's schema comes from the URL's options too.
		var tables int
		if err := db.SQL().GetContext(ctx, &tables, `SELECT COUNT(*) FROM campaigns`); err != nil {
			t.Errorf("the URL's own options were lost: %v", err)
		}
	})
}

// TestHousekeepingVacuumsWhereAutovacuumIsOff: on a server running
// without autovacuum (as this one's CI does), Housekeep vacuums what
// autovacuum would: a queue whose served rows left dead ones behind, past
// the queue's own threshold, keeping its pages; a large table with a
// tenth of its rows dead only analyzed (the server's thresholds, a fifth
// to vacuum); one with nothing to do left alone.
func TestHousekeepingVacuumsWhereAutovacuumIsOff(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		if db.Dialect() != "postgres" {
			t.Skip("PostgreSQL's vacuum only")
		}
		var autovacuum string
		if err := db.SQL().GetContext(ctx, &autovacuum, `SHOW autovacuum`); err != nil {
			t.Fatal(err)
		}
		if autovacuum == "on" {
			t.Skip("the server keeps its tables itself")
		}
		exec(t, db, `INSERT INTO campaign_count_changes SELECT 1, 1, '', '', 'pending', '' FROM generate_series(1, 5000)`)
		exec(t, db, `DELETE FROM campaign_count_changes`)
		exec(t, db, `INSERT INTO search_words (word) SELECT 'w' || i FROM generate_series(1, 22500) i`)
		exec(t, db, `DELETE FROM search_words WHERE substr(word, 2)::int <= 2500`)
		deadRows := func(table string) (n int) {
			// The server's statistics follow behind: a backend that
			// reported less than a second before the DELETE holds its
			// counts until it has been idle for 10 s (PostgreSQL 15's
			// PGSTAT_IDLE_INTERVAL), or until its next statement.
			for range 150 {
				if err := db.SQL().GetContext(ctx, &n, `SELECT n_dead_tup FROM pg_stat_user_tables
WHERE schemaname = current_schema() AND relname = $1`, table); err != nil {
					t.Fatal(err)
				}
				if n > 0 {
					return n
				}
				time.Sleep(100 * time.Millisecond)
			}
			return n
		}
		if n := deadRows("campaign_count_changes"); n < 5000 {
			t.Fatalf("%d dead rows counted, want the 5,000 deleted", n)
		}
		if n := deadRows("search_words"); n != 2500 {
			t.Fatalf("%d dead search words counted, want the 2,500 deleted", n)
		}
		size := func() (bytes int64) {
			if err := db.SQL().GetContext(ctx, &bytes, `SELECT pg_relation_size('campaign_count_changes')`); err != nil {
				t.Fatal(err)
			}
			return bytes
		}
		before := size()
		done, err := db.Housekeep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(done, func(s string) bool { return strings.HasPrefix(s, `VACUUM (ANALYZE) "campaign_count_changes" `) }) {
			t.Errorf("housekeeping did %q, want campaign_count_changes vacuumed", done)
		}
		// A queue keeps its emptied pages: giving them back takes a lock
		// every writer of the queue waits for.
		if after := size(); after != before {
			t.Errorf("vacuuming the emptied queue cut it from %d to %d bytes, want its pages kept", before, after)
		}
		if !slices.ContainsFunc(done, func(s string) bool { return strings.HasPrefix(s, `ANALYZE "search_words" `) }) {
			t.Errorf("housekeeping did %q, want search_words analyzed, not vacuumed: 2,500 dead rows of 22,500", done)
		}
		if slices.ContainsFunc(done, func(s string) bool { return strings.Contains(s, `"accounts"`) }) {
			t.Errorf("housekeeping did %q: accounts had nothing to do", done)
		}
	})
}
