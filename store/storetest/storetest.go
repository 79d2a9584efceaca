// Package storetest opens migrated Parley databases for tests: a fresh
// SQLite file per test, and a fresh PostgreSQL schema per test inside one
// throwaway database per test package.
//
// A test package that uses PostgreSQL calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { storetest.Main(m) }
//
// The server is PARLEY_TEST_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable). When it is
// unreachable the PostgreSQL variants are skipped loudly, except with
// CI=true, where that is a failure.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/lib/pq" // the maintenance connection

	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/devdb"
)

// Dialects are the databases every store test runs on.
var Dialects = []string{"sqlite", "postgres"}

// DefaultPostgresURL is the server used when PARLEY_TEST_POSTGRES_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// pg is the package's throwaway PostgreSQL database, set up by Main.
var pg struct {
	ready     bool   // Main ran
	dbURL     string // the throwaway database; "" when unavailable
	unusable  string // why PostgreSQL cannot be used, "" when it can
	schemaSeq atomic.Int64
}

// migrateMu serialises PostgreSQL migrations of this process: goose takes
// one server-wide advisory lock and polls for it every 5 s, so parallel
// tests would otherwise wait on each other in 5 s steps.
var migrateMu sync.Mutex

// Main creates the package's throwaway PostgreSQL database, runs the
// tests and drops the database. It does not return.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse() // for testing.Verbose in banner
	cleanup := setUpPostgres()
	code := m.Run()
	cleanup()
	return code
}

func setUpPostgres() (cleanup func()) {
	pg.ready = true
	base := os.Getenv("PARLEY_TEST_POSTGRES_URL")
	if base == "" {
		base = DefaultPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sql.Open("postgres", base)
	if err == nil {
		err = admin.PingContext(ctx)
	}
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		pg.unusable = fmt.Sprintf("PostgreSQL at %s is unreachable: %v", redact(base), err)
		banner(pg.unusable)
		return func() {}
	}
	name := "parley_test_" + packageName() + "_" + randomHex(4)
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		admin.Close()
		pg.unusable = fmt.Sprintf("cannot create test database %s: %v", name, err)
		banner(pg.unusable)
		return func() {}
	}
	u, _ := url.Parse(base) // it opened, so it parses
	u.Path = "/" + name
	pg.dbURL = u.String()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE ends connections a failed test left open.
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			fmt.Fprintf(os.Stderr, "storetest: drop test database %s: %v\n", name, err)
		}
		admin.Close()
	}
}

// banner prints once, loudly, why the PostgreSQL variants will not run.
// go test hides a passing package's output unless -v is given, so outside
// -v the banner also goes straight to the terminal when there is one.
func banner(why string) {
	line := strings.Repeat("!", 78)
	verdict := "PostgreSQL store tests are SKIPPED. Start PostgreSQL or set PARLEY_TEST_POSTGRES_URL."
	if inCI() {
		verdict = "CI=true: every PostgreSQL store test will FAIL."
	}
	msg := fmt.Sprintf("%s\n!!! storetest (%s): %s\n!!! %s\n%s\n", line, packageName(), why, verdict, line)
	fmt.Fprint(os.Stderr, msg)
	if !testing.Verbose() {
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			fmt.Fprint(tty, msg)
			tty.Close()
		}
	}
}

func inCI() bool { return os.Getenv("CI") == "true" }

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// packageName names the database after the test's package directory.
func packageName() string {
	wd, err := os.Getwd()
	if err != nil {
		return "pkg"
	}
	name := unsafeName.ReplaceAllString(strings.ToLower(filepath.Base(wd)), "_")
	if len(name) > 30 {
		name = name[:30]
	}
	return name
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// MustOpen returns a migrated, empty database of the dialect ("sqlite" or
// "postgres") that only this test uses, closed when the test ends.
func MustOpen(tb testing.TB, dialect string) *store.DB {
	tb.Helper()
	db := MustOpenEmpty(tb, dialect)
	if dialect == "postgres" {
		migrateMu.Lock()
		defer migrateMu.Unlock()
	}
	if _, err := db.Migrate(context.Background()); err != nil {
		tb.Fatalf("storetest: migrate %s: %v", dialect, err)
	}
	return db
}

// MustOpenEmpty is MustOpen without the migrations: a database with no
// tables at all.
func MustOpenEmpty(tb testing.TB, dialect string) *store.DB {
	tb.Helper()
	var rawURL string
	switch dialect {
	case "sqlite":
		rawURL = "sqlite://" + filepath.Join(tb.TempDir(), "parley.db")
	case "postgres":
		rawURL = postgresSchemaURL(tb)
	default:
		tb.Fatalf("storetest: unknown dialect %q", dialect)
	}
	db, err := store.Open(context.Background(), rawURL)
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	urls.Store(db, rawURL)
	tb.Cleanup(func() {
		urls.Delete(db)
		db.Close()
	})
	return db
}

// urls holds the URL of each database MustOpenEmpty opened, for DevDB.
var urls sync.Map // *store.DB → string

// DevDB opens the measuring tools' connection (store/devdb) to a database
// MustOpen or MustOpenEmpty returned, closed when the test ends.
func DevDB(tb testing.TB, db *store.DB) *devdb.DB {
	tb.Helper()
	rawURL, ok := urls.Load(db)
	if !ok {
		tb.Fatal("storetest: DevDB wants a database storetest opened")
	}
	tools, err := devdb.Open(context.Background(), rawURL.(string))
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	tb.Cleanup(func() { tools.Close() })
	return tools
}

// postgresSchemaURL creates a schema of its own for the test and returns
// a URL whose search_path is that schema.
func postgresSchemaURL(tb testing.TB) string {
	tb.Helper()
	switch {
	case !pg.ready:
		tb.Fatal("storetest: PostgreSQL needs the package's TestMain to call storetest.Main(m)")
	case pg.unusable != "" && inCI():
		tb.Fatalf("storetest: CI=true and %s", pg.unusable)
	case pg.unusable != "":
		tb.Skipf("\n%s\n!!! SKIPPED: %s\n%s", strings.Repeat("!", 78), pg.unusable, strings.Repeat("!", 78))
	}
	schema := fmt.Sprintf("t%d_%s", pg.schemaSeq.Add(1), randomHex(3))
	db, err := sql.Open("postgres", pg.dbURL)
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), `CREATE SCHEMA `+schema); err != nil {
		tb.Fatalf("storetest: create schema: %v", err)
	}
	u, _ := url.Parse(pg.dbURL)
	q := u.Query()
	q.Set("options", "-csearch_path="+schema)
	// Test packages run side by side and tests in parallel, each with its
	// own pool: keep every pool small so together they stay well under
	// the server's max_connections.
	q.Set("parley_max_conns", "10")
	u.RawQuery = q.Encode()
	return u.String()
}

// ForEachDB runs fn as the parallel subtests "sqlite" and "postgres", each
// with a migrated database of its own.
func ForEachDB(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, MustOpen(t, d))
		})
	}
}
