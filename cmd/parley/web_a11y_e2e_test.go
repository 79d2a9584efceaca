package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestWebControlsHaveNames: on every screen, each form control and button
// has a name a screen reader can say (a <label>, aria-label or
// aria-labelledby, or a button's text), each page has one <h1> or a
// labelled main region, and the main menu marks the page's section.
// Pages are visited as an admin, with data in them.
func TestWebControlsHaveNames(t *testing.T) {
	e := boot(t, "")
	channel := e.setupChannel(nil)["id"].(string)
	admin := e.adminMember()
	e.text("+14155550171", "Hello, a question about my booking")
	conv := e.conversationOf("+14155550171")["id"].(string)
	contact := e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": "Lin", "phones": []string{"+14155550172"}}))["id"].(string)
	camp := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Spring", "channel_id": channel, "body": "Hi {{ first_name | there }}",
		"audience": map[string]any{"contact_ids": []string{contact}}}))["id"].(string)
	ann := e.staff("Ann Agent", "agent", false)
	table := e.rtTable("Sales", false, rtEntry("round_robin", []map[string]any{{"id": ann.ID}}, nil))["id"].(string)

	b := e.browser()
	b.signIn(admin.Email, admin.Password)
	pages := []string{
		"/inbox", "/inbox/conversations/" + conv, "/contacts", "/contacts/new", "/contacts/" + contact,
		"/contacts/" + contact + "/edit", "/quick", "/campaigns", "/campaigns/new", "/campaigns/" + camp,
		"/notifications", "/settings", "/settings/users", "/settings/inboxes", "/settings/channels",
		"/settings/routing", "/settings/routing/" + table, "/settings/contact-types", "/settings/tags", "/settings/webhooks", "/reports/outcomes",
		"/reports/outbound", "/reports/outbound?tab=detailed", "/reports/outbound?tab=audit",
	}
	const unnamed = `(() => {
		const named = (el) => {
			if (el.type === "hidden" || el.closest("[hidden]")) return true;
			if (el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")) return true;
			if (el.labels && el.labels.length > 0 && [...el.labels].some((l) => l.textContent.trim())) return true;
			if ((el.tagName === "BUTTON" || el.tagName === "SUMMARY") && el.textContent.trim()) return true;
			if (el.tagName === "INPUT" && ["submit", "button", "reset"].includes(el.type) && el.value) return true;
			return false;
		};
		const bad = [...document.querySelectorAll("input, select, textarea, button")].filter((el) => !named(el));
		const h1 = document.querySelectorAll("h1").length;
		return bad.map((el) => el.outerHTML.slice(0, 160)).concat(h1 === 0 && !document.querySelector("[aria-label] h2, section[aria-label]") ? ["no <h1> and no labelled region"] : []).join("\n");
	})()`
	for _, p := range pages {
		b.open(p)
		if path := eval[string](b, "location.pathname"); !strings.HasPrefix(p, path) {
			t.Errorf("%s went to %s", p, path)
			continue
		}
		if bad := eval[string](b, unnamed); bad != "" {
			t.Errorf("%s has controls without a name:\n%s", p, bad)
		}
		// The main menu says which part of Parley this page is in.
		section := "/" + strings.SplitN(strings.TrimPrefix(p, "/"), "/", 2)[0]
		if got := eval[string](b, `[...document.querySelectorAll(".top nav a[aria-current]")].map((a) => a.getAttribute("href")).join(" ")`); !strings.HasPrefix(got, section) || strings.Contains(got, " ") {
			t.Errorf("%s: the menu marks %q as current, want the link to %s", p, got, section)
		}
	}
}

// TestWebRefreshKeepsFocus: a keyboard user's focus stays where it was
// when a live update refreshes the pane around it, on controls without an
// id too (an action button, a list row), and a button whose form is sent
// (Pending) leaves the focus on the thread's actions, never on the page's
// body, from where the next Tab starts over at the top.
func TestWebRefreshKeepsFocus(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	admin := e.adminMember()
	const p1, p2 = "+14155550181", "+14155550182"
	e.text(p1, "First question")
	conv := e.conversationOf(p1)["id"].(string)
	b := e.browser()
	b.signIn(admin.Email, admin.Password)
	b.open("/inbox/conversations/" + conv)
	b.waitText(".thread-scroll", "First question")
	b.waitLive()
	focused := `(() => { const el = document.activeElement; return el === document.body ? "the page's body" : el.outerHTML.slice(0, 100); })()`

	// An action button, when a text arrives in the thread.
	b.js(`[...document.querySelectorAll(".thread-actions button")].find((el) => el.textContent.trim() === "Close").focus()`)
	e.text(p1, "Second question")
	b.waitText(".thread-scroll", "Second question")
	if got := eval[string](b, focused); !strings.Contains(got, ">Close</button>") {
		t.Errorf("after a live refresh of the thread, the focus is on %s, want the Close button", got)
	}

	// A list row, when another conversation arrives in the list.
	b.js(`document.querySelector(".list a[data-nav-item][aria-current]").focus()`)
	e.text(p2, "Another customer")
	b.waitText(".list", p2)
	if got := eval[string](b, focused); !strings.Contains(got, `href="/inbox/conversations/`+conv+`"`) {
		t.Errorf("after a live refresh of the list, the focus is on %s, want the open conversation's row", got)
	}

	// Pending, pressed from the keyboard: the button goes away with the
	// status; the focus stays among the thread's actions.
	b.js(`[...document.querySelectorAll(".thread-actions button")].find((el) => el.textContent.trim() === "Pending").focus()`)
	b.do(chromedp.KeyEvent("\r"))
	b.waitText("#thread-status", "Pending")
	deadline := time.Now().Add(5 * time.Second)
	for !eval[bool](b, `!!document.activeElement.closest(".thread-actions")`) {
		if time.Now().After(deadline) {
			t.Fatalf("after Pending, the focus is on %s, want the thread's actions", eval[string](b, focused))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
