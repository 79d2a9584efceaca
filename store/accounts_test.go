package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/optout"
	"github.com/parleyhq/parley/store"
)

func TestCreateAccountAndAuthenticate(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		secret := conversations.NewTokenSecret()
		acc, admin, err := db.CreateAccount(ctx, "Acme",
			conversations.NewUser{Email: "ada@example.com", Name: "Ada", Role: conversations.RoleAdmin}, secret, t0)
		if err != nil {
			t.Fatalf("CreateAccount: %v", err)
		}
		if acc.ID == 0 || admin.ID == 0 || admin.AccountID != acc.ID || admin.Role != conversations.RoleAdmin || !admin.Available {
			t.Fatalf("CreateAccount = %+v, %+v", acc, admin)
		}
		if n, err := db.CountAccounts(ctx); err != nil || n != 1 {
			t.Fatalf("CountAccounts = %d, %v; want 1", n, err)
		}

		got, err := db.Authenticate(ctx, conversations.HashToken(secret.Secret), t0)
		if err != nil {
			t.Fatalf("Authenticate with the admin's token: %v", err)
		}
		if got.ID != admin.ID || got.AccountID != acc.ID || got.Email != "ada@example.com" || !got.CreatedAt.Equal(t0) {
			t.Errorf("Authenticate = %+v; want the admin %+v", got, admin)
		}

		// A second token; revoking it leaves the first working.
		second := conversations.NewTokenSecret()
		tok, err := db.CreateToken(ctx, acc.ID, admin.ID, second, t0)
		if err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		if tok.Prefix != second.Prefix || tok.UserID != admin.ID {
			t.Errorf("CreateToken = %+v", tok)
		}
		if _, err := db.Authenticate(ctx, conversations.HashToken(second.Secret), t0); err != nil {
			t.Fatalf("Authenticate with the second token: %v", err)
		}

		other := newTenant(t, db, sidB, bizB)
		agentSecret := conversations.NewTokenSecret()
		agent, agentTok, err := db.CreateUser(ctx, acc.ID, conversations.NewUser{Email: "bo@example.com", Name: "Bo", Role: conversations.RoleAgent},
			agentSecret, t0)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			run  func() error
			kind string
		}{
			{"revoking another account's token", func() error { return db.RevokeToken(ctx, other.admin, tok.ID, t0) }, parley.ENOTFOUND},
			{"an agent revoking an admin's token", func() error { return db.RevokeToken(ctx, agent, tok.ID, t0) }, parley.ENOTFOUND},
			{"revoking", func() error { return db.RevokeToken(ctx, admin, tok.ID, t0.Add(time.Hour)) }, ""},
			{"revoking twice", func() error { return db.RevokeToken(ctx, admin, tok.ID, t0.Add(2*time.Hour)) }, ""},
			{"an agent revoking their own token", func() error { return db.RevokeToken(ctx, agent, agentTok.ID, t0) }, ""},
			{"an agent's revoked token", func() error {
				_, err := db.Authenticate(ctx, conversations.HashToken(agentSecret.Secret), t0)
				return err
			}, parley.EUNAUTHENTICATED},
			{"revoked token", func() error {
				_, err := db.Authenticate(ctx, conversations.HashToken(second.Secret), t0)
				return err
			}, parley.EUNAUTHENTICATED},
			{"first token still works", func() error {
				_, err := db.Authenticate(ctx, conversations.HashToken(secret.Secret), t0)
				return err
			}, ""},
			{"unknown token", func() error {
				_, err := db.Authenticate(ctx, conversations.HashToken("prl_nope"), t0)
				return err
			}, parley.EUNAUTHENTICATED},
			{"the secret itself is not the hash", func() error {
				_, err := db.Authenticate(ctx, secret.Secret, t0)
				return err
			}, parley.EUNAUTHENTICATED},
			{"token for another account's user", func() error {
				_, err := db.CreateToken(ctx, other.account.ID, admin.ID, conversations.NewTokenSecret(), t0)
				return err
			}, parley.ENOTFOUND},
		}
		for _, tt := range tests {
			err := tt.run()
			if tt.kind == "" && err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if tt.kind != "" && !parley.IsKind(err, tt.kind) {
				t.Fatalf("%s: err = %v; want %s", tt.name, err, tt.kind)
			}
		}
	})
}

