package main

import (
	"context"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley/store/devdb"
)

// rawSQL is a connection of the test's own to the database at dbURL
// (store/devdb's), for the evidence the API does not show: rows a crash
// left, an index's presence. Closed when the test ends.
func rawSQL(tb testing.TB, dbURL string) *sqlx.DB {
	tb.Helper()
	tools, err := devdb.Open(context.Background(), dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tools.Close() })
	return tools.SQL()
}

// rawSQL is a connection of the test's own to the database e's Parley
// runs on.
func (e *env) rawSQL() *sqlx.DB {
	e.t.Helper()
	return rawSQL(e.t, e.main.Config.DatabaseURL)
}
