package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

// signIn starts a web session for the user at and returns its secret.
func signIn(t testing.TB, db *store.DB, u conversations.User, at time.Time) string {
	t.Helper()
	s := conversations.NewSessionSecret()
	if _, err := db.CreateSession(ctx, u, s.Hash, at); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return s.Secret
}

func authenticateSession(db *store.DB, secret string, at time.Time) (conversations.User, error) {
	return db.AuthenticateSession(ctx, conversations.HashToken(secret), at)
}

// wantSession fails unless the session authenticates user at.
func wantSession(t testing.TB, db *store.DB, secret string, at time.Time, user parley.ID) {
	t.Helper()
	u, err := authenticateSession(db, secret, at)
	if err != nil || u.ID != user {
		t.Fatalf("session at %s: user %v, err %v; want user %s", at, u.ID, err, user)
	}
}

// wantNoSession fails unless the session is refused at.
func wantNoSession(t testing.TB, db *store.DB, secret string, at time.Time) {
	t.Helper()
	_, err := authenticateSession(db, secret, at)
	wantKind(t, err, parley.EUNAUTHENTICATED)
}

// agent adds an agent to the tenant.
func (tn *tenant) agent(t testing.TB, email string) conversations.User {
	t.Helper()
	u, _, err := tn.db.CreateUser(ctx, tn.account.ID, conversations.NewUser{Email: email, Name: "Ann Agent", Role: conversations.RoleAgent},
		conversations.NewTokenSecret(), t0)
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u
}

func TestWebSessionsEnd(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, sidA, bizA)
		admin := tn.admin

		t.Run("idle", func(t *testing.T) {
			s := signIn(t, db, admin, t0)
			used := t0.Add(conversations.SessionIdle - time.Minute)
			wantSession(t, db, s, used, admin.ID) // use keeps it alive
			wantSession(t, db, s, used.Add(conversations.SessionIdle-time.Minute), admin.ID)
			last := used.Add(conversations.SessionIdle - time.Minute)
			wantNoSession(t, db, s, last.Add(conversations.SessionIdle))
		})
		t.Run("lifetime", func(t *testing.T) {
			s := signIn(t, db, admin, t0)
			at := t0
			for at.Add(conversations.SessionIdle / 2).Before(t0.Add(conversations.SessionLifetime)) {
				at = at.Add(conversations.SessionIdle / 2)
				wantSession(t, db, s, at, admin.ID)
			}
			wantNoSession(t, db, s, t0.Add(conversations.SessionLifetime)) // used a moment ago, but too old
		})
		t.Run("sign out", func(t *testing.T) {
			s, other := signIn(t, db, admin, t0), signIn(t, db, admin, t0)
			if err := db.EndSession(ctx, conversations.HashToken(s), t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			wantNoSession(t, db, s, t0.Add(2*time.Minute))
			wantSession(t, db, other, t0.Add(2*time.Minute), admin.ID) // the other browser stays in
			if err := db.EndSession(ctx, conversations.HashToken("prl_unknown"), t0); err != nil {
				t.Fatalf("ending an unknown session: %v", err)
			}
		})
		t.Run("deactivation", func(t *testing.T) {
			ann := tn.agent(t, "ann.deactivated@example.com")
			s := signIn(t, db, ann, t0)
			wantSession(t, db, s, t0.Add(time.Minute), ann.ID)
			tn.setActive(t, ann.ID, false, t0.Add(time.Hour))
			wantNoSession(t, db, s, t0.Add(2*time.Hour))
			tn.setActive(t, ann.ID, true, t0.Add(3*time.Hour))
			wantNoSession(t, db, s, t0.Add(4*time.Hour)) // coming back needs a new sign-in
		})
		t.Run("password change", func(t *testing.T) {
			ben := tn.agent(t, "ben.password@example.com")
			s := signIn(t, db, ben, t0)
			if err := db.SetPassword(ctx, tn.account.ID, ben.ID, "new-hash", t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			wantNoSession(t, db, s, t0.Add(2*time.Hour))
			after := signIn(t, db, ben, t0.Add(3*time.Hour))
			wantSession(t, db, after, t0.Add(4*time.Hour), ben.ID)
			wantKind(t, db.SetPassword(ctx, tn.account.ID, 999999, "h", t0), parley.ENOTFOUND)
		})
	})
}

