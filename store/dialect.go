package store

import (
	"context"
	"time"
	"unicode"

	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
)

// dialect is what differs between SQLite and PostgreSQL. Queries are
// written once with "?" and rebound; only the clauses and statements that
// really differ sit behind dialectSQL, one implementation per database
// (dialect_sqlite.go, dialect_postgres.go). What only combines them, the
// same on both, is written as methods of dialect beside its callers.
type dialect struct{ dialectSQL }

// dialectSQL is one database's side of dialect.
type dialectSQL interface {
	// name is the database's: "sqlite" or "postgres", also its folder
	// of migrations.
	name() string
	// migrator is goose's dialect for the database and the options its
	// migrations run with.
	migrator() (goose.Dialect, []goose.ProviderOption, error)

	// Row locks, appended to a SELECT and held until the transaction
	// ends. SQLite's immediate transactions already hold the only write
	// lock, so there they are empty.

	// forUpdate locks the selected rows against other writers, but not
	// against inserts that reference them (their foreign keys' KEY SHARE
	// locks would otherwise queue behind it, and stall).
	forUpdate() string
	// forUpdateOf is forUpdate for the rows of one table of a join.
	forUpdateOf(table string) string
	// lookupJoin joins the rows of table (as alias) that cond finds by
	// an index, looked up for each row joined so far: a batch's few rows
	// then find theirs by the index whatever the statistics said of
	// table when the statement's plan was made (a table that was empty
	// then would otherwise be scanned for good).
	lookupJoin(table, alias, cond string) string
	// lookupLeftJoin is lookupJoin keeping the rows that find none.
	lookupLeftJoin(table, alias, cond string) string
	// forUpdateKeys locks the selected rows against every other lock,
	// referencing inserts included.
	forUpdateKeys() string
	// forShare locks the selected rows against forUpdate, not against
	// other readers sharing them.
	forShare() string
	// skipLocked locks the selected rows for update and skips those
	// another transaction holds, so that concurrent claimers of queued
	// work each take different rows.
	skipLocked() string
	// waitsGiveWay bounds, until the transaction ends or the savepoint
	// rolls back, how long a statement waits for another transaction's
	// lock; unwaits lifts the bound. "" where one writer at a time never
	// waits on another. A wait given up fails as a deadlock's victim
	// would (deadlockVictim), long before the server looks for cycles.
	waitsGiveWay() string
	unwaits() string
	// lockKey serialises the transactions that lock the same key, until
	// each ends; several keys are locked in the order given, in one round
	// trip.
	lockKey(ctx context.Context, tx *Tx, keys ...string) error
	// writesInWith says whether several writes may run as one statement
	// (data-modifying WITH; see execTogether).
	writesInWith() bool

	// Full-text search.

	// textMatch is the full-text query for terms: every term must match,
	// the last one as a prefix so that results come while typing.
	textMatch(terms []string) string
	// textConds are the conditions on a conversation list's row cv whose
	// messages or contact's name match the textMatch query match.
	textConds(match string, accountID any) ([]string, []any)
	// searchWordsSet is what the UPDATE of a text's conversation (alias
	// conversations, the text's body v.body; an inbound text's, a
	// campaign text's) sets in the conversation's search document; ""
	// where triggers keep it.
	searchWordsSet() string
	// searchWordsInsert is the column and its value, each after a comma,
	// with which an INSERT of a conversation starts its search document
	// with its first text's words (body, the text's SQL expression); ""
	// and "" where triggers keep them.
	searchWordsInsert(body string) (col, val string)
	// plansSearch says whether conversation searches are planned from word
	// statistics and the recent index (search.go, recent_search.go)
	// rather than run as one plain query.
	plansSearch() bool
	// containsFold is the condition that column col contains a search's
	// text, each letter in any case (caseless, below), and the argument
	// it takes. The same on both databases: neither's LOWER is used, as
	// SQLite's folds ASCII only and PostgreSQL's follows the locale.
	containsFold(col, text string) (string, any)

	// Batches as one JSON parameter (batch_rows.go).

	// jsonElements is a table function of one parameter, a JSON array,
	// whose column value is each element as JSON, and the column that
	// orders the elements as in the array.
	jsonElements() (from, order string)
	// varyingLimit is a LIMIT's parameter whose value changes from one
	// run of the statement to the next, as a batch's size does. SQLite
	// plans a LIMIT with the value bound to a bare parameter, so such a
	// statement is prepared again each time the value changes.
	varyingLimit() string
	// inList is "IN (the items)" of a JSON array parameter, each item
	// cast to typ.
	inList(typ string) string
	// jsonValue is expr, JSON text, as a JSON column stores it.
	jsonValue(expr string) string
	// batchesAsValues says whether a batch's rows reach its statement as
	// a VALUES list of parameters rather than as JSON.
	batchesAsValues() bool

	// appendEvents writes a chunk of an account's events numbered after
	// its head, which it moves past them and which stays locked to the
	// commit, so that the account's positions commit in order; it books
	// their webhook deliveries, and where other instances listen it tells
	// them of the positions at the commit. It returns the new head and
	// the deliveries booked (events.DeliveriesUnknown if it cannot tell).
	appendEvents(ctx context.Context, tx *Tx, accountID parley.ID, evs []events.Event) (head int64, booked int, err error)
	// manyInstances says whether other instances may share the database:
	// they are told of route changes and new events by NOTIFY.
	manyInstances() bool
	// tablesDue lists Parley's tables whose dead rows or changes since
	// their statistics call for a VACUUM (vacuum) or an ANALYZE, where the
	// server does not keep them itself (housekeeping.go); a table other
	// than the queues is analyzed at most once per pace (0: the server's
	// naptime).
	tablesDue(ctx context.Context, db *sqlx.DB, pace time.Duration) ([]tableDue, error)

	// Errors. Each database recognises its own driver's errors and
	// reports false for any other.

	// uniqueViolation reports a unique or primary key violation.
	uniqueViolation(err error) bool
	// ruleViolation reports a CHECK, NOT NULL or foreign key violation,
	// or input the database cannot store.
	ruleViolation(err error) bool
	// deadlockVictim reports a statement failed only so that another
	// transaction could go on (a deadlock's victim, a wait given up): it may
	// simply be run again.
	deadlockVictim(err error) bool
}

