package store

import (
	"testing"

	"github.com/jmoiron/sqlx"
)

func TestRebindOncePerQuery(t *testing.T) {
	q := `SELECT id FROM conversations WHERE account_id = ? AND id = ? -- rebind test`
	if got := rebindFor(sqlx.DOLLAR, q); got != `SELECT id FROM conversations WHERE account_id = $1 AND id = $2 -- rebind test` {
		t.Fatalf("rebound as %q", got)
	}
	if v, ok := rebound.m.Load(q); !ok || v.(string) != rebindFor(sqlx.DOLLAR, q) {
		t.Fatal("the rebound query was not kept")
	}
	if got := rebindFor(sqlx.QUESTION, q); got != q {
		t.Fatalf("SQLite's query changed: %q", got)
	}
}
