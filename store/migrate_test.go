package store_test

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/storetest"
)

// migrationVersions lists the goose versions of a dialect's folder.
func migrationVersions(t *testing.T, dialect string) []int64 {
	t.Helper()
	entries, err := os.ReadDir("migrations/" + dialect)
	if err != nil {
		t.Fatal(err)
	}
	var versions []int64
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			t.Fatalf("migrations/%s/%s is not a goose migration (NNNNN_name.sql)", dialect, e.Name())
		}
		v, err := strconv.ParseInt(prefix, 10, 64)
		if err != nil {
			t.Fatalf("migrations/%s/%s: version %q: %v", dialect, e.Name(), prefix, err)
		}
		versions = append(versions, v)
	}
	slices.Sort(versions)
	return versions
}

// Both dialects must carry the same versions: a binary that knows version N
// on SQLite knows it on PostgreSQL too.
func TestMigrationFoldersInStep(t *testing.T) {
	sqlite, postgres := migrationVersions(t, "sqlite"), migrationVersions(t, "postgres")
	if len(sqlite) == 0 {
		t.Fatal("no migrations")
	}
	if !slices.Equal(sqlite, postgres) {
		t.Fatalf("migration versions differ: sqlite %v, postgres %v", sqlite, postgres)
	}
}

// TestMigrate is not parallel: it takes goose's PostgreSQL advisory lock
// outside storetest's queue, and would make parallel tests wait on it.
func TestMigrate(t *testing.T) {
	versions := migrationVersions(t, "sqlite")
	newest := versions[len(versions)-1]

	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			t.Run("fresh database reaches the newest version", func(t *testing.T) {
				db := storetest.MustOpenEmpty(t, dialect)
				if err := db.CheckSchema(ctx); err == nil {
					t.Fatal("CheckSchema on an empty database = nil; want an error (not ready)")
				}
				applied, err := db.Migrate(ctx)
				if err != nil {
					t.Fatalf("Migrate: %v", err)
				}
				if applied != len(versions) {
					t.Errorf("Migrate applied %d migrations; want %d", applied, len(versions))
				}
				current, known, err := db.SchemaVersions(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if current != newest || known != newest {
					t.Errorf("SchemaVersions = %d, %d; want %d, %d", current, known, newest, newest)
				}
				if err := db.CheckSchema(ctx); err != nil {
					t.Errorf("CheckSchema after Migrate: %v", err)
				}
				// The schema is usable, not just versioned.
				newTenant(t, db, sidA, bizA).receive(t, text{from: "+14155551234", body: "hello"})
			})

			t.Run("migrating twice changes nothing", func(t *testing.T) {
				db := storetest.MustOpen(t, dialect)
				applied, err := db.Migrate(ctx)
				if err != nil || applied != 0 {
					t.Fatalf("second Migrate = %d, %v; want 0, nil", applied, err)
				}
				if err := db.CheckSchema(ctx); err != nil {
					t.Errorf("CheckSchema: %v", err)
				}
			})

			t.Run("schema newer than the binary is refused", func(t *testing.T) {
				db := storetest.MustOpen(t, dialect)
				exec(t, db, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, TRUE)`)
				applied, err := db.Migrate(ctx)
				if err == nil {
					t.Fatalf("Migrate on a version 9999 schema = %d, nil; want an error", applied)
				}
				if !strings.Contains(err.Error(), "9999") {
					t.Errorf("Migrate error %q does not name the database's version", err)
				}
				if err := db.CheckSchema(ctx); err == nil {
					t.Error("CheckSchema on a version 9999 schema = nil; want an error")
				}
				current, known, err := db.SchemaVersions(ctx)
				if err != nil || current != 9999 || known != newest {
					t.Errorf("SchemaVersions = %d, %d, %v; want 9999, %d", current, known, err, newest)
				}
			})
		})
	}
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	for _, u := range []string{"mysql://root@localhost/parley", "parley.db", "sqlite://"} {
		t.Run(u, func(t *testing.T) {
			if db, err := store.Open(ctx, u); err == nil {
				db.Close()
				t.Fatalf("Open(%q) = nil error", u)
			}
		})
	}
}
