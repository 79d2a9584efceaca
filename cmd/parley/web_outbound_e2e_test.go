package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleyhq/parley/reports"
)

// TestWebOutboundReport drives Reports → Outbound in the browser: two
// campaigns reach three phones through the fake carrier and one answers;
// the summary shows the funnel, and filtering by a campaign redraws it;
// the detailed tab sorts by a header; the audit lists the sends a page at
// a time; a CSV download shows its progress and holds every row (JSON
// and XLSX download too), and a cancelled one stops; resolving the answered thread with a Sale tag
// ("Resolve with tag…") makes Sales 1; past the export limit, the
// download is refused in words.
func TestWebOutboundReport(t *testing.T) {
	t.Parallel()
	e := boot(t, "", withExportLimit(3))
	ch := e.setupChannel(nil)
	admin := e.adminMember()
	sale := e.must(201, e.admin("POST", "/v1/tags", map[string]any{"name": "Won", "type": "sale"}))["id"].(string)
	interested := e.must(201, e.admin("POST", "/v1/tags", map[string]any{"name": "Interested", "type": "positive"}))["id"].(string)
	const ann, ben, cat, dan = "+14155550901", "+14155550902", "+14155550903", "+14155550904"
	run := func(name string, phones ...string) string {
		t.Helper()
		c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": name, "channel_id": ch["id"], "body": "Hello from " + name,
			"rate_per_second": 50, "audience": map[string]any{"phones": phones}}))
		id := c["id"].(string)
		e.must(200, e.admin("POST", "/v1/campaigns/"+id+"/start", nil))
		e.eventually(name+" completed", func() bool { return e.campaign(id)["status"] == "completed" })
		return id
	}
	spring := run("Spring", ann, ben)
	autumn := run("Autumn", cat)
	e.eventually("the carrier accepted the three texts", func() bool { return e.sendsRecorded(admin) == 3 })
	e.text(ann, "Yes, tell me more")

	b := e.browser()
	b.signIn(admin.Email, admin.Password)
	b.leaveBy("nav[aria-label=Main] a[href='/reports/outcomes']")
	b.leaveBy("nav[aria-label=Reports] a[href='/reports/outbound']")
	b.waitText("h1", "Outbound")
	// stage is a funnel stage's figure, once the chart is on the page.
	stage := func(key string) string {
		t.Helper()
		js := fmt.Sprintf(`document.querySelector('#chart-funnel [data-key=%s] .value')?.textContent || ""`, key)
		deadline := time.Now().Add(10 * time.Second)
		for {
			if got := eval[string](b, js); got != "" || time.Now().After(deadline) {
				return got
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	figure := func(name string) string { return b.text(fmt.Sprintf("[data-figure=%s] strong", name)) }
	b.waitText("[data-figure=replied]", "33.3%")
	if s, c := figure("sends"), figure("contacts"); s != "3" || c != "3" {
		t.Errorf("successful sends %s, contacts %s; want 3 and 3", s, c)
	}
	if got := stage("successful_sends") + " / " + stage("replied"); got != "3 · 100.0% / 1 · 33.3%" {
		t.Errorf("the funnel reads %q before filtering", got)
	}
	if got := b.text(".outbound-help"); !strings.Contains(got, "already open counts too") {
		t.Errorf("the help reads %q, without the note on open conversations", got)
	}

	// Filter by the Autumn campaign: the funnel is redrawn for its send.
	b.choose("#o-campaign", autumn)
	b.leaveBy(".report-filters button[type=submit]")
	b.waitText("[data-figure=sends]", "1")
	if got := stage("successful_sends") + " / " + stage("replied"); got != "1 · 100.0% / 0 · 0.0%" {
		t.Errorf("the funnel reads %q for Autumn only", got)
	}
	if got := eval[string](b, "location.search"); !strings.Contains(got, "campaign_id="+autumn) {
		t.Errorf("the report's address %q does not hold the filter", got)
	}

	// Detailed, without the campaign filter: sorted by a header's link.
	b.choose("#o-campaign", "")
	b.leaveBy(".report-filters button[type=submit]")
	b.waitText("[data-figure=sends]", "3")
	b.leaveBy("nav[aria-label='Report views'] a[href*='tab=detailed']")
	b.waitText("#by-campaign-heading", "By campaign")
	rows := func() string {
		return eval[string](b, `[...document.querySelectorAll(".outbound-campaigns tbody th")].map((th) => th.textContent.trim()).join(",")`)
	}
	if got := rows(); got != "Spring,Autumn" {
		t.Errorf("campaigns %q; want the most sends first", got)
	}
	b.leaveBy(".outbound-campaigns th:first-child a")
	b.waitText(".outbound-campaigns thead", "▲")
	if got, sorted := rows(), eval[string](b, `document.querySelector(".outbound-campaigns th[aria-sort]").textContent.trim()`); got != "Autumn,Spring" || !strings.HasPrefix(sorted, "Campaign") {
		t.Errorf("after sorting by campaign: %q, sorted column %q", got, sorted)
	}

	// The audit, two rows a page: Next then First.
	b.leaveBy("nav[aria-label='Report views'] a[href*='tab=audit']")
	b.waitText("#audit-heading", "Sends")
	b.open(eval[string](b, "location.pathname + location.search") + "&limit=2")
	if n := eval[int](b, `document.querySelectorAll(".outbound-audit tbody tr").length`); n != 2 {
		t.Fatalf("%d rows on a page of two", n)
	}
	b.leaveBy(".pager a[rel=next]")
	b.waitText(".pager", "First page")
	if got := b.text(".outbound-audit tbody"); !strings.Contains(got, cat) || strings.Contains(got, ann) || strings.Contains(got, ben) {
		t.Errorf("the second page reads %q; want Autumn's one send", got)
	}
	b.leaveBy(".pager a.button")
	b.waitText(".outbound-audit tbody", "Spring")
	if got := b.text(".outbound-audit tbody"); strings.Count(got, "Spring") != 2 || !strings.Contains(got, ann) {
		t.Errorf("the first page again reads %q; want Spring's two sends", got)
	}

	// Download the CSV: the progress box says what arrived, and the file
	// handed to the browser holds the header and the three sends.
	b.js(`window.parleyBlobs = []; { const make = URL.createObjectURL; URL.createObjectURL = (blob) => { window.parleyBlobs.push(blob); return make(blob); }; }`)
	b.click("a[data-download][data-format=csv]")
	b.waitAttr("#download-progress", "data-state", "done")
	if got := b.text("#download-progress"); !strings.Contains(got, "3 rows") || !strings.Contains(got, ".csv") {
		t.Errorf("the progress box reads %q", got)
	}
	if eval[bool](b, `document.querySelector("[data-download-cancel]").checkVisibility()`) {
		t.Error("Cancel is still offered once the download is done")
	}
	csv := awaitJS[string](b, `window.parleyBlobs[0].text()`)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "send_id,sent_at,campaign_id,campaign_name") {
		t.Fatalf("the CSV has %d lines: %q", len(lines), csv)
	}
	if !strings.Contains(csv, spring) || !strings.Contains(csv, ann) {
		t.Errorf("the CSV lacks Spring's send to Ann: %q", csv)
	}
	// JSON and XLSX too: the JSON array holds the three sends, the XLSX
	// is a zip (the store's export is tested in depth elsewhere).
	b.click("a[data-download][data-format=json]")
	b.waitAttr("#download-progress", "data-rows", "3")
	if n := awaitJS[int](b, `window.parleyBlobs[1].text().then((s) => JSON.parse(s).length)`); n != 3 {
		t.Errorf("the JSON download holds %d rows; want 3", n)
	}
	b.click("a[data-download][data-format=xlsx]")
	b.waitAttr("#download-progress", "data-state", "done")
	if sig := awaitJS[string](b, `window.parleyBlobs[2].slice(0, 2).text()`); sig != "PK" {
		t.Errorf("the XLSX download starts %q; want a zip", sig)
	}
	// A download cancelled at once ends as cancelled, and no file.
	b.js(`document.querySelector("a[data-download][data-format=json]").click(); document.querySelector("[data-download-cancel]").click();`)
	b.waitAttr("#download-progress", "data-state", "cancelled")
	if n := eval[int](b, "window.parleyBlobs.length"); n != 3 {
		t.Errorf("%d files handed over after the cancel; want the three before it", n)
	}

	// Tag Ann's thread, then resolve it with the Sale tag: one sale.
	conv := e.conversationOf(ann)["id"].(string)
	b.open("/inbox/conversations/" + conv)
	b.waitLive()
	b.choose("#add-tag", interested)
	b.js(`document.getElementById("add-tag-form").requestSubmit()`)
	b.waitText("#thread-tags", "Interested")
	b.click("#close-with-tag summary")
	b.choose("#closing-tag", sale)
	// A text arriving while the tag is chosen refreshes the pane live:
	// the choice stays.
	e.text(ann, "Is it still on offer?")
	b.waitText(".thread-scroll", "Is it still on offer?")
	if got := eval[string](b, `document.getElementById("closing-tag").value`); got != sale {
		t.Fatalf("a live refresh changed the closing tag chosen to %q", got)
	}
	b.click("#resolve-with-tag")
	b.waitText("#thread-status", "Resolved")
	// The report's figures are made with the page: one made while the
	// resolve was still being written keeps the old ones. Reload until
	// the sale shows.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		b.open("/reports/outbound")
		if strings.Contains(b.text("[data-figure=sales]"), "33.3%") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sales figure never showed 33.3%%: %q", b.text("[data-figure=sales]"))
		}
	}
	if got := figure("sales"); got != "1" {
		t.Errorf("sales %s after resolving with the Sale tag; want 1", got)
	}
	if got := stage("sales"); got != "1 · 33.3%" {
		t.Errorf("the funnel's sales read %q", got)
	}
	if got := b.text(".final-tags"); !strings.Contains(got, "Won") {
		t.Errorf("the final tags read %q, without Won", got)
	}

	// A fourth send passes the export limit (3 here): refused in words.
	e.must(202, e.admin("POST", "/v1/quick-messages", map[string]any{"channel_id": ch["id"], "body": "One more", "to": []string{dan}}))
	e.eventually("the carrier accepted the quick message", func() bool { return e.sendsRecorded(admin) == 4 })
	b.open("/reports/outbound?tab=audit")
	b.waitText(".outbound-audit tbody", "Quick message")
	b.click("a[data-download][data-format=csv]")
	b.waitAttr("#download-progress", "data-state", "failed")
	if got := b.text("#download-progress"); !strings.Contains(got, "more than 3 rows; narrow the range or the filters") {
		t.Errorf("the refusal reads %q", got)
	}
}

