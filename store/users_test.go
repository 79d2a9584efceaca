package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/routing"
	"github.com/parleyhq/parley/store"
)

// setActive deactivates or reactivates a user of the tenant.
func (tn *tenant) setActive(t testing.TB, userID parley.ID, on bool, at time.Time) conversations.User {
	t.Helper()
	u, err := tn.db.UpdateUser(ctx, tn.account.ID, userID, conversations.UserPatch{Active: &on}, at)
	if err != nil {
		t.Fatalf("UpdateUser(active=%v): %v", on, err)
	}
	return u
}

// newToken gives a user of the tenant another token and returns its secret.
func (tn *tenant) newToken(t testing.TB, userID parley.ID) (conversations.Token, string) {
	t.Helper()
	secret := conversations.NewTokenSecret()
	tok, err := tn.db.CreateToken(ctx, tn.account.ID, userID, secret, t0)
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	return tok, secret.Secret
}

func authenticate(db *store.DB, secret string, at time.Time) error {
	_, err := db.Authenticate(ctx, conversations.HashToken(secret), at)
	return err
}

func TestDeactivateUser(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		d := newDesk(t, db, sidA, bizA, 2)
		d.autoAssignment(t, true)
		ana, ben := d.staff[0].ID, d.staff[1].ID
		// ana is first in line and the contact's counselor: everything
		// would go to her but for her deactivation.
		tb := d.table(t, "Admissions", false, routing.Entry{UserIDs: []parley.ID{ana, ben}, Strategy: routing.Priority})
		d.contactType(t, "applicant", "counselor", &tb)
		d.contact(t, "applicant", nil, rtPhone(1), rtPhone(2))
		first := d.textFrom(t, rtPhone(1), 0)
		if dec := d.autoAssign(t, first.ID); rtWho(dec.UserID) != ana.String() {
			t.Fatalf("before: %+v; want ana", dec)
		}
		resolved, closed, bens := d.textFrom(t, rtPhone(3), time.Minute), d.textFrom(t, rtPhone(4), time.Minute), d.textFrom(t, rtPhone(5), time.Minute)
		for _, c := range []conversations.Conversation{resolved, closed} {
			d.staffAssign(t, d.admin, c.ID, &ana, t0)
		}
		d.staffAssign(t, d.admin, bens.ID, &ben, t0)
		d.resolve(t, resolved.ID)
		exec(t, db, `UPDATE conversations SET status = 'closed' WHERE id = ?`, closed.ID)
		_, kept := d.newToken(t, ana)
		revokedTok, revoked := d.newToken(t, ana)
		if err := db.RevokeToken(ctx, d.admin, revokedTok.ID, t0); err != nil {
			t.Fatal(err)
		}

		at := t0.Add(2 * time.Hour)
		if u := d.setActive(t, ana, false, at); u.Active || !u.Available {
			t.Fatalf("after deactivating: %+v; want inactive, availability untouched", u)
		}

		wantKind(t, authenticate(db, kept, at), parley.EUNAUTHENTICATED)
		for _, c := range []conversations.Conversation{first, resolved} {
			if got := d.assignee(t, c.ID); got != nil {
				t.Errorf("conversation %d still assigned to %v", c.ID, *got)
			}
			evs := d.assigneeEvents(t, c.ID)
			last := evs[len(evs)-1]
			if last.Data["reason"] != conversations.ReasonUserDeactivated || last.ActorType != conversations.ActorSystem || !last.CreatedAt.Equal(at) {
				t.Errorf("conversation %d's last assignee event = %+v; want the system's, reason %s", c.ID, last, conversations.ReasonUserDeactivated)
			}
		}
		if got := d.assignee(t, closed.ID); rtWho(got) != ana.String() {
			t.Errorf("a closed conversation's assignee = %s; want ana kept (who handled it)", rtWho(got))
		}
		if got := d.assignee(t, bens.ID); rtWho(got) != ben.String() {
			t.Errorf("a colleague's conversation went to %s", rtWho(got))
		}

		waiting, err := db.WaitingConversations(ctx, d.account.ID, routing.Waiting{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(waiting) != 1 || waiting[0].ID != first.ID {
			t.Fatalf("waiting = %+v; want the new conversation back in the queue", waiting)
		}
		if dec := d.autoAssign(t, first.ID); rtWho(dec.UserID) != ben.String() || dec.Sticky {
			t.Fatalf("the sweep's decision: %+v; want ben, never the deactivated counselor", dec)
		}
		second := d.textFrom(t, rtPhone(2), 3*time.Hour) // the counselor's contact again
		if dec := d.autoAssign(t, second.ID); rtWho(dec.UserID) != ben.String() {
			t.Fatalf("the contact's next conversation: %+v; want ben", dec)
		}

		_, err = db.Assign(ctx, conversations.Assignment{AccountID: d.account.ID, ConversationID: second.ID, Actor: d.admin, AssigneeID: &ana, At: at})
		wantKind(t, err, parley.EINVALID)

		d.setActive(t, ana, true, at.Add(time.Hour))
		if err := authenticate(db, kept, at.Add(time.Hour)); err != nil {
			t.Errorf("a reactivated user's token: %v; want it working again", err)
		}
		wantKind(t, authenticate(db, revoked, at.Add(time.Hour)), parley.EUNAUTHENTICATED)
	})
}