func TestCreateUser(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		secret := conversations.NewTokenSecret()
		u, tok, err := db.CreateUser(ctx, a.account.ID, conversations.NewUser{Email: "bob@example.com", Name: "Bob", Role: conversations.RoleAgent}, secret, t0)
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if u.Role != conversations.RoleAgent || !u.Available || tok.UserID != u.ID {
			t.Errorf("CreateUser = %+v, %+v", u, tok)
		}
		if got, err := db.Authenticate(ctx, secret.Hash, t0); err != nil || got.ID != u.ID {
			t.Errorf("Authenticate new user = %+v, %v", got, err)
		}

		tests := []struct {
			name    string
			account parley.ID
			email   string
			kind    string
			code    string
		}{
			{"same email, same account", a.account.ID, "bob@example.com", parley.ECONFLICT, "email_taken"},
			{"same email, another account", b.account.ID, "bob@example.com", "", ""},
			{"another email", a.account.ID, "carol@example.com", "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := count(t, db, `SELECT COUNT(*) FROM users`)
				_, _, err := db.CreateUser(ctx, tt.account, conversations.NewUser{Email: tt.email, Name: "X", Role: conversations.RoleAgent},
					conversations.NewTokenSecret(), t0)
				if tt.kind == "" {
					if err != nil {
						t.Fatalf("CreateUser: %v", err)
					}
					return
				}
				wantKind(t, err, tt.kind, tt.code)
				if after := count(t, db, `SELECT COUNT(*) FROM users`); after != before {
					t.Errorf("a refused user left %d users; want %d", after, before)
				}
			})
		}
		users, _, err := db.ListUsers(ctx, a.account.ID, parley.Page{})
		if err != nil {
			t.Fatal(err)
		}
		var emails []string
		for _, u := range users {
			emails = append(emails, u.Email)
		}
		if want := []string{a.admin.Email, "bob@example.com", "carol@example.com"}; !slices.Equal(emails, want) {
			t.Errorf("ListUsers = %v; want %v", emails, want)
		}
	})
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	name, admin, agent, yes, no := "Robert", conversations.RoleAdmin, conversations.Role("owner"), true, false
	tests := []struct {
		name  string
		patch conversations.UserPatch
		other bool // address the user through another account
		want  func(u conversations.User) bool
		kind  string
	}{
		{"name only", conversations.UserPatch{Name: &name}, false, func(u conversations.User) bool {
			return u.Name == "Robert" && u.Role == conversations.RoleAgent && u.Available && !u.ViewAllConversations
		}, ""},
		{"role", conversations.UserPatch{Role: &admin}, false, func(u conversations.User) bool {
			return u.Role == conversations.RoleAdmin && u.Name == "Bob"
		}, ""},
		{"availability and view all", conversations.UserPatch{Available: &no, ViewAllConversations: &yes}, false, func(u conversations.User) bool {
			return !u.Available && u.ViewAllConversations && u.Name == "Bob"
		}, ""},
		{"empty patch", conversations.UserPatch{}, false, func(u conversations.User) bool {
			return u.Name == "Bob" && u.Available
		}, ""},
		{"another account's user", conversations.UserPatch{Name: &name}, true, nil, parley.ENOTFOUND},
		{"a role the schema refuses", conversations.UserPatch{Role: &agent}, false, nil, parley.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			forEachDB(t, func(t *testing.T, db *store.DB) {
				a := newTenant(t, db, sidA, bizA)
				b := newTenant(t, db, sidB, bizB)
				u, _, err := db.CreateUser(ctx, a.account.ID, conversations.NewUser{Email: "bob@example.com", Name: "Bob", Role: conversations.RoleAgent},
					conversations.NewTokenSecret(), t0)
				if err != nil {
					t.Fatal(err)
				}
				account := a.account.ID
				if tt.other {
					account = b.account.ID
				}
				later := t0.Add(time.Hour)
				got, err := db.UpdateUser(ctx, account, u.ID, tt.patch, later)
				if tt.kind != "" {
					wantKind(t, err, tt.kind)
					if stored, _ := db.GetUser(ctx, a.account.ID, u.ID); stored.Name != "Bob" || stored.Role != conversations.RoleAgent {
						t.Errorf("a refused patch changed the user: %+v", stored)
					}
					return
				}
				if err != nil {
					t.Fatalf("UpdateUser: %v", err)
				}
				stored, err := db.GetUser(ctx, a.account.ID, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !tt.want(got) || !tt.want(stored) || !stored.UpdatedAt.Equal(later) || !stored.CreatedAt.Equal(t0) {
					t.Errorf("UpdateUser = %+v, stored %+v", got, stored)
				}
			})
		})
	}
}

func TestGetUserOfAnotherAccount(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		_, err := db.GetUser(ctx, b.account.ID, a.admin.ID)
		wantKind(t, err, parley.ENOTFOUND)
		if users, _, err := db.ListUsers(ctx, b.account.ID, parley.Page{}); err != nil || len(users) != 1 || users[0].ID != b.admin.ID {
			t.Errorf("ListUsers(b) = %+v, %v; want only b's admin", users, err)
		}
	})
}