// waitAttr waits until the element sel matches has attr = want (10 s).
func (b *tab) waitAttr(sel, attr, want string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); return el ? (el.getAttribute(%q) || "") : ""; })()`, sel, attr)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := eval[string](b, js)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: %s's %s stayed %q, want %q", sel, attr, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// awaitJS evaluates a promise in the page and returns what it resolves to.
func awaitJS[T any](b *tab, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("browser: await %s: %v", js, err)
	}
	return v
}

// sendsRecorded counts the sends of the last day that the report reads
// (the carrier accepted them), for admin's account.
func (e *env) sendsRecorded(admin staffMember) int {
	e.t.Helper()
	ctx := context.Background()
	users, err := e.main.DB.UsersByEmail(ctx, admin.Email)
	if err != nil || len(users) != 1 {
		e.t.Fatalf("the admin: %v", err)
	}
	now := time.Now()
	rows, _, err := e.main.DB.OutboundAudit(ctx, reports.OutboundFilter{AccountID: users[0].User.AccountID, From: now.Add(-24 * time.Hour),
		To: now.Add(time.Hour), ReplyWindow: reports.DefaultReplyWindow}, nil, reports.MaxAuditPage)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(rows)
}

// leaveBy clicks sel, which leaves the page, and waits until the next
// page has loaded: a script run while the browser navigates fails.
func (b *tab) leaveBy(sel string) {
	b.t.Helper()
	b.js(`window.parleyLeaving = true`)
	b.click(sel)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, time.Second)
		arrived, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.parleyLeaving && document.readyState === "complete"`))
		cancel()
		if err == nil && arrived {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: clicking %s never loaded the next page (%v)", sel, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
