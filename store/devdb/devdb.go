// Package devdb is the tooling that measures a Parley database, kept out
// of the production store: synthetic inboxes loaded in bulk (Seed), the
// plans of the statements a conversation list runs (ExplainConversations)
// and the raw reads the measuring commands pick their subjects with. It
// works beside a *store.DB on a connection of its own, opened with the
// store's driver settings (store.DataSource), so that the store needs no
// raw access to its pool and no statements only tools run.
package devdb

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley/store"
)

// DB is the tools' own connection to a Parley database.
type DB struct {
	db *sqlx.DB
	// postgres tells the databases apart where the tools differ: plans,
	// identity sequences and search documents.
	postgres bool
}

// Open connects to the database named by rawURL, as store.Open reads it.
// It does not migrate: open the store first.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	driver, dsn, err := store.DataSource(rawURL)
	if err != nil {
		return nil, err
	}
	db, err := sqlx.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("devdb: open: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("devdb: open: %w", err)
	}
	return &DB{db: db, postgres: driver == "postgres"}, nil
}

// Close closes the connection.
func (d *DB) Close() error { return d.db.Close() }

// SQL is the connection, for tests that read or write rows the store's
// methods do not show (a crash's leftovers, an index's presence).
func (d *DB) SQL() *sqlx.DB { return d.db }

// explainPlan is the prefix that makes a statement show its plan, and the
// column of the plan's rows that describes each step.
func (d *DB) explainPlan() (prefix string, detail int) {
	if d.postgres {
		return "EXPLAIN (ANALYZE, BUFFERS) ", 0
	}
	return "EXPLAIN QUERY PLAN ", 3
}

// moveIDsPast makes the tables' next generated ids follow the rows
// inserted with explicit ids: PostgreSQL's identity sequences are moved
// past the largest; SQLite's next rowid already is one more.
func (d *DB) moveIDsPast(ctx context.Context, tables []string) error {
	if !d.postgres {
		return nil
	}
	for _, t := range tables {
		q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', 'id'), (SELECT MAX(id) FROM %s))`, t, t)
		if _, err := d.db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