func TestDeactivationKeepsAnActiveAdmin(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		other := a.staffUser(t, "boss@example.com", conversations.RoleAdmin, false)
		a.setActive(t, other.ID, false, t0)
		agent := conversations.RoleAgent
		_, err := db.UpdateUser(ctx, a.account.ID, a.admin.ID, conversations.UserPatch{Role: &agent}, t0)
		wantKind(t, err, parley.ECONFLICT, "last_admin")
	})
}

func TestListTokensAndLastUse(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		ann := a.staffUser(t, "ann@example.com", conversations.RoleAgent, false)
		first, firstSecret := a.newToken(t, ann.ID)
		second, _ := a.newToken(t, ann.ID)
		gone, _ := a.newToken(t, ann.ID)
		if err := db.RevokeToken(ctx, a.admin, gone.ID, t0); err != nil {
			t.Fatal(err)
		}
		list := func(page parley.Page) ([]conversations.Token, string) {
			t.Helper()
			toks, next, err := db.ListTokens(ctx, a.account.ID, ann.ID, page)
			if err != nil {
				t.Fatalf("ListTokens: %v", err)
			}
			return toks, next
		}
		lastUse := func() *time.Time {
			t.Helper()
			toks, _ := list(parley.Page{Limit: 50})
			for _, tok := range toks {
				if tok.ID == first.ID {
					return tok.LastUsedAt
				}
			}
			t.Fatalf("token %d not listed", first.ID)
			return nil
		}

		// CreateUser's own token, then the two unrevoked ones.
		toks, next := list(parley.Page{Limit: 50})
		if len(toks) != 3 || toks[1].ID != first.ID || toks[2].ID != second.ID || next != "" {
			t.Fatalf("tokens = %+v (next %q); want the first token and the two unrevoked ones, by id", toks, next)
		}
		for _, tok := range toks {
			if tok.UserID != ann.ID || !strings.HasPrefix(tok.Prefix, "prl_") || tok.LastUsedAt != nil || !tok.CreatedAt.Equal(t0) {
				t.Errorf("token = %+v; want ann's, prl_ prefix, never used", tok)
			}
		}
		page, next := list(parley.Page{Limit: 2})
		rest, last := list(parley.Page{Limit: 2, Cursor: next})
		if len(page) != 2 || next == "" || len(rest) != 1 || rest[0].ID != second.ID || last != "" {
			t.Errorf("pages = %d (next %q), %d (next %q); want 2 then 1", len(page), next, len(rest), last)
		}
		_, _, err := db.ListTokens(ctx, b.account.ID, ann.ID, parley.Page{Limit: 50})
		wantKind(t, err, parley.ENOTFOUND)

		for _, step := range []struct {
			at, want time.Duration
		}{
			{0, 0},
			{30 * time.Second, 0}, // within the minute: no write
			{59 * time.Second, 0},
			{61 * time.Second, 61 * time.Second},
			{90 * time.Second, 61 * time.Second},
			{3 * time.Hour, 3 * time.Hour},
		} {
			if err := authenticate(db, firstSecret, t0.Add(step.at)); err != nil {
				t.Fatal(err)
			}
			if got := lastUse(); got == nil || !got.Equal(t0.Add(step.want)) {
				t.Errorf("used at +%s: last_used_at = %v; want +%s", step.at, got, step.want)
			}
		}
	})
}

