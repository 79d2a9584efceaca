package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The inbox never fails quietly: a pane whose refresh is refused says so
// in place, and an ended session or a dropped stream is shown, with what
// was typed kept.

// sibling opens another tab of the same browser (the same cookies): a
// second tab of the same person.
func (b *tab) sibling() *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		b.t.Fatalf("open a second tab: %v", err)
	}
	b.t.Cleanup(cancel)
	return &tab{t: b.t, ctx: ctx, base: b.base}
}

// signOut signs out with the menu's button.
func (b *tab) signOut() {
	b.t.Helper()
	b.open("/inbox")
	b.do(chromedp.Click("form[action='/logout'] button"), chromedp.WaitVisible("#email"))
}

// value is a form field's value.
func (b *tab) value(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.querySelector(%q)?.value ?? "(none)"`, sel))
}

// waitSessionEnded waits for the notice of an ended session and checks
// its link signs in and comes back to path.
func (b *tab) waitSessionEnded(path string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for eval[bool](b, `document.getElementById("session-ended").hidden`) {
		if time.Now().After(deadline) {
			b.t.Fatal("the page never said its session ended")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.waitText("#session-ended", "Your session ended")
	want := "/login?next=" + url.QueryEscape(path)
	if got := eval[string](b, `document.querySelector("#session-ended a").getAttribute("href")`); got != want {
		b.t.Fatalf("the notice's link is %q, want %q", got, want)
	}
	if eval[bool](b, `!!window.parleyStream && window.parleyStream.readyState !== EventSource.CLOSED`) {
		b.t.Fatal("the page still follows the event stream after its session ended")
	}
	b.waitText("#live-state", "Not live")
}

// TestWebThreadTakenAway: an agent whose open conversation is reassigned
// to someone else is told so in the thread at once; her draft stays in
// the box, to be copied, and Send is off; her list still refreshes, and
// drops the conversation.
func TestWebThreadTakenAway(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	admin := e.adminMember()
	ann := e.staff("Ann Agent", "agent", false)
	const phone = "+14155550771"
	e.text(phone, "Is my order ready?")
	conv := e.conversationOf(phone)["id"].(string)
	e.must(200, e.admin("POST", "/v1/conversations/"+conv+"/assign", map[string]any{"assignee_id": ann.ID}))

	b := e.browser()
	b.viewport(1366, 768)
	b.signIn(ann.Email, ann.Password)
	b.open("/inbox/conversations/" + conv)
	b.waitLive()
	row := fmt.Sprintf(`document.querySelectorAll(".convs a[href^='/inbox/conversations/%s']").length`, conv)
	if n := eval[int](b, row); n != 1 {
		t.Fatalf("Ann's list shows her conversation %d times, want once", n)
	}
	b.waitText("#details-assignee", "Ann Agent")
	const draft = "Your order ships tomorrow morning"
	b.input("#reply-body", draft)

	e.must(200, e.admin("POST", "/v1/conversations/"+conv+"/assign", map[string]any{"assignee_id": admin.ID}))
	b.waitText(".thread [data-refused]", "This conversation was assigned to someone else; you can no longer see it.")
	if got := b.value("#reply-body"); got != draft {
		t.Fatalf("the draft became %q, want %q", got, draft)
	}
	if eval[bool](b, `document.getElementById("reply-body").disabled`) {
		t.Fatal("the draft's box is disabled: its text cannot be selected and copied")
	}
	if !eval[bool](b, `document.querySelector("#reply-form button[type=submit]").disabled`) {
		t.Fatal("Send is still on in a conversation Ann can no longer see")
	}
	b.waitText(".details [data-refused]", "you can no longer see it")

	// The list refreshes as ever: the conversation leaves it.
	deadline := time.Now().Add(20 * time.Second)
	for eval[int](b, row) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Ann's list still shows the conversation: %q", b.text(".convs"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := b.value("#reply-body"); got != draft {
		t.Fatalf("after the list's refresh the draft is %q, want %q", got, draft)
	}
}

// TestWebSessionEndedSaysSo: signed out in another tab, a note added in
// the first is refused with a notice that stays and links to sign in and
// come back; the note's text is kept, on the page and after signing in.
func TestWebSessionEndedSaysSo(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	admin := e.adminMember()
	const phone = "+14155550772"
	e.text(phone, "Hello")
	path := "/inbox/conversations/" + e.conversationOf(phone)["id"].(string)
	b := e.browser()
	b.signIn(admin.Email, admin.Password)
	b.open(path)
	b.waitLive()
	const note = "Call them back after lunch"
	b.openNote()
	b.input("#note-body", note)

	b.sibling().signOut()
	b.js(`document.querySelector("#note-form button[type=submit]").click()`)
	b.waitSessionEnded(path)
	if got := b.value("#note-body"); got != note {
		t.Fatalf("the refused note's box holds %q, want %q", got, note)
	}
	if got := b.path(); got != path {
		t.Fatalf("the page went to %s", got)
	}

	// Signing in again from the notice comes back with the note.
	b.click("#session-ended a")
	b.do(chromedp.WaitVisible("#email"), chromedp.SendKeys("#email", admin.Email), chromedp.SendKeys("#password", admin.Password),
		chromedp.Click("form[action='/login'] button[type=submit]"), chromedp.WaitVisible("header.top"))
	if got := eval[string](b, "location.pathname + location.search"); got != path {
		t.Fatalf("signed in again, the page is %s, want %s", got, path)
	}
	if got := b.value("#note-body"); got != note {
		t.Fatalf("back on the thread the note's box holds %q, want %q", got, note)
	}
	if !eval[bool](b, `document.getElementById("session-ended").hidden`) {
		t.Fatal("signed in again, the page still says the session ended")
	}
}

// cutProxy stands between the browser and Parley, as a load balancer
// would, so that a test can cut the stream: down, it answers 502.
type cutProxy struct {
	*httptest.Server
	down atomic.Bool
}

func (e *env) cutProxy() *cutProxy {
	e.t.Helper()
	target, _ := url.Parse(e.base)
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &cutProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	e.t.Cleanup(p.Close)
	return p
}

// cut drops every open connection (the stream among them).
func (p *cutProxy) cut() { p.CloseClientConnections() }

// TestWebStreamDropsSessionEnded: a page whose session ended elsewhere
// learns it when its stream drops, and says so without any action.
func TestWebStreamDropsSessionEnded(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	const phone = "+14155550773"
	p := e.cutProxy()
	b, conv := e.adminOnThread(phone, p.URL)
	b.input("#reply-body", "Half a reply")

	b.sibling().signOut()
	p.cut()
	b.waitSessionEnded("/inbox/conversations/" + conv)
	if got := b.value("#reply-body"); got != "Half a reply" {
		t.Fatalf("the reply box holds %q, want the draft", got)
	}
}

// TestWebSignOutEndsTheOtherTabsStream: signing out in one tab ends the
// session's stream in another at its next heartbeat, and that page says
// the session ended with nothing cut in between.
func TestWebSignOutEndsTheOtherTabsStream(t *testing.T) {
	e := boot(t, "", withStreams(300*time.Millisecond, 0))
	e.setupChannel(nil)
	const phone = "+14155550775"
	b, conv := e.adminOnThread(phone, "")
	b.sibling().signOut()
	b.waitSessionEnded("/inbox/conversations/" + conv)
}

// TestWebStreamReconnects: while the stream is cut the page says it is
// reconnecting; once back it is live again and shows what came meanwhile.
func TestWebStreamReconnects(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	const phone = "+14155550774"
	p := e.cutProxy()
	b, _ := e.adminOnThread(phone, p.URL)
	if !eval[bool](b, `document.getElementById("live-state").hidden`) {
		t.Fatalf("a live page says %q beside the menu", b.text("#live-state"))
	}

	p.down.Store(true)
	p.cut()
	b.waitText("#live-state", "Reconnecting…")
	e.text(phone, "Sent while the page was away")
	time.Sleep(500 * time.Millisecond)
	p.down.Store(false)

	b.waitText(".thread-entries", "Sent while the page was away")
	deadline := time.Now().Add(20 * time.Second)
	for !eval[bool](b, `document.getElementById("live-state").hidden && window.parleyStream.readyState === 1`) {
		if time.Now().After(deadline) {
			t.Fatalf("the page never came back live: %q", b.text("#live-state"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !eval[bool](b, `document.getElementById("session-ended").hidden`) {
		t.Fatal("a dropped stream was taken for an ended session")
	}
}
