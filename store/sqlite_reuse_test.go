package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite plans a LIMIT with the value bound to a bare parameter and so
// prepares the statement again whenever that value changes: with batches
// of every size, each batch statement was parsed and planned again on
// nearly every run (5,630 times in a 10,000-text campaign). The driver
// does not show statements' counters, so these tests prepare the store's
// statements on a connection of their own and read SQLite's count of
// re-preparations.

func TestSQLiteBatchStatementsArePreparedOnce(t *testing.T) {
	t.Parallel()
	batch := `WITH ` + sqliteDialect.batchRows("v", "n INTEGER") + ` SELECT n FROM v`
	var text string
	var runs [][]any
	for n := 5; n <= 8; n++ { // the sizes one VALUES list holds
		rows := make([][]any, n)
		for i := range rows {
			rows[i] = []any{i}
		}
		st := batchStatement(batch, rows)
		if st.err != nil || (text != "" && st.query != text) {
			t.Fatalf("batches of 5 to 8 rows are not one statement (%v):\n%s\n%s", st.err, text, st.query)
		}
		text, runs = st.query, append(runs, st.args)
	}
	if n := timesReprepared(t, text, runs); n != 0 {
		t.Errorf("a batch statement run with 5 to 8 rows was prepared again %d times, want 0", n)
	}
	varying := `SELECT value FROM json_each(?) LIMIT ` + sqliteDialect.varyingLimit()
	if n := timesReprepared(t, varying, batchRuns(5)); n != 0 {
		t.Errorf("a LIMIT of varyingLimit run with 5 values was prepared again %d times, want 0", n)
	}
	// The count itself: a bare parameter is prepared again.
	if n := timesReprepared(t, `SELECT value FROM json_each(?) LIMIT ?`, batchRuns(5)); n < 4 {
		t.Errorf("a bare LIMIT parameter run with 5 values was prepared again %d times; the count does not work", n)
	}
}

// TestSQLiteBatchesAreTheOuterLoop: SQLite plans a batch's VALUES list
// as the rows it holds, and a lookup by key as a plain join was planned
// inside out at 512 rows: the account's every phone scanned, each compared
// with the whole batch. Each keyed statement, written for 512 rows, must
// read the batch first and look each of its rows up by index, also with
// statistics taken while the tables were empty (as `parley dev seed`
// leaves a database's messages and sends: receipts then scanned every
// text's carrier id).
func TestSQLiteBatchesAreTheOuterLoop(t *testing.T) {
	t.Parallel()
	db := openSQLiteFile(t, "plans.db")
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.Exec(`ANALYZE`); err != nil {
		t.Fatal(err)
	}
	for what, q := range keyedStatements(sqliteDialect) {
		at := strings.Index(q, valuesMarker)
		end := at + strings.Index(q[at:], "*/")
		rows := make([][]any, maxValuesRows)
		for i := range rows {
			rows[i] = make([]any, len(strings.Fields(q[at+len(valuesMarker):end])))
		}
		st := batchStatement(q, rows)
		for strings.Count(st.query, "?") > len(st.args) {
			st.args = append(st.args, nil) // the parameters after the batch
		}
		var plan []planLine
		if err := db.db.SelectContext(context.Background(), &plan, "EXPLAIN QUERY PLAN "+st.query, st.args...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		var lines []string
		batchRead := false
		fromBatch := batchSubqueries(plan)
		for i, p := range plan {
			lines = append(lines, p.Detail)
			if strings.HasPrefix(p.Detail, "SCAN") && strings.Contains(p.Detail, "VALUES CLAUSE") {
				batchRead = true
			}
			// A search of a table before the batch is read is a loop
			// around it, unless the batch is its IN list.
			inList := i+1 < len(plan) && strings.HasPrefix(plan[i+1].Detail, "LIST SUBQUERY")
			if strings.HasPrefix(p.Detail, "SEARCH") && !batchRead && !inList ||
				strings.HasPrefix(p.Detail, "SCAN") && !strings.Contains(p.Detail, "VALUES") && !strings.Contains(p.Detail, "CONSTANT ROWS") &&
					!fromBatch[strings.TrimPrefix(p.Detail, "SCAN ")] {
				t.Errorf("%s: the batch is not the outer loop:\n%s", what, strings.Join(lines, "\n"))
				break
			}
		}
	}
}

// planLine is a line of SQLite's EXPLAIN QUERY PLAN.
type planLine struct {
	ID, Parent, NotUsed int
	Detail              string
}

// batchSubqueries names the subqueries of a plan, materialized or run as
// co-routines, that read the batch: a VALUES scan below them, or a scan
// of another such subquery. Scanning one is reading the batch; its own
// lines are checked as they come.
func batchSubqueries(plan []planLine) map[string]bool {
	names := map[int]string{} // line id → the subquery it starts
	parent := map[int]int{}
	for _, p := range plan {
		parent[p.ID] = p.Parent
		for _, prefix := range []string{"MATERIALIZE ", "CO-ROUTINE "} {
			if name, ok := strings.CutPrefix(p.Detail, prefix); ok {
				names[p.ID] = name
			}
		}
	}
	batch := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, p := range plan {
			scanned, _ := strings.CutPrefix(p.Detail, "SCAN ")
			if !strings.Contains(p.Detail, "VALUES CLAUSE") && !batch[scanned] {
				continue
			}
			for id := p.Parent; id != 0; id = parent[id] {
				if name, ok := names[id]; ok && !batch[name] {
					batch[name], changed = true, true
				}
			}
		}
	}
	return batch
}