// TestDeactivationRacesAssignments: while an admin deactivates ann, many
// others give her conversations (assignments, her own replies and quick
// messages). Each either lands before the deactivation, which then puts
// the conversation back in the queue, or is refused; none leaves an open
// conversation with a user who no longer works there.
func TestDeactivationRacesAssignments(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		ann := a.staffUser(t, "ann@example.com", conversations.RoleAgent, true)
		const rounds, perKind = 6, 8
		phone := func(round, i int) string { return fmt.Sprintf("+1415556%04d", round*100+i) }
		for round := range rounds {
			at := t0.Add(time.Duration(round) * time.Hour)
			if round > 0 {
				a.setActive(t, ann.ID, true, at)
			}
			var convs []conversations.Conversation
			for i := range 2 * perKind {
				convs = append(convs, a.receive(t, text{from: phone(round, i), body: "hi", at: at}).Conversation)
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			errs := make(chan error, 3*perKind+1)
			run := func(fn func() error) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs <- fn()
				}()
			}
			for i := range perKind {
				run(func() error {
					_, err := db.Assign(ctx, conversations.Assignment{AccountID: a.account.ID, ConversationID: convs[i].ID, Actor: a.admin,
						AssigneeID: &ann.ID, At: at})
					return allowed(err, parley.EINVALID)
				})
				run(func() error {
					r := conversations.Reply{AccountID: a.account.ID, ConversationID: convs[perKind+i].ID, Author: ann, Body: "On it", At: at}
					if err := r.Validate(); err != nil {
						return err
					}
					_, err := db.QueueReply(ctx, r)
					return allowed(err, parley.EUNAUTHENTICATED)
				})
				run(func() error {
					_, err := db.QueueQuickMessage(ctx, campaigns.QuickMessage{AccountID: a.account.ID, Sender: ann, ChannelID: a.channel.ID,
						Body: "Your table is ready", At: at}, []string{phone(round, 50+i)})
					return allowed(err, parley.EUNAUTHENTICATED)
				})
			}
			run(func() error {
				off := false
				_, err := db.UpdateUser(ctx, a.account.ID, ann.ID, conversations.UserPatch{Active: &off}, at)
				return err
			})
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			query, args, err := sqlx.In(`SELECT COUNT(*) FROM conversations WHERE assignee_id = ? AND status IN (?)`,
				ann.ID, conversations.ReleasedOnDeactivation)
			if err != nil {
				t.Fatal(err)
			}
			if n := count(t, db, query, args...); n != 0 {
				t.Fatalf("round %d: %d conversations stay with the deactivated user; want all back in the queue", round, n)
			}
		}
	})
}

// allowed is nil for an error of the given kind, which the caller expects.
func allowed(err error, kind string) error {
	if parley.IsKind(err, kind) {
		return nil
	}
	return err
}

