package optout

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
)

// bilingual is an account with the Spanish pack switched on.
func bilingual() Matcher {
	return CompilePacks(Pack{English, DefaultKeywords()}, Pack{Spanish, DefaultSpanishKeywords()})
}

func TestSpanishPackMatches(t *testing.T) {
	tests := []struct {
		body string
		want Hit
	}{
		{"Parar", Hit{IntentOptOut, "PARAR", Spanish}},
		{"  alto.", Hit{IntentOptOut, "ALTO", Spanish}},
		{"CANCELAR", Hit{IntentOptOut, "CANCELAR", Spanish}},
		{"baja 🙏", Hit{IntentOptOut, "BAJA", Spanish}},
		{"¡Detener!", Hit{IntentOptOut, "DETENER", Spanish}},
		{"no más!", Hit{IntentOptOut, "NO MÁS", Spanish}},
		{"NO MAS", Hit{IntentOptOut, "NO MÁS", Spanish}},
		{"No   Más", Hit{IntentOptOut, "NO MÁS", Spanish}},
		{"no ma\u0301s", Hit{IntentOptOut, "NO MÁS", Spanish}}, // a combining accent
		{"SÍ", Hit{IntentOptIn, "SÍ", Spanish}},
		{"si", Hit{IntentOptIn, "SÍ", Spanish}},
		{"Sí.", Hit{IntentOptIn, "SÍ", Spanish}},
		{"iniciar", Hit{IntentOptIn, "INICIAR", Spanish}},
		{"Alta", Hit{IntentOptIn, "ALTA", Spanish}},
		{"¿Ayuda?", Hit{IntentHelp, "AYUDA", Spanish}},
		{"ayúda", Hit{IntentHelp, "AYUDA", Spanish}},
		// English keeps working, in English, and keeps its accents.
		{"stop", Hit{IntentOptOut, "STOP", English}},
		{"Cancel", Hit{IntentOptOut, "CANCEL", English}},
		{"START", Hit{IntentOptIn, "START", English}},
		{"help", Hit{IntentHelp, "HELP", English}},
		{"stöp", Hit{}},
		{"stóp", Hit{}},
		// Ordinary messages.
		{"parar ya", Hit{}},
		{"no", Hit{}},
		{"más", Hit{}},
		{"baño", Hit{}},
		{"sí, a las 5", Hit{}},
	}
	m := bilingual()
	for _, tt := range tests {
		if got := m.Lookup(tt.body); got != tt.want {
			t.Errorf("Lookup(%q) = %+v, want %+v", tt.body, got, tt.want)
		}
		intent, keyword := m.Match(tt.body)
		if intent != tt.want.Intent || keyword != tt.want.Keyword {
			t.Errorf("Match(%q) = %q, %q; want %q, %q", tt.body, intent, keyword, tt.want.Intent, tt.want.Keyword)
		}
	}
}

// An account without the Spanish pack treats Spanish keywords as
// ordinary messages.
func TestSpanishKeywordsNeedThePack(t *testing.T) {
	english := CompilePacks(Pack{English, DefaultKeywords()})
	for _, body := range []string{"PARAR", "Parar", "no más!", "NO MAS", "SÍ", "si", "iniciar", "AYUDA", "baja"} {
		if got := english.Lookup(body); got != (Hit{}) {
			t.Errorf("without Spanish, Lookup(%q) = %+v, want an ordinary message", body, got)
		}
		if intent, _ := DefaultKeywords().Match(body); intent != IntentNone {
			t.Errorf("without Spanish, Match(%q) = %q", body, intent)
		}
	}
	if got := english.Lookup("STOP"); got != (Hit{IntentOptOut, "STOP", English}) {
		t.Errorf("Lookup(STOP) = %+v", got)
	}
}

