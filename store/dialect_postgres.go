package store

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// postgresSQL is PostgreSQL's side of dialect: many writers at once, so
// rows are locked, claims skip what others hold, and several instances
// share the database.
type postgresSQL struct{}

func (postgresSQL) name() string { return "postgres" }

// forUpdate is NO KEY UPDATE: every insert that references the row takes a
// KEY SHARE lock for its foreign key, which FOR UPDATE would block.
func (postgresSQL) forUpdate() string               { return " FOR NO KEY UPDATE" }
func (postgresSQL) forUpdateOf(table string) string { return " FOR NO KEY UPDATE OF " + table }
func (postgresSQL) forUpdateKeys() string           { return " FOR UPDATE" }
func (postgresSQL) forShare() string                { return " FOR SHARE" }
func (postgresSQL) skipLocked() string              { return " FOR UPDATE SKIP LOCKED" }
func (postgresSQL) writesInWith() bool              { return true }
func (postgresSQL) plansSearch() bool               { return true }
func (postgresSQL) manyInstances() bool             { return true }

// jsonElements reads the array with parley_batch (migration 00038):
// jsonb_array_elements with a smaller estimate of its rows.
func (postgresSQL) jsonElements() (string, string) {
	return "parley_batch(CAST(? AS jsonb)) WITH ORDINALITY", "ordinality"
}
func (postgresSQL) jsonValue(expr string) string { return "CAST(" + expr + " AS jsonb)" }
func (postgresSQL) varyingLimit() string         { return "?" }
func (postgresSQL) batchesAsValues() bool        { return false }

// inList is an ANY over an array, which PostgreSQL plans as index
// lookups whatever it guesses of the list's length.
func (postgresSQL) inList(typ string) string {
	return "= ANY(ARRAY(SELECT CAST(value AS " + typ + ") FROM jsonb_array_elements_text(CAST(? AS jsonb))))"
}

// migrator runs migrations under a session advisory lock: several
// instances may start together, one migrates and the others wait.
func (postgresSQL) migrator() (goose.Dialect, []goose.ProviderOption, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return "", nil, err
	}
	return goose.DialectPostgres, []goose.ProviderOption{goose.WithSessionLocker(locker)}, nil
}

