package store_test

import (
	"slices"
	"strconv"
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
		skipUnlessHousekeeping(t, db)
		exec(t, db, `INSERT INTO campaign_count_changes SELECT 1, 1, '', '', 'pending', '' FROM generate_series(1, 5000)`)
		exec(t, db, `DELETE FROM campaign_count_changes`)
		exec(t, db, `INSERT INTO search_words (word) SELECT 'w' || i FROM generate_series(1, 22500) i`)
		exec(t, db, `DELETE FROM search_words WHERE substr(word, 2)::int <= 2500`)
		if n := tableCount(t, db, "campaign_count_changes", "n_dead_tup", 1); n < 5000 {
			t.Fatalf("%d dead rows counted, want the 5,000 deleted", n)
		}
		if n := tableCount(t, db, "search_words", "n_dead_tup", 1); n != 2500 {
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
		if !slices.ContainsFunc(done, func(s string) bool {
			return strings.HasPrefix(s, `VACUUM (ANALYZE, PARALLEL 0) "campaign_count_changes" `)
		}) {
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

// TestHousekeepingAnalyzesTablesAtAutovacuumsPace: Housekeep runs every
// few seconds for the queues' sake. A queue due again is vacuumed and
// analyzed again; a table other than the queues, due for ANALYZE again
// within the server's autovacuum_naptime of its last, waits for it, as
// autovacuum would.
func TestHousekeepingAnalyzesTablesAtAutovacuumsPace(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		skipUnlessHousekeeping(t, db)
		var naptime float64
		if err := db.SQL().GetContext(ctx, &naptime, `SELECT EXTRACT(EPOCH FROM current_setting('autovacuum_naptime')::interval)`); err != nil {
			t.Fatal(err)
		}
		if naptime < 30 {
			t.Skipf("the server's autovacuum_naptime is %v s: too short to see a visit wait for it", naptime)
		}
		words := 0
		dueAgain := func() {
			t.Helper()
			exec(t, db, `INSERT INTO campaign_count_changes SELECT 1, 1, '', '', 'pending', '' FROM generate_series(1, 5000)`)
			exec(t, db, `DELETE FROM campaign_count_changes`)
			exec(t, db, `INSERT INTO search_words (word) SELECT 'w' || i FROM generate_series(`+strconv.Itoa(words+1)+`, `+strconv.Itoa(words+3000)+`) i`)
			words += 3000
			tableCount(t, db, "campaign_count_changes", "n_dead_tup", 5000)
			tableCount(t, db, "search_words", "n_mod_since_analyze", 3000)
		}
		// visit returns what housekeeping did to the queue and to
		// search_words, each statement without its duration.
		visit := func() (queue, words string) {
			t.Helper()
			done, err := db.Housekeep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range done {
				s = s[:strings.LastIndex(s, " (")]
				switch {
				case strings.Contains(s, `"campaign_count_changes"`):
					queue = s
				case strings.Contains(s, `"search_words"`):
					words = s
				}
			}
			return queue, words
		}
		const queueVisit = `VACUUM (ANALYZE, PARALLEL 0) "campaign_count_changes"`
		dueAgain()
		if queue, words := visit(); queue != queueVisit || words != `ANALYZE "search_words"` {
			t.Fatalf("first pass: %q and %q; want both visited, both due", queue, words)
		}
		dueAgain()
		if queue, words := visit(); queue != queueVisit || words != "" {
			t.Fatalf("second pass, moments later: %q and %q; want the queue alone", queue, words)
		}
		// Dead rows are vacuumed whenever due, the ANALYZE still waiting.
		exec(t, db, `DELETE FROM search_words WHERE substr(word, 2)::int <= 5000`)
		tableCount(t, db, "search_words", "n_dead_tup", 5000)
		if _, words := visit(); words != `VACUUM (PARALLEL 0) "search_words"` {
			t.Fatalf("after 5,000 of 6,000 search words were deleted: %q, want a VACUUM alone", words)
		}
		db.AnalyzeTablesEvery(time.Millisecond)
		if _, words := visit(); words != `ANALYZE "search_words"` {
			t.Fatalf("once its pace had passed: %q, want search_words analyzed", words)
		}
	})
}

// TestHousekeepingAnalyzesATableThatDoubledWithinItsPace: a table grown
// past twice the rows of its last ANALYZE is planned from statistics that
// call it much smaller than it is, so it is analyzed again at once, pace
// or no pace; one that grew less waits.
func TestHousekeepingAnalyzesATableThatDoubledWithinItsPace(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		skipUnlessHousekeeping(t, db)
		db.AnalyzeTablesEvery(time.Hour)
		words := 0
		grow := func(n int) string {
			t.Helper()
			exec(t, db, `INSERT INTO search_words (word) SELECT 'w' || i FROM generate_series(`+strconv.Itoa(words+1)+`, `+strconv.Itoa(words+n)+`) i`)
			words += n
			tableCount(t, db, "search_words", "n_live_tup", words)
			done, err := db.Housekeep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range done {
				if strings.Contains(s, `"search_words"`) {
					return s[:strings.LastIndex(s, " (")]
				}
			}
			return ""
		}
		if got := grow(200); got != `ANALYZE "search_words"` { // never analyzed
			t.Fatalf("a new table of 200 rows: %q, want it analyzed", got)
		}
		if got := grow(200); got != "" {
			t.Fatalf("grown from 200 to 400 rows within its pace: %q, want it to wait", got)
		}
		if got := grow(1000); got != `ANALYZE "search_words"` {
			t.Fatalf("grown from 200 to 1,400 rows within its pace: %q, want it analyzed", got)
		}
	})
}

