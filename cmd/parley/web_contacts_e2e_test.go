package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleyhq/parley/store/storetest"
)

// TestWebContacts drives the contacts, quick message and notifications
// screens in the browser on both databases: a contact is created, found,
// edited and shows its conversations; a quick message to two numbers
// queues one and skips the opted-out one with its reason, and the phone
// gets the text; an assignment made through the API appears live in the
// assignee's notifications, which they mark read.
func TestWebContacts(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			e.setupChannel(nil)
			admin := e.adminMember()
			grace := webContactFlow(t, e, admin)
			webQuickFlow(t, e, admin, grace)
			webNotificationFlow(t, e)
		})
	}
}

// signedIn opens a tab signed in as m. Each signed-in page holds a stream
// open while the browser keeps it for the back button, and a tab only has
// six connections to the server: a flow of many pages uses several tabs.
func signedIn(e *env, m staffMember) *tab {
	b := e.browser()
	b.signIn(m.Email, m.Password)
	return b
}

// webContactFlow creates, finds and edits a contact; it returns its id.
func webContactFlow(t *testing.T, e *env, admin staffMember) string {
	const phone = "+14155550501"
	b := signedIn(e, admin)
	// A contact with neither a name nor a phone is nobody: refused.
	before := len(e.admin("GET", "/v1/contacts", nil).Data())
	b.open("/contacts/new")
	b.click("form[action='/contacts'] button[type=submit]")
	b.waitText("body", "a phone number")
	if after := len(e.admin("GET", "/v1/contacts", nil).Data()); after != before {
		t.Errorf("an empty contact form made a contact: %d contacts, then %d", before, after)
	}
	b.open("/contacts/new")
	b.do(
		chromedp.SendKeys(chromedp.CSS("#contact-name"), "Grace Hopper"),
		chromedp.SendKeys(chromedp.CSS("#contact-phones"), "(415) 555-0501"),
		chromedp.Click(chromedp.CSS("form[action='/contacts'] button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".contact-facts")),
	)
	b.waitText("h1", "Grace Hopper")
	path := eval[string](b, "location.pathname")
	id := strings.TrimPrefix(path, "/contacts/")
	if !strings.HasPrefix(path, "/contacts/") || id == "" {
		t.Fatalf("after creating, the page is %s, want the contact's record", path)
	}
	if got := b.text(".contact-facts"); !strings.Contains(got, phone) {
		t.Errorf("the record shows %q, want the phone normalised to %s", got, phone)
	}

	// Found by a part of its name and by its phone; not by another name.
	for _, q := range []string{"hopp", "5550501"} {
		b.open("/contacts?q=" + url.QueryEscape(q))
		b.waitText(".contacts-table", "Grace Hopper")
	}
	b.open("/contacts?q=nobody-like-this")
	b.waitText(".contacts", "No contact matches")

	// Edited: the name and type change, as the API then reads them.
	b = signedIn(e, admin)
	b.open("/contacts?q=hopp")
	b.do(chromedp.Click(chromedp.CSS(".contacts-table a")), chromedp.WaitVisible(chromedp.CSS(".contact-facts")))
	b.do(chromedp.Click(chromedp.CSS("nav.tabs a[href$='/edit']")), chromedp.WaitVisible(chromedp.CSS("#contact-name")))
	eval[bool](b, `(() => { document.getElementById("contact-name").value = ""; return true })()`)
	b.do(
		chromedp.SendKeys(chromedp.CSS("#contact-name"), "Grace Brewster Hopper"),
		chromedp.SendKeys(chromedp.CSS("#contact-type"), "applicant"),
		chromedp.Click(chromedp.CSS(".contact-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".contact-conversations")),
	)
	b.waitText("h1", "Grace Brewster Hopper")
	c := e.must(200, e.admin("GET", "/v1/contacts/"+id, nil))
	if c["name"] != "Grace Brewster Hopper" || c["type"] != "applicant" {
		t.Errorf("after the edit the API reads %v / %v", c["name"], c["type"])
	}

	// Its Conversations tab lists the thread the phone starts.
	b.waitText(".contact-conversations", "No conversations")
	e.text(phone, "Hello, it's Grace")
	conv := e.conversationOf(phone)
	if conv["contact"].(map[string]any)["id"] != id {
		t.Fatalf("the phone's conversation belongs to contact %v, want %s", conv["contact"], id)
	}
	b.open("/contacts/" + id)
	href := eval[string](b, `document.querySelector(".contact-conversations a").getAttribute("href")`)
	if want := fmt.Sprintf("/inbox/conversations/%v", conv["id"]); href != want {
		t.Errorf("the conversations tab links to %q, want %q", href, want)
	}

	// Renamed elsewhere, the contact's name changes in an open inbox.
	inbox := signedIn(e, admin)
	inbox.open("/inbox")
	inbox.waitText(".list .convs", "Grace Brewster Hopper")
	e.must(200, e.admin("PATCH", "/v1/contacts/"+id, map[string]any{"name": "Grace Murray Hopper"}))
	inbox.waitText(".list .convs", "Grace Murray Hopper")
	return id
}

// webQuickFlow sends a quick message to two numbers, one opted out, and
// to the contact (picked from its record's link).
func webQuickFlow(t *testing.T, e *env, admin staffMember, contactID string) {
	const ok, out, contactPhone = "+14155550601", "+14155550602", "+14155550501"
	e.must(201, e.admin("POST", "/v1/optouts", map[string]any{"phone": out}))
	b := signedIn(e, admin)
	b.open("/contacts/" + contactID)
	b.do(chromedp.Click(chromedp.CSS(".page-head a[href^='/quick']")), chromedp.WaitVisible(chromedp.CSS(".quick-form")))
	if !eval[bool](b, `document.querySelector(".quick-contacts input[name=contact_id]:checked")?.value === `+fmt.Sprintf("%q", contactID)) {
		t.Errorf("the contact's quick message link did not pick the contact: %s", b.text(".quick-form"))
	}
	b.do(
		chromedp.SendKeys(chromedp.CSS("#quick-to"), ok+", "+out),
		chromedp.SendKeys(chromedp.CSS("#quick-body"), "Your table is ready, {{first_name|friend}}."),
		chromedp.Click(chromedp.CSS(".quick-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".quick-result")),
	)
	if got := b.text(".quick-result h2"); got != "Sent to 2, skipped 1" {
		t.Errorf("the result says %q", got)
	}
	if got := b.text(".quick-sent"); !strings.Contains(got, ok) || !strings.Contains(got, contactPhone) {
		t.Errorf("queued: %q, want %s and the contact's %s", got, ok, contactPhone)
	}
	skipped := b.text(".quick-skipped")
	if !strings.Contains(skipped, out) || !strings.Contains(skipped, "Opted out") || strings.Contains(skipped, ok) {
		t.Errorf("skipped: %q, want %s as opted out", skipped, out)
	}
	// Each recipient's text has its contact's fields, as a campaign's does.
	for phone, want := range map[string]string{ok: "Your table is ready, friend.", contactPhone: "Your table is ready, Grace."} {
		e.eventually("the text at "+phone, func() bool { return len(e.received(phone)) == 1 })
		if got := e.received(phone); got[0] != want {
			t.Errorf("%s received %q, want %q", phone, got, want)
		}
	}
	if got := e.received(out); len(got) != 0 {
		t.Errorf("the opted-out phone received %q", got)
	}

	// The result has its own address: reloading it shows the result
	// again and sends nothing more.
	if got := eval[string](b, "location.pathname"); got != "/quick/sent" {
		t.Fatalf("after sending the page is %s, want the result's own address /quick/sent", got)
	}
	messages := func() int {
		id := fmt.Sprint(e.conversationOf(ok)["id"])
		return len(e.must(200, e.admin("GET", "/v1/conversations/"+id+"/messages", nil))["data"].([]any))
	}
	before := messages()
	b.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".quick-result")))
	if got := b.text(".quick-result h2"); got != "Sent to 2, skipped 1" {
		t.Errorf("the reloaded result says %q", got)
	}
	if got := b.text(".quick-skipped"); !strings.Contains(got, out) || !strings.Contains(got, "Opted out") {
		t.Errorf("the reloaded result skipped: %q, want %s as opted out", got, out)
	}
	if got := b.text(".quick-sent"); !strings.Contains(got, ok) || !strings.Contains(got, contactPhone) {
		t.Errorf("the reloaded result queued: %q", got)
	}
	if after := messages(); after != before {
		t.Errorf("reloading the result made the conversation's messages %d, was %d", after, before)
	}
	time.Sleep(500 * time.Millisecond)
	for _, phone := range []string{ok, contactPhone} {
		if got := e.received(phone); len(got) != 1 {
			t.Errorf("after reloading the result %s received %q, want the one text", phone, got)
		}
	}

	// A form the domain refuses comes back as typed, with the reason.
	b.open("/quick")
	b.do(chromedp.SendKeys(chromedp.CSS("#quick-body"), "To nobody"), chromedp.Click(chromedp.CSS(".quick-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#quick-error")))
	if got := b.text("#quick-error"); !strings.Contains(got, "Recipients: Choose at least one contact or type a phone number") || strings.Contains(got, "contact_ids") {
		t.Errorf("a message to nobody says %q", got)
	}
	if got := eval[string](b, `document.getElementById("quick-body").value`); got != "To nobody" {
		t.Errorf("the refused form kept %q, want the message typed", got)
	}

	// A field the template does not know is named, and nothing is sent.
	b.open("/quick")
	b.do(chromedp.SendKeys(chromedp.CSS("#quick-to"), ok), chromedp.SendKeys(chromedp.CSS("#quick-body"), "Hi {{firstname}}"),
		chromedp.Click(chromedp.CSS(".quick-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#quick-error")))
	if got := b.text("#quick-error"); !strings.Contains(got, "Message: unknown field {{firstname}}") {
		t.Errorf("an unknown field says %q", got)
	}
	if got := eval[string](b, `document.getElementById("quick-body").value`); got != "Hi {{firstname}}" {
		t.Errorf("the refused form kept %q, want the message typed", got)
	}
	if got := e.received(ok); len(got) != 1 {
		t.Errorf("after the refused form %s received %q, want only the first text", ok, got)
	}
}

func webNotificationFlow(t *testing.T, e *env) {
	const phone = "+14155550701"
	agent := e.staff("Ann Agent", "agent", false)
	b := signedIn(e, agent)
	b.open("/notifications")
	b.waitText(".notification-list", "No notifications")

	e.text(phone, "Can someone help me?")
	conv := e.conversationOf(phone)
	e.must(200, e.admin("POST", fmt.Sprintf("/v1/conversations/%v/assign", conv["id"]), map[string]any{"assignee_id": agent.ID}))

	// It appears without a reload, unread, linking to the conversation.
	b.waitText(".notification-list", "assigned a conversation to you")
	b.waitText(".notification-count", "1 unread")
	href := eval[string](b, `document.querySelector(".notification.unread a.notification-link").getAttribute("href")`)
	if want := fmt.Sprintf("/inbox/conversations/%v", conv["id"]); href != want {
		t.Errorf("the notification links to %q, want %q", href, want)
	}

	b.click(".notification.unread button[type=submit]")
	b.waitText(".notification-count", "Nothing unread")
	b.open("/notifications")
	if n := eval[int](b, `document.querySelectorAll(".notification.unread").length`); n != 0 {
		t.Errorf("after marking it read, %d unread notifications remain on reload", n)
	}
}