// batchRuns are the parameters of n runs of a batch of 1 to n rows.
func batchRuns(n int) [][]any {
	runs := make([][]any, n)
	for i := range runs {
		rows := make([]string, i+1)
		for k := range rows {
			rows[k] = fmt.Sprintf("[%d]", k)
		}
		runs[i] = []any{"[" + strings.Join(rows, ",") + "]", int64(i + 1)}
	}
	return runs
}

// timesReprepared prepares query once on an in-memory database, runs it
// with each of runs' parameters (text, integers or nil) and returns how many
// times SQLite prepared it again.
func timesReprepared(t *testing.T, query string, runs [][]any) int {
	t.Helper()
	tls := libc.NewTLS()
	defer tls.Close()
	check := func(what string, rc int32) {
		t.Helper()
		if rc != sqlite3.SQLITE_OK && rc != sqlite3.SQLITE_ROW && rc != sqlite3.SQLITE_DONE {
			t.Fatalf("%s: SQLite result %d", what, rc)
		}
	}
	// SQLite writes the handles it makes here, in its own memory.
	const size = int(unsafe.Sizeof(uintptr(0)))
	ptr := tls.Alloc(size)
	defer tls.Free(size)
	handle := func() uintptr {
		b := libc.GoBytes(ptr, size)
		if size == 4 {
			return uintptr(binary.NativeEndian.Uint32(b))
		}
		return uintptr(binary.NativeEndian.Uint64(b))
	}
	name := cString(t, ":memory:")
	defer libc.Xfree(tls, name)
	check("open", sqlite3.Xsqlite3_open_v2(tls, name, ptr, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_CREATE, 0))
	db := handle()
	defer sqlite3.Xsqlite3_close(tls, db)
	sql := cString(t, query)
	defer libc.Xfree(tls, sql)
	check("prepare", sqlite3.Xsqlite3_prepare_v2(tls, db, sql, -1, ptr, 0))
	stmt := handle()
	defer sqlite3.Xsqlite3_finalize(tls, stmt)
	for _, args := range runs {
		for i, a := range args {
			switch v := a.(type) {
			case string:
				s := cString(t, v)
				check("bind", sqlite3.Xsqlite3_bind_text(tls, stmt, int32(i+1), s, -1, sqlite3.SQLITE_TRANSIENT))
				libc.Xfree(tls, s)
			case int64:
				check("bind", sqlite3.Xsqlite3_bind_int64(tls, stmt, int32(i+1), v))
			case int:
				check("bind", sqlite3.Xsqlite3_bind_int64(tls, stmt, int32(i+1), int64(v)))
			case nil:
				check("bind", sqlite3.Xsqlite3_bind_null(tls, stmt, int32(i+1)))
			}
		}
		for {
			rc := sqlite3.Xsqlite3_step(tls, stmt)
			check("step", rc)
			if rc == sqlite3.SQLITE_DONE {
				break
			}
		}
		check("reset", sqlite3.Xsqlite3_reset(tls, stmt))
	}
	return int(sqlite3.Xsqlite3_stmt_status(tls, stmt, sqlite3.SQLITE_STMTSTATUS_REPREPARE, 0))
}