var (
	sqliteDialect   = dialect{sqliteSQL{}}
	postgresDialect = dialect{postgresSQL{}}
)

// dialectOf is the dialect of tx, for helpers that only get the
// transaction.
func dialectOf(tx *Tx) dialect {
	if tx.DriverName() == (postgresSQL{}).name() {
		return postgresDialect
	}
	return sqliteDialect
}

// isUniqueViolation reports a unique or primary key violation of either
// database.
func isUniqueViolation(err error) bool {
	return sqliteDialect.uniqueViolation(err) || postgresDialect.uniqueViolation(err)
}

// isConstraintViolation reports a CHECK, NOT NULL or foreign key violation
// of either database, or input it cannot store.
func isConstraintViolation(err error) bool {
	return sqliteDialect.ruleViolation(err) || postgresDialect.ruleViolation(err)
}

// isDeadlock reports a deadlock's victim, rolled back: it may simply be
// run again.
func isDeadlock(err error) bool {
	return sqliteDialect.deadlockVictim(err) || postgresDialect.deadlockVictim(err)
}

// countDeadlock counts err if the server aborted it to break a
// deadlock (not a wait given up: waitsGiveWay).
func (db *DB) countDeadlock(err error) {
	if pgDeadlockDetected(err) {
		db.deadlocks.Add(1)
	}
}

// caseless is each rune of text with the runes it equals in another case
// (unicode.SimpleFold's orbit: ö and Ö, k, K and the Kelvin sign); a rune
// without case is alone.
func caseless(text string) [][]rune {
	out := [][]rune{}
	for _, r := range text {
		set := []rune{r}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			set = append(set, f)
		}
		out = append(out, set)
	}
	return out
}
