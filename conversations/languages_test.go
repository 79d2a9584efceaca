package conversations_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/optout"
)

// bilingualRoute is a channel of an account with Spanish switched on.
func bilingualRoute(spanish bool) conversations.InboundRoute {
	s := conversations.DefaultSettings("Acme")
	s.Languages.Spanish.Enabled = spanish
	return conversations.InboundRoute{Channel: conversations.Channel{ID: 3, AccountID: 7}, Settings: s}
}

func TestPlanAnswersInTheKeywordsLanguage(t *testing.T) {
	route := bilingualRoute(true)
	en, es := route.Settings, route.Settings.Languages.Spanish
	tests := []struct {
		body     string
		intent   optout.Intent
		keyword  string
		language optout.Language
		reply    string
	}{
		{"PARAR", optout.IntentOptOut, "PARAR", optout.Spanish, es.OptOutReply},
		{"no mas", optout.IntentOptOut, "NO MÁS", optout.Spanish, es.OptOutReply},
		{"Iniciar", optout.IntentOptIn, "INICIAR", optout.Spanish, es.OptInReply},
		{"sí", optout.IntentOptIn, "SÍ", optout.Spanish, es.OptInReply},
		{"¿ayuda?", optout.IntentHelp, "AYUDA", optout.Spanish, es.HelpText},
		{"STOP", optout.IntentOptOut, "STOP", optout.English, en.OptOutReply},
		{"start", optout.IntentOptIn, "START", optout.English, en.OptInReply},
		{"Help", optout.IntentHelp, "HELP", optout.English, en.HelpText},
		{"hola", optout.IntentNone, "", "", ""},
	}
	for _, tt := range tests {
		p := conversations.Plan(route, conversations.InboundText{From: "+15550001111", Body: tt.body}, inboundAt)
		if p.Intent != tt.intent || p.Keyword != tt.keyword || p.Language != tt.language || p.Reply != tt.reply {
			t.Errorf("Plan(%q) = %q %q %q, reply %q; want %q %q %q, reply %q",
				tt.body, p.Intent, p.Keyword, p.Language, p.Reply, tt.intent, tt.keyword, tt.language, tt.reply)
		}
	}
	if es.OptOutReply == en.OptOutReply || !strings.Contains(es.OptOutReply, "INICIAR") || !strings.HasPrefix(es.HelpText, "Acme: ") {
		t.Errorf("Spanish replies %+v", es)
	}
	// The keyword event tells the language.
	p := conversations.Plan(route, conversations.InboundText{Body: "Parar"}, inboundAt)
	if e, _ := p.KeywordEvent(9, true); e.Data["language"] != "es" || e.Data["keyword"] != "PARAR" {
		t.Errorf("keyword event data %v", e.Data)
	}
}

func TestPlanWithSpanishOff(t *testing.T) {
	route := bilingualRoute(false)
	for _, body := range []string{"PARAR", "no más", "INICIAR", "AYUDA"} {
		if p := conversations.Plan(route, conversations.InboundText{Body: body}, inboundAt); p.Intent != optout.IntentNone || p.Reply != "" {
			t.Errorf("Spanish off: Plan(%q) = %q, reply %q; want an ordinary message", body, p.Intent, p.Reply)
		}
	}
	if p := conversations.Plan(route, conversations.InboundText{From: "+15550001111", Body: "stop"}, inboundAt); p.Reply != route.Settings.OptOutReply || p.Language != optout.English {
		t.Errorf("Spanish off: STOP planned %+v", p)
	}
	// A carrier that handles opt-out answers in any language.
	route = bilingualRoute(true)
	route.Channel.CarrierHandlesOptOut = true
	if p := conversations.Plan(route, conversations.InboundText{Body: "PARAR"}, inboundAt); p.Intent != optout.IntentOptOut || p.Reply != "" {
		t.Errorf("carrier handles opt-out: PARAR planned %q, reply %q", p.Intent, p.Reply)
	}
}

func ptr[T any](v T) *T { return &v }

