package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jmoiron/sqlx"
)

// preparedStmts keeps statements prepared once for the life of the pool.
// A write transaction runs a dozen short statements whose parsing and
// planning cost as much as running them (SQLite spent a third of ingest's
// CPU parsing; PostgreSQL planned a paced text's hold check in 0.16 ms and
// ran it in 0.03; see docs/PERFORMANCE.md). database/sql prepares each on
// a connection the first time it runs there, and binds it to a transaction
// without preparing it again.
//
// The cache is bounded and least recently used statements are closed: a
// query built from unbounded shapes cannot pile up statements in the
// server's sessions. Statements with many parameters (batches of rows,
// whose shapes vary with the batch) are not cached at all, but for
// SQLite's VALUES lists, whose lengths are a few (expandBatch). Reads
// outside transactions (lists, search) are planned per call, for their
// parameters.
//
// No lock of the cache is held across a call to the database: closing a
// statement waits for each connection it was prepared on, one of which
// may be running a statement that waits, in the database, for a
// transaction whose goroutine waits for the cache. An evicted statement
// is closed by its last user instead, in the background.
type preparedStmts struct {
	mu sync.Mutex
	m  *lru.Cache[string, *preparedStmt]
	// preparing holds the queries being prepared in the background;
	// unpreparable those the database refused to prepare (not asked
	// again), failures counts them, to bound it.
	preparing    sync.Map
	unpreparable sync.Map
	failures     atomic.Int64
	closed       bool
	// background counts the preparations running, which close waits
	// for: a connection left open past Close keeps the database's files
	// busy. stop cancels them.
	background sync.WaitGroup
	stop       context.Context
	cancel     context.CancelFunc
}

// preparedStmt is a kept statement and who is using it.
type preparedStmt struct {
	stmt    *sqlx.Stmt
	users   atomic.Int32
	evicted atomic.Bool
	close   sync.Once
}

const (
	// maxPrepared bounds the statements kept: PostgreSQL's hot paths use
	// a few dozen, SQLite's about 140 with their VALUES lists' lengths (a
	// campaign's dispatch kept 138, 103 of them lists).
	maxPrepared = 512
	// maxPreparedArgs: a statement with more parameters is a batch whose
	// shape is rarely seen twice; it is run unprepared, unless it is one
	// of a VALUES list's lengths (valuesBucketMark).
	maxPreparedArgs = 64
)

// withPrepared runs fn with query, rebound, as a statement prepared once,
// preparing it now if it is not kept yet (outside transactions only: see
// preparedIn).
func (db *DB) withPrepared(ctx context.Context, query string, fn func(*sqlx.Stmt) error) error {
	ps, ok := db.stmts.acquire(query)
	if !ok {
		var err error
		if ps, err = db.prepare(ctx, query, db.rebind(query)); err != nil {
			return err
		}
	}
	defer db.stmts.release(ps)
	return fn(ps.stmt)
}

// preparedIn returns query (rebound) prepared once and bound to tx, or
// nil when it is not to be cached or not prepared yet: it then runs
// unprepared, and is prepared on another connection meanwhile. The
// transaction never waits for a second connection itself: with every
// connection held by a transaction, each would wait for the others.
func (db *DB) preparedIn(ctx context.Context, tx *sqlx.Tx, query string, nargs int) *sqlx.Stmt {
	// A statement without parameters is a utility (a lock, a pragma) or a
	// script, which PostgreSQL does not prepare.
	if nargs == 0 || (nargs > maxPreparedArgs && !strings.Contains(query, valuesBucketMark)) {
		return nil
	}
	ps, ok := db.stmts.acquire(query)
	if !ok {
		db.stmts.prepareLater(db, query)
		return nil
	}
	defer db.stmts.release(ps)
	// Prepared on tx's connection now if it was not there yet; the bound
	// statement keeps its parent open until the transaction ends.
	return tx.StmtxContext(ctx, ps.stmt)
}

// acquire finds query's statement and counts a user of it.
func (p *preparedStmts) acquire(query string) (*preparedStmt, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		return nil, false
	}
	ps, ok := p.m.Get(query)
	if ok {
		ps.users.Add(1)
	}
	return ps, ok
}

