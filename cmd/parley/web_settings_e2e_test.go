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

// TestWebSettings: an admin switches auto-assignment on (the API sees
// it), invites a colleague whose set-password link signs them in, and
// deactivates an agent whose open session dies at once; an agent gets a
// 403 page for the settings.
func TestWebSettings(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			admin := e.adminMember()
			agent := e.staff("Ann Agent", "agent", false)

			ann := e.browser()
			ann.signIn(agent.Email, agent.Password)
			ann.open("/settings")
			if h := ann.text("main h1"); h != "Not allowed" {
				t.Fatalf("an agent's /settings shows %q, want the 403 page", h)
			}
			if s := eval[int](ann, `performance.getEntriesByType("navigation")[0].responseStatus`); s != 403 {
				t.Fatalf("an agent's /settings answered %d, want 403", s)
			}

			b := e.browser()
			b.signIn(admin.Email, admin.Password)
			b.open("/settings")
			b.waitText("#auto-assignment-state", "Off")
			b.do(chromedp.Click(chromedp.CSS("#allow-auto-assignment")),
				chromedp.Click(chromedp.CSS("[data-pane=assignment] button[type=submit]")))
			b.waitText("#auto-assignment-state", "On")
			if got := e.must(200, e.admin("GET", "/v1/settings/conversations", nil)); got["allow_auto_assignment"] != true {
				t.Fatalf("after the switch the API says %v", got)
			}

			// Quiet hours, with the window the form suggests.
			b.do(chromedp.Click(chromedp.CSS("#quiet-on")),
				chromedp.Click(chromedp.CSS("form:has(#quiet-on) button[type=submit]")))
			within(t, 10*time.Second, "quiet hours in the API", func() bool {
				q, _ := e.must(200, e.admin("GET", "/v1/settings/conversations", nil))["quiet_hours"].(map[string]any)
				return q["start"] == "21:00" && q["end"] == "08:00" && q["timezone"] == "America/New_York"
			})

			// Invite: the link is shown once, and a second browser uses it.
			b.open("/settings/users")
			b.do(chromedp.SendKeys(chromedp.CSS("#invite-name"), "Bea Newcomer"),
				chromedp.SendKeys(chromedp.CSS("#invite-email"), "bea@example.com"),
				chromedp.Click(chromedp.CSS("form[action='/settings/users'] button[type=submit]")),
				chromedp.WaitVisible(chromedp.CSS("#set-password-link")))
			link := eval[string](b, `document.querySelector("#set-password-link").value`)
			u, err := url.Parse(link)
			if err != nil || u.Scheme+"://"+u.Host != publicURL || !strings.HasPrefix(u.Path, "/set-password/") {
				t.Fatalf("the set-password link is %q", link)
			}
			b.waitText("[data-pane=users]", "bea@example.com")
			bea := e.browser()
			bea.open(u.Path)
			bea.do(chromedp.SendKeys(chromedp.CSS("#password"), "a new password for bea"),
				chromedp.SendKeys(chromedp.CSS("#confirm"), "a new password for bea"),
				chromedp.Click(chromedp.CSS(".auth button[type=submit]")),
				chromedp.WaitVisible(chromedp.CSS("header.top")))
			if got := eval[string](bea, "location.pathname"); got != "/inbox" {
				t.Fatalf("after choosing a password Bea is on %s, want /inbox", got)
			}

			// Inviting her email again is refused beside the form, which
			// keeps what was typed.
			b.open("/settings/users")
			b.do(chromedp.SendKeys(chromedp.CSS("#invite-name"), "Bea Twice"),
				chromedp.SendKeys(chromedp.CSS("#invite-email"), "bea@example.com"),
				chromedp.Click(chromedp.CSS("form[action='/settings/users'] button[type=submit]")),
				chromedp.WaitVisible(chromedp.CSS("#invite-error")))
			if got := b.text("#invite-error"); !strings.Contains(got, "already exists") {
				t.Errorf("a duplicate invite says %q", got)
			}
			if got := eval[string](b, `document.getElementById("invite-name").value + " " + document.getElementById("invite-email").value`); got != "Bea Twice bea@example.com" {
				t.Errorf("the refused invite kept %q, want what was typed", got)
			}
			if n := eval[int](b, `document.querySelectorAll("#set-password-link").length`); n != 0 {
				t.Errorf("a refused invite shows a set-password link")
			}

			// An admin cannot deactivate themself: the domain's word shows.
			b.click(fmt.Sprintf("form[action='/settings/users/%s/active'] button", admin.ID))
			b.waitText("#alert", "cannot deactivate")

			// Deactivating Ann ends her open session.
			b.click(fmt.Sprintf("form[action='/settings/users/%s/active'] button", agent.ID))
			b.waitText("#user-"+agent.ID, "Deactivated")
			ann.open("/inbox")
			if got := eval[string](ann, "location.pathname"); got != "/login" {
				t.Fatalf("a deactivated agent's next page is %s, want /login", got)
			}
			b.click(fmt.Sprintf("form[action='/settings/users/%s/active'] button", agent.ID))
			b.waitText("#user-"+agent.ID, "Active")
		})
	}
}