func fieldsOf(t *testing.T, err error) map[string]string {
	t.Helper()
	if err == nil {
		return nil
	}
	var pe *parley.Error
	if !errors.As(err, &pe) || pe.Kind != parley.EINVALID {
		t.Fatalf("error %v, want EINVALID", err)
	}
	return pe.Fields
}

func TestSettingsPatchLanguages(t *testing.T) {
	base := conversations.DefaultSettings("Acme")
	spanish := func(pp conversations.LanguagePackPatch) conversations.SettingsPatch {
		return conversations.SettingsPatch{Languages: &conversations.LanguagesPatch{Spanish: &pp}}
	}
	tests := []struct {
		name   string
		start  func(*conversations.Settings)
		patch  conversations.SettingsPatch
		fields []string // the refused fields; none: applied
		check  func(conversations.Settings) bool
	}{
		{"switch on", nil, spanish(conversations.LanguagePackPatch{Enabled: ptr(true)}), nil,
			func(s conversations.Settings) bool { return s.Languages.Spanish.Enabled }},
		{"change a reply", nil, spanish(conversations.LanguagePackPatch{OptOutReply: ptr("Adiós.")}), nil,
			func(s conversations.Settings) bool {
				return s.Languages.Spanish.OptOutReply == "Adiós." && s.Languages.Spanish.HelpText == base.Languages.Spanish.HelpText
			}},
		{"a blank reply", nil, spanish(conversations.LanguagePackPatch{HelpText: ptr(" ")}), []string{"languages.es.help_text"}, nil},
		{"an empty list", nil, spanish(conversations.LanguagePackPatch{Keywords: &conversations.KeywordsPatch{OptIn: &[]string{}}}),
			[]string{"languages.es.keywords.opt_in"}, nil},
		{"an English keyword in Spanish, switched on", nil,
			spanish(conversations.LanguagePackPatch{Enabled: ptr(true), Keywords: &conversations.KeywordsPatch{OptOut: &[]string{"PARAR", "STOP"}}}),
			[]string{"languages.es.keywords.opt_out", "keywords.opt_out"}, nil},
		{"switching on beside an English BAJA", func(s *conversations.Settings) { s.Keywords.OptOut = append(s.Keywords.OptOut, "Baja") },
			spanish(conversations.LanguagePackPatch{Enabled: ptr(true)}),
			[]string{"languages.es.keywords.opt_out", "keywords.opt_out"}, nil},
		{"an English keyword that is Spanish, Spanish on", func(s *conversations.Settings) { s.Languages.Spanish.Enabled = true },
			conversations.SettingsPatch{Keywords: &conversations.KeywordsPatch{OptIn: &[]string{"START", "ALTA"}}},
			[]string{"languages.es.keywords.opt_in", "keywords.opt_in"}, nil},
		{"the same, Spanish off", nil,
			conversations.SettingsPatch{Keywords: &conversations.KeywordsPatch{OptIn: &[]string{"START", "ALTA"}}}, nil,
			func(s conversations.Settings) bool { return s.Keywords.OptIn[1] == "ALTA" }},
		{"a bad Spanish list, Spanish off", nil,
			spanish(conversations.LanguagePackPatch{Keywords: &conversations.KeywordsPatch{Help: &[]string{"AYUDA", "¿?"}}}),
			[]string{"languages.es.keywords.help"}, nil},
		{"switching on a pack without replies", func(s *conversations.Settings) { s.Languages = conversations.Languages{} },
			spanish(conversations.LanguagePackPatch{Enabled: ptr(true), Keywords: &conversations.KeywordsPatch{
				OptOut: &[]string{"PARAR"}, OptIn: &[]string{"INICIAR"}, Help: &[]string{"AYUDA"}}}),
			[]string{"languages.es.help_text", "languages.es.opt_out_reply", "languages.es.opt_in_reply"}, nil},
		{"switch off", func(s *conversations.Settings) { s.Languages.Spanish.Enabled = true },
			spanish(conversations.LanguagePackPatch{Enabled: ptr(false)}), nil,
			func(s conversations.Settings) bool { return !s.Languages.Spanish.Enabled }},
		{"other settings leave the packs alone", nil, conversations.SettingsPatch{HelpText: ptr("Acme help")}, nil,
			func(s conversations.Settings) bool {
				return s.HelpText == "Acme help" && s.Languages.Spanish.HelpText == base.Languages.Spanish.HelpText
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := conversations.DefaultSettings("Acme")
			if tt.start != nil {
				tt.start(&s)
			}
			got, err := tt.patch.Apply(s)
			fields := fieldsOf(t, err)
			if len(fields) != len(tt.fields) {
				t.Fatalf("refused fields %v, want %v", fields, tt.fields)
			}
			for _, f := range tt.fields {
				if fields[f] == "" {
					t.Errorf("refused fields %v, want %s among them", fields, f)
				}
			}
			if tt.check != nil && !tt.check(got) {
				t.Errorf("settings after the patch: %+v", got.Languages)
			}
		})
	}
}

