// Package store implements the domain packages' storage interfaces with
// sqlx on two databases: an embedded SQLite file (modernc.org/sqlite, no
// cgo) and PostgreSQL (lib/pq).
//
// Queries are written once with "?" placeholders and rebound for
// PostgreSQL; the few statements that really differ between the two live in
// the dialect type. Every exported method is one transaction; unexported
// helpers take the *Tx. Times are stored as integer Unix milliseconds
// in both dialects.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
)

func init() {
	// modernc registers itself as "sqlite", a name sqlx may not know.
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
	// Only migrations call it (to backfill); the application computes the
	// same value in Go, so the database stays usable from any SQLite tool.
	err := sqlite.RegisterDeterministicScalarFunction("parley_reverse_digits", 1,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			s, _ := args[0].(string)
			return reversedDigits(s), nil
		})
	if err != nil {
		panic(err)
	}
}

// reversedDigits is a phone's digits back to front: a search for a
// number's last digits becomes a prefix search on it.
func reversedDigits(phone string) string {
	out := make([]byte, 0, len(phone))
	for i := len(phone) - 1; i >= 0; i-- {
		if c := phone[i]; c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	return string(out)
}

// DB is an open Parley database.
type DB struct {
	db      *sqlx.DB
	dialect dialect
	// writer runs SQLite's write transactions (see sqliteWriter); nil on
	// PostgreSQL.
	writer *sqliteWriter
	// ingests, sents and statuses batch inbound texts, and the carrier's
	// acceptance of outbound ones and its receipts, into shared
	// transactions (see commitGroup): ingests on PostgreSQL, the other two
	// on both databases; a PostgreSQL URL with parley_group_commit=off
	// turns all three off.
	ingests  *commitGroup[*ingestCall]
	sents    *commitGroup[*sentCall]
	statuses *commitGroup[*statusCall]
	// holdReads batches the hold checks of texts checked one at a time
	// (see Holds), on both databases.
	holdReads *commitGroup[*holdsCall]
	// batchFallbacks counts batches whose shared transaction failed, every
	// text then retried alone (see IngestBatch).
	batchFallbacks atomic.Int64
	// txStatements counts the statements run in transactions, each a
	// round trip (BEGIN and COMMIT aside): what a batch's steps cost in
	// latency, which tests and `parley bench` read (TxStatements).
	txStatements atomic.Int64
	// deadlocks counts the ingests the server aborted to break a cycle of
	// lock waits (see IngestBatch, IngestAlone).
	deadlocks atomic.Int64
	// routes keeps the channels webhooks resolve to, kept in step with
	// other instances by listener on PostgreSQL (see route_cache.go, listen.go).
	routes   routeCache
	listener *listener
	// URL is the database URL without its password, for logs.
	URL string
	// terms keeps how common the search documents' words are
	// (PostgreSQL; see search.go).
	terms reloaded[termStats]
	// recent keeps the cutoff of the recent search index, recentServed
	// counts the lists it served alone (PostgreSQL; see recent_search.go).
	recent       reloaded[recentIndex]
	recentServed atomic.Int64
	// log is where committed events are announced (event_log.go).
	log eventAnnouncer
	// stmts are the statements prepared once (prepared.go).
	stmts preparedStmts
	// analyzed remembers housekeeping's partial ANALYZEs; analyzePace is
	// how often it may analyze a table other than the queues, 0 for the
	// server's autovacuum_naptime (housekeeping.go).
	analyzed    partialAnalyzes
	analyzePace time.Duration
}

// Open connects to the database named by rawURL: "sqlite://PATH" (PATH may
// be relative) or "postgres://…". It does not migrate; see Migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	switch {
	case strings.HasPrefix(rawURL, "sqlite://"):
		return openSQLite(ctx, strings.TrimPrefix(rawURL, "sqlite://"))
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return openPostgres(ctx, rawURL)
	}
	return nil, fmt.Errorf("store: database url %q: want sqlite://PATH or postgres://…", redact(rawURL))
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: sqlite url has no path")
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("store: create sqlite %s: %w", path, err)
	}
	db, err := sqlx.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	// database/sql keeps 2 idle connections unless told: under load the
	// others were closed after each use and opened again, each opening
	// reading the schema and preparing every statement anew.
	db.SetMaxIdleConns(sqliteIdleConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	out := &DB{db: db, dialect: sqliteDialect, URL: "sqlite://" + path, writer: &sqliteWriter{pool: db}}
	// SQLite's one writer takes every transaction in turn, so a batch of
	// acceptances or receipts in one of them, written set-wise, saves
	// the queue as much as the statements.
	out.sents = newCommitGroup(out.markSentBatch)
	out.statuses = newCommitGroup(out.applyStatusBatch)
	out.holdReads = newCommitGroup(out.readHoldsBatch)
	return out, nil
}

