package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
	"github.com/parleyhq/parley/store/storetest"
	"github.com/parleyhq/parley/web"
)

// TestWebSignIn: a wrong password is refused with one message, the right
// one opens the inbox with a session cookie the page's script cannot read,
// and signing out ends it.
func TestWebSignIn(t *testing.T) {
	e := boot(t, "")
	b := e.browser()
	admin := e.adminMember()

	b.open("/inbox") // not signed in: to the sign-in page and back after
	if got := eval[string](b, "location.pathname"); got != "/login" {
		t.Fatalf("signed out, /inbox went to %s, want /login", got)
	}
	b.do(chromedp.SendKeys("#email", admin.Email), chromedp.SendKeys("#password", "not the password"),
		chromedp.Click("form[action='/login'] button[type=submit]"), chromedp.WaitVisible(".auth .error"))
	if msg := b.text(".auth .error"); !strings.Contains(msg, "email or the password is wrong") {
		t.Fatalf("wrong password says %q", msg)
	}

	b.do(chromedp.SendKeys("#password", admin.Password), // the refused form comes back without it
		chromedp.Click("form[action='/login'] button[type=submit]"), chromedp.WaitVisible("header.top"))
	if got := eval[string](b, "location.pathname"); got != "/inbox" {
		t.Fatalf("after sign-in the page is %s, want /inbox", got)
	}
	if cookies := eval[string](b, "document.cookie"); strings.Contains(cookies, "parley_session") {
		t.Fatalf("the session cookie is readable by script: %q", cookies)
	}

	b.do(chromedp.Click("form[action='/logout'] button"), chromedp.WaitVisible("#email"))
	b.open("/inbox")
	if got := eval[string](b, "location.pathname"); got != "/login" {
		t.Fatalf("after sign-out /inbox shows %s, want /login", got)
	}
}

// TestWebPagesCarryAStrictPolicy: every page forbids inline script and
// other origins, and the sign-in form posted from another origin is refused.
func TestWebPagesCarryAStrictPolicy(t *testing.T) {
	e := boot(t, "")
	res, err := http.Get(e.base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "default-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy allows inline code: %q", csp)
	}
	req, _ := http.NewRequest("POST", e.base+"/login", strings.NewReader("email=a@b.c&password=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("a cross-site sign-in post answered %d, want 403", res.StatusCode)
	}
}

// withLoginLimit boots Parley with another sign-in rate limit.
func withLoginLimit(l web.LoginLimit) envOption {
	return func(c *Config, _ *twiliotest.Config) { c.loginLimit = l }
}

// status is the HTTP status of the page the tab shows.
func (b *tab) status() int {
	b.t.Helper()
	return eval[int](b, `performance.getEntriesByType("navigation")[0].responseStatus`)
}

// path is the path of the page the tab shows.
func (b *tab) path() string {
	b.t.Helper()
	return eval[string](b, "location.pathname")
}

// sessionCookie is the tab's session cookie for the inbox (HttpOnly:
// read through the DevTools protocol).
func (b *tab) sessionCookie() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	res, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base}})
	})
	if err != nil {
		b.t.Fatalf("browser: cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == web.SessionCookie {
			return c.Value
		}
	}
	return ""
}