func TestWithLanguageDefaults(t *testing.T) {
	// Settings saved before Spanish existed get its defaults, switched off.
	old := conversations.DefaultSettings("Acme")
	old.Languages = conversations.Languages{}
	s := old.WithLanguageDefaults("Acme")
	if es := s.Languages.Spanish; es.Enabled || !strings.HasPrefix(es.HelpText, "Acme: ") || es.Keywords.OptOut[0] != "PARAR" || es.OptInReply == "" {
		t.Errorf("filled Spanish pack %+v", es)
	}
	// A pack set up is kept.
	s.Languages.Spanish.HelpText = "Acme: llámenos."
	s.Languages.Spanish.Keywords.OptOut = []string{"PARAR"}
	s.Languages.Spanish.Enabled = true
	if es := s.WithLanguageDefaults("Other").Languages.Spanish; es.HelpText != "Acme: llámenos." || len(es.Keywords.OptOut) != 1 || !es.Enabled {
		t.Errorf("a set-up pack changed: %+v", es)
	}
}

// TestPlanTakesTheCarriersIntent: a text the carrier's own keywords took
// for an opt-out, opt-in or help request (it acts on it whatever Parley
// does) is that keyword, named by its words, unless the account's
// keywords recognise it themselves.
func TestPlanTakesTheCarriersIntent(t *testing.T) {
	route := bilingualRoute(false)
	en := route.Settings
	tests := []struct {
		body    string
		carrier optout.Intent
		intent  optout.Intent
		keyword string
		reply   string
	}{
		{"please  no more", optout.IntentOptOut, optout.IntentOptOut, "PLEASE NO MORE", en.OptOutReply},
		{"go ahead", optout.IntentOptIn, optout.IntentOptIn, "GO AHEAD", en.OptInReply},
		{"what is this", optout.IntentHelp, optout.IntentHelp, "WHAT IS THIS", en.HelpText},
		{"START", optout.IntentOptOut, optout.IntentOptIn, "START", en.OptInReply},
		{strings.Repeat("ab ", 30), optout.IntentOptOut, optout.IntentOptOut, strings.Repeat("AB ", 13) + "A…", en.OptOutReply},
		{"please stop texting me", optout.IntentNone, optout.IntentNone, "", ""},
	}
	for _, tt := range tests {
		p := conversations.Plan(route, conversations.InboundText{From: "+15550001111", Body: tt.body, CarrierIntent: tt.carrier}, inboundAt)
		if p.Intent != tt.intent || p.Keyword != tt.keyword || p.Reply != tt.reply {
			t.Errorf("Plan(%q, carrier %q) = %q %q, reply %q; want %q %q, reply %q",
				tt.body, tt.carrier, p.Intent, p.Keyword, p.Reply, tt.intent, tt.keyword, tt.reply)
		}
		if p.RevocationSuspected == (tt.carrier != optout.IntentNone) {
			t.Errorf("Plan(%q, carrier %q): revocation suspected %v", tt.body, tt.carrier, p.RevocationSuspected)
		}
	}
}
