package main

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/web"
)

// setPassword runs parley user set-password on e's database with stdin.
func (e *env) setPassword(stdin string, args ...string) (stdout, stderr string, err error) {
	e.t.Helper()
	var out, errOut bytes.Buffer
	getenv := getenvFrom(map[string]string{"PARLEY_DATABASE_URL": e.main.Config.DatabaseURL})
	err = runWithStdin(context.Background(), append([]string{"user", "set-password"}, args...), getenv, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// postSignIn posts the sign-in form as a browser would and returns the
// answer's status and the session cookie it set ("" when none).
func (e *env) postSignIn(email, password string) (int, string) {
	e.t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.PostForm(e.base+"/login", url.Values{"email": {email}, "password": {password}})
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	for _, c := range res.Cookies() {
		if c.Name == "parley_session" && c.Value != "" {
			return res.StatusCode, c.Value
		}
	}
	return res.StatusCode, ""
}

// signedInAs reports whether the session cookie opens the inbox.
func (e *env) signedInAs(session string) bool {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.base+"/inbox", nil)
	req.AddCookie(&http.Cookie{Name: "parley_session", Value: session})
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// TestUserSetPasswordCommand: the shell sets a password that signs in on
// the web, signs the user out of their browsers, and refuses what it
// cannot do with a message saying why.
func TestUserSetPasswordCommand(t *testing.T) {
	e := boot(t, "", withLoginLimit(web.LoginLimit{Burst: 100, Every: time.Millisecond}))
	const email = "admin@parley.local"
	if status, _ := e.postSignIn(email, "first password 1"); status != http.StatusUnauthorized {
		t.Fatalf("before any password, sign-in answered %d, want 401", status)
	}

	out, errOut, err := e.setPassword("first password 1\n", "--email", " Admin@Parley.local ")
	if err != nil || !strings.Contains(out, "password set for admin@parley.local") {
		t.Fatalf("set-password: %v\nstdout %q\nstderr %q", err, out, errOut)
	}
	status, session := e.postSignIn(email, "first password 1")
	if status != http.StatusSeeOther || session == "" || !e.signedInAs(session) {
		t.Fatalf("sign-in with the new password: %d, cookie %q", status, session)
	}

	// A second run replaces it and signs the open browser out.
	if _, errOut, err := e.setPassword("second password 2", "--email", email); err != nil {
		t.Fatalf("set-password again: %v %s", err, errOut)
	}
	if e.signedInAs(session) {
		t.Fatal("the browser signed in before the password changed is still in")
	}
	if status, _ := e.postSignIn(email, "first password 1"); status != http.StatusUnauthorized {
		t.Fatalf("the old password answered %d, want 401", status)
	}
	if status, _ := e.postSignIn(email, "second password 2"); status != http.StatusSeeOther {
		t.Fatalf("the new password answered %d, want 303", status)
	}

	// The same email in a second account needs --account.
	e.staffSecondAccount()
	users, err := e.main.DB.UsersByEmail(context.Background(), email)
	if err != nil || len(users) != 2 {
		t.Fatalf("the admins of both accounts: %v, %d found", err, len(users))
	}
	first, acme := users[0].AccountID.String(), users[1].AccountID.String()
	for _, tt := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"unknown email", "third password 3\n", []string{"--email", "nobody@example.com"}, "no active user nobody@example.com"},
		{"too short", "short\n", []string{"--email", email, "--account", first}, "the password must be at least 10 characters"},
		{"empty stdin", "", []string{"--email", email, "--account", first}, "no password on standard input"},
		{"two accounts", "third password 3\n", []string{"--email", email}, "say which with --account"},
		{"wrong account", "third password 3\n", []string{"--email", email, "--account", "999"}, "no active user admin@parley.local in account 999"},
		{"not an id", "third password 3\n", []string{"--email", email, "--account", "Acme"}, "want an account id"},
	} {
		if _, errOut, err := e.setPassword(tt.stdin, tt.args...); err == nil || !strings.Contains(err.Error()+errOut, tt.want) {
			t.Errorf("%s: err %v, stderr %q; want %q", tt.name, err, errOut, tt.want)
		}
	}
	if _, errOut, err := e.setPassword("acme password 4\n", "--email", email, "--account", acme); err != nil {
		t.Fatalf("set-password --account %s: %v %s", acme, err, errOut)
	}
	for _, password := range []string{"second password 2", "acme password 4"} {
		if status, _ := e.postSignIn(email, password); status != http.StatusSeeOther {
			t.Errorf("%q answered %d, want 303: each account's admin has their own", password, status)
		}
	}
}

func TestUserSetPasswordUsage(t *testing.T) {
	stdout, stderr, err := runCLI("user", "set-password", "-h")
	if err != nil || stderr != "" || !strings.Contains(stdout, "usage: parley user set-password --email EMAIL [--account ID]") ||
		!strings.Contains(stdout, "-database-url") || strings.Contains(stdout, "-public-url ") {
		t.Fatalf("-h: %v %q\n%s", err, stderr, stdout)
	}
	if _, stderr, err := runCLI("user", "set-password"); err == nil || !strings.Contains(stderr, "--email is required") {
		t.Fatalf("without --email: %v %q", err, stderr)
	}
	if _, stderr, err := runCLI("user", "remove"); err == nil || !strings.Contains(stderr, `unknown command "user remove"`) {
		t.Fatalf("unknown subcommand: %v %q", err, stderr)
	}
}
