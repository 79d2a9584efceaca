package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/parleyhq/parley/store/storetest"
)

// TestWebInboxList works the conversation list in the browser on both
// databases: an inbound text appears in an open inbox without a reload;
// views, status tabs, search and filters narrow the list and stay in its
// URL; unread and new markers; j from the keyboard; and an agent, who
// sees only their own conversations and is refused the All view.
func TestWebInboxList(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			e.setupChannel(nil)
			admin := e.adminMember()
			ann := e.staff("Ann Agent", "agent", false)
			const grace, refund, done = "+14155550701", "+14155550702", "+14155550703"

			a := e.browser()
			a.signIn(admin.Email, admin.Password)
			a.open("/inbox")
			a.waitText(".list .convs", "No conversations yet")

			// Live: a text arrives in the open page, which is not reloaded.
			eval[bool](a, "window.stillThisPage = true")
			waitListStream(a)
			e.text(grace, "Hello from Grace")
			waitListRows(a, grace)
			if !eval[bool](a, "window.stillThisPage === true") {
				t.Fatal("the page reloaded to show the new text")
			}
			if row := a.text(".convs .conv"); !strings.Contains(row, "Hello from Grace") || !strings.Contains(row, "New") ||
				!strings.Contains(row, "Unread") || !strings.Contains(row, "Unassigned") {
				t.Errorf("the new conversation's row shows %q; want its text, New, Unread and Unassigned", row)
			}

			e.text(refund, "I need a refund please")
			e.text(done, "Thanks, all good")
			waitListRows(a, done, refund, grace)
			refundID := e.conversationOf(refund)["id"].(string)
			e.must(200, e.admin("POST", "/v1/conversations/"+refundID+"/assign", map[string]any{"assignee_id": ann.ID}))
			e.must(200, e.admin("PATCH", "/v1/conversations/"+refundID, map[string]any{"priority": "high"}))
			e.must(200, e.admin("POST", "/v1/conversations/"+e.conversationOf(done)["id"].(string)+"/resolve", nil))
			a.waitText(".convs", "Ann Agent")
			a.waitText(".convs", "High")

			// Status tabs, views, search and filters narrow the list, each
			// in the URL the next one keeps.
			a.click(".list-statuses a[href*='status=resolved']")
			waitListRows(a, done)
			a.click(".list-statuses a:first-child")
			waitListRows(a, done, refund, grace)
			a.click(".list-views a[href*='view=unassigned']")
			waitListRows(a, done, grace)
			a.click(".list-statuses a[href*='status=new']")
			waitListRows(a, grace)
			if got := eval[string](a, "location.search"); !strings.Contains(got, "view=unassigned") || !strings.Contains(got, "status=new") {
				t.Errorf("the list's URL is %q; want the view and the status in it", got)
			}
			a.open("/inbox")
			a.do(chromedp.SendKeys(chromedp.CSS("#list-q"), "refund"+kb.Enter))
			waitListRows(a, refund)
			if got := eval[string](a, "document.getElementById('list-q').value"); got != "refund" {
				t.Errorf("after the search the box holds %q", got)
			}
			a.open("/inbox")
			a.do(chromedp.KeyEvent("/"))
			if id := eval[string](a, "document.activeElement.id"); id != "list-q" {
				t.Errorf("/ focused %q, want the search box", id)
			}
			a.open("/inbox")
			a.click(".list-more summary")
			chooseOption(a, "#list-priority", "high")
			a.click(".list-more button[type=submit]")
			waitListRows(a, refund)
			a.open("/inbox?assignee_id=" + ann.ID)
			waitListRows(a, refund)
			if got := eval[string](a, "document.getElementById('list-assignee').value"); got != ann.ID {
				t.Errorf("the assignee filter shows %q, want Ann's id", got)
			}

			// A row links to its thread with the list's query.
			const newOnes = "/inbox?status=new&view=unassigned"
			a.open(newOnes)
			waitListRows(a, grace)
			graceID := e.conversationOf(grace)["id"].(string)
			if href := eval[string](a, "document.querySelector('.convs a[data-nav-item]').getAttribute('href')"); href != "/inbox/conversations/"+graceID+"?status=new&view=unassigned" {
				t.Errorf("the row links to %q", href)
			}
			// Unread until the admin opens it (j from the keyboard opens
			// the first conversation of the list), then unread again when
			// the contact writes.
			a.waitText(".convs", "Unread")
			a.do(chromedp.KeyEvent("j"))
			waitListPath(a, "/inbox/conversations/"+graceID)
			a.open(newOnes)
			waitListRows(a, grace)
			if n := eval[int](a, "document.querySelectorAll('.convs .badge.unread').length"); n != 0 {
				t.Errorf("%d unread markers after the admin opened it", n)
			}
			time.Sleep(5 * time.Millisecond) // the next text comes after the read
			waitListStream(a)
			e.text(grace, "Are you there?")
			a.waitText(".convs .conv", "Unread")
			a.waitText(".convs .conv", "Are you there?")

			// An agent sees their own conversations, with no All or
			// Unassigned tab and no assignee filter.
			b := e.browser()
			b.signIn(ann.Email, ann.Password)
			b.open("/inbox")
			waitListRows(b, refund)
			if views := eval[string](b, "[...document.querySelectorAll('.list-views a')].map(a => a.textContent).join(',')"); views != "Mine" {
				t.Errorf("the agent's view tabs are %q, want Mine alone", views)
			}
			if eval[bool](b, "!!document.getElementById('list-assignee')") {
				t.Error("the agent is offered an assignee filter")
			}
			b.open("/inbox?view=all")
			if got := b.text("main"); !strings.Contains(got, "Not allowed") || !strings.Contains(got, "you see those assigned to you") {
				t.Errorf("an agent's view=all shows %q; want it refused with the reason", got)
			}
			if n := eval[int](b, "document.querySelectorAll('.convs a').length"); n != 0 {
				t.Errorf("an agent's view=all listed %d conversations", n)
			}

			// Fifty to a page: Older shows the rest, in the same view.
			for i := range 49 {
				e.text(fmt.Sprintf("+1415555%04d", 1000+i), "Bulk")
			}
			a.open("/inbox?view=unassigned")
			a.click(".list-pages a[rel=next]")
			waitListRows(a, done)
			if got := eval[string](a, "location.search"); !strings.Contains(got, "cursor=") || !strings.Contains(got, "view=unassigned") {
				t.Errorf("the older page is at %q; want a cursor and the view", got)
			}
		})
	}
}

// listRows is the contact of each row of the tab's list, top to bottom.
func listRows(b *tab) ([]string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[[]string](
		"[...document.querySelectorAll('.convs .conv-name')].map(el => el.textContent.trim())"))
}

// waitListRows waits (10 s) until the list shows exactly these contacts,
// in this order; pages loading in between are waited for.
func waitListRows(b *tab, want ...string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := listRows(b)
		if err == nil && slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: the list shows %v (%v), want %v", got, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitListPath waits (10 s) until the tab is at path.
func waitListPath(b *tab, path string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string]("location.pathname"))
		cancel()
		if err == nil && got == path {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: the page is at %s (%v), want %s", got, err, path)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitListStream waits (10 s) until the page follows the event stream:
// what happens before would not reach it.
func waitListStream(b *tab) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !eval[bool](b, "window.parleyStream?.readyState === EventSource.OPEN") {
		if time.Now().After(deadline) {
			b.t.Fatal("browser: the page never opened the event stream")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// chooseOption picks a select's option by value.
func chooseOption(b *tab, sel, value string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q; return s.value; })()`, sel, value)
	if got := eval[string](b, js); got != value {
		b.t.Fatalf("browser: %s has no option %q", sel, value)
	}
}
