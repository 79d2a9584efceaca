package main

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleyhq/parley/gateway/telnyx/telnyxtest"
)

// TestWebChannelsConnect: an admin connects a Telnyx channel through
// Settings → Channels against the Telnyx fake. The carrier select shows
// only the chosen carrier's fields; a wrong API key comes back with
// Telnyx's refusal beside it and the rest as typed; the right one
// connects the channel, listed as Telnyx's with the webhook URLs to
// paste; choosing Plivo then shows Plivo's fields and hides Telnyx's.
func TestWebChannelsConnect(t *testing.T) {
	t.Parallel()
	const profile, key = "4001767e-ce0f-4cae-9d5f-0d5e636e7809", "KEYe2e0000000000000000000000000001"
	fake := telnyxtest.New(telnyxtest.Config{APIKey: key, Profile: profile, Numbers: []string{carrierNumber}, PublicURL: publicURL})
	t.Cleanup(fake.Close)
	api := httptest.NewServer(fake)
	t.Cleanup(api.Close)
	e := boot(t, "", func(c *Config, _ *twiliotestConfig) { c.TelnyxAPIURL = api.URL })
	e.must(201, e.admin("POST", "/v1/inboxes", map[string]any{"name": "Support", "kind": "support"}))
	admin := e.adminMember()

	b := e.browser()
	b.signIn(admin.Email, admin.Password)
	b.open("/settings/channels")
	// shown lists the carriers whose fieldsets show, and says so when the
	// enabled ones differ or when the note for browsers without the
	// script shows.
	shown := func() string {
		return eval[string](b, `(() => {
			const sets = [...document.querySelectorAll("fieldset[data-carrier]")];
			const on = sets.filter((f) => f.offsetParent !== null).map((f) => f.dataset.carrier);
			const enabled = sets.filter((f) => !f.disabled).map((f) => f.dataset.carrier);
			const note = document.querySelector("[data-carrier-note]");
			return on.join(",") + (on.join(",") === enabled.join(",") ? "" : " but enabled: " + enabled.join(",")) +
				(note && note.offsetParent !== null ? " with the note" : "");
		})()`)
	}
	if got := shown(); got != "twilio" {
		t.Fatalf("the form opens showing %q; want Twilio's fields alone", got)
	}
	b.choose("#ch-carrier", "telnyx")
	if got := shown(); got != "telnyx" {
		t.Fatalf("with Telnyx chosen the form shows %q", got)
	}
	if got := b.text(".carrier-paste"); !strings.HasPrefix(got, "Telnyx: in the Mission Control Portal") || strings.Contains(got, "Plivo") {
		t.Errorf("with Telnyx chosen, where to paste the URLs reads %q; want Telnyx's alone", got)
	}
	for id, label := range map[string]string{"ch-telnyx-account-id": "Messaging profile ID", "ch-telnyx-auth-token": "API key", "ch-telnyx-webhook-secret": "Public key"} {
		if got := b.text(fmt.Sprintf("label[for=%q]", id)); got != label {
			t.Errorf("#%s is labelled %q, want %q", id, got, label)
		}
	}

	// A key Telnyx refuses: its word beside the form and the API key, the
	// rest as typed, the key not shown back.
	b.input("#ch-number", carrierNumber)
	b.input("#ch-telnyx-account-id", profile)
	b.input("#ch-telnyx-auth-token", "KEYwrong")
	b.input("#ch-telnyx-webhook-secret", fake.PublicKey())
	b.click("form.connect-channel button[type=submit]")
	b.waitText("#connect-error", "Telnyx refused this API key")
	b.waitText("#ch-telnyx-auth-token-error", "API key is not an API key Telnyx accepts")
	if s := eval[int](b, `performance.getEntriesByType("navigation")[0].responseStatus`); s != 422 {
		t.Errorf("the refused form answered %d, want 422", s)
	}
	typed := eval[string](b, `["#ch-carrier", "#ch-number", "#ch-telnyx-account-id", "#ch-telnyx-auth-token"].map((s) => document.querySelector(s).value).join(" ")`)
	if want := "telnyx " + carrierNumber + " " + profile + " "; typed != want {
		t.Errorf("the refused form holds %q; want %q", typed, want)
	}
	if got := shown(); got != "telnyx" {
		t.Errorf("the refused form shows %q; want Telnyx's fields", got)
	}
	if n := len(e.admin("GET", "/v1/channels", nil).Data()); n != 0 {
		t.Fatalf("a refused key connected %d channels", n)
	}

	// The right key connects it.
	b.input("#ch-telnyx-auth-token", key)
	b.click("form.connect-channel button[type=submit]")
	b.waitText("[data-pane=channels]", carrierNumber)
	chans := e.admin("GET", "/v1/channels", nil).Data()
	if len(chans) != 1 || chans[0]["carrier"] != "telnyx" || chans[0]["account_id"] != profile {
		t.Fatalf("after connecting, the API lists %v", chans)
	}
	id := chans[0]["id"].(string)
	b.waitText("#channel-"+id+" dl.facts", "Telnyx")
	urls := eval[string](b, fmt.Sprintf(`document.querySelector("#inbound-url-%s").value + " " + document.querySelector("#status-url-%s").value`, id, id))
	if base := publicURL + "/webhooks/telnyx/" + profile; urls != base+"/messages "+base+"/status" {
		t.Errorf("the card's webhook URLs are %q; want %s/{messages,status}", urls, base)
	}
	if n := eval[int](b, `document.querySelectorAll("#connect-error").length`); n != 0 {
		t.Error("the connected form still shows a refusal")
	}

	// Plivo's fields for Plivo, Telnyx's hidden and not sent.
	b.choose("#ch-carrier", "plivo")
	if got := shown(); got != "plivo" {
		t.Errorf("with Plivo chosen the form shows %q", got)
	}
	if got := b.text(`label[for="ch-plivo-account-id"]`); got != "Auth ID" {
		t.Errorf("Plivo's account is labelled %q, want Auth ID", got)
	}
}
