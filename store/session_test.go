package store_test

import (
	"testing"

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
