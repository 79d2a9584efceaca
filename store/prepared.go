package store

import (
	"context"
	"sync"

	"github.com/jmoiron/sqlx"
)

// preparedStmts keeps statements prepared once for the life of the pool,
// for those run so often, and so cheaply, that planning them anew each
// time would cost more than running them (PostgreSQL planned the hold
// check of a paced text in 0.16 ms and ran it in 0.03; see
// docs/PERFORMANCE.md). database/sql prepares each on a connection the
// first time it runs there.
type preparedStmts struct {
	mu sync.Mutex
	m  map[string]*sqlx.Stmt
}

// prepared returns query, rebound, as a statement prepared once.
func (db *DB) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	p := &db.stmts
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.m[query]; ok {
		return s, nil
	}
	s, err := db.db.PreparexContext(ctx, db.rebind(query))
	if err != nil {
		return nil, err
	}
	if p.m == nil {
		p.m = map[string]*sqlx.Stmt{}
	}
	p.m[query] = s
	return s, nil
}

// close closes the prepared statements.
func (p *preparedStmts) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.m {
		_ = s.Close()
	}
	p.m = nil
}