// createPrivate creates a new database file readable and writable by
// its owner only: it holds the channels' carrier auth tokens, and SQLite
// would create it, and its -wal and -shm files after it, by the umask
// (usually world-readable). An existing file is left as it is; names
// SQLite reads specially (":memory:", a query) are left to it.
func createPrivate(path string) error {
	if strings.HasPrefix(path, ":") || strings.ContainsAny(path, "?#") {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// sqliteWriter runs SQLite's write transactions one at a time, on one
// connection of the pool kept for them. SQLite has one writer; left to
// its busy handler, waiting writers poll and one can starve while others
// take the lock back to back (a webhook behind a backlog sweep): the
// mutex hands the lock over in turn. On one connection, the writes'
// statements are prepared once, not once on each connection of the pool
// a write happened to take.
type sqliteWriter struct {
	mu   sync.Mutex
	pool *sqlx.DB
	conn *sqlx.Conn // taken from pool at the first write
	// held sums the time transactions held mu, in nanoseconds: how busy
	// the one writer is (WriterBusy).
	held atomic.Int64
}

// begin starts a write transaction, mu held; a connection that went bad
// is replaced once.
func (w *sqliteWriter) begin(ctx context.Context) (*sqlx.Tx, error) {
	for attempt := 0; ; attempt++ {
		if w.conn == nil {
			conn, err := w.pool.Connx(ctx)
			if err != nil {
				return nil, err
			}
			w.conn = conn
		}
		tx, err := w.conn.BeginTxx(ctx, nil)
		if attempt == 0 && (errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn)) {
			w.conn.Close()
			w.conn = nil
			continue
		}
		return tx, err
	}
}

// unlock lets the next transaction write, adding the time since locked
// to what the writer was held.
func (w *sqliteWriter) unlock(locked time.Time) {
	w.held.Add(int64(time.Since(locked)))
	w.mu.Unlock()
}

// WriterBusy is how long SQLite's one writer has been held by
// transactions since the database was opened (zero on PostgreSQL): over
// a run, the share of its time the writer lane was taken.
func (db *DB) WriterBusy() time.Duration {
	if db.writer == nil {
		return 0
	}
	return time.Duration(db.writer.held.Load())
}

// close gives the connection back once the transaction running is done.
func (w *sqliteWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}

// sqliteIdleConns is how many connections a SQLite pool keeps open
// between uses: a running server's readers and its writer.
const sqliteIdleConns = 16

// sqliteDSN is the data source of the SQLite file at path. WAL lets
// readers run beside the writer; _txlock=immediate takes the write lock at
// BEGIN so two writers queue on busy_timeout instead of failing with
// SQLITE_BUSY halfway through a transaction.
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

// DataSource is the database/sql driver and data source name Open
// connects to rawURL with, for tools that keep a connection of their own
// beside the store's (store/devdb): the same SQLite pragmas and the same
// PostgreSQL parameters, Parley's own taken out.
func DataSource(rawURL string) (driver, dsn string, err error) {
	switch {
	case strings.HasPrefix(rawURL, "sqlite://"):
		path := strings.TrimPrefix(rawURL, "sqlite://")
		if path == "" {
			return "", "", errors.New("store: sqlite url has no path")
		}
		return "sqlite", sqliteDSN(path), nil
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		rest, _, err := poolSize(rawURL)
		if err != nil {
			return "", "", err
		}
		if rest, _, err = groupCommitSetting(rest); err != nil {
			return "", "", err
		}
		return "postgres", withSessionDefaults(rest), nil
	}
	return "", "", fmt.Errorf("store: database url %q: want sqlite://PATH or postgres://…", redact(rawURL))
}

// defaultMaxConns is a PostgreSQL pool's size unless the URL's
// parley_max_conns says otherwise. Several instances share the server's
// max_connections (100 by default): size pools so their sum fits, with one
// connection more each that listens for route changes.
const defaultMaxConns = 32

// connectTimeout bounds opening a PostgreSQL connection, handshake
// included, unless the URL's connect_timeout or PGCONNECT_TIMEOUT says.
var connectTimeout = 10 * time.Second

func openPostgres(ctx context.Context, rawURL string) (*DB, error) {
	rawURL, maxConns, err := poolSize(rawURL)
	if err != nil {
		return nil, err
	}
	rawURL, groupCommitOn, err := groupCommitSetting(rawURL)
	if err != nil {
		return nil, err
	}
	db, err := sqlx.Open("postgres", withSessionDefaults(rawURL))
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open postgres %s: %w", redact(rawURL), err)
	}
	out := &DB{db: db, dialect: postgresDialect, URL: redact(rawURL)}
	if groupCommitOn {
		out.ingests = newCommitGroup(out.ingestBatch)
		out.sents = newCommitGroup(out.markSentBatch)
		out.statuses = newCommitGroup(out.applyStatusBatch)
	}
	out.holdReads = newCommitGroup(out.readHoldsBatch)
	out.listener = listen(rawURL, &out.routes, &out.log)
	return out, nil
}

// takeParam reads and removes one of Parley's own URL parameters: lib/pq
// would send an unknown parameter to the server, which refuses it.
func takeParam(rawURL, name string) (rest, value string) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL, ""
	}
	q := u.Query()
	value = q.Get(name)
	if value == "" {
		return rawURL, ""
	}
	q.Del(name)
	u.RawQuery = q.Encode()
	return u.String(), value
}

