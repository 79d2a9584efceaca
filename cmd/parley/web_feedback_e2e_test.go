package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// What a person sees after sending a form or asking for a page that
// cannot be shown: the answer where they are looking, in their words.

// belowTheFold says whether sel's element sits further down the page
// than one window: without scrolling to it, a person would not see it.
func (b *tab) belowTheFold(sel string) bool {
	b.t.Helper()
	return eval[bool](b, fmt.Sprintf(`(() => { const el = document.querySelector(%q);
		return el.getBoundingClientRect().top + scrollY > innerHeight; })()`, sel))
}

// waitReachable waits (10 s) until sel's element can be seen and clicked
// in the window.
func (b *tab) waitReachable(sel string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		why := b.reachable(sel)
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: %s is not in view: %s", sel, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWebSettingsAnswerAtTheForm: on the long settings pages a refusal
// shows beside the form that was sent, in view and in the form's words,
// with what was typed kept (and the secrets it does not keep named); a
// save says "Saved." beside its button.
func TestWebSettingsAnswerAtTheForm(t *testing.T) {
	e := boot(t, "")
	ch := e.setupChannel(nil)["id"].(string)
	admin := e.adminMember()
	b := e.browser()
	b.viewport(1366, 768)
	b.signIn(admin.Email, admin.Password)

	// Connect a channel with a number that is none: the page comes back
	// at the refusal, far down it, the account SID kept, the token not.
	b.open("/settings/channels")
	b.input("#ch-number", "555")
	b.input("#ch-account", accountSID)
	b.input("#ch-token", authToken)
	b.click("form.connect-channel button[type=submit]")
	b.waitText("#connect-error", "not connected")
	if !b.belowTheFold("#connect-error") {
		t.Fatal("the refusal is near the page's top: this page is too short to tell whether it is brought into view")
	}
	b.waitReachable("#connect-error")
	if got := b.text("#ch-number-error"); !strings.Contains(got, "Phone number") {
		t.Errorf("the number's error reads %q", got)
	}
	if got := b.text("#connect-error"); !strings.Contains(got, "type the auth token again") {
		t.Errorf("the refusal does not say the token must be typed again: %q", got)
	}
	if got := eval[[]string](b, `["#ch-number", "#ch-account", "#ch-token"].map((s) => document.querySelector(s).value)`); got[0] != "555" || got[1] != accountSID || got[2] != "" {
		t.Errorf("the refused form holds number %q, SID %q, token %q; want what was typed, less the token", got[0], got[1], got[2])
	}

	// A token Twilio refuses: said in the card's form, in view.
	b.open("/settings/channels")
	b.waitLive()
	b.input("#token-"+ch, "wrongtoken0000000000000000000000")
	b.click(fmt.Sprintf("form[action='/settings/channels/%s/token'] button[type=submit]", ch))
	form := fmt.Sprintf("form[action='/settings/channels/%s/token']", ch)
	b.waitText(form+" .form-error", "Auth token is not accepted by the carrier for this account SID")
	b.waitReachable(form + " .form-error")

	// Settings: a bad time zone is said at the quiet hours, in the form's
	// words; a good one is saved, and the page says so.
	b.open("/settings")
	b.waitLive()
	b.js(`document.getElementById("quiet-on").checked = true`)
	b.input("#quiet-zone", "Mars/Olympus")
	b.click("#settings-quiet-hours button[type=submit]")
	b.waitText("#settings-quiet-hours .form-error", "Time zone must be an IANA time zone")
	b.waitReachable("#settings-quiet-hours .form-error")
	if got := b.text("#settings-quiet-hours .form-error"); strings.Contains(got, "quiet hours.") || strings.Contains(got, "quiet_hours") {
		t.Errorf("the refusal names the API's field: %q", got)
	}
	b.input("#quiet-zone", "Europe/Paris")
	b.click("#settings-quiet-hours button[type=submit]")
	b.waitText("#settings-quiet-hours [data-form-saved]", "Saved.")
	b.waitReachable("#settings-quiet-hours [data-form-saved]")
	if shown := eval[bool](b, `!document.querySelector("#settings-quiet-hours .form-error").hidden`); shown {
		t.Error("the saved form still shows its refusal")
	}
	if q := e.must(200, e.admin("GET", "/v1/settings/conversations", nil))["quiet_hours"]; fmt.Sprint(q) == "<nil>" || !strings.Contains(fmt.Sprint(q), "Europe/Paris") {
		t.Errorf("the API's quiet hours are %v", q)
	}

	// Keywords: an empty list is named as the form names it.
	b.input("#kw-opt-in", " , ")
	b.click("#settings-keywords button[type=submit]")
	b.waitText("#settings-keywords .form-error", "Opt-in keywords must list at least one keyword")
	b.waitReachable("#settings-keywords .form-error")
	b.click("#settings-replies button[type=submit]")
	b.waitText("#settings-replies [data-form-saved]", "Saved.")
	b.waitReachable("#settings-replies [data-form-saved]")
}

// TestWebThreadRefusalInWords: an empty reply is refused in the
// composer's words, not the API's.
func TestWebThreadRefusalInWords(t *testing.T) {
	b, _ := adminOnNewThread(t, "+14155550681")
	b.input("#reply-body", "   ")
	b.js(`document.getElementById("reply-form").requestSubmit()`)
	b.waitText("#reply-form .form-error", "Write a message first")
	b.waitReachable("#reply-form .form-error")
	if got := b.text("#alert"); strings.Contains(got, "media_urls") {
		t.Errorf("the refusal names the API's fields: %q", got)
	}
}

// TestWebErrorPagesKeepTheMenu: a page refused, missing or asked for
// with a wrong report range keeps the app's menu; the report's form
// comes back with what to correct beside it.
func TestWebErrorPagesKeepTheMenu(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	admin := e.adminMember()
	ann := e.staff("Ann Agent", "agent", false)
	a := e.browser()
	a.signIn(ann.Email, ann.Password)
	menu := func(b *tab, where string) {
		t.Helper()
		if got := eval[string](b, `document.querySelector("header.top nav")?.innerText ?? ""`); !strings.Contains(got, "Inbox") || !strings.Contains(got, "Notifications") {
			t.Errorf("%s: the page has no menu (%q)", where, got)
		}
	}
	a.open("/settings")
	if s := a.status(); s != 403 {
		t.Errorf("an agent's /settings answered %d", s)
	}
	if h := a.text("h1"); h != "Not allowed" {
		t.Errorf("an agent's /settings shows %q", h)
	}
	menu(a, "403")
	a.open("/no/such/page")
	if h := a.text("h1"); h != "Not found" {
		t.Errorf("a missing page shows %q", h)
	}
	menu(a, "404")

	b := e.browser()
	b.signIn(admin.Email, admin.Password)
	for _, c := range []struct{ name, query, want string }{
		{"From after Through", "from=2026-03-01&to=2026-02-01", "Through must not be before From"},
		{"over two years", "from=2022-01-01&to=2025-01-01", "at most two years"},
	} {
		b.open("/reports/outcomes?" + c.query)
		if s := b.status(); s != 422 {
			t.Errorf("%s: answered %d, want 422", c.name, s)
		}
		menu(b, c.name)
		if got := b.text("#report-error"); !strings.Contains(got, c.want) {
			t.Errorf("%s: the form says %q, want %q", c.name, got, c.want)
		}
		if got := eval[string](b, `document.getElementById("r-from").value + " " + document.getElementById("r-to").value`); !strings.Contains(c.query, strings.Replace(got, " ", "&to=", 1)) {
			t.Errorf("%s: the form holds %q, not what was asked", c.name, got)
		}
		if n := eval[int](b, `document.querySelectorAll("form.report-filters #report-error").length`); n != 1 {
			t.Errorf("%s: the error is not beside the form", c.name)
		}
	}
}

// TestWebNotificationBadge: the menu shows the unread notifications'
// count, kept current live as they arrive and are read.
func TestWebNotificationBadge(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	ann := e.staff("Ann Agent", "agent", false)
	b := e.browser()
	b.viewport(1366, 768)
	b.signIn(ann.Email, ann.Password)
	b.open("/inbox")
	b.waitLive()
	badge := func() string {
		return eval[string](b, `(() => { const el = document.getElementById("unread-count");
			return el && el.getClientRects().length > 0 ? el.textContent.trim() : ""; })()`)
	}
	if got := badge(); got != "" {
		t.Fatalf("with nothing unread the badge shows %q", got)
	}
	for i, phone := range []string{"+14155550671", "+14155550672", "+14155550673"} {
		e.text(phone, "Hello")
		conv := e.conversationOf(phone)["id"].(string)
		e.must(200, e.admin("POST", "/v1/conversations/"+conv+"/assign", map[string]any{"assignee_id": ann.ID}))
		want := fmt.Sprintf("%d unread", i+1)
		e.eventually("the badge shows "+want, func() bool { return badge() == want })
	}
	if got := eval[string](b, `document.querySelector("header.top a[href='/notifications']").innerText`); !strings.Contains(got, "Notifications") {
		t.Errorf("the menu link reads %q", got)
	}
	b.open("/notifications")
	b.waitLive()
	if got := badge(); got != "3 unread" {
		t.Fatalf("on a new page the badge shows %q", got)
	}
	b.click(".notification.unread form button[type=submit]")
	e.eventually("the badge shows 2 after one is read", func() bool { return badge() == "2 unread" })
	b.do(chromedp.Reload())
	if got := badge(); got != "2 unread" {
		t.Fatalf("after a reload the badge shows %q", got)
	}
}
