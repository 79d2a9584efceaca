// Package storetest opens Parley databases for tests: a fresh SQLite file
// per test, and a fresh PostgreSQL database per test (its tables in the
// schema "parley", which the URL's search_path names), dropped when the
// test ends.
//
// A migrated database is a copy of one the process migrated once: the
// first test of a dialect runs every migration into a template (a SQLite
// file whose bytes are kept in memory, a PostgreSQL template database),
// and each test gets a copy of it (the bytes written to a file of its
// own; CREATE DATABASE … TEMPLATE). The copy is what the migrations make,
// in milliseconds instead of seconds per test, and PostgreSQL tests no
// longer queue on goose's migration lock. Unmigrated databases
// (MustOpenEmpty, EmptyURL) have no tables.
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

// pg is the package's PostgreSQL server, set up by Main.
var pg struct {
	ready    bool     // Main ran
	unusable string   // why PostgreSQL cannot be used, "" when it can
	admin    *sql.DB  // the maintenance connection: creates and drops databases
	server   *url.URL // the server's URL, parsed
	// prefix starts the name of every database this process creates:
	// parley_test_<package>_<random>, then _empty and _migrated for the
	// templates and _<n> for each test's.
	prefix string
	seq    atomic.Int64
	// drops are the test databases being dropped in the background.
	drops sync.WaitGroup
	// dropSlot lets one DROP DATABASE run at a time.
	dropSlot chan struct{}
}

// Main finds the PostgreSQL server, runs the tests and drops every
// database they created. It does not return.
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
	// Parallel tests create and drop databases side by side: a few
	// connections serve them, well under the server's max_connections.
	admin.SetMaxOpenConns(4)
	pg.admin = admin
	pg.server, _ = url.Parse(base) // it opened, so it parses
	pg.prefix = "parley_test_" + packageName() + "_" + randomHex(4)
	pg.dropSlot = make(chan struct{}, 1)
	return func() {
		pg.drops.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		// What a test's cleanup did not drop (it never ran), and the templates.
		var names []string
		rows, err := admin.QueryContext(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, pg.prefix+"_")
		if err == nil {
			for rows.Next() {
				var name string
				if rows.Scan(&name) == nil {
					names = append(names, name)
				}
			}
			err = rows.Close()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "storetest: list test databases: %v\n", err)
		}
		for _, name := range names {
			if err := dropDatabase(ctx, name); err != nil {
				fmt.Fprintf(os.Stderr, "storetest: %v\n", err)
			}
		}
		admin.Close()
	}
}

// dropDatabase drops a database this process created. FORCE ends the
// connections a failed test left open.
func dropDatabase(ctx context.Context, name string) error {
	// A template cannot be dropped; a test database is none (a no-op).
	if _, err := pg.admin.ExecContext(ctx, `ALTER DATABASE `+name+` WITH IS_TEMPLATE false`); err != nil {
		return fmt.Errorf("drop test database %s: %w", name, err)
	}
	if _, err := pg.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop test database %s: %w", name, err)
	}
	return nil
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
	return open(tb, dialect, newURL(tb, dialect, true))
}

// MustOpenEmpty is MustOpen without the migrations: a database with no
// tables at all.
func MustOpenEmpty(tb testing.TB, dialect string) *store.DB {
	tb.Helper()
	return open(tb, dialect, newURL(tb, dialect, false))
}

func open(tb testing.TB, dialect, rawURL string) *store.DB {
	tb.Helper()
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

// urls holds the URL of each database MustOpen or MustOpenEmpty opened, for DevDB.
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

// newURL creates a database of the dialect that only this test uses,
// migrated or not, and returns its URL.
func newURL(tb testing.TB, dialect string, migrated bool) string {
	tb.Helper()
	switch dialect {
	case "sqlite":
		return sqliteURL(tb, migrated)
	case "postgres":
		return postgresURL(tb, migrated)
	}
	tb.Fatalf("storetest: unknown dialect %q", dialect)
	return ""
}

// sqliteTemplate is a migrated SQLite database file's bytes.
var sqliteTemplate struct {
	once sync.Once
	data []byte
	err  error
}

// sqliteURL returns a new SQLite file in the test's temporary directory:
// a copy of the migrated template, or no file at all (SQLite creates it).
func sqliteURL(tb testing.TB, migrated bool) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "parley.db")
	if migrated {
		sqliteTemplate.once.Do(func() { sqliteTemplate.data, sqliteTemplate.err = migrateSQLiteTemplate() })
		if sqliteTemplate.err != nil {
			tb.Fatalf("storetest: migrated sqlite template: %v", sqliteTemplate.err)
		}
		if err := os.WriteFile(path, sqliteTemplate.data, 0o644); err != nil {
			tb.Fatalf("storetest: %v", err)
		}
	}
	return "sqlite://" + path
}

