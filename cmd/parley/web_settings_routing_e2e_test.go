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

// fetchStatus is the HTTP status the signed-in tab gets for a GET of path.
func (b *tab) fetchStatus(path string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	js := fmt.Sprintf(`fetch(%q, {credentials: "same-origin"}).then(r => r.status)`, path)
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("browser: GET %s: %v", path, err)
	}
	return n
}

// TestWebSettingsRouting: an admin makes a contact type, builds a routing
// table in the editor (adding and removing entries without script, a
// refused save coming back as typed), points the type at it, and
// simulates it for a contact, seeing routing's reason; an agent gets 403
// on every one of these pages.
func TestWebSettingsRouting(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			admin := e.adminMember()
			agent := e.staff("Ann Agent", "agent", false)
			b := e.browser()
			b.signIn(admin.Email, admin.Password)

			// A contact type.
			b.open("/settings/contact-types")
			b.do(chromedp.SendKeys("#new-type-name", "applicant"), chromedp.SendKeys("#new-type-relationship", "counselor"),
				chromedp.Click("form.contact-types-new button[type=submit]"))
			b.waitText("[data-pane=types]", "applicant")
			types := e.must(200, e.admin("GET", "/v1/contact-types", nil))["data"].([]any)
			if len(types) != 1 || types[0].(map[string]any)["relationship"] != "counselor" {
				t.Fatalf("after the form the contact types are %v", types)
			}
			typeID := types[0].(map[string]any)["id"].(string)

			// A table: two entries, the second removed; saving with an
			// empty pool is refused and comes back as typed.
			b.open("/settings/routing/new")
			b.do(chromedp.SendKeys("#table-name", "Admissions"),
				chromedp.SetValue("#e0-type", "applicant"),
				chromedp.SetValue("#e0-strategy", "least_busy"),
				chromedp.SendKeys("#e0-capacity", "3"),
				chromedp.Click("button[value=add]"), chromedp.WaitVisible("#entry-1"))
			if got := eval[string](b, `document.querySelector("#table-name").value + "|" + document.querySelector("#e0-type").value + "|" + document.querySelector("#e0-capacity").value`); got != "Admissions|applicant|3" {
				t.Fatalf("Add entry lost what was typed: %q", got)
			}
			b.do(chromedp.Click("button[value='remove:1']"), chromedp.WaitNotPresent("#entry-1"))
			b.do(chromedp.Click("button[value=save]"), chromedp.WaitVisible(".routing-errors"))
			if msg := b.text("#entry-0 .routing-entry-errors"); !strings.Contains(msg, "Pool") {
				t.Fatalf("a table with an empty pool says %q beside its entry", msg)
			}
			b.do(chromedp.Click("#e0-u"+agent.ID), chromedp.Click("button[value=save]"), chromedp.WaitVisible(".routing-saved"))
			tables := e.must(200, e.admin("GET", "/v1/routing-tables", nil))["data"].([]any)
			if len(tables) != 1 {
				t.Fatalf("tables after saving: %v", tables)
			}
			table := tables[0].(map[string]any)
			entries := table["entries"].([]any)
			entry := entries[0].(map[string]any)
			if len(entries) != 1 || entry["strategy"] != "least_busy" || entry["capacity"] != float64(3) ||
				fmt.Sprint(entry["user_ids"]) != "["+agent.ID+"]" || entry["conditions"].(map[string]any)["contact_type"] != "applicant" {
				t.Fatalf("the saved table is %v", table)
			}
			tableID := table["id"].(string)

			// The type routes by it.
			b.open("/settings/contact-types")
			b.do(chromedp.SetValue("#ct-"+typeID+"-table", tableID), chromedp.Click("#ct-"+typeID+" button"))
			e.eventually("the type's table saved", func() bool {
				ct := e.admin("GET", "/v1/contact-types", nil).Data()[0]
				return ct["routing_table_id"] == tableID
			})

			// Simulate for an applicant and for a contact of no type.
			e.rtContact("Ada Applicant", "applicant", nil, "+14155550601")
			e.rtContact("Walk In", "", nil, "+14155550602")
			b.open("/settings/routing/" + tableID)
			b.do(chromedp.SendKeys("#sim-phone", "+14155550601"), chromedp.Click("#simulate button[type=submit]"),
				chromedp.WaitVisible(".routing-decision"))
			// In the page's words: Entry 1 (not entries[0]), a name (not an id).
			if reason := b.text(".routing-reason"); reason != "Entry 1 matched and least_busy picked Ann Agent" {
				t.Fatalf("the simulation's reason is %q", reason)
			}
			if verdict := b.text(".routing-verdict"); !strings.Contains(verdict, "Ann Agent") {
				t.Fatalf("the simulation says %q", verdict)
			}
			eval[string](b, `document.getElementById("sim-phone").value = "+14155550602"`)
			b.click("#simulate button[type=submit]")
			b.waitText(".routing-verdict", "nobody")
			if passed := b.text(".routing-passed"); !strings.Contains(passed, `Entry 1: contact type is "", not "applicant"`) {
				t.Fatalf("passed over: %q", passed)
			}

			// The table in use cannot be deleted: the page says why.
			b.click("form.routing-delete button")
			b.waitText("#alert", "contact type(s) route with this table")

			// An agent is refused all of it.
			a := e.browser()
			a.signIn(agent.Email, agent.Password)
			for _, path := range []string{"/settings/routing", "/settings/routing/" + tableID, "/settings/contact-types",
				"/settings/webhooks"} {
				if got := a.fetchStatus(path); got != 403 {
					t.Errorf("an agent's GET %s answered %d, want 403", path, got)
				}
			}
			a.open("/settings/routing")
			if h := a.text("h1"); h != "Not allowed" {
				t.Errorf("an agent on /settings/routing sees %q", h)
			}
		})
	}
}