// tableCount waits until the server's statistics count at least atLeast
// in column of table's pg_stat_user_tables row, and returns it. They
// follow behind: a backend that reported less than a second before
// holds its counts until it has been idle for 10 s (PostgreSQL 15's
// PGSTAT_IDLE_INTERVAL), or until its next statement.
func tableCount(t *testing.T, db *store.DB, table, column string, atLeast int) (n int) {
	t.Helper()
	for range 150 {
		if err := db.SQL().GetContext(ctx, &n, `SELECT `+column+` FROM pg_stat_user_tables
WHERE schemaname = current_schema() AND relname = $1`, table); err != nil {
			t.Fatal(err)
		}
		if n >= atLeast {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the server counted %d in %s.%s, want at least %d", n, table, column, atLeast)
	return n
}

// TestHousekeepingSamplesWideColumnsWhenTheTableDoubles: a column with a
// raised statistics target (conversations' search words) sizes the sample
// of every ANALYZE of its table, ten times the default. Housekeep analyzes
// the table's other columns at the usual threshold, once for each time it
// is crossed, and the whole table when the changes pass half its rows.
func TestHousekeepingSamplesWideColumnsWhenTheTableDoubles(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		skipUnlessHousekeeping(t, db)
		var target int
		if err := db.SQL().GetContext(ctx, &target, `SELECT attstattarget FROM pg_attribute
WHERE attrelid = 'conversations'::regclass AND attname = 'search_tsv'`); err != nil {
			t.Fatal(err)
		}
		if target <= 100 {
			t.Fatalf("conversations.search_tsv's statistics target is %d: not sampled widely, nothing to test", target)
		}
		db.AnalyzeTablesEvery(time.Millisecond) // each step below may analyze it again
		exec(t, db, `CREATE TABLE wide_sampled (id INT, doc TEXT)`)
		exec(t, db, `ALTER TABLE wide_sampled ALTER COLUMN doc SET STATISTICS 1000`)
		rows := 0
		insert := func(n int) {
			t.Helper()
			exec(t, db, `INSERT INTO wide_sampled SELECT i, 'word' || i FROM generate_series(1, `+strconv.Itoa(n)+`) i`)
			rows += n
			// The server counts a backend's changes a moment later (see
			// the test above).
			for range 150 {
				var live int
				if err := db.SQL().GetContext(ctx, &live, `SELECT n_live_tup FROM pg_stat_user_tables
WHERE schemaname = current_schema() AND relname = 'wide_sampled'`); err != nil {
					t.Fatal(err)
				}
				if live >= rows {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Fatalf("the server never counted the %d rows inserted", rows)
		}
		housekeep := func() string {
			t.Helper()
			done, err := db.Housekeep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ours []string
			for _, s := range done {
				if strings.Contains(s, `"wide_sampled"`) {
					ours = append(ours, s[:strings.LastIndex(s, " (")]) // without its duration
				}
			}
			return strings.Join(ours, "; ")
		}
		const whole, narrow = `ANALYZE "wide_sampled"`, `ANALYZE "wide_sampled" ("id")`
		steps := []struct {
			insert int
			want   string
			why    string
		}{
			{1000, whole, "a new table of 1,000 rows"},
			{400, narrow, "400 changes in 1,400 rows: past 50 + 10%, short of 50 + 50%"},
			{0, "", "no change since the partial ANALYZE"},
			{100, "", "100 changes since the partial ANALYZE, short of 50 + 10% of 1,500"},
			{200, narrow, "300 changes since the partial ANALYZE of 1,700 rows"},
			{1000, whole, "1,700 changes in 2,700 rows"},
			{0, "", "nothing changed since the whole table was analyzed"},
		}
		for _, s := range steps {
			if s.insert > 0 {
				insert(s.insert)
			}
			if got := housekeep(); got != s.want {
				t.Fatalf("after %s housekeeping did %q, want %q", s.why, got, s.want)
			}
		}
	})
}

// skipUnlessHousekeeping skips a test of Housekeep where it has nothing to
// do: on SQLite, and on a server whose autovacuum keeps its tables itself.
func skipUnlessHousekeeping(t *testing.T, db *store.DB) {
	t.Helper()
	if db.Dialect() != "postgres" {
		t.Skip("PostgreSQL's vacuum and statistics only")
	}
	var autovacuum string
	if err := db.SQL().GetContext(ctx, &autovacuum, `SHOW autovacuum`); err != nil {
		t.Fatal(err)
	}
	if autovacuum == "on" {
		t.Skip("the server keeps its tables itself")
	}
}