// TestWebSettingsChannels: an admin creates an inbox, connects a channel
// the fake carrier vouches for, sees the webhook URLs to paste, rotates
// its token (a refused one is reported) and disconnects it after ticking
// the confirmation.
func TestWebSettingsChannels(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := boot(t, storetest.URL(t, dialect))
			admin := e.adminMember()
			b := e.browser()
			b.signIn(admin.Email, admin.Password)

			b.open("/settings/channels")
			b.waitText("main", "create an inbox")
			b.open("/settings/inboxes")
			b.do(chromedp.SendKeys(chromedp.CSS("#inbox-name"), "Front desk"),
				chromedp.Click(chromedp.CSS("form[action='/settings/inboxes'] button[type=submit]")))
			b.waitText("[data-pane=inboxes]", "Front desk")

			b.open("/settings/channels")
			b.do(chromedp.SendKeys(chromedp.CSS("#ch-number"), business),
				chromedp.SendKeys(chromedp.CSS("#ch-account"), accountSID),
				chromedp.SendKeys(chromedp.CSS("#ch-token"), authToken),
				chromedp.Click(chromedp.CSS("form[action='/settings/channels'] button[type=submit]")))
			b.waitText("[data-pane=channels]", business)
			chans := e.admin("GET", "/v1/channels", nil).Data()
			if len(chans) != 1 || chans[0]["status"] != "connected" {
				t.Fatalf("after connecting, the API lists %v", chans)
			}
			id := chans[0]["id"].(string)
			for sel, want := range map[string]string{"#inbound-url-" + id: publicURL + "/webhooks/twilio/messages", "#status-url-" + id: publicURL + "/webhooks/twilio/status"} {
				input := eval[map[string]any](b, fmt.Sprintf(`(el => ({value: el.value, readOnly: el.readOnly}))(document.querySelector(%q))`, sel))
				if input["value"] != want || input["readOnly"] != true {
					t.Errorf("%s is %v, want read-only %q", sel, input, want)
				}
			}
			if res := e.text("+14155550141", "before the rotation"); res.StatusCode != 200 {
				t.Fatalf("an inbound text to the new channel answered %d", res.StatusCode)
			}

			// A token Twilio refuses is reported; the accepted one is kept.
			const newToken = "e2etoken0000000000000000000000ee"
			e.carrier.AddAccount(accountSID, newToken)
			token := chromedp.CSS("#token-" + id)
			rotate := chromedp.CSS(fmt.Sprintf("form[action='/settings/channels/%s/token'] button", id))
			b.do(chromedp.SendKeys(token, "wrongtoken0000000000000000000000"), chromedp.Click(rotate))
			b.waitText("#alert", "Auth token is not accepted")
			eval[string](b, fmt.Sprintf(`document.querySelector("#token-%s").value = ""`, id))
			// The success refreshes the pane: mark the card to see it replaced.
			eval[string](b, fmt.Sprintf(`document.querySelector("#channel-%s").dataset.old = "yes"`, id))
			b.do(chromedp.SendKeys(token, newToken), chromedp.Click(rotate),
				chromedp.WaitNotVisible(chromedp.CSS("#alert")),
				chromedp.WaitNotPresent(chromedp.CSS("#channel-"+id+"[data-old]")))
			if res := e.text("+14155550142", "after the rotation"); res.StatusCode != 200 {
				t.Fatalf("a text signed with the rotated token answered %d", res.StatusCode)
			}

			// Disconnect needs the box ticked: the browser asks for it, and
			// so does the server (for a browser that does not check).
			disconnect := chromedp.CSS(fmt.Sprintf("form[action='/settings/channels/%s/disconnect'] button", id))
			eval[bool](b, fmt.Sprintf(`document.querySelector("#confirm-%s").required = false`, id))
			b.click(string(disconnect))
			b.waitText("#alert", "Tick the box to disconnect")
			if got := e.admin("GET", "/v1/channels", nil).Data()[0]["status"]; got != "connected" {
				t.Fatalf("disconnect without confirming left the channel %v", got)
			}
			b.do(chromedp.Click(chromedp.CSS("#confirm-"+id)), chromedp.Click(disconnect))
			b.waitText("#channel-"+id, "Disconnected")
			if got := e.admin("GET", "/v1/channels", nil).Data()[0]["status"]; got != "disconnected" {
				t.Fatalf("after disconnecting, the channel is %v", got)
			}
		})
	}
}