// streamStatus is the status /v1/stream answers with the session cookie.
func (e *env) streamStatus(session string) int {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // a stream that opened stays open: the status is enough
	req, _ := http.NewRequestWithContext(ctx, "GET", e.base+"/v1/stream", nil)
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: session})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestWebSetPasswordLink: the link POST /v1/users returns lets the new
// user choose a password and lands them signed in; it works once, and not
// after 72 hours.
func TestWebSetPasswordLink(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			clock := &testClock{t: time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)}
			e := boot(t, storetest.URL(t, dialect), withClock(clock))
			newUser := func(email, name string) string {
				t.Helper()
				u := e.must(201, e.admin("POST", "/v1/users", map[string]any{"email": email, "name": name, "role": "agent"}))
				link, _ := u["set_password_url"].(string)
				path, ok := strings.CutPrefix(link, publicURL+"/set-password/")
				if !ok || len(path) < 20 {
					t.Fatalf("set_password_url %q is not PARLEY_PUBLIC_URL/set-password/<secret>", link)
				}
				return "/set-password/" + path
			}
			link := newUser("nia@example.com", "Nia New")
			b := e.browser()
			b.open(link)
			b.waitText("main", "Nia New (nia@example.com)")
			b.do(chromedp.SendKeys("#password", "nia's own password"), chromedp.SendKeys("#confirm", "nia's own password"),
				chromedp.Click("main form button[type=submit]"), chromedp.WaitVisible("header.top"))
			if got := b.path(); got != "/inbox" {
				t.Fatalf("after choosing a password the page is %s, want /inbox", got)
			}
			b.waitText("header.top .who", "Nia New")
			if status, session := e.postSignIn("nia@example.com", "nia's own password"); status != http.StatusSeeOther || session == "" {
				t.Fatalf("signing in with the chosen password answered %d", status)
			}

			again := e.browser()
			again.open(link)
			again.waitText("main", "unknown, used or expired")
			if s := again.status(); s != http.StatusNotFound {
				t.Fatalf("a spent link answered %d, want 404", s)
			}
			if n := eval[int](again, `document.querySelectorAll("#password").length`); n != 0 {
				t.Fatal("a spent link still offers the password form")
			}

			late := newUser("lee@example.com", "Lee Late")
			clock.Advance(72*time.Hour + time.Minute)
			again.open(late)
			again.waitText("main", "unknown, used or expired: ask an admin for a new one")
			if s := again.status(); s != http.StatusNotFound {
				t.Fatalf("an expired link answered %d, want 404", s)
			}
			if status, _ := e.postSignIn("lee@example.com", "lee's own password"); status != http.StatusUnauthorized {
				t.Fatalf("lee signed in (%d) without ever choosing a password", status)
			}
		})
	}
}

// TestWebSessionDiesOnDeactivation: a deactivated user's open browser is
// signed out at its next page, and its cookie no longer opens the stream.
func TestWebSessionDiesOnDeactivation(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			ann := e.staff("Ann Agent", "agent", false)
			b := e.browser()
			b.signIn(ann.Email, ann.Password)
			session := b.sessionCookie()
			if session == "" || e.streamStatus(session) != http.StatusOK {
				t.Fatalf("signed in, the session cookie %q does not open /v1/stream", session)
			}

			e.must(200, e.admin("PATCH", "/v1/users/"+ann.ID, map[string]any{"active": false}))
			b.open("/inbox")
			if got := b.path(); got != "/login" {
				t.Fatalf("after deactivation /inbox shows %s, want /login", got)
			}
			if s := e.streamStatus(session); s != http.StatusUnauthorized {
				t.Fatalf("after deactivation /v1/stream with the cookie answered %d, want 401", s)
			}
			// Reactivated, she signs in afresh: the old session stays dead.
			e.must(200, e.admin("PATCH", "/v1/users/"+ann.ID, map[string]any{"active": true}))
			if s := e.streamStatus(session); s != http.StatusUnauthorized {
				t.Fatalf("after reactivation the old cookie answered %d, want 401", s)
			}
		})
	}
}