// TestWebSettingsWebhooks: an admin registers an endpoint to a local
// receiver and sees its secret once; a test event refused with 400 shows
// in the delivery log with its status code, Retry delivers it, and both
// were signed with the secret shown. Rotation shows a new secret once.
func TestWebSettingsWebhooks(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect), withPrivateWebhooks())
			rc := newHookReceiver(t)
			admin := e.adminMember()
			b := e.browser()
			b.signIn(admin.Email, admin.Password)

			b.open("/settings/webhooks")
			b.do(chromedp.SendKeys("#hook-url", rc.srv.URL+"/hook"), chromedp.SendKeys("#hook-description", "CRM"),
				chromedp.Click("#hook-event-message\\.created"), chromedp.Click("form.webhooks-new button[type=submit]"),
				chromedp.WaitVisible("#webhook-secret"))
			secret := eval[string](b, `document.getElementById("webhook-secret").value`)
			if !strings.HasPrefix(secret, "whsec_") {
				t.Fatalf("the secret shown is %q", secret)
			}
			b.waitText("[data-pane=endpoints]", rc.srv.URL+"/hook")
			b.open("/settings/webhooks")
			if n := eval[int](b, `document.querySelectorAll("#webhook-secret").length`); n != 0 {
				t.Fatal("the secret is shown again")
			}
			eps := e.admin("GET", "/v1/webhook-endpoints", nil).Data()
			if len(eps) != 1 || fmt.Sprint(eps[0]["events"]) != "[message.created]" || eps[0]["description"] != "CRM" {
				t.Fatalf("the endpoints are %v", eps)
			}
			id := eps[0]["id"].(string)

			// A test event the receiver refuses: the log says 400.
			rc.answer(400)
			b.click("#hook-" + id + " form[action$='/test'] button")
			b.do(chromedp.WaitVisible(".webhooks-log, .webhooks-page .empty"))
			if path := eval[string](b, "location.pathname"); path != "/settings/webhooks/"+id {
				t.Fatalf("after Send test event the page is %s", path)
			}
			e.eventually("the attempt logged", func() bool {
				b.open("/settings/webhooks/" + id)
				return eval[string](b, `(document.querySelector(".webhooks-status") || {}).innerText || ""`) == "400"
			})
			if state := b.text(".webhooks-delivery .badge"); state != "failed" {
				t.Fatalf("a delivery refused with 400 is %q", state)
			}
			if excerpt := b.text(".webhooks-excerpt"); !strings.Contains(excerpt, "Bad Request") {
				t.Fatalf("the answer's excerpt is %q", excerpt)
			}

			// Retry: delivered, with the same id, both signed with the secret.
			b.click(".webhooks-delivery form[action$='/retry'] button")
			e.eventually("the retry", func() bool { return len(rc.requests()) == 2 })
			e.eventually("the success logged", func() bool {
				b.open("/settings/webhooks/" + id)
				return eval[string](b, `(document.querySelector(".webhooks-status") || {}).innerText || ""`) == "200"
			})
			b.waitText(".webhooks-delivery .badge", "succeeded")
			got := rc.requests()
			for _, r := range got {
				verify(t, secret, r)
			}
			if got[0].header.Get("webhook-id") != got[1].header.Get("webhook-id") {
				t.Fatal("the retry has another webhook-id")
			}

			// Rotate: a new secret, once.
			b.do(chromedp.Click(".webhooks-endpoint form[action$='/rotate'] button"), chromedp.WaitVisible("#webhook-secret"))
			if rotated := eval[string](b, `document.getElementById("webhook-secret").value`); rotated == secret || !strings.HasPrefix(rotated, "whsec_") {
				t.Fatalf("after rotation the secret shown is %q", rotated)
			}

			// On the endpoint's page, Disable and Enable change its badge
			// and button without a reload.
			b.open("/settings/webhooks/" + id)
			eval[bool](b, `window.stillHere = true`)
			b.click(".webhooks-endpoint form[action$='/enabled'] button")
			b.waitText(".webhooks-endpoint", "disabled by an admin")
			b.waitText(".webhooks-endpoint form[action$='/enabled'] button", "Enable")
			b.click(".webhooks-endpoint form[action$='/enabled'] button")
			b.waitText(".webhooks-endpoint .badge.open", "enabled")
			b.waitText(".webhooks-endpoint form[action$='/enabled'] button", "Disable")
			if !eval[bool](b, `window.stillHere === true`) {
				t.Fatal("enabling and disabling reloaded the page")
			}

			// Disable, then delete.
			b.open("/settings/webhooks")
			b.click("#hook-" + id + " form[action$='/enabled'] button")
			b.waitText("#hook-"+id, "disabled by an admin")
			b.click("#hook-" + id + " form[action$='/delete'] button")
			b.waitText("[data-pane=endpoints]", "No endpoints yet")
			if n := len(e.admin("GET", "/v1/webhook-endpoints", nil).Data()); n != 0 {
				t.Fatalf("%d endpoints after deleting", n)
			}
		})
	}
}
