package storetest

import (
	"path/filepath"
	"testing"
)

// URL returns a database URL of the dialect that only this test uses, for
// tests that boot the whole program (which opens and migrates it itself).
func URL(tb testing.TB, dialect string) string {
	tb.Helper()
	switch dialect {
	case "sqlite":
		return "sqlite://" + filepath.Join(tb.TempDir(), "parley.db")
	case "postgres":
		return postgresSchemaURL(tb)
	}
	tb.Fatalf("storetest: unknown dialect %q", dialect)
	return ""
}
