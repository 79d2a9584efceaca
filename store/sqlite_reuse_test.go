package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"path/filepath"
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
	if n := timesReprepared(t, batch, batchRuns(5)); n != 0 {
		t.Errorf("a batch statement run with 1 to 5 rows was prepared again %d times, want 0", n)
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
// with each of runs' parameters (text or int64) and returns how many
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
	db, err := openSQLite(context.Background(), filepath.Join(t.TempDir(), "pool.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
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