// lockKey takes a transaction-level advisory lock on each key's hash, in
// the array's order (a function scan returns it in order).
func (postgresSQL) lockKey(ctx context.Context, tx *Tx, keys ...string) error {
	if len(keys) == 1 {
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, keys[0])
		return err
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k`, pq.Array(keys))
	return err
}

// searchWordsSet joins the text's words to the conversation's search
// document here rather than in a trigger's second UPDATE of the row
// (migrations 00014 and 00034), without positions (00055).
func (postgresSQL) searchWordsSet() string {
	return `search_tsv = strip(conversations.search_tsv || to_tsvector('simple', v.body)), `
}

// searchWordsInsert starts a new conversation's document with its first
// text's words; the insert trigger puts the contact's name before them
// (migration 00040) and strips their positions (00055), so the row is
// written once, not inserted and then updated with the text.
func (postgresSQL) searchWordsInsert(body string) (col, val string) {
	return ", search_tsv", ", to_tsvector('simple', " + body + ")"
}

// textMatch is a to_tsquery of the terms, the last one a prefix.
func (postgresSQL) textMatch(terms []string) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = t
		if i == len(terms)-1 {
			parts[i] += ":*"
		}
	}
	return strings.Join(parts, " & ")
}

// textConds matches the conversation's own search document (migration
// 00005).
func (postgresSQL) textConds(match string, _ any) ([]string, []any) {
	return []string{"cv.search_tsv @@ to_tsquery('simple', ?)"}, []any{match}
}

// containsFold is a regular expression, which compares exactly: a letter
// is the bracket of its cases, ASCII punctuation escaped.
func (postgresSQL) containsFold(col, text string) (string, any) {
	var b strings.Builder
	for _, set := range caseless(text) {
		switch r := set[0]; {
		case len(set) > 1:
			b.WriteString("[" + string(set) + "]")
		case r < utf8.RuneSelf && !unicode.IsLetter(r) && !unicode.IsDigit(r):
			b.WriteString(`\` + string(r))
		default:
			b.WriteRune(r)
		}
	}
	return col + " ~ ?", b.String()
}

func (postgresSQL) uniqueViolation(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == "23505"
}

func (postgresSQL) ruleViolation(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23502", "23503", "23514": // not_null_violation, foreign_key_violation, check_violation
			return true
		}
		return pgUnstorableText[string(pe.Code)]
	}
	return false
}

// PostgreSQL's codes for text it cannot store: a NUL or an invalid byte
// sequence in text (22021) or JSON (22P05). Domain validation rejects these
// first; this keeps any that slip through a client error, not a 500.
var pgUnstorableText = map[string]bool{"22021": true, "22P05": true}

// deadlockVictim reports a deadlock's victim (40P01) or a lock wait
// given up (55P03, waitsGiveWay).
func (postgresSQL) deadlockVictim(err error) bool {
	var pe *pq.Error
	return pgDeadlockDetected(err) || errors.As(err, &pe) && pe.Code == "55P03"
}

// pgDeadlockDetected reports a deadlock's victim (40P01).
func pgDeadlockDetected(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == "40P01"
}

// waitsGiveWay: 100 ms, a tenth of the server's deadlock_timeout (1 s
// by default), after which it would look for a cycle and abort one of
// its transactions.
func (postgresSQL) waitsGiveWay() string { return `SET LOCAL lock_timeout = '100ms'` }
func (postgresSQL) unwaits() string      { return `SET LOCAL lock_timeout TO DEFAULT` }

// tablesDue: when the server's autovacuum is off, the tables of Parley's
// schema that autovacuum would visit now: dead rows past the table's
// vacuum threshold plus its scale factor of the live ones (vacuum), or
// changes since the last ANALYZE past its analyze threshold and scale
// (analyze). Each is the table's own setting where it has one (the queues'
// from migration 00033), the server's otherwise, as autovacuum reads them.
// A table with a column sampled more widely than the server's default
// also lists its other columns (narrow; see housekeeping.go). A table
// without settings of its own (not a queue) is analyzed at most once per
// pace since its last ANALYZE by any instance: the server's
// autovacuum_naptime when pace is 0, as autovacuum would; unless it has
// grown past twice the rows of that ANALYZE (and the threshold), when
// the plans made from it are wrong: a young table analyzed at 90 rows
// was otherwise planned as 90 rows for a minute while it grew by
// thousands a second, each statement's plan scanning it whole.
func (postgresSQL) tablesDue(ctx context.Context, db *sqlx.DB, pace time.Duration) ([]tableDue, error) {
	var on string
	if err := db.GetContext(ctx, &on, `SHOW autovacuum`); err != nil || on == "on" {
		return nil, err
	}
	var due []tableDue
	err := db.SelectContext(ctx, &due, `WITH t AS (
    SELECT s.relid, s.relname, s.n_dead_tup, s.n_live_tup, s.n_mod_since_analyze, GREATEST(c.reltuples, 0) AS analyzed_rows,
        EXISTS (SELECT FROM unnest(c.reloptions) o WHERE o LIKE 'autovacuum\_%')
            OR s.last_analyze IS NULL OR s.last_analyze < now() - COALESCE($2::float8,
                EXTRACT(EPOCH FROM current_setting('autovacuum_naptime')::interval)) * interval '1 second' AS paced,
        COALESCE(`+reloption("autovacuum_vacuum_threshold")+`, current_setting('autovacuum_vacuum_threshold')::float8)
            + COALESCE(`+reloption("autovacuum_vacuum_scale_factor")+`, current_setting('autovacuum_vacuum_scale_factor')::float8) * s.n_live_tup AS vacuum_at,
        COALESCE(`+reloption("autovacuum_analyze_threshold")+`, current_setting('autovacuum_analyze_threshold')::float8) AS analyze_base,
        COALESCE(`+reloption("autovacuum_analyze_scale_factor")+`, current_setting('autovacuum_analyze_scale_factor')::float8) * s.n_live_tup AS analyze_scaled
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE s.schemaname = current_schema()),
cols AS (
    SELECT a.attrelid, a.attname, a.attnum,
        COALESCE(a.attstattarget, -1) > current_setting('default_statistics_target')::int AS wide
    FROM pg_attribute a JOIN t ON a.attrelid = t.relid
    WHERE a.attnum > 0 AND NOT a.attisdropped AND COALESCE(a.attstattarget, -1) <> 0)
SELECT relname, n_dead_tup > vacuum_at AS vacuum, (paced OR grown) AND n_mod_since_analyze > analyze_base + analyze_scaled AS analyze,
    n_mod_since_analyze::float8 AS changes,
    analyze_base + analyze_scaled AS analyze_at, analyze_base + $1::float8 * n_live_tup AS wide_at,
    (SELECT CASE WHEN bool_or(wide) THEN array_agg(attname::text ORDER BY attnum) FILTER (WHERE NOT wide) ELSE '{}' END
        FROM cols WHERE cols.attrelid = t.relid) AS narrow
FROM (SELECT *, n_live_tup > 2 * analyzed_rows + analyze_base AS grown FROM t) t
WHERE n_dead_tup > vacuum_at OR ((paced OR grown) AND n_mod_since_analyze > analyze_base + analyze_scaled)
ORDER BY relname`, wideScale, paceSeconds(pace))
	return due, err
}

// paceSeconds is pace for tablesDue's statement: NULL for the server's
// naptime.
func paceSeconds(pace time.Duration) *float64 {
	if pace == 0 {
		return nil
	}
	s := pace.Seconds()
	return &s
}

// reloption is a table's (pg_class c) storage parameter name as a
// number, NULL when the table does not set it.
func reloption(name string) string {
	return `(SELECT split_part(o, '=', 2)::float8 FROM unnest(c.reloptions) o WHERE o LIKE '` + name + `=%')`
}

// lookupJoin is a LATERAL subquery that the planner cannot pull up
// (OFFSET 0): a lookup per outer row, which an index serves.
func (postgresSQL) lookupJoin(table, alias, cond string) string {
	return " CROSS JOIN" + lateralLookup(table, alias, cond)
}

func (postgresSQL) lookupLeftJoin(table, alias, cond string) string {
	return " LEFT JOIN" + lateralLookup(table, alias, cond) + " ON true"
}

func lateralLookup(table, alias, cond string) string {
	return " LATERAL (SELECT * FROM " + table + " " + alias + " WHERE " + cond + " OFFSET 0) " + alias
}
