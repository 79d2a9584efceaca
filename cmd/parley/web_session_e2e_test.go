package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
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
