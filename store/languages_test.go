package store_test

import (
	"strings"
	"testing"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/optout"
	"github.com/parleyhq/parley/store"
)

// Settings saved before the Spanish pack existed read with its defaults,
// switched off and naming the account; switching it on stores them, and
// inbound routing then matches Spanish keywords.
func TestSettingsFromBeforeTheSpanishPack(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		if _, err := db.SQL().ExecContext(ctx, db.SQL().Rebind(`UPDATE accounts SET settings = ? WHERE id = ?`),
			`{"allow_auto_assignment":false,"help_text":"Old help","opt_out_reply":"Bye","opt_in_reply":"Hi",`+
				`"keywords":{"opt_out":["STOP"],"opt_in":["START"],"help":["HELP"]}}`, a.account.ID); err != nil {
			t.Fatal(err)
		}
		s, err := db.GetSettings(ctx, a.account.ID)
		if err != nil {
			t.Fatal(err)
		}
		es := s.Languages.Spanish
		if es.Enabled || !strings.HasPrefix(es.HelpText, a.account.Name+": ") || es.OptOutReply == "" || es.Keywords.OptOut[0] != "PARAR" {
			t.Errorf("an old account's Spanish pack reads %+v", es)
		}
		if s.HelpText != "Old help" {
			t.Errorf("an old account's help text reads %q", s.HelpText)
		}
		if route, err := db.FindInboundRoute(ctx, conversations.CarrierTwilio, sidA, bizA, ""); err != nil || route.Settings.Languages.Spanish.Enabled {
			t.Fatalf("FindInboundRoute = %+v, %v; want Spanish off", route.Settings.Languages, err)
		}

		on := true
		patch := conversations.SettingsPatch{Languages: &conversations.LanguagesPatch{Spanish: &conversations.LanguagePackPatch{Enabled: &on}}}
		if _, err := db.UpdateSettings(ctx, a.account.ID, patch.Apply, t0); err != nil {
			t.Fatalf("switching Spanish on: %v", err)
		}
		route, err := db.FindInboundRoute(ctx, conversations.CarrierTwilio, sidA, bizA, "")
		if err != nil {
			t.Fatal(err)
		}
		p := conversations.Plan(route, conversations.InboundText{From: "+15550001111", Body: "Parar"}, t0)
		if p.Intent != optout.IntentOptOut || p.Language != optout.Spanish || p.Reply != es.OptOutReply {
			t.Errorf("after switching Spanish on, PARAR plans %q %q, reply %q", p.Intent, p.Language, p.Reply)
		}
	})
}