func cString(t *testing.T, s string) uintptr {
	t.Helper()
	p, err := libc.CString(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A SQLite pool keeps the connections a busy server uses between uses:
// one opened again reads the schema and prepares every statement anew.
func TestSQLiteKeepsItsConnections(t *testing.T) {
	t.Parallel()
	db := openSQLiteFile(t, "pool.db")
	var err error
	const busy = 12 // readers at once, as under a closed loop of 16 clients
	for round := range 3 {
		conns := make([]*sql.Conn, busy)
		for i := range conns {
			if conns[i], err = db.db.Conn(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range conns {
			c.Close()
		}
		if s := db.PoolStats(); s.MaxIdleClosed != 0 || s.OpenConnections != busy {
			t.Fatalf("round %d: %d connections open, %d closed for want of room among the idle; want %d open, none closed",
				round, s.OpenConnections, s.MaxIdleClosed, busy)
		}
	}
}

// openSQLiteFile opens a SQLite database of its own, closed at the test's end.
func openSQLiteFile(t *testing.T, name string) *DB {
	t.Helper()
	db, err := openSQLite(context.Background(), filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestSQLiteNewThreadsAreWrittenOnce: a new conversation comes with its
// waiting_since, and SQLite's trigger (which gave it one in a second
// write of every new row) leaves it as inserted (migration 00046).
func TestSQLiteNewThreadsAreWrittenOnce(t *testing.T) {
	t.Parallel()
	db := openSQLiteFile(t, "threads.db")
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	const at = 1_790_000_000_000
	err := db.inTx(context.Background(), func(tx *Tx) error {
		for _, q := range []string{
			`INSERT INTO accounts (id, name, settings, created_at, updated_at) VALUES (1, 'a', '{}', 0, 0)`,
			`INSERT INTO inboxes (id, account_id, name, kind, created_at) VALUES (1, 1, 'i', 'sms', 0)`,
			`INSERT INTO channels (id, account_id, inbox_id, carrier, carrier_account_id, auth_token, created_at) VALUES (1, 1, 1, 'twilio', 'AC', 't', 0)`,
			`INSERT INTO contacts (id, account_id, created_at, updated_at) VALUES (1, 1, 0, 0), (2, 1, 0, 0), (3, 1, 0, 0), (4, 1, 0, 0)`,
		} {
			if _, err := tx.ExecContext(context.Background(), q); err != nil {
				return err
			}
		}
		// Rows written by one insert of n new threads.
		written := func(first, n int) int {
			var rows [][]any
			for i := first; i < first+n; i++ {
				phone := fmt.Sprintf("+1628555000%d", i)
				rows = append(rows, []any{1, 1, 1, i, phone, reversedDigits(phone), "+14155550100", "new", nil, at, at, "hi"})
			}
			before := totalChanges(t, tx)
			if err := execBatch(context.Background(), tx, insertThreadsQuery(sqliteDialect, false), rows); err != nil {
				t.Fatal(err)
			}
			return totalChanges(t, tx) - before
		}
		written(1, 1) // the statement's first run on a connection counts one write more
		if n := written(2, 3); n != 3 {
			t.Errorf("inserting 3 new conversations wrote %d rows, want 3", n)
		}
		var waiting []int64
		if err := tx.SelectContext(context.Background(), &waiting, `SELECT waiting_since FROM conversations ORDER BY id`); err != nil {
			return err
		}
		if !slices.Equal(waiting, []int64{at, at, at, at}) {
			t.Errorf("new conversations wait since %v, want their creation (%d)", waiting, int64(at))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// totalChanges is SQLite's count of rows written on tx's connection,
// triggers' writes included.
func totalChanges(t *testing.T, tx *Tx) int {
	t.Helper()
	var n int
	if err := tx.GetContext(context.Background(), &n, `SELECT total_changes()`); err != nil {
		t.Fatal(err)
	}
	return n
}
