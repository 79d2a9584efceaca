package store

import (
	"sync"
	"sync/atomic"

	"github.com/jmoiron/sqlx"
)

// Queries are written once with "?" placeholders. PostgreSQL wants $1, $2…:
// each query text is rebound once and the result kept, since the texts are
// constants or built from a few shapes (a batch's row count). The cache is
// bounded, so a query built from unbounded shapes is only rebound each time
// past the bound, never grows memory. SQLite takes "?" as it is.
var rebound struct {
	m sync.Map // query → rebound query
	n atomic.Int64
}

// maxRebound bounds the cache: the store has a few hundred query shapes.
const maxRebound = 8192

// rebindFor rewrites q's placeholders for a bind type (sqlx.BindType).
func rebindFor(bindType int, q string) string {
	if bindType == sqlx.QUESTION {
		return q
	}
	if v, ok := rebound.m.Load(q); ok {
		return v.(string)
	}
	out := sqlx.Rebind(bindType, q)
	if rebound.n.Load() < maxRebound {
		if _, loaded := rebound.m.LoadOrStore(q, out); !loaded {
			rebound.n.Add(1)
		}
	}
	return out
}

// Rebind rewrites q's placeholders for the transaction's database.
func (tx *Tx) Rebind(q string) string { return rebindFor(sqlx.BindType(tx.DriverName()), q) }

// rebind rewrites q's placeholders for the database.
func (db *DB) rebind(q string) string { return rebindFor(sqlx.BindType(db.db.DriverName()), q) }