// poolSize reads parley_max_conns.
func poolSize(rawURL string) (string, int, error) {
	rest, raw := takeParam(rawURL, "parley_max_conns")
	if raw == "" {
		return rest, defaultMaxConns, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("store: parley_max_conns=%q: want a whole number of at least 1", raw)
	}
	return rest, n, nil
}

// groupCommitSetting reads parley_group_commit (on by default; "off" gives
// every inbound text a transaction of its own).
func groupCommitSetting(rawURL string) (string, bool, error) {
	rest, raw := takeParam(rawURL, "parley_group_commit")
	if raw != "" && raw != "on" && raw != "off" {
		return "", false, fmt.Errorf("store: parley_group_commit=%q: want on or off", raw)
	}
	return rest, raw != "off", nil
}

// withSessionDefaults sets what Parley's connections need unless the URL
// says otherwise:
//   - lib/pq's binary_parameters: a statement with parameters takes one
//     round trip to the server instead of two (Parse, Bind and Execute go
//     in one flush), which nearly halves the latency of a multi-statement
//     transaction;
//   - jit off: Parley runs short statements, and while a growing table's
//     statistics lag (a campaign's audience being expanded), their
//     estimated costs pass jit_above_cost and a 1 ms statement spent
//     most of a second compiling itself;
//   - connect_timeout (unless PGCONNECT_TIMEOUT is set): lib/pq waits
//     for ever, and past its context, for a server that takes the
//     connection but never answers it (a hung server, a proxy whose
//     backend is gone), so that parley serve neither started, nor failed,
//     nor heeded SIGTERM, and a request needing a new connection hung.
func withSessionDefaults(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	q := u.Query()
	if q.Get("binary_parameters") == "" {
		q.Set("binary_parameters", "yes")
	}
	if q.Get("connect_timeout") == "" && os.Getenv("PGCONNECT_TIMEOUT") == "" {
		q.Set("connect_timeout", strconv.Itoa(int(connectTimeout/time.Second)))
	}
	if opts := q.Get("options"); !strings.Contains(opts, "jit") {
		q.Set("options", strings.TrimSpace(opts+" -c jit=off"))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// redact removes the passwords from a database URL: the user's, and
// lib/pq's password and sslpassword parameters, which it takes from the
// query as well. A URL that does not parse keeps only its scheme.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		scheme, _, _ := strings.Cut(rawURL, "://")
		return scheme + "://…"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	for _, key := range []string{"password", "sslpassword"} {
		if q.Has(key) {
			q.Set(key, "xxxxx")
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// Dialect names the database: "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect.name() }

// Close closes the database, after the group commit's batches.
func (db *DB) Close() error {
	db.ingests.close()
	db.sents.close()
	db.statuses.close()
	db.holdReads.close()
	if db.listener != nil {
		db.listener.close()
	}
	db.stmts.close()
	if db.writer != nil {
		db.writer.close()
	}
	return db.db.Close()
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.db.PingContext(ctx) }

// PoolStats are the connection pool's figures (open, in use, idle, waits),
// for metrics.
func (db *DB) PoolStats() sql.DBStats { return db.db.Stats() }

// inTx runs fn in a transaction, committing when it returns nil. The
// events fn recorded are written last and announced after the commit.
func (db *DB) inTx(ctx context.Context, fn func(tx *Tx) error) error {
	var stx *sqlx.Tx
	var err error
	if db.writer != nil {
		db.writer.mu.Lock()
		defer db.writer.unlock(time.Now())
		stx, err = db.writer.begin(ctx)
	} else {
		stx, err = db.db.BeginTxx(ctx, nil)
	}
	if err != nil {
		return translate(err)
	}
	tx := &Tx{Tx: stx, db: db}
	anns, err := func() ([]events.Announcement, error) {
		if err := fn(tx); err != nil {
			return nil, err
		}
		return tx.writeEvents(ctx)
	}()
	if err != nil {
		_ = stx.Rollback()
		return translate(err)
	}
	if err := stx.Commit(); err != nil {
		return translate(err)
	}
	db.announce(anns)
	return nil
}

// translate turns driver errors into parley error kinds; other errors pass.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return parley.Errorf(parley.ENOTFOUND, "not found")
	case isUniqueViolation(err):
		return errAlreadyExists()
	case isConstraintViolation(err):
		// A CHECK, NOT NULL or foreign key refused the input: the caller
		// sent something invalid, not the database failing.
		return parley.Errorf(parley.EINVALID, "the values break a rule of the data model")
	}
	return err
}

// errAlreadyExists is a write refused by a unique index.
func errAlreadyExists() error {
	return &parley.Error{Kind: parley.ECONFLICT, Code: "already_exists", Message: "a record with these values already exists"}
}

// ms is a time as stored: Unix milliseconds, UTC.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS is the inverse of ms.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// msPtr stores an optional time.
func msPtr(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	v := ms(*t)
	return &v
}

// fromMSPtr loads an optional time.
func fromMSPtr(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := fromMS(*v)
	return &t
}

// idPtr loads an optional id.
func idPtr(v *int64) *parley.ID {
	if v == nil {
		return nil
	}
	id := parley.ID(*v)
	return &id
}
