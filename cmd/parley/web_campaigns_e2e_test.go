package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleyhq/parley/store/storetest"
)

// TestWebCampaigns: an admin writes a campaign with a template field in
// the browser (finding contacts and a refused form keep what was typed),
// previews one recipient's text with its segments, creates and starts it,
// and watches its counts reach completed without a reload, then reads its
// recipients by status; a scheduled campaign made with the form's send-at
// and rate is paused, resumed and cancelled from its page; an agent
// without view-all sees campaigns but can neither create nor start one.
func TestWebCampaigns(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			ch := e.setupChannel(nil)
			contact := func(name, phone string) string {
				c := e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": name, "phones": []string{phone}}))
				return c["id"].(string)
			}
			ada, alan, grace := contact("Ada Lovelace", "+14155550701"), contact("Alan Turing", "+14155550702"), contact("Grace Hopper", "+14155550703")
			edsger := contact("Edsger Dijkstra", "+14155550704") // not chosen
			e.must(201, e.admin("POST", "/v1/optouts", map[string]any{"phone": "+14155550703"}))

			admin := e.adminMember()
			b := e.browser()
			b.signIn(admin.Email, admin.Password)

			// Write it; creating without a name is refused and keeps the rest.
			b.open("/campaigns/new")
			body := "Hi {{ first_name | there }}, your renewal is due this week."
			box := func(id string) string { return fmt.Sprintf("input[name=contact_id][value='%s']", id) }
			b.do(
				chromedp.SendKeys(chromedp.CSS("#body"), body),
				chromedp.Click(chromedp.CSS(box(ada))),
				chromedp.Click(chromedp.CSS(box(alan))),
				chromedp.SendKeys(chromedp.CSS("#q"), "Grace\r"), // Enter in the search finds
				chromedp.WaitNotPresent(chromedp.CSS(box(edsger))),
			)
			// The found contacts join the chosen ones, and the text stays.
			if got := eval[string](b, `document.getElementById("body").value + "|" + [...document.querySelectorAll("input[name=contact_id]:checked")].length`); got != body+"|2" {
				t.Fatalf("after Find the form holds %q, want the text and 2 chosen contacts", got)
			}
			b.do(
				chromedp.Click(chromedp.CSS(box(grace))),
				chromedp.Click(chromedp.CSS("button[name=do][value=create]")),
				chromedp.WaitVisible(chromedp.CSS("#name-error")),
			)
			if msg := b.text("#name-error"); !strings.Contains(msg, "required") {
				t.Fatalf("a campaign without a name says %q", msg)
			}
			if got := eval[string](b, `document.getElementById("body").value`); got != body {
				t.Fatalf("the refused form lost the text: %q", got)
			}
			if n := eval[int](b, `document.querySelectorAll("input[name=contact_id]:checked").length`); n != 3 {
				t.Fatalf("the refused form kept %d chosen contacts, want 3", n)
			}

			// Preview: the first chosen contact's text and its segments.
			b.do(
				chromedp.SendKeys(chromedp.CSS("#name"), "Renewals"),
				chromedp.Click(chromedp.CSS(".campaign-form .actions button[value=preview]")),
				chromedp.WaitVisible(chromedp.CSS(".campaign-preview")),
			)
			if got := b.text(".campaign-preview-text"); got != "Hi Ada, your renewal is due this week." {
				t.Fatalf("preview text %q", got)
			}
			if got := b.text(".campaign-segments"); !strings.Contains(got, "1 segment") || !strings.Contains(got, "GSM") {
				t.Fatalf("preview segments %q", got)
			}
			if got := b.text(".campaign-quiet"); !strings.Contains(got, "None are set") {
				t.Errorf("quiet hours shown as %q", got)
			}

			// Create, then start it and watch it finish live.
			b.do(chromedp.Click(chromedp.CSS("button[name=do][value=create]")), chromedp.WaitVisible(chromedp.CSS("#campaign-name")))
			if got := b.text(".campaign-state"); !strings.Contains(got, "Draft") {
				t.Fatalf("a new campaign is %q, want Draft", got)
			}
			id := strings.TrimPrefix(eval[string](b, "location.pathname"), "/campaigns/")
			eval[int](b, "window.parleyNoReload = 1")
			b.click("form[action$='/start'] button")
			// The texts go through the outbox and the carrier's receipts
			// (on a busy machine, longer than a page waits); once the
			// server has them, the page shows them without a reload.
			deadline := time.Now().Add(30 * time.Second)
			for c := e.campaign(id); c["status"] != "completed" || counts(c)["delivered"] != 2; c = e.campaign(id) {
				if time.Now().After(deadline) {
					t.Fatalf("the campaign never completed with 2 delivered: %v %v", c["status"], c["counts"])
				}
				time.Sleep(100 * time.Millisecond)
			}
			b.waitText(".campaign-state", "Completed")
			b.waitText("[data-count=delivered]", "2")
			b.waitText("[data-count=skipped_opted_out]", "1")
			b.waitText("[data-count=queued]", "0")
			if eval[int](b, "window.parleyNoReload || 0") != 1 {
				t.Fatal("the page reloaded: the counts were not live")
			}
			if got := e.received("+14155550701"); len(got) != 1 || got[0] != "Hi Ada, your renewal is due this week." {
				t.Errorf("Ada received %q", got)
			}

			// Recipients by status.
			b.do(chromedp.Click(chromedp.CSS("nav.tabs a[href$='status=delivered']")), chromedp.WaitVisible(chromedp.CSS(".campaign-recipients")))
			if got := eval[string](b, `[...document.querySelectorAll("[data-recipient-status]")].map(r => r.dataset.recipientStatus + " " + r.cells[0].innerText).join(",")`); got != "delivered +14155550701,delivered +14155550702" {
				t.Errorf("delivered recipients: %q", got)
			}
			b.do(chromedp.Click(chromedp.CSS("nav.tabs a[href$='status=skipped_opted_out']")), chromedp.WaitVisible(chromedp.CSS(".campaign-recipients")))
			if got := eval[string](b, `[...document.querySelectorAll("[data-recipient-status]")].map(r => r.cells[0].innerText).join(",")`); got != "+14155550703" {
				t.Errorf("opted-out recipients: %q", got)
			}
			b.open("/campaigns")
			if got := b.text(fmt.Sprintf("tr[data-campaign='%s']", id)); !strings.Contains(got, "Completed") || !strings.Contains(got, "2 delivered") {
				t.Errorf("the list shows %q", got)
			}

			// A scheduled campaign, from the form (send at, rate, phone
			// numbers): pause, resume, cancel from its page.
			b.open("/campaigns/new")
			b.do(
				chromedp.SendKeys(chromedp.CSS("#name"), "Next year"),
				chromedp.SendKeys(chromedp.CSS("#body"), "Hello"),
				chromedp.SendKeys(chromedp.CSS("#phones"), "+1 415 555 0705"),
				chromedp.SendKeys(chromedp.CSS("#rate_per_second"), "1"),
			)
			eval[string](b, `document.getElementById("send_at").value = "2036-01-02T09:30"`)
			b.do(chromedp.Click(chromedp.CSS("button[name=do][value=create]")), chromedp.WaitVisible(chromedp.CSS("#campaign-name")))
			sid := strings.TrimPrefix(eval[string](b, "location.pathname"), "/campaigns/")
			sched := e.campaign(sid)
			if sched["send_at"] != "2036-01-02T09:30:00Z" || sched["rate_per_second"] != float64(1) {
				t.Fatalf("the form made send_at %v, rate %v", sched["send_at"], sched["rate_per_second"])
			}
			if phones := sched["audience"].(map[string]any)["phones"]; fmt.Sprint(phones) != "[+14155550705]" {
				t.Fatalf("the form made phones %v", phones)
			}
			for _, step := range []struct{ button, want string }{{"start", "Scheduled"}, {"pause", "Paused"}, {"resume", "Scheduled"}, {"cancel", "Cancelled"}} {
				b.click("form[action$='/" + step.button + "'] button")
				b.waitText(".campaign-state", step.want)
				if got := e.campaign(sid)["status"]; !strings.EqualFold(fmt.Sprint(got), step.want) {
					t.Fatalf("after %s the API says %v, want %s", step.button, got, step.want)
				}
			}
			if n := eval[int](b, `document.querySelectorAll(".campaign-head form").length`); n != 0 {
				t.Errorf("a cancelled campaign still offers %d buttons", n)
			}
			if len(e.received("+14155550705")) != 0 {
				t.Error("a cancelled scheduled campaign sent its text")
			}

			// An agent without view-all: campaigns are read-only.
			draft := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": "Not yours", "channel_id": ch["id"], "body": "Hello",
				"audience": map[string]any{"phones": []string{"+14155550706"}}}))
			agent := e.staff("Ann Agent", "agent", false)
			a := e.browser()
			a.signIn(agent.Email, agent.Password)
			a.open("/campaigns")
			if n := eval[int](a, `document.querySelectorAll("a[href='/campaigns/new']").length`); n != 0 {
				t.Error("an agent is offered to create a campaign")
			}
			a.open("/campaigns/new")
			if got := a.text("main"); !strings.Contains(got, "Only admins and users who see all conversations") {
				t.Errorf("an agent's new-campaign page says %q", got)
			}
			if n := eval[int](a, `document.querySelectorAll("form.campaign-form").length`); n != 0 {
				t.Error("an agent is shown the campaign form")
			}
			a.open("/campaigns/" + draft["id"].(string))
			if n := eval[int](a, `document.querySelectorAll(".campaign-head form").length`); n != 0 {
				t.Errorf("an agent is offered %d campaign buttons", n)
			}
			status := evalAwait[int](a, fmt.Sprintf(`fetch("/campaigns/%s/start", {method: "POST", credentials: "same-origin",
				headers: {"X-Parley-Background": "1", "X-CSRF-Token": document.body.dataset.csrf}}).then(r => r.status)`, draft["id"]))
			if status != 403 {
				t.Errorf("an agent's start answered %d, want 403", status)
			}
			if got := e.campaign(draft["id"].(string))["status"]; got != "draft" {
				t.Errorf("after an agent's start the campaign is %v", got)
			}
		})
	}
}

// evalAwait runs a JavaScript expression that yields a promise and
// returns what it resolves to.
func evalAwait[T any](b *tab, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("browser: eval %s: %v", js, err)
	}
	return v
}
