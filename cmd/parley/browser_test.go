package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleyhq/parley/conversations"
)

// Browser tests drive the web inbox in headless Chromium (Debian's
// chromium package) through chromedp, against the real program on :0.
// One Chromium serves the package; each tab gets a browser context of its
// own, so two tabs are two people with their own cookies.

var (
	chromiumOnce  sync.Once
	chromiumCtx   context.Context
	chromiumError string
)

// chromiumPath finds Chromium, or says why there is none.
func chromiumPath() (string, error) {
	if p := os.Getenv("PARLEY_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium on PATH (apt-get install -y chromium, or set PARLEY_CHROMIUM)")
}

func sharedChromium() (context.Context, string) {
	chromiumOnce.Do(func() {
		path, err := chromiumPath()
		if err != nil {
			chromiumError = err.Error()
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.WindowSize(1400, 900),
		)
		alloc, _ := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, _ := chromedp.NewContext(alloc)
		// The first Do starts the browser; it lives as long as the test
		// binary (chromedp kills it when the binary exits).
		if err := chromedp.Do(ctx); err != nil {
			chromiumError = "start chromium: " + err.Error()
			return
		}
		chromiumCtx = ctx
	})
	return chromiumCtx, chromiumError
}

// tab is one person's browser on the web inbox of e.
type tab struct {
	t    testing.TB
	ctx  context.Context
	base string
}

// browser opens a tab with its own cookies. Without Chromium the test is
// skipped, loudly, or fails under CI=true.
func (e *env) browser() *tab {
	t := e.t
	t.Helper()
	root, why := sharedChromium()
	if root == nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser tests need Chromium under CI=true: %s", why)
		}
		fmt.Fprintf(os.Stderr, "\n*** SKIPPING BROWSER TEST %s: %s ***\n\n", t.Name(), why)
		t.Skip("no Chromium: " + why)
	}
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	// The tab is made by a first call without a deadline: a deadline on
	// it would close the tab when it passed.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("open a browser tab: %v", err)
	}
	b := &tab{t: t, ctx: ctx, base: e.base}
	t.Cleanup(func() {
		if t.Failed() {
			b.saveFailure()
		}
		cancel()
	})
	return b
}

// saveFailure keeps a screenshot and the page's HTML of a failed test.
func (b *tab) saveFailure() {
	dir := filepath.Join(os.TempDir(), "parley-browser-failures")
	_ = os.MkdirAll(dir, 0o755)
	name := strings.NewReplacer("/", "_", " ", "_").Replace(b.t.Name())
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(80)); err == nil {
		p := filepath.Join(dir, name+".png")
		_ = os.WriteFile(p, png, 0o644)
		b.t.Logf("screenshot: %s", p)
	}
	if html, err := chromedp.Run(ctx, chromedp.OuterHTML("html")); err == nil {
		p := filepath.Join(dir, name+".html")
		_ = os.WriteFile(p, []byte(html), 0o644)
		b.t.Logf("page HTML: %s\n%.4000s", p, html)
	}
}

// do runs steps, failing the test on the first error (10 s for them all).
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// open goes to a path of the inbox and waits for the page to be ready.
func (b *tab) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitReady("body"))
}

// text is the visible text of the first element sel matches, once there
// is one (10 s). It is read by selector each time: a pane swapped between
// finding the element and reading it is read again, not an error.
func (b *tab) text(sel string) string {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); return el ? el.innerText : null; })()`, sel)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := tryEval[*string](b, js)
		if err == nil && got != nil {
			return *got
		}
		if err != nil && !transient(err) {
			b.t.Fatalf("browser: text of %s: %v", sel, err)
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: no %s on the page", sel)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// transient reports a browser error a page being swapped or navigated
// causes: asking again is right. Under a loaded machine a pane refresh or
// a form's navigation often lands between two steps of one read.
func transient(err error) bool {
	s := err.Error()
	for _, m := range []string{"No node with given id", "navigated or closed", "context with specified id", "Execution context was destroyed"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// tryEval runs a JavaScript expression and returns its value or error.
func tryEval[T any](b *tab, js string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js))
}

// eval runs a JavaScript expression in the page and returns its value.
func eval[T any](b *tab, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("browser: eval %s: %v", js, err)
	}
	return v
}

// waitText waits until the element sel matches contains want (20 s: the
// whole suite shares two cores with the race detector on, and a page
// that is right sooner returns at once).
func (b *tab) waitText(sel, want string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); return el ? el.innerText : ""; })()`, sel)
	for {
		got, err := tryEval[string](b, js)
		if err != nil && !transient(err) {
			b.t.Fatalf("browser: eval %s: %v", js, err)
		}
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: %s never showed %q; it shows %q", sel, want, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// signIn signs in through the login form and waits for the inbox.
func (b *tab) signIn(email, password string) {
	b.t.Helper()
	b.open("/login")
	b.do(
		chromedp.SendKeys("#email", email),
		chromedp.SendKeys("#password", password),
		chromedp.Click("form[action='/login'] button[type=submit]"),
		chromedp.WaitVisible("header.top"),
	)
}

// staffMember is a user with a password, for signing in.
type staffMember struct {
	ID       string
	Email    string
	Password string
}

// adminMember gives the bootstrap admin a password.
func (e *env) adminMember() staffMember {
	e.t.Helper()
	me := e.must(200, e.admin("GET", "/v1/me", nil))
	return e.withPassword(me)
}

// staff creates a user through the API and gives them a password.
func (e *env) staff(name, role string, viewAll bool) staffMember {
	e.t.Helper()
	email := strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com"
	u := e.must(201, e.admin("POST", "/v1/users", map[string]any{"email": email, "name": name, "role": role, "view_all_conversations": viewAll}))
	if user, ok := u["user"].(map[string]any); ok {
		u = user
	}
	return e.withPassword(u)
}

func (e *env) withPassword(u map[string]any) staffMember {
	e.t.Helper()
	ctx := context.Background()
	email := fmt.Sprint(u["email"])
	users, err := e.main.DB.UsersByEmail(ctx, email)
	if err != nil || len(users) != 1 {
		e.t.Fatalf("user %s: %v (%d found)", email, err, len(users))
	}
	user := users[0].User
	password := "correct horse " + user.ID.String()
	hash, err := conversations.HashPassword(password)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.main.DB.SetPassword(ctx, user.AccountID, user.ID, hash, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	return staffMember{ID: user.ID.String(), Email: email, Password: password}
}

// click clicks the element sel matches now, by script: a live refresh may
// swap a pane between finding a node and clicking it, which a DevTools
// node handle does not survive.
func (b *tab) click(sel string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return false; el.click(); return true; })()`, sel)
	deadline := time.Now().Add(10 * time.Second)
	for !eval[bool](b, js) {
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: nothing to click at %s", sel)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
