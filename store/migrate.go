package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// migrations holds one folder of goose SQL migrations per dialect. Both
// folders carry the same versions: a test keeps them in step.
//
//go:embed migrations
var migrations embed.FS

func (db *DB) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+db.dialect.name())
	if err != nil {
		return nil, err
	}
	gd, opts, err := db.dialect.migrator()
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(gd, db.db.DB, sub, opts...)
}

// SchemaVersions reports the database's schema version and the newest
// version this binary knows.
func (db *DB) SchemaVersions(ctx context.Context) (current, known int64, err error) {
	p, err := db.provider()
	if err != nil {
		return 0, 0, fmt.Errorf("store: migrations: %w", err)
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("store: schema version: %w", err)
	}
	sources := p.ListSources()
	return current, sources[len(sources)-1].Version, nil
}

// Migrate brings the schema up to the newest version this binary knows. It
// refuses a database whose schema is newer: an older binary must not run
// against tables it does not understand.
func (db *DB) Migrate(ctx context.Context) (applied int, err error) {
	current, known, err := db.SchemaVersions(ctx)
	if err != nil {
		return 0, err
	}
	if current > known {
		return 0, fmt.Errorf("store: database schema version %d is newer than this binary's %d: upgrade parley", current, known)
	}
	p, err := db.provider()
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: migrate: %w", err)
	}
	return len(res), nil
}

// CheckSchema reports an error unless the schema is exactly current (readiness).
func (db *DB) CheckSchema(ctx context.Context) error {
	current, known, err := db.SchemaVersions(ctx)
	if err != nil {
		return err
	}
	if current != known {
		return fmt.Errorf("store: schema version %d, binary expects %d", current, known)
	}
	return nil
}
