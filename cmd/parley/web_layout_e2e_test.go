package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The inbox's layout on the screens people have: what they can see and
// reach, measured in the browser.

// busyInbox is an inbox with n conversations, the first texted (the
// oldest, last in the list) holding a long thread; it returns the
// conversations' ids, newest first, as the list shows them.
func busyInbox(e *env, n int) []string {
	e.t.Helper()
	phones := make([]string, n)
	for i := range phones {
		phones[i] = fmt.Sprintf("+1415555%04d", 7000+i)
	}
	for i := range 14 {
		e.text(phones[0], fmt.Sprintf("Question number %d about my booking", i+1))
	}
	for _, p := range phones[1:] {
		e.text(p, "Hello there")
	}
	ids := make([]string, n)
	for i, p := range phones {
		ids[n-1-i] = e.conversationOf(p)["id"].(string)
	}
	return ids
}

// viewport sizes the tab's page as a screen of w×h CSS pixels.
func (b *tab) viewport(w, h int64) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(w, h))
}

// reachable says why the element sel matches cannot be clicked where it
// is ("" when it can): missing, hidden, outside the window, or covered or
// clipped by something else at its centre.
func (b *tab) reachable(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		if (!el) return "missing";
		const r = el.getBoundingClientRect();
		if (r.width === 0 || r.height === 0) return "not shown";
		if (r.top < -1 || r.left < -1 || r.bottom > innerHeight + 1 || r.right > innerWidth + 1) return "outside the window at " + JSON.stringify(r);
		const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
		return hit && (hit === el || el.contains(hit)) ? "" : "covered by " + (hit ? hit.outerHTML.slice(0, 80) : "nothing");
	})()`, sel))
}

// rect is an element's box in the window, as the browser measures it.
type rect struct{ Top, Left, Width, Height, Bottom float64 }

func (b *tab) rect(sel string) rect {
	b.t.Helper()
	return eval[rect](b, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect();
		return {top: r.top, left: r.left, width: r.width, height: r.height, bottom: r.bottom}; })()`, sel))
}

// shortcut presses key as a keyboard shortcut: a key down and up without
// the character event chromedp's KeyEvent adds, which a browser does not
// send once the page cancels the key down (it would land in the box the
// shortcut focuses).
func (b *tab) shortcut(key string) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for _, k := range kb.Encode(rune(key[0])) {
			if k.Type == kb.KeyChar {
				continue
			}
			if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, *k); err != nil {
				return err
			}
		}
		return nil
	}))
}

// openNote shows the composer's note box, by its tab when it has one.
func (b *tab) openNote() {
	b.t.Helper()
	b.js(`document.getElementById("compose-note-tab")?.click()`)
}

// TestWebThreadFitsLaptops: on 1366×768 and 1024×768 screens the
// messages take most of the thread's height, and both the reply and the
// note can be written and sent without anything clipped.
func TestWebThreadFitsLaptops(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	admin := e.adminMember()
	ids := busyInbox(e, 3)
	b := e.browser()
	b.signIn(admin.Email, admin.Password)
	for _, size := range []struct {
		w, h    int64
		minPart float64 // of the window's height the messages get
	}{{1366, 768, 0.5}, {1024, 768, 0.4}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			b.t = t
			b.viewport(size.w, size.h)
			b.open("/inbox/conversations/" + ids[2])
			b.waitText(".thread-scroll", "Question number 14")
			b.waitLive()
			if got := b.rect(".thread-scroll").Height; got < size.minPart*float64(size.h) {
				t.Errorf("the messages are %.0fpx tall, want at least %.0f%% of %dpx", got, size.minPart*100, size.h)
			}
			if why := b.reachable("#reply-form button[type=submit]"); why != "" {
				t.Errorf("Send cannot be clicked: %s", why)
			}
			b.openNote()
			if why := b.reachable("#note-form button[type=submit]"); why != "" {
				t.Errorf("Add note cannot be clicked: %s", why)
			}
			if why := b.reachable("#note-body"); why != "" {
				t.Errorf("the note box cannot be reached: %s", why)
			}
			if got := eval[int](b, "document.documentElement.scrollHeight - innerHeight"); got > 0 {
				t.Errorf("the page scrolls %dpx past the window", got)
			}
			// The outcome form fits its column: Currency is not cut off.
			b.click("#outcome-add summary")
			if got := eval[int](b, `(() => { const f = document.getElementById("outcome-currency").getBoundingClientRect();
				return Math.round(f.right - document.querySelector(".pane.outcomes").getBoundingClientRect().right); })()`); got > 0 {
				t.Errorf("the outcome form's Currency field ends %dpx past its pane", got)
			}
			b.click("#outcome-add summary")
		})
	}
}

// adminOnNewThread boots Parley, has phone text it, and opens the thread
// as the admin on a 1366×768 screen, live.
func adminOnNewThread(t *testing.T, phone string) (*tab, *env) {
	e := boot(t, "")
	e.setupChannel(nil)
	b, _ := e.adminOnThread(phone, "")
	return b, e
}