// TestWebForgedFormsRefused: a page of another site that posts a form to
// the inbox while its victim is signed in is refused, and so is a post of
// the inbox's own origin without the form token, or an API change by
// cookie without the token header: nothing changes.
func TestWebForgedFormsRefused(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			admin := e.adminMember()
			// The attacker's site: another origin (localhost, where the
			// inbox is 127.0.0.1) whose page sends a form to the inbox as
			// soon as it loads.
			evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/logout"><input name="csrf" value="guess"></form>
<script>document.forms[0].submit()</script>`, e.base)
			}))
			t.Cleanup(evil.Close)
			evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)

			b := e.browser()
			b.signIn(admin.Email, admin.Password)
			b.open("/inbox")
			b.do(chromedp.Navigate(evilURL))
			b.waitText("main", "sent from another site and was refused")
			if s, p := b.status(), b.path(); s != http.StatusForbidden || p != "/logout" {
				t.Fatalf("the forged sign-out answered %d at %s, want 403 at /logout", s, p)
			}
			b.open("/inbox")
			if b.path() != "/inbox" || b.text("header.top .who") == "" {
				t.Fatalf("the forged form signed the victim out: the inbox shows %s", b.path())
			}

			// The inbox's own origin, without the token.
			b.do(chromedp.Evaluate[chromedp.Void](`(() => { const f = document.createElement("form");
f.method = "post"; f.action = "/logout"; document.body.append(f); f.submit(); })()`))
			b.waitText("main", "not sent from Parley")
			if s := b.status(); s != http.StatusForbidden {
				t.Fatalf("a post without the form token answered %d, want 403", s)
			}
			ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
			defer cancel()
			status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/v1/me", {method: "PATCH",
headers: {"Content-Type": "application/json"}, body: JSON.stringify({available: false})}).then(r => r.status)`, chromedp.EvalAwaitPromise))
			if err != nil || status != http.StatusForbidden {
				t.Fatalf("an API change by cookie without X-CSRF-Token answered %d (%v), want 403", status, err)
			}
			b.open("/inbox")
			if b.path() != "/inbox" {
				t.Fatalf("a post without the token signed the user out: %s", b.path())
			}
			if me := e.must(200, e.admin("GET", "/v1/me", nil)); me["available"] != true {
				t.Fatalf("the refused API call changed the user: %v", me)
			}
		})
	}
}

// TestWebSignInRateLimited: after the burst of wrong passwords, even the
// right one is refused for a while with a message saying so.
func TestWebSignInRateLimited(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect), withLoginLimit(web.LoginLimit{Burst: 3, Every: time.Hour}))
			admin := e.adminMember()
			b := e.browser()
			submit := func(password string) {
				b.open("/login")
				b.do(chromedp.SendKeys("#email", admin.Email), chromedp.SendKeys("#password", password),
					chromedp.Click("form[action='/login'] button[type=submit]"), chromedp.WaitVisible(".auth .error"))
			}
			for i := range 3 {
				submit("wrong password " + fmt.Sprint(i))
				if s := b.status(); s != http.StatusUnauthorized {
					t.Fatalf("wrong password %d answered %d, want 401", i+1, s)
				}
			}
			submit(admin.Password)
			if s := b.status(); s != http.StatusTooManyRequests {
				t.Fatalf("the right password after the burst answered %d, want 429", s)
			}
			if msg := b.text(".auth .error"); !strings.Contains(msg, "Too many sign-in attempts") {
				t.Fatalf("the refusal says %q", msg)
			}
			b.open("/inbox")
			if got := b.path(); got != "/login" {
				t.Fatalf("the refused sign-in opened %s", got)
			}
		})
	}
}

// TestWebSignInAgainEndsTheOldSession: signing in from a browser that has
// a session ends that one (one browser, one session), and the cookie is
// Secure because PARLEY_PUBLIC_URL is https even though this request is not.
func TestWebSignInAgainEndsTheOldSession(t *testing.T) {
	e := boot(t, "")
	admin := e.adminMember()
	signIn := func(old *http.Cookie) *http.Cookie {
		t.Helper()
		form := url.Values{"email": {admin.Email}, "password": {admin.Password}}
		req, _ := http.NewRequest("POST", e.base+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if old != nil {
			req.AddCookie(old)
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		for _, c := range res.Cookies() {
			if c.Name == "parley_session" && c.Value != "" {
				if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
					t.Errorf("session cookie Secure=%v HttpOnly=%v SameSite=%v", c.Secure, c.HttpOnly, c.SameSite)
				}
				return c
			}
		}
		t.Fatalf("sign-in answered %d without a session cookie", res.StatusCode)
		return nil
	}
	works := func(c *http.Cookie) bool {
		req, _ := http.NewRequest("GET", e.base+"/v1/me", nil)
		req.AddCookie(c)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}
	first := signIn(nil)
	second := signIn(first)
	if works(first) {
		t.Error("the first session still works after signing in again from the same browser")
	}
	if !works(second) {
		t.Error("the new session does not work")
	}
}