// migrateSQLiteTemplate migrates a new SQLite file and returns its bytes.
// Closing the store's last connection checkpoints the write-ahead log into
// the file and removes the log, so the file alone holds every migration.
func migrateSQLiteTemplate() ([]byte, error) {
	dir, err := os.MkdirTemp("", "parley-storetest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "parley.db")
	db, err := store.Open(context.Background(), "sqlite://"+path)
	if err != nil {
		return nil, err
	}
	_, err = db.Migrate(context.Background())
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	for _, suffix := range []string{"-wal", "-journal"} {
		if fi, err := os.Stat(path + suffix); err == nil && fi.Size() > 0 {
			return nil, fmt.Errorf("%s%s holds %d bytes after close: the file alone is not the whole database", path, suffix, fi.Size())
		}
	}
	return os.ReadFile(path)
}

// schema is where a test's tables are: every test database has it, and
// its URL names it in search_path, so that the store's sessions carry the
// URL's own options beside theirs.
const schema = "parley"

// pgTemplates are the PostgreSQL template databases: one with the empty
// schema, one migrated.
var pgTemplates [2]struct {
	once sync.Once
	name string
	err  error
}

// postgresURL creates a database of its own for the test, a copy of the
// migrated or the empty template, dropped when the test ends, and returns
// its URL.
func postgresURL(tb testing.TB, migrated bool) string {
	tb.Helper()
	switch {
	case !pg.ready:
		tb.Fatal("storetest: PostgreSQL needs the package's TestMain to call storetest.Main(m)")
	case pg.unusable != "" && inCI():
		tb.Fatalf("storetest: CI=true and %s", pg.unusable)
	case pg.unusable != "":
		tb.Skipf("\n%s\n!!! SKIPPED: %s\n%s", strings.Repeat("!", 78), pg.unusable, strings.Repeat("!", 78))
	}
	kind := 0
	if migrated {
		kind = 1
	}
	tpl := &pgTemplates[kind]
	tpl.once.Do(func() { tpl.name, tpl.err = postgresTemplate(migrated) })
	if tpl.err != nil {
		tb.Fatalf("storetest: postgres template (migrated: %t): %v", migrated, tpl.err)
	}
	name := fmt.Sprintf("%s_%d", pg.prefix, pg.seq.Add(1))
	// WAL_LOG (PostgreSQL 15's default, said here for clarity) copies the
	// small template block by block; FILE_COPY would checkpoint the whole
	// server twice per test.
	if _, err := pg.admin.ExecContext(context.Background(), `CREATE DATABASE `+name+` TEMPLATE `+tpl.name+` STRATEGY wal_log`); err != nil {
		tb.Fatalf("storetest: create test database: %v", err)
	}
	tb.Cleanup(func() { dropLater(name) })
	// Test packages run side by side and tests in parallel, each with its
	// own pool: keep every pool small so together they stay well under
	// the server's max_connections.
	return databaseURL(name, "parley_max_conns", "10")
}

// databaseURL is the server's URL for the named database, search_path the
// test schema, with the query parameters given as name, value pairs.
func databaseURL(name string, params ...string) string {
	u := *pg.server
	u.Path = "/" + name
	q := u.Query()
	q.Set("options", "-csearch_path="+schema)
	for i := 0; i+1 < len(params); i += 2 {
		q.Set(params[i], params[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// dropLater drops a test's database in the background, one at a time:
// the test's slot goes to the next test at once, and Main waits for the
// drops before it exits.
func dropLater(name string) {
	pg.drops.Add(1)
	go func() {
		defer pg.drops.Done()
		pg.dropSlot <- struct{}{}
		defer func() { <-pg.dropSlot }()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := dropDatabase(ctx, name); err != nil {
			fmt.Fprintf(os.Stderr, "storetest: %v (Main's sweep tries again)\n", err)
		}
	}()
}

// postgresTemplate creates a template database with the test schema,
// migrated or empty, and closes it to connections, so that CREATE
// DATABASE can copy it.
func postgresTemplate(migrated bool) (string, error) {
	ctx := context.Background()
	name := pg.prefix + "_empty"
	if migrated {
		name = pg.prefix + "_migrated"
	}
	if _, err := pg.admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", err
	}
	conn, err := sql.Open("postgres", databaseURL(name))
	if err == nil {
		_, err = conn.ExecContext(ctx, `CREATE SCHEMA `+schema)
		if cerr := conn.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return "", err
	}
	if migrated {
		db, err := store.Open(ctx, databaseURL(name, "parley_max_conns", "2"))
		if err != nil {
			return "", err
		}
		_, err = db.Migrate(ctx)
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", err
		}
	}
	// No session may stay in a template while it is copied: none can
	// connect to it from now on (autovacuum included), and CREATE DATABASE
	// waits for the last backends to exit.
	if _, err := pg.admin.ExecContext(ctx, `ALTER DATABASE `+name+` WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`); err != nil {
		return "", err
	}
	return name, nil
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