// adminOnThread has phone text Parley and opens its thread as the admin
// on a 1366×768 screen, live, through base when it is not "" (a proxy);
// it returns the tab and the conversation's id.
func (e *env) adminOnThread(phone, base string) (*tab, string) {
	admin := e.adminMember()
	e.text(phone, "Hello")
	conv := e.conversationOf(phone)["id"].(string)
	b := e.browser()
	if base != "" {
		b.base = base
	}
	b.viewport(1366, 768)
	b.signIn(admin.Email, admin.Password)
	b.open("/inbox/conversations/" + conv)
	b.waitLive()
	return b, conv
}

// TestWebComposerTabs: the composer shows the reply box or the note box;
// n opens the note box from the keyboard, r the reply box, and a live
// refresh keeps the one chosen.
func TestWebComposerTabs(t *testing.T) {
	const phone = "+14155550691"
	b, e := adminOnNewThread(t, phone)
	if why := b.reachable("#reply-body"); why != "" {
		t.Fatalf("the reply box is not shown first: %s", why)
	}
	b.shortcut("n")
	if id := eval[string](b, "document.activeElement.id"); id != "note-body" {
		t.Fatalf("n focused %q, want the note box", id)
	}
	if why := b.reachable("#note-body"); why != "" {
		t.Fatalf("after n the note box is not shown: %s", why)
	}
	if got := eval[string](b, `document.getElementById("note-body").value`); got != "" {
		t.Fatalf("n typed %q into the note box", got)
	}
	b.do(chromedp.KeyEvent("kept while a text arrives"))
	e.text(phone, "Another question")
	b.waitText(".thread-scroll", "Another question")
	if why := b.reachable("#note-body"); why != "" {
		t.Fatalf("a live refresh hid the note box: %s", why)
	}
	if got := eval[string](b, `document.getElementById("note-body").value`); got != "kept while a text arrives" {
		t.Fatalf("the note draft is %q after a live refresh", got)
	}
	b.js(`document.activeElement.blur()`)
	b.shortcut("r")
	if id := eval[string](b, "document.activeElement.id"); id != "reply-body" {
		t.Fatalf("r focused %q, want the reply box", id)
	}
	if why := b.reachable("#reply-body"); why != "" {
		t.Fatalf("after r the reply box is not shown: %s", why)
	}
}

// TestWebInboxPageDoesNotScroll: with a long list the page is exactly the
// window (the list scrolls inside its pane): nothing scrolls the page
// into blank space.
func TestWebInboxPageDoesNotScroll(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	admin := e.adminMember()
	ids := busyInbox(e, 30)
	// Rows far down the list carry words only a screen reader says
	// ("Priority High"): they once stretched the page below the app.
	for _, id := range ids[20:] {
		e.must(200, e.admin("PATCH", "/v1/conversations/"+id, map[string]any{"priority": "high"}))
	}
	b := e.browser()
	b.viewport(1366, 768)
	b.signIn(admin.Email, admin.Password)
	for _, p := range []string{"/inbox", "/inbox/conversations/" + ids[0]} {
		b.open(p)
		b.waitText(".convs", "Hello there")
		if got := eval[[]int](b, "[document.documentElement.scrollHeight, innerHeight, document.documentElement.scrollWidth, innerWidth]"); got[0] != got[1] || got[2] > got[3] {
			t.Errorf("%s: the page is %d×%d px in a %d×%d window", p, got[2], got[0], got[3], got[1])
		}
	}
}

// TestWebListShowsTheCurrentRow: the open conversation's row is in view
// in the list, when opened far down and after j and k.
func TestWebListShowsTheCurrentRow(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	admin := e.adminMember()
	ids := busyInbox(e, 30)
	b := e.browser()
	b.viewport(1366, 768)
	b.signIn(admin.Email, admin.Password)
	inView := func(when string) {
		t.Helper()
		got := eval[string](b, `(() => {
			const row = document.querySelector(".convs a[aria-current]");
			if (!row) return "no current row";
			const pane = row.closest(".pane"), head = pane.querySelector(".list-head");
			const r = row.getBoundingClientRect(), p = pane.getBoundingClientRect();
			const top = head ? head.getBoundingClientRect().bottom : p.top;
			return r.top >= top - 1 && r.bottom <= p.bottom + 1 ? "" :
				"row at " + Math.round(r.top) + "–" + Math.round(r.bottom) + ", list shows " + Math.round(top) + "–" + Math.round(p.bottom);
		})()`)
		if got != "" {
			t.Errorf("%s: the current row is out of view: %s", when, got)
		}
	}
	b.open("/inbox/conversations/" + ids[24])
	b.waitText("#thread-title", "+1415555")
	inView("opened 25th")
	b.waitLive()
	for i, want := range []string{ids[25], ids[26], ids[27]} {
		b.do(chromedp.KeyEvent("j"))
		b.waitPath("/inbox/conversations/" + want)
		b.waitLive()
		inView(fmt.Sprintf("after j %d times", i+1))
	}
	b.open("/inbox/conversations/" + ids[29])
	b.waitLive()
	inView("opened the last")
	b.do(chromedp.KeyEvent("k"))
	b.waitPath("/inbox/conversations/" + ids[28])
	b.waitLive()
	inView("after k")
}

