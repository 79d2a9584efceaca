package store_test

import (
	"os"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/storetest"
)

func TestOperatorTokenPrefixRevealsNothing(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		const chosen = "Sh0rtTk9-but-now-long-enough-for-parley"
		secret, err := conversations.TokenSecretFrom(chosen)
		if err != nil {
			t.Fatal(err)
		}
		acc, admin, err := db.CreateAccount(ctx, "Acme", conversations.NewUser{Email: "ops@example.com", Name: "Ops", Role: conversations.RoleAdmin}, secret, t0)
		if err != nil {
			t.Fatal(err)
		}
		var prefix string
		if err := db.SQL().GetContext(ctx, &prefix, db.SQL().Rebind(`SELECT prefix FROM api_tokens WHERE account_id = ? AND user_id = ?`), acc.ID, admin.ID); err != nil {
			t.Fatal(err)
		}
		wantNoneOf(t, prefix, chosen)
		if err := authenticate(db, chosen, t0); err != nil {
			t.Errorf("the operator's token: %v", err)
		}
	})
}

// wantNoneOf fails when prefix shows any 3 characters of secret in a row.
func wantNoneOf(t testing.TB, prefix, secret string) {
	t.Helper()
	for i := 0; i+3 <= len(secret); i++ {
		if strings.Contains(prefix, secret[i:i+3]) {
			t.Errorf("stored prefix %q reveals %q of the operator's token", prefix, secret[i:i+3])
		}
	}
}

// TestMigrationHidesOperatorTokenPrefixes: rows stored before operator
// tokens got a fingerprint lose the characters they kept of the secret.
func TestMigrationHidesOperatorTokenPrefixes(t *testing.T) {
	versions := migrationVersions(t, "sqlite")
	before := versions[0]
	for _, v := range versions {
		if v < 23 {
			before = v
		}
	}
	generated := conversations.NewTokenSecret()
	old := map[string]string{ // secret: the prefix stored for it then
		"Sh0rtTk9":                 "Sh0rtTk9",
		"e2e-admin-token":          "e2e-admi",
		"prl_0perator-chosen-this": "prl_0per",
		generated.Secret:           generated.Prefix,
	}
	upgradeEachDB(t, before, func(t *testing.T, db *store.DB) {
		exec(t, db, `INSERT INTO users (id, account_id, email, name, role, created_at, updated_at) VALUES (1, 1, 'a@example.com', 'A', 'admin', 0, 0)`)
		for secret, prefix := range old {
			exec(t, db, `INSERT INTO api_tokens (account_id, user_id, prefix, token_hash, created_at) VALUES (1, 1, ?, ?, 0)`,
				prefix, conversations.HashToken(secret))
		}
	}, func(t *testing.T, db *store.DB) {
		for secret := range old {
			var prefix string
			if err := db.SQL().GetContext(ctx, &prefix, db.SQL().Rebind(`SELECT prefix FROM api_tokens WHERE token_hash = ?`), conversations.HashToken(secret)); err != nil {
				t.Fatal(err)
			}
			if secret == generated.Secret {
				if prefix != generated.Prefix {
					t.Errorf("a generated token's prefix became %q; want %q kept", prefix, generated.Prefix)
				}
				continue
			}
			if want := "sha256:" + conversations.HashToken(secret)[:8]; prefix != want {
				t.Errorf("prefix of %q = %q; want the fingerprint %q", secret, prefix, want)
			}
			wantNoneOf(t, strings.TrimPrefix(prefix, "sha256:"), strings.TrimPrefix(secret, "prl_"))
		}
	})
}

// upgradeEachDB tests an upgrade past version on each dialect, as
// parallel subtests: an empty database is migrated up to version only and
// given account 1, old writes rows as they were then, every later
// migration runs, and check reads what became of them.
func upgradeEachDB(t *testing.T, version int64, old, check func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := storetest.MustOpenEmpty(t, dialect)
			migrateUpTo(t, db, dialect, version)
			exec(t, db, `INSERT INTO accounts (id, name, settings, created_at, updated_at) VALUES (1, 'Acme', '{}', 0, 0)`)
			old(t, db)
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			check(t, db)
		})
	}
}

// migrateUpTo migrates an empty database of dialect up to version only,
// so that a test can write rows as they were before a later migration.
func migrateUpTo(t *testing.T, db *store.DB, dialect string, version int64) {
	t.Helper()
	gd := goose.DialectSQLite3
	if dialect == "postgres" {
		gd = goose.DialectPostgres
	}
	p, err := goose.NewProvider(gd, db.SQL().DB, os.DirFS("migrations/"+dialect))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		t.Fatalf("migrate to %d: %v", version, err)
	}
}
