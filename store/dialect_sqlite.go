package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteSQL is SQLite's side of dialect. One writer at a time holds the
// whole database, so row locks and claims need nothing.
type sqliteSQL struct{}

func (sqliteSQL) name() string                   { return "sqlite" }
func (sqliteSQL) forUpdate() string              { return "" }
func (sqliteSQL) forUpdateOf(string) string      { return "" }
func (sqliteSQL) forUpdateKeys() string          { return "" }
func (sqliteSQL) forShare() string               { return "" }
func (sqliteSQL) jsonElements() (string, string) { return "json_each(?)", "key" }
func (sqliteSQL) jsonValue(expr string) string   { return expr }
func (sqliteSQL) batchesAsValues() bool          { return true }

// varyingLimit is an expression SQLite's planner does not read the
// parameter's value through (it looks at a bare parameter only): one
// plan serves every value.
func (sqliteSQL) varyingLimit() string { return "+?" }

func (sqliteSQL) inList(typ string) string {
	return "IN (SELECT CAST(value AS " + typ + ") FROM json_each(?))"
}
func (sqliteSQL) skipLocked() string     { return "" }
func (sqliteSQL) writesInWith() bool     { return false } // SQLite takes no writes inside WITH
func (sqliteSQL) searchWordsSet() string { return "" }    // the FTS5 tables keep their triggers
func (sqliteSQL) plansSearch() bool      { return false }
func (sqliteSQL) manyInstances() bool    { return false } // one instance per file

// searchWordsInsert: the FTS5 tables keep their triggers.
func (sqliteSQL) searchWordsInsert(string) (col, val string) { return "", "" }

func (sqliteSQL) migrator() (goose.Dialect, []goose.ProviderOption, error) {
	return goose.DialectSQLite3, nil, nil
}

func (sqliteSQL) lockKey(context.Context, *Tx, ...string) error { return nil }

// textMatch is an FTS5 query of quoted terms, the last one a prefix.
func (sqliteSQL) textMatch(terms []string) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = `"` + t + `"`
		if i == len(terms)-1 {
			parts[i] += "*"
		}
	}
	return strings.Join(parts, " ")
}

// textConds matches through the FTS5 tables: conversations whose messages,
// and contacts whose names, match; account_id narrows after the index
// lookup.
func (sqliteSQL) textConds(match string, accountID any) ([]string, []any) {
	const messages = `SELECT m.conversation_id FROM messages_fts f JOIN messages m ON m.id = f.rowid
WHERE messages_fts MATCH ? AND m.account_id = ?`
	const contacts = `SELECT c.id FROM contacts_fts f JOIN contacts c ON c.id = f.rowid
WHERE contacts_fts MATCH ? AND c.account_id = ?`
	return []string{"cv.id IN (" + messages + ")", "cv.contact_id IN (" + contacts + ")"},
		[]any{match, accountID, match, accountID}
}

// containsFold is a GLOB, which compares exactly: a letter is the
// bracket of its cases, GLOB's own wildcards a bracket of themselves.
func (sqliteSQL) containsFold(col, text string) (string, any) {
	var b strings.Builder
	b.WriteString("*")
	for _, set := range caseless(text) {
		if len(set) > 1 || strings.ContainsRune("*?[", set[0]) {
			b.WriteString("[" + string(set) + "]")
		} else {
			b.WriteRune(set[0])
		}
	}
	b.WriteString("*")
	return col + " GLOB ?", b.String()
}

func (sqliteSQL) uniqueViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func (sqliteSQL) ruleViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return true
		}
	}
	return false
}

// deadlockVictim is false: one writer at a time cannot deadlock.
func (sqliteSQL) deadlockVictim(error) bool { return false }

// waitsGiveWay, unwaits: one writer at a time never waits on another.
func (sqliteSQL) waitsGiveWay() string { return "" }
func (sqliteSQL) unwaits() string      { return "" }

// tablesDue: SQLite reuses a deleted row's space itself, and plans
// without statistics unless asked: nothing to keep.
func (sqliteSQL) tablesDue(context.Context, *sqlx.DB, time.Duration) ([]tableDue, error) {
	return nil, nil
}

// lookupJoin is a CROSS JOIN, which SQLite never reorders: the batch
// before it is the outer loop. As a plain join, a batch of 512 phones
// was planned inside a scan of the account's every phone (the first
// column of the index), each phone compared with each row.
func (sqliteSQL) lookupJoin(table, alias, cond string) string {
	return " CROSS JOIN " + table + " " + alias + " ON " + cond
}

func (sqliteSQL) lookupLeftJoin(table, alias, cond string) string {
	return " LEFT JOIN " + table + " " + alias + " ON " + cond
}
