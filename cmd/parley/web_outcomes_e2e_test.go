package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/outcomes"
	"github.com/parleyhq/parley/store/storetest"
)

// TestWebOutcomes works a thread's records, outcomes and suggestions in
// the browser on both databases: a record found by search and linked; an
// outcome whose record select offers only the records its type takes
// (and a refused one shown on the form), listed with who and when, then
// deleted; a suggestion raised by the CRM that appears without a reload
// and is added with edited notes; another dismissed; another account's
// record refused as not found; and an agent who may not see the thread
// refused.
func TestWebOutcomes(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			e := boot(t, storetest.URL(t, dialect))
			e.setupChannel(nil)
			admin := e.adminMember()
			adminName := e.must(200, e.admin("GET", "/v1/me", nil))["name"].(string)
			ann := e.staff("Ann Agent", "agent", false)
			const phone = "+14155550711"
			e.text(phone, "Could you send a quote for the patio?")
			conv := e.conversationOf(phone)["id"].(string)
			convID, _ := parley.ParseID(conv)
			users, err := e.main.DB.UsersByEmail(ctx, admin.Email)
			if err != nil || len(users) != 1 {
				t.Fatalf("the admin: %v", err)
			}
			account := users[0].User.AccountID

			// The CRM's records (PUT /v1/records writes them the same way).
			put := func(accountID parley.ID, typ outcomes.RecordType, ext, title, status string) outcomes.Record {
				t.Helper()
				r := outcomes.Record{AccountID: accountID, Type: typ, ExternalID: ext, Title: title, Status: status}
				if typ == outcomes.RecordQuote {
					r.Amount = &outcomes.Money{Units: 480000, Currency: "USD"}
				}
				rec, _, err := e.main.DB.PutRecord(ctx, r, nil, nil, time.Now())
				if err != nil {
					t.Fatalf("put record %s: %v", ext, err)
				}
				return rec
			}
			quote := put(account, outcomes.RecordQuote, "Q-1001", "Patio", "sent")
			invoice := put(account, outcomes.RecordInvoice, "INV-7", "Patio deposit", "open")
			put(account, outcomes.RecordProject, "P-3", "Patio build", "")
			other, _, err := e.main.DB.CreateAccount(ctx, "Other", conversations.NewUser{Email: "other@example.com", Name: "Other",
				Role: conversations.RoleAdmin}, conversations.NewTokenSecret(), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			foreign := put(other.ID, outcomes.RecordQuote, "Q-1001", "Their patio", "sent")

			a := e.browser()
			a.signIn(admin.Email, admin.Password)
			a.open("/inbox/conversations/" + conv)
			a.waitText("#records-title", "Linked records")
			a.waitLive()

			// Find the quote by its external id among quotes, and link it;
			// the invoice by its title among any type.
			// open unfolds a folded part of the pane (a details element) as
			// a click on its summary would.
			open := func(id string) {
				a.js(fmt.Sprintf(`(() => { const d = document.getElementById(%q); if (!d.open) d.querySelector("summary").click(); })()`, id))
			}
			search := func(q, typ string) {
				open("record-find")
				a.input("#record-q", q)
				a.choose("#record-type", typ)
				a.js(`document.querySelector(".record-search").requestSubmit()`)
			}
			search("q-10", "quote")
			a.waitText("#record-found", "Q-1001")
			if got := a.text("#record-found"); strings.Contains(got, "INV-7") || strings.Contains(got, "Their patio") {
				t.Fatalf("a search of quotes for q-10 found %q", got)
			}
			a.click("#record-found button")
			a.waitText("#record-list", "Q-1001")
			a.waitText("#record-list", "4800.00 USD")
			search("deposit", "")
			a.waitText("#record-found", "INV-7")
			a.click("#record-found button")
			a.waitText("#record-list", "INV-7")

			// The record select offers only what the chosen type takes.
			open("outcome-add")
			offered := func(typ string) string {
				a.choose("#outcome-type", typ)
				return eval[string](a, `[...document.getElementById("outcome-record").options]
					.filter((o) => o.value && !o.hidden && !o.disabled).map((o) => o.textContent.trim()).join(", ")`)
			}
			if got := offered("invoice_sent"); got != "Invoice INV-7 · Patio deposit" {
				t.Fatalf("invoice_sent offers %q, want the invoice only", got)
			}
			if got := offered("lead_abandoned"); !strings.Contains(got, "Q-1001") || !strings.Contains(got, "INV-7") {
				t.Fatalf("lead_abandoned offers %q, want any record", got)
			}
			if got := offered("quote_sent"); got != "Quote Q-1001 · Patio" {
				t.Fatalf("quote_sent offers %q, want the quote only", got)
			}

			// The server refuses what the select would not offer.
			a.js(fmt.Sprintf(`(() => { const s = document.getElementById("outcome-record");
				const o = [...s.options].find((o) => o.value === %q); o.disabled = false; s.value = %q; })()`,
				invoice.ID.String(), invoice.ID.String()))
			a.js(`document.getElementById("outcome-form").requestSubmit()`)
			a.waitText("#outcome-form .form-error", "Record is an invoice; quote_sent takes a quote")

			a.choose("#outcome-type", "quote_sent")
			a.choose("#outcome-record", quote.ID.String())
			a.input("#outcome-notes", "Sent with the drawings")
			a.input("#outcome-amount", "4750.50")
			a.input("#outcome-currency", "usd")
			a.js(`document.getElementById("outcome-form").requestSubmit()`)
			a.waitText("#outcome-list", "Quote sent")
			list := a.text("#outcome-list")
			for _, want := range []string{"Q-1001", "Sent with the drawings", "4750.50 USD", adminName, time.Now().UTC().Format("2 Jan 2006")} {
				if !strings.Contains(list, want) {
					t.Fatalf("the outcome shows %q, want %q in it", list, want)
				}
			}
			if got := eval[string](a, `document.getElementById("outcome-notes").value`); got != "" {
				t.Fatalf("after adding, the notes box still holds %q", got)
			}

			// Delete it, after the confirm.
			a.click("#outcome-list details.confirm summary")
			a.click("#outcome-list details.confirm button.danger")
			a.waitText("#outcome-list", "No outcomes yet")
			a.waitText(".thread-scroll", adminName+" deleted the outcome quote sent (Patio)")
			if got, err := e.main.DB.ListOutcomes(ctx, account, convID); err != nil || len(got) != 0 {
				t.Fatalf("after the delete, the conversation has outcomes %v (%v)", got, err)
			}

			// The CRM marks the quote accepted: the suggestion appears live.
			put(account, outcomes.RecordQuote, "Q-1001", "Patio", "accepted")
			a.waitText(".suggestions", "Quote Patio was accepted")

			// Add it, reviewed: the form comes prefilled; the notes edited.
			a.click(".suggestion a.button")
			a.waitText("#outcome-form-title", "Add the suggested outcome")
			if typ, rec := eval[string](a, `document.getElementById("outcome-type").value`),
				eval[string](a, `document.getElementById("outcome-record").value`); typ != "quote_accepted" || rec != quote.ID.String() {
				t.Fatalf("the review form holds type %q record %q, want quote_accepted and the quote", typ, rec)
			}
			if id := eval[string](a, "document.activeElement.id"); id != "outcome-notes" {
				t.Fatalf("the review form opened with %q focused, want its notes", id)
			}
			a.input("#outcome-notes", "Accepted by phone")
			a.js(`document.getElementById("outcome-form").requestSubmit()`)
			a.waitText("#outcome-list", "Accepted by phone")
			a.waitText("#outcome-list", "(suggested)")
			a.waitText("#outcome-form-title", "Add outcome")
			a.waitGone(".outcomes", "Outcome suggestions")

			// Linking a project raises project_created; dismiss it.
			search("P-3", "project")
			a.waitText("#record-found", "Patio build")
			a.click("#record-found button")
			a.waitText(".suggestions", "Project Patio build was created")
			a.click(".suggestion form button")
			a.waitGone(".outcomes", "Outcome suggestions")
			if got, err := e.main.DB.ListSuggestions(ctx, account, convID); err != nil || len(got) != 0 {
				t.Fatalf("after accept and dismiss, pending suggestions %v (%v)", got, err)
			}
			got, err := e.main.DB.ListOutcomes(ctx, account, convID)
			if err != nil || len(got) != 1 || got[0].Type != outcomes.QuoteAccepted || got[0].Notes != "Accepted by phone" {
				t.Fatalf("the outcomes are %+v (%v), want the accepted quote with the edited notes", got, err)
			}

			// Another account's record is not found, from this form too.
			if status := a.post("/inbox/conversations/"+conv+"/links", "record_id="+foreign.ID.String()); status != 404 {
				t.Fatalf("linking another account's record: %d, want 404", status)
			}

			// An agent who may not see the thread can add nothing to it, nor
			// learn that it exists: not found, as through the API.
			a.click(`form[action="/logout"] button`)
			a.waitPath("/login")
			a.signIn(ann.Email, ann.Password)
			if status := a.post("/inbox/conversations/"+conv+"/outcomes", "type=lead_abandoned"); status != 404 {
				t.Fatalf("an agent adding an outcome to a colleague's thread: %d, want 404", status)
			}
			if status := a.fetchStatus("/inbox/conversations/" + conv + "?pane=outcomes"); status != 404 {
				t.Fatalf("an agent reading a colleague's outcomes pane: %d, want 404", status)
			}
			if got, err := e.main.DB.ListOutcomes(ctx, account, convID); err != nil || len(got) != 1 {
				t.Fatalf("after the agent's refused outcome, the conversation has %d outcomes (%v), want 1", len(got), err)
			}
		})
	}
}

// post sends a form from the page as its script does (with the page's
// form token) and returns the answer's status.
func (b *tab) post(path, form string) int {
	b.t.Helper()
	js := fmt.Sprintf(`fetch(%q, {method: "POST", body: new URLSearchParams(%q),
		headers: {"X-Parley-Background": "1", "X-CSRF-Token": document.body.dataset.csrf}}).then((r) => r.status)`, path, form)
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("browser: post %s: %v", path, err)
	}
	return status
}

// waitGone waits until the element sel matches no longer contains text
// (10 s).
func (b *tab) waitGone(sel, text string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); return el ? el.innerText : ""; })()`, sel)
	for strings.Contains(eval[string](b, js), text) {
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: %s still shows %q", sel, text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
