package main

import (
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/devdb"
	"github.com/parleyhq/parley/store/storetest"
)

// TestServeBuildsTheRecentSearchIndex: parley serve, started on a
// PostgreSQL database that has conversations but no recent search index,
// builds one within seconds (store/recent_search.go), and a search through
// the API still finds what it should.
func TestServeBuildsTheRecentSearchIndex(t *testing.T) {
	ctx := context.Background()
	dbURL := storetest.URL(t, "postgres") // skips loudly without PostgreSQL; fails with CI=true
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	secret := conversations.NewTokenSecret()
	acc, _, err := db.CreateAccount(ctx, "Seeded", conversations.NewUser{Email: "seed@example.com", Name: "Seed", Role: conversations.RoleAdmin},
		secret, now)
	if err != nil {
		t.Fatal(err)
	}
	tools, err := devdb.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer tools.Close()
	if _, err := tools.Seed(ctx, db, devdb.SeedSpec{AccountID: acc.ID, Conversations: 300, Messages: 600, Agents: 1, Now: now, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	if !db.RecentSearchBuiltAt(ctx).IsZero() {
		t.Fatal("a recent search index before parley started")
	}

	e := boot(t, dbURL)
	deadline := time.Now().Add(20 * time.Second)
	var n int
	for time.Now().Before(deadline) {
		if err := tools.SQL().GetContext(ctx, &n, `SELECT COUNT(*) FROM search_recent`); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n != 1 {
		t.Fatal("parley serve built no recent search index within 20 s")
	}
	var indexes int
	if err := tools.SQL().GetContext(ctx, &indexes, `SELECT COUNT(*) FROM pg_indexes
WHERE schemaname = current_schema() AND indexname LIKE 'conversations\_search\_recent\_%'`); err != nil {
		t.Fatal(err)
	}
	if indexes != 1 {
		t.Errorf("%d recent search indexes, want 1", indexes)
	}

	// A search through the API finds what the store finds.
	want, _, err := db.FindConversations(ctx, conversations.ConversationFilter{AccountID: acc.ID, Query: "hopper", Page: conversations.Page{Limit: 100}})
	if err != nil || len(want) == 0 {
		t.Fatalf("the store finds %d conversations for q=hopper: %v", len(want), err)
	}
	found := e.must(200, e.call(secret.Secret, "GET", "/v1/conversations?q=hopper&limit=100", nil))
	if got := len(found["data"].([]any)); got != len(want) {
		t.Errorf("q=hopper found %d conversations through the API, the store %d", got, len(want))
	}
}
