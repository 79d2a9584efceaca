package store

import (
	"context"
	"database/sql"
	"sync"
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
// whose shapes vary with the batch) are not cached at all. Reads outside
// transactions (lists, search) are planned per call, for their parameters.
type preparedStmts struct {
	// mu is held for reading while a statement is bound to a
	// transaction, and for writing while one is added (which may close the
	// least recently used): a statement is never closed between its lookup
	// and its binding.
	mu sync.RWMutex
	m  *lru.Cache[string, *sqlx.Stmt]
	// preparing holds the queries being prepared in the background.
	preparing sync.Map
	closed    bool
}

const (
	// maxPrepared bounds the statements kept: the store's hot paths use a
	// few dozen, well within it.
	maxPrepared = 256
	// maxPreparedArgs: a statement with more parameters is a batch whose
	// shape is rarely seen twice; it is run unprepared.
	maxPreparedArgs = 64
)

// prepared returns query, rebound, as a statement prepared once.
func (db *DB) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	p := &db.stmts
	p.mu.RLock()
	s, ok := p.get(query)
	p.mu.RUnlock()
	if ok {
		return s, nil
	}
	return db.prepare(ctx, query, db.rebind(query))
}

// prepare prepares text and keeps it as query's, unless another goroutine
// did first.
func (db *DB) prepare(ctx context.Context, query, text string) (*sqlx.Stmt, error) {
	s, err := db.db.PreparexContext(ctx, text)
	if err != nil {
		return nil, err
	}
	p := &db.stmts
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = s.Close()
		return nil, sql.ErrConnDone
	}
	if p.m == nil {
		p.m, _ = lru.NewWithEvict(maxPrepared, func(_ string, s *sqlx.Stmt) { _ = s.Close() })
	}
	if kept, ok := p.m.Get(query); ok {
		_ = s.Close()
		return kept, nil
	}
	p.m.Add(query, s)
	return s, nil
}

func (p *preparedStmts) get(query string) (*sqlx.Stmt, bool) {
	if p.m == nil {
		return nil, false
	}
	return p.m.Get(query)
}

// preparedIn returns query (rebound) prepared once and bound to tx, or
// nil when it is not to be cached or not prepared yet: it then runs
// unprepared, and is prepared on another connection meanwhile. The
// transaction never waits for a second connection itself: with every
// connection held by a transaction, each would wait for the others.
func (db *DB) preparedIn(ctx context.Context, tx *sqlx.Tx, query string, nargs int) *sqlx.Stmt {
	if nargs > maxPreparedArgs {
		return nil
	}
	p := &db.stmts
	p.mu.RLock()
	defer p.mu.RUnlock()
	if s, ok := p.get(query); ok {
		// Prepared on tx's connection now if it was not there yet.
		return tx.StmtxContext(ctx, s)
	}
	p.prepareLater(db, query)
	return nil
}

// prepareLater prepares query in the background, once however many
// transactions ask meanwhile. Called with mu held for reading.
func (p *preparedStmts) prepareLater(db *DB, query string) {
	if _, loaded := p.preparing.LoadOrStore(query, true); loaded {
		return
	}
	go func() {
		defer p.preparing.Delete(query)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = db.prepare(ctx, query, query)
	}()
}

// close closes the prepared statements.
func (p *preparedStmts) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
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

func (tx *Tx) stmt(ctx context.Context, query string, nargs int) *sqlx.Stmt {
	if tx.db == nil {
		return nil
	}
	return tx.db.preparedIn(ctx, tx.Tx, query, nargs)
}