// release ends a use; the last user of an evicted statement closes it.
func (p *preparedStmts) release(ps *preparedStmt) {
	if ps.users.Add(-1) == 0 && ps.evicted.Load() {
		ps.closeLater()
	}
}

// evict is called, with mu held, for a statement leaving the cache.
func (ps *preparedStmt) evict() {
	ps.evicted.Store(true)
	if ps.users.Load() == 0 {
		ps.closeLater()
	}
}

func (ps *preparedStmt) closeLater() {
	ps.close.Do(func() { go ps.stmt.Close() })
}

// prepare prepares text and keeps it as query's, unless another goroutine
// did first. The statement returned is acquired: release it.
func (db *DB) prepare(ctx context.Context, query, text string) (*preparedStmt, error) {
	s, err := db.db.PreparexContext(ctx, text)
	if err != nil {
		return nil, err
	}
	ps := &preparedStmt{stmt: s}
	ps.users.Add(1)
	p := &db.stmts
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		ps.evict()
		return ps, nil
	}
	if p.m == nil {
		p.m, _ = lru.NewWithEvict(maxPrepared, func(_ string, ps *preparedStmt) { ps.evict() })
	}
	if kept, ok := p.m.Get(query); ok {
		ps.evict()
		p.release(ps)
		kept.users.Add(1)
		return kept, nil
	}
	p.m.Add(query, ps)
	return ps, nil
}

// prepareLater prepares query in the background, once however many
// transactions ask meanwhile.
func (p *preparedStmts) prepareLater(db *DB, query string) {
	if _, failed := p.unpreparable.Load(query); failed {
		return
	}
	if _, loaded := p.preparing.LoadOrStore(query, true); loaded {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.preparing.Delete(query)
		return
	}
	if p.stop == nil {
		p.stop, p.cancel = context.WithCancel(context.Background())
	}
	stop := p.stop
	p.background.Add(1)
	go func() {
		defer p.background.Done()
		defer p.preparing.Delete(query)
		ctx, cancel := context.WithTimeout(stop, 10*time.Second)
		defer cancel()
		ps, err := db.prepare(ctx, query, query)
		if err != nil {
			if ctx.Err() == nil && p.failures.Add(1) <= maxPrepared {
				p.unpreparable.Store(query, true)
			}
			return
		}
		p.release(ps)
	}()
}

// close stops the background preparations and closes the prepared
// statements.
func (p *preparedStmts) close() {
	p.mu.Lock()
	p.closed = true
	if p.cancel != nil {
		p.cancel()
	}
	p.mu.Unlock()
	p.background.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m != nil {
		p.m.Purge()
	}
}

// The statements a transaction runs go through the cache: these shadow
// sqlx.Tx's methods, and sqlx's package functions given a *Tx call them.

// ExecContext runs a statement that returns no rows.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := tx.stmt(ctx, query, len(args)); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := tx.stmt(ctx, query, len(args)); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, query, args...)
}

// QueryxContext runs a query whose rows scan into structs.
func (tx *Tx) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	if s := tx.stmt(ctx, query, len(args)); s != nil {
		return s.QueryxContext(ctx, args...)
	}
	return tx.Tx.QueryxContext(ctx, query, args...)
}

// QueryRowxContext runs a query of one row.
func (tx *Tx) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	if s := tx.stmt(ctx, query, len(args)); s != nil {
		return s.QueryRowxContext(ctx, args...)
	}
	return tx.Tx.QueryRowxContext(ctx, query, args...)
}

// QueryRowContext runs a query of one row.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := tx.stmt(ctx, query, len(args)); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, query, args...)
}

// GetContext scans one row into dest.
func (tx *Tx) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.GetContext(ctx, tx, dest, query, args...)
}

// SelectContext scans rows into dest.
func (tx *Tx) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, tx, dest, query, args...)
}

// stmt is called once for every statement the transaction runs.
func (tx *Tx) stmt(ctx context.Context, query string, nargs int) *sqlx.Stmt {
	if tx.db == nil {
		return nil
	}
	tx.db.txStatements.Add(1)
	return tx.db.preparedIn(ctx, tx.Tx, query, nargs)
}

// TxStatements reports how many statements transactions have run, each a
// round trip to the database beside their BEGIN and COMMIT.
func (db *DB) TxStatements() int64 { return db.txStatements.Load() }