// Accents are ignored for Spanish only: an English list keeps telling
// "arret" from "ARRÊT", even beside the Spanish pack.
func TestOnlySpanishIgnoresAccents(t *testing.T) {
	m := CompilePacks(Pack{English, Keywords{OptOut: []string{"ARRÊT"}}}, Pack{Spanish, DefaultSpanishKeywords()})
	if got := m.Lookup("arret"); got != (Hit{}) {
		t.Errorf(`Lookup("arret") = %+v; English keeps its accents`, got)
	}
	if got := m.Lookup("Arrêt"); got != (Hit{IntentOptOut, "ARRÊT", English}) {
		t.Errorf(`Lookup("Arrêt") = %+v`, got)
	}
}

func TestDefaultSpanishKeywords(t *testing.T) {
	a := DefaultSpanishKeywords()
	a.OptOut[0] = "changed"
	if b := DefaultSpanishKeywords(); b.OptOut[0] != "PARAR" {
		t.Error("DefaultSpanishKeywords shares its slices between calls")
	}
	if err := ValidatePacks(Pack{English, DefaultKeywords()}, Pack{Spanish, DefaultSpanishKeywords()}); err != nil {
		t.Errorf("the default packs together: %v", err)
	}
}

func TestValidatePacks(t *testing.T) {
	tests := []struct {
		name    string
		english func(*Keywords)
		spanish func(*Keywords)
		fields  map[string]string // field -> a word its message must have
	}{
		{"defaults", nil, nil, nil},
		{"English STOP in Spanish", nil, func(k *Keywords) { k.OptOut = append(k.OptOut, "Stop") },
			map[string]string{"es.opt_out": "in English", "en.opt_out": "in Spanish"}},
		{"same word, other intent", nil, func(k *Keywords) { k.Help = append(k.Help, "YES") },
			map[string]string{"es.help": "an opt-in keyword in English", "en.opt_in": "a help keyword in Spanish"}},
		{"the same but for accents", func(k *Keywords) { k.OptOut = append(k.OptOut, "NO MAS") }, nil,
			map[string]string{"es.opt_out": "in English", "en.opt_out": "in Spanish"}},
		{"an English list that already has BAJA", func(k *Keywords) { k.OptOut = append(k.OptOut, "BAJA") }, nil,
			map[string]string{"es.opt_out": `"BAJA"`, "en.opt_out": `"BAJA"`}},
		{"Spanish in two lists, but for accents", nil, func(k *Keywords) { k.OptOut = append(k.OptOut, "SI") },
			map[string]string{"es.opt_in": `"SÍ" is already an opt-out keyword`}},
		{"both spellings in one list", nil, func(k *Keywords) { k.OptIn = append(k.OptIn, "SI") }, nil},
		{"empty Spanish opt-out list", nil, func(k *Keywords) { k.OptOut = nil },
			map[string]string{"es.opt_out": "at least one"}},
		{"Spanish emoji keyword", nil, func(k *Keywords) { k.Help = []string{"🆘"} },
			map[string]string{"es.help": "only punctuation"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			en, es := DefaultKeywords(), DefaultSpanishKeywords()
			if tt.english != nil {
				tt.english(&en)
			}
			if tt.spanish != nil {
				tt.spanish(&es)
			}
			err := ValidatePacks(Pack{English, en}, Pack{Spanish, es})
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("ValidatePacks = %v, want nil", err)
				}
				return
			}
			var pe *parley.Error
			if !errors.As(err, &pe) || pe.Kind != parley.EINVALID {
				t.Fatalf("ValidatePacks = %v, want EINVALID", err)
			}
			for field, word := range tt.fields {
				if !strings.Contains(pe.Fields[field], word) {
					t.Errorf("%s = %q, want it to say %q (fields %v)", field, pe.Fields[field], word, pe.Fields)
				}
			}
			if len(pe.Fields) != len(tt.fields) {
				t.Errorf("fields %v, want only %v", pe.Fields, slices.Sorted(maps.Keys(tt.fields)))
			}
		})
	}
}

// Spanish on its own is validated as one language: nothing to share.
func TestValidatePacksOneLanguage(t *testing.T) {
	if err := ValidatePacks(Pack{Spanish, DefaultSpanishKeywords()}); err != nil {
		t.Errorf("the Spanish pack alone: %v", err)
	}
}
