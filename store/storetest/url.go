package storetest

import (
	"testing"
)

// URL returns the URL of a migrated, empty database of the dialect that
// only this test uses, for tests that boot the whole program: the program
// opens it and runs its migrations, which find the schema current. The
// database is dropped (PostgreSQL) or removed (SQLite) when the test ends.
func URL(tb testing.TB, dialect string) string {
	tb.Helper()
	return newURL(tb, dialect, true)
}

// EmptyURL is URL for a database with no tables at all: the program that
// opens it migrates it from the start.
func EmptyURL(tb testing.TB, dialect string) string {
	tb.Helper()
	return newURL(tb, dialect, false)
}