// TestWebSmallScreens: on a phone and a small tablet the open thread gets
// the screen's width (the list behind a back link) and nothing scrolls
// sideways; the users table fits or scrolls within its card.
func TestWebSmallScreens(t *testing.T) {
	e := boot(t, "")
	channel := e.setupChannel(nil)["id"].(string)
	admin := e.adminMember()
	ids := busyInbox(e, 3)
	e.staff("Ann Agent With A Rather Long Name", "agent", false)
	// Data for the wide pages: a tag, and a campaign's texts sent.
	e.must(201, e.admin("POST", "/v1/tags", map[string]any{"name": "Follow-up call", "type": "follow_up"}))
	camp := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Spring", "channel_id": channel, "body": "Spring offer",
		"audience": map[string]any{"phones": []string{"+14155557901", "+14155557902"}}}))["id"].(string)
	e.must(200, e.admin("POST", "/v1/campaigns/"+camp+"/start", nil))
	e.eventually("the campaign sent", func() bool {
		return e.must(200, e.admin("GET", "/v1/campaigns/"+camp, nil))["status"] == "completed"
	})
	contact := e.conversationOf("+14155557000")["contact"].(map[string]any)["id"].(string)
	b := e.browser()
	b.signIn(admin.Email, admin.Password)
	sideways := func(where string) {
		t.Helper()
		if got := eval[[]int](b, "[document.documentElement.scrollWidth, innerWidth]"); got[0] > got[1] {
			t.Errorf("%s: the page is %dpx wide in a %dpx window; too wide: %s", where, got[0], got[1], eval[string](b, `[...document.querySelectorAll("body *")].filter((el) => el.getBoundingClientRect().right > innerWidth + 1 && !el.parentElement.closest(".table-scroll")).slice(0, 4).map((el) => el.outerHTML.slice(0, 120)).join("\n")`))
		}
	}
	for _, w := range []int64{390, 768} {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			b.t = t
			b.viewport(w, 844)
			b.open("/inbox/conversations/" + ids[2])
			b.waitText(".thread-scroll", "Question number 14")
			if got := b.rect(".thread-scroll"); got.Width < 300 || got.Height < 250 {
				t.Errorf("the messages are %.0f×%.0f px, want at least 300×250", got.Width, got.Height)
			}
			sideways("a thread")
			if w == 390 {
				// On a phone the menu and the actions take a row each.
				if got := b.rect(".thread-scroll").Height; got < 450 {
					t.Errorf("on a phone the messages have %.0f px of 844, want at least 450", got)
				}
				eval[bool](b, `(document.querySelector(".thread-snooze button").scrollIntoView({inline: "nearest", block: "nearest"}), true)`)
				if why := b.reachable(".thread-snooze button"); why != "" {
					t.Errorf("Snooze, the last action, cannot be reached: %s", why)
				}
				// Resolve with tag…, opened, shows its tag and buttons.
				b.click("#close-with-tag summary")
				for _, sel := range []string{"#closing-tag", "#resolve-with-tag", "#close-with-tag-button"} {
					if why := b.reachable(sel); why != "" {
						t.Errorf("with Resolve with tag… open, %s cannot be reached: %s", sel, why)
					}
				}
				// Wide tables scroll inside their card, not the page.
				for _, p := range []string{"/settings/tags", "/settings/channels", "/reports/outcomes", "/reports/outbound",
					"/campaigns/" + camp, "/contacts/" + contact} {
					b.open(p)
					sideways(p)
				}
				b.open("/inbox/conversations/" + ids[2])
				b.waitText(".thread-scroll", "Question number 14")
			}
			if why := b.reachable(".thread-back"); why != "" {
				t.Errorf("no way back to the list: %s", why)
			}
			if why := b.reachable("#reply-form button[type=submit]"); why != "" {
				t.Errorf("Send cannot be clicked: %s", why)
			}
			b.click(".thread-back")
			b.waitPath("/inbox")
			// The path changes as the script navigates; the list pane
			// arrives after it.
			b.do(chromedp.WaitVisible(".list"))
			if got := b.rect(".list").Width; got < 300 {
				t.Errorf("the list is %.0fpx wide", got)
			}
			sideways("the list")
			b.open("/settings/users")
			b.waitText("main", "Ann Agent With A Rather Long Name")
			sideways("Settings → Users")
		})
	}
}