func TestPasswordLinks(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, sidA, bizA)
		link := func(u conversations.User) string {
			t.Helper()
			l, err := conversations.NewPasswordLink(ctx, db, "https://parley.example.com/", u, t0)
			if err != nil {
				t.Fatal(err)
			}
			secret, ok := strings.CutPrefix(l.URL, "https://parley.example.com/set-password/")
			if !ok || !l.ExpiresAt.Equal(t0.Add(conversations.PasswordLinkLifetime)) {
				t.Fatalf("link %+v", l)
			}
			return conversations.HashToken(secret)
		}

		t.Run("single use", func(t *testing.T) {
			ann := tn.agent(t, "ann.link@example.com")
			old := signIn(t, db, ann, t0)
			h := link(ann)
			if u, err := db.PasswordLinkUser(ctx, h, t0.Add(time.Hour)); err != nil || u.ID != ann.ID {
				t.Fatalf("PasswordLinkUser: %v %v", u.ID, err)
			}
			u, err := db.UsePasswordLink(ctx, h, "hash-1", t0.Add(time.Hour))
			if err != nil || u.ID != ann.ID {
				t.Fatalf("UsePasswordLink: %v %v", u.ID, err)
			}
			if got := passwordHash(t, db, ann.Email); got != "hash-1" {
				t.Fatalf("password hash %q, want hash-1", got)
			}
			wantNoSession(t, db, old, t0.Add(2*time.Hour)) // a new password signs out the old browsers
			_, err = db.UsePasswordLink(ctx, h, "hash-2", t0.Add(2*time.Hour))
			wantKind(t, err, parley.ENOTFOUND)
			_, err = db.PasswordLinkUser(ctx, h, t0.Add(2*time.Hour))
			wantKind(t, err, parley.ENOTFOUND)
			if got := passwordHash(t, db, ann.Email); got != "hash-1" {
				t.Fatalf("a spent link changed the password to %q", got)
			}
		})
		t.Run("a new link ends the earlier ones", func(t *testing.T) {
			bea := tn.agent(t, "bea.link@example.com")
			lost := link(bea)
			sent := link(bea) // reissued: the first went astray
			_, err := db.PasswordLinkUser(ctx, lost, t0.Add(time.Minute))
			wantKind(t, err, parley.ENOTFOUND)
			if _, err := db.UsePasswordLink(ctx, sent, "hash-b", t0.Add(time.Minute)); err != nil {
				t.Fatalf("the reissued link: %v", err)
			}
			_, err = db.UsePasswordLink(ctx, lost, "hash-evil", t0.Add(2*time.Minute))
			wantKind(t, err, parley.ENOTFOUND)
			if got := passwordHash(t, db, bea.Email); got != "hash-b" {
				t.Fatalf("password hash %q, want hash-b", got)
			}
		})
		t.Run("expiry", func(t *testing.T) {
			ben := tn.agent(t, "ben.link@example.com")
			h := link(ben)
			end := t0.Add(conversations.PasswordLinkLifetime)
			if _, err := db.PasswordLinkUser(ctx, h, end.Add(-time.Minute)); err != nil {
				t.Fatalf("a minute before it expires: %v", err)
			}
			_, err := db.PasswordLinkUser(ctx, h, end)
			wantKind(t, err, parley.ENOTFOUND)
			_, err = db.UsePasswordLink(ctx, h, "hash", end)
			wantKind(t, err, parley.ENOTFOUND)
			if got := passwordHash(t, db, ben.Email); got != "" {
				t.Fatalf("an expired link set the password %q", got)
			}
		})
		t.Run("deactivated user", func(t *testing.T) {
			cy := tn.agent(t, "cy.link@example.com")
			h := link(cy)
			tn.setActive(t, cy.ID, false, t0.Add(time.Minute))
			_, err := db.PasswordLinkUser(ctx, h, t0.Add(time.Hour))
			wantKind(t, err, parley.ENOTFOUND)
			_, err = db.UsePasswordLink(ctx, h, "hash", t0.Add(time.Hour))
			wantKind(t, err, parley.ENOTFOUND)
		})
		t.Run("unknown", func(t *testing.T) {
			_, err := db.UsePasswordLink(ctx, conversations.HashToken("prl_nothing"), "hash", t0)
			wantKind(t, err, parley.ENOTFOUND)
		})
	})
}

func TestUsersByEmail(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a, b := newTenant(t, db, sidA, bizA), newTenant(t, db, sidB, bizB)
		inA, inB := a.agent(t, "dana@example.com"), b.agent(t, "dana@example.com")
		if err := db.SetPassword(ctx, a.account.ID, inA.ID, "hash-a", t0); err != nil {
			t.Fatal(err)
		}
		users, err := db.UsersByEmail(ctx, "dana@example.com")
		if err != nil || len(users) != 2 || users[0].ID != inA.ID || users[0].PasswordHash != "hash-a" ||
			users[1].ID != inB.ID || users[1].PasswordHash != "" {
			t.Fatalf("UsersByEmail: %+v %v; want both accounts' Dana, the first with a password", users, err)
		}
		b.setActive(t, inB.ID, false, t0.Add(time.Hour))
		users, err = db.UsersByEmail(ctx, "dana@example.com")
		if err != nil || len(users) != 1 || users[0].ID != inA.ID {
			t.Fatalf("after deactivating one: %+v %v; want only the active one", users, err)
		}
		if users, err := db.UsersByEmail(ctx, "nobody@example.com"); err != nil || len(users) != 0 {
			t.Fatalf("unknown email: %+v %v", users, err)
		}
	})
}

// passwordHash is the stored password hash of the active user with email.
func passwordHash(t testing.TB, db *store.DB, email string) string {
	t.Helper()
	users, err := db.UsersByEmail(ctx, email)
	if err != nil || len(users) != 1 {
		t.Fatalf("UsersByEmail(%s): %v (%d)", email, err, len(users))
	}
	return users[0].PasswordHash
}