func TestSettings(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)

		s, err := db.GetSettings(ctx, a.account.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.AllowAutoAssignment {
			t.Error("a new account allows auto-assignment; the default is off")
		}
		for _, kw := range []string{"STOP", "UNSUBSCRIBE", "CANCEL", "REVOKE", "OPT OUT"} {
			if !slices.Contains(s.Keywords.OptOut, kw) {
				t.Errorf("default opt-out keywords %v lack %q", s.Keywords.OptOut, kw)
			}
		}
		if !slices.Contains(s.Keywords.OptIn, "START") || !slices.Contains(s.Keywords.Help, "HELP") {
			t.Errorf("default keywords = %+v", s.Keywords)
		}
		if s.HelpText == "" || s.OptOutReply == "" || s.OptInReply == "" {
			t.Errorf("default texts missing: %+v", s)
		}

		want := s
		want.AllowAutoAssignment = true
		want.HelpText = "Acme: call 555-0100. Msg&data rates may apply. Reply STOP to opt out."
		want.Keywords = optout.Keywords{OptOut: []string{"STOP", "ARRET"}, OptIn: []string{"START"}, Help: []string{"AIDE"}}
		got, err := db.UpdateSettings(ctx, a.account.ID, func(conversations.Settings) (conversations.Settings, error) { return want, nil }, t0)
		if err != nil {
			t.Fatalf("UpdateSettings: %v", err)
		}
		reread, err := db.GetSettings(ctx, a.account.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []conversations.Settings{got, reread} {
			if s.AllowAutoAssignment != want.AllowAutoAssignment || s.HelpText != want.HelpText || s.OptOutReply != want.OptOutReply ||
				!slices.Equal(s.Keywords.OptOut, want.Keywords.OptOut) || !slices.Equal(s.Keywords.Help, want.Keywords.Help) {
				t.Errorf("settings = %+v; want %+v", s, want)
			}
		}
		// The new keywords are what inbound routing plans with.
		route, err := db.FindInboundRoute(ctx, conversations.CarrierTwilio, sidA, bizA, "")
		if err != nil || !slices.Equal(route.Settings.Keywords.OptOut, want.Keywords.OptOut) {
			t.Errorf("FindInboundRoute settings = %+v, %v", route.Settings, err)
		}

		// A failing change writes nothing.
		boom := errors.New("boom")
		if _, err := db.UpdateSettings(ctx, a.account.ID, func(s conversations.Settings) (conversations.Settings, error) {
			s.HelpText = "half-written"
			return s, boom
		}, t0); !errors.Is(err, boom) {
			t.Errorf("UpdateSettings with a failing change = %v; want boom", err)
		}
		if s, _ := db.GetSettings(ctx, a.account.ID); s.HelpText != want.HelpText {
			t.Errorf("a failed change was written: help text %q", s.HelpText)
		}

		// Other accounts keep theirs.
		if s, _ := db.GetSettings(ctx, b.account.ID); s.AllowAutoAssignment || !slices.Contains(s.Keywords.OptOut, "UNSUBSCRIBE") {
			t.Errorf("another account's settings changed: %+v", s)
		}
		_, err = db.GetSettings(ctx, 999999)
		wantKind(t, err, parley.ENOTFOUND)
		_, err = db.UpdateSettings(ctx, 999999, func(s conversations.Settings) (conversations.Settings, error) { return s, nil }, t0)
		wantKind(t, err, parley.ENOTFOUND)
	})
}

// Every row an inbound text writes references its account, so a settings
// change must not wait for in-flight traffic (nor stall it).
func TestUpdateSettingsDuringTraffic(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		if db.Dialect() != "postgres" {
			t.Skip("SQLite has one writer: a settings change queues behind traffic by design")
		}
		a := newTenant(t, db, sidA, bizA)
		tx, err := db.SQL().BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		// A transaction in flight that references the account, as an ingest does.
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO inboxes (account_id, name, kind, created_at) VALUES (?, 'In flight', 'general', 0)`), a.account.ID); err != nil {
			t.Fatal(err)
		}
		wait, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if _, err := db.UpdateSettings(wait, a.account.ID, func(s conversations.Settings) (conversations.Settings, error) {
			s.AllowAutoAssignment = true
			return s, nil
		}, t0); err != nil {
			t.Fatalf("UpdateSettings blocked behind a transaction that only references the account: %v", err)
		}
	})
}

// An account always keeps an admin: nobody could manage it otherwise.
func TestUpdateUserKeepsAnAdmin(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		agent := conversations.RoleAgent
		_, err := db.UpdateUser(ctx, a.account.ID, a.admin.ID, conversations.UserPatch{Role: &agent}, t0)
		wantKind(t, err, parley.ECONFLICT, "last_admin")
		if u, _ := db.GetUser(ctx, a.account.ID, a.admin.ID); u.Role != conversations.RoleAdmin {
			t.Fatalf("the last admin was demoted: %+v", u)
		}
		second, _, err := db.CreateUser(ctx, a.account.ID, conversations.NewUser{Email: "grace@example.com", Name: "Grace", Role: conversations.RoleAdmin},
			conversations.NewTokenSecret(), t0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.UpdateUser(ctx, a.account.ID, a.admin.ID, conversations.UserPatch{Role: &agent}, t0); err != nil {
			t.Fatalf("demoting one of two admins: %v", err)
		}
		_, err = db.UpdateUser(ctx, a.account.ID, second.ID, conversations.UserPatch{Role: &agent}, t0)
		wantKind(t, err, parley.ECONFLICT, "last_admin")
	})
}