// TestInviteUser: an invite creates the user and their set-password link
// together, with an API token only when asked; when any part fails,
// nothing of it is left.
func TestInviteUser(t *testing.T) {
	t.Parallel()
	const publicURL = "https://parley.example"
	forEachDB(t, func(t *testing.T, db *store.DB) {
		tn := newTenant(t, db, sidA, bizA)
		linkUser := func(inv conversations.Invitation) parley.ID {
			t.Helper()
			secret := strings.TrimPrefix(inv.Link.URL, publicURL+conversations.SetPasswordPath)
			u, err := db.PasswordLinkUser(ctx, conversations.HashToken(secret), t0.Add(time.Hour))
			if err != nil {
				t.Fatalf("the invite's link %s: %v", inv.Link.URL, err)
			}
			return u.ID
		}
		tokens := func(u parley.ID) []conversations.Token {
			t.Helper()
			toks, _, err := db.ListTokens(ctx, tn.account.ID, u, conversations.Page{Limit: 10})
			if err != nil {
				t.Fatalf("ListTokens: %v", err)
			}
			return toks
		}

		// The web's invite: a user and a link, no token nobody holds.
		web, err := conversations.InviteUser(ctx, db, publicURL, tn.account.ID,
			conversations.NewUser{Email: "bea@example.com", Name: "Bea", Role: conversations.RoleAgent}, false, t0)
		if err != nil {
			t.Fatalf("InviteUser without a token: %v", err)
		}
		if got := linkUser(web); got != web.User.ID {
			t.Errorf("the link is for user %s, want %s", got, web.User.ID)
		}
		if toks := tokens(web.User.ID); len(toks) != 0 || web.TokenSecret != "" {
			t.Errorf("a web invite left tokens %v (secret %q), want none", toks, web.TokenSecret)
		}

		// The API's invite: the token too, its secret answered.
		api, err := conversations.InviteUser(ctx, db, publicURL, tn.account.ID,
			conversations.NewUser{Email: "cal@example.com", Name: "Cal", Role: conversations.RoleAgent}, true, t0)
		if err != nil {
			t.Fatalf("InviteUser with a token: %v", err)
		}
		linkUser(api)
		if toks := tokens(api.User.ID); len(toks) != 1 || toks[0].ID != api.Token.ID || api.TokenSecret == "" {
			t.Errorf("an API invite has tokens %v (answered %s), want its one token", toks, api.Token.ID)
		}
		if u, err := db.Authenticate(ctx, conversations.HashToken(api.TokenSecret), t0); err != nil || u.ID != api.User.ID {
			t.Errorf("the answered token authenticates %v, %v; want %s", u.ID, err, api.User.ID)
		}

		// A taken email is refused as the API says it.
		_, err = conversations.InviteUser(ctx, db, publicURL, tn.account.ID,
			conversations.NewUser{Email: "bea@example.com", Name: "Bea Again", Role: conversations.RoleAgent}, false, t0)
		wantKind(t, err, parley.ECONFLICT)

		// The link failing (its hash already used) leaves no user behind.
		taken := conversations.NewTokenSecret()
		if err := db.CreatePasswordLink(ctx, tn.account.ID, tn.admin.ID, taken.Hash, t0, t0.Add(time.Hour)); err != nil {
			t.Fatalf("CreatePasswordLink: %v", err)
		}
		tok := conversations.NewTokenSecret()
		if _, _, err := db.InviteUser(ctx, tn.account.ID, conversations.NewUser{Email: "dee@example.com", Name: "Dee", Role: conversations.RoleAgent},
			&tok, taken.Hash, t0, t0.Add(time.Hour)); err == nil {
			t.Fatal("an invite whose link could not be stored succeeded")
		}
		if us, err := db.UsersByEmail(ctx, "dee@example.com"); err != nil || len(us) != 0 {
			t.Errorf("after the failed invite the email has users %v (%v), want none", us, err)
		}
		if _, err := db.Authenticate(ctx, tok.Hash, t0); err == nil {
			t.Error("the failed invite's token authenticates")
		}
	})
}
