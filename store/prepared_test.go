package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/store"
)

// TestWriteStatementsArePreparedOnce: the statements of an inbound text's
// transaction are prepared once for the pool and kept, and none with a
// batch's many parameters is. With every connection of the pool held by a
// transaction, a statement not prepared yet runs unprepared instead of
// waiting for a connection to prepare it on (each transaction would wait
// for the others).
func TestWriteStatementsArePreparedOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, sidA, bizA)
		db.SQL().SetMaxOpenConns(2)
		before := len(db.PreparedKept())
		receiveAll := func(round int) {
			t.Helper()
			var wg sync.WaitGroup
			errs := make(chan error, 12)
			for i := range 12 {
				wg.Go(func() {
					_, err := tn.tryReceive(text{from: fmt.Sprintf("+1415555%02d%02d", round, i), body: "hello"})
					errs <- err
				})
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("12 texts on a pool of 2 connections did not finish in a minute")
			}
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		receiveAll(1)
		kept := db.PreparedKept()
		if len(kept) <= before {
			t.Fatalf("%d statements kept prepared after the texts, %d before: the ingest's were not kept", len(kept), before)
		}
		for _, q := range kept {
			if n := strings.Count(q, "?") + strings.Count(q, "$"); n > 2*64 {
				t.Errorf("a batch statement was kept prepared (%d placeholders): %.80s…", n, q)
			}
		}
		receiveAll(2)
		if db.Dialect() == "postgres" {
			// The server holds them in the connections' sessions: it
			// parses them no more. Each read lands on one of the two
			// connections; the most any of them saw counts.
			onServer := 0
			for range 6 {
				var n int
				if err := db.ScanInTx(ctx, &n, `SELECT COUNT(*) FROM pg_prepared_statements WHERE statement LIKE '%messages%'`); err != nil {
					t.Fatal(err)
				}
				onServer = max(onServer, n)
			}
			if onServer == 0 {
				t.Errorf("no statement on messages prepared in a connection's session after 24 texts, want the ingest's")
			}
		}
		if got := count(t, db, `SELECT COUNT(*) FROM messages WHERE direction = 'inbound'`); got != 24 {
			t.Errorf("%d inbound texts stored, want 24", got)
		}
	})
}

// TestPreparedStatementsAreBounded: past the bound, the least recently
// used statements are closed, while transactions go on using others and
// every answer stays right.
func TestPreparedStatementsAreBounded(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		var wg sync.WaitGroup
		shapes := store.MaxPrepared * 3 / 2
		errs := make(chan error, 4*shapes)
		for w := range 4 {
			wg.Go(func() {
				for i := range shapes {
					k := (i*7 + w*13) % shapes
					// Each shape runs twice: first unprepared, then prepared
					// once its background preparation is done.
					for range 2 {
						var got int
						if err := db.ScanInTx(ctx, &got, fmt.Sprintf("SELECT %d + ?", k), 1); err != nil {
							errs <- err
							return
						}
						if got != k+1 {
							errs <- fmt.Errorf("SELECT %d + 1 answered %d", k, got)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if kept := len(db.PreparedKept()); kept > store.MaxPrepared || kept < store.MaxPrepared*2/5 {
			t.Errorf("%d statements kept after %d shapes, want at most the bound of %d (and most of it used)", kept, shapes, store.MaxPrepared)
		}
	})
}
