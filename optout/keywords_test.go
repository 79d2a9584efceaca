package optout

import (
	"bufio"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		intent  Intent
		keyword string
	}{
		{"upper", "STOP", IntentOptOut, "STOP"},
		{"mixed case", "sToP", IntentOptOut, "STOP"},
		{"full stop", "Stop.", IntentOptOut, "STOP"},
		{"surrounding spaces", " stop ", IntentOptOut, "STOP"},
		{"tabs and newlines", "\tstop\r\n", IntentOptOut, "STOP"},
		{"exclamation", "stop!", IntentOptOut, "STOP"},
		{"Spanish exclamation marks", "¡stop!", IntentOptOut, "STOP"},
		{"quoted", `"stop"`, IntentOptOut, "STOP"},
		{"curly quoted", "“Stop”", IntentOptOut, "STOP"},
		{"trailing emoji", "STOP 🛑", IntentOptOut, "STOP"},
		{"emoji both sides", "🛑 STOP 🛑", IntentOptOut, "STOP"},
		{"emoji with skin tone and ZWJ", "stop 🤦🏽‍♀️", IntentOptOut, "STOP"},
		{"heart with variation selector", "stop ❤️", IntentOptOut, "STOP"},
		{"zero-width space", "\u200bstop\u200b", IntentOptOut, "STOP"},
		{"full-width letters", "ＳＴＯＰ", IntentOptOut, "STOP"},
		{"stray broken byte", "STOP\xff", IntentOptOut, "STOP"},
		{"stopall", "StopAll", IntentOptOut, "STOPALL"},
		{"unsubscribe", "unsubscribe", IntentOptOut, "UNSUBSCRIBE"},
		{"cancel", "Cancel", IntentOptOut, "CANCEL"},
		{"revoke", "revoke", IntentOptOut, "REVOKE"},
		{"optout one word", "optout", IntentOptOut, "OPTOUT"},
		{"opt out", "opt out", IntentOptOut, "OPT OUT"},
		{"opt out with extra spaces", "opt   out", IntentOptOut, "OPT OUT"},
		{"opt out across a line break", "Opt\nOut", IntentOptOut, "OPT OUT"},
		// Decision: a hyphen inside a text is punctuation, not whitespace,
		// so "Opt-Out" is not the OPT OUT keyword. Splitting words on inner
		// punctuation would also make "s.t.o.p" STOP. LooksLikeRevocation
		// flags "Opt-Out" for staff instead, and an account that wants it
		// as a keyword can add "OPT-OUT" to its list.
		{"hyphenated opt-out", "Opt-Out", IntentNone, ""},
		{"start", "start", IntentOptIn, "START"},
		{"unstop", "UNSTOP", IntentOptIn, "UNSTOP"},
		{"yes", "yes", IntentOptIn, "YES"},
		{"yes with thumbs up", "Yes 👍", IntentOptIn, "YES"},
		{"help", "help", IntentHelp, "HELP"},
		{"info question", "info?", IntentHelp, "INFO"},
		{"keyword in a sentence", "don't stop", IntentNone, ""},
		{"curly apostrophe sentence", "Don’t stop", IntentNone, ""},
		{"keyword then more words", "stop by at 5", IntentNone, ""},
		{"two keywords", "stop stop", IntentNone, ""},
		{"keyword and politeness", "stop please", IntentNone, ""},
		{"misspelt", "stopp", IntentNone, ""},
		{"spaced letters", "s t o p", IntentNone, ""},
		{"dotted letters", "S.T.O.P", IntentNone, ""},
		{"zero-width space inside", "st\u200bop", IntentOptOut, "STOP"},
		{"accented letter is another letter", "stöp", IntentNone, ""},
		{"help me is a message", "help me", IntentNone, ""},
		{"emoji only", "🛑", IntentNone, ""},
		{"punctuation only", "?!", IntentNone, ""},
		{"empty", "", IntentNone, ""},
		{"whitespace only", " \t\n ", IntentNone, ""},
		{"invalid UTF-8", "\xff\xfe\xfd", IntentNone, ""},
		{"invalid UTF-8 inside", "st\xffop", IntentNone, ""},
		{"too long to be a keyword", "STOP" + strings.Repeat(" ", maxBodyBytes) + "x", IntentNone, ""},
		{"long padding around a keyword", strings.Repeat(" ", 5000) + "STOP" + strings.Repeat("!", 5000), IntentOptOut, "STOP"},
	}
	keywords := DefaultKeywords()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			intent, keyword := keywords.Match(tt.body)
			if intent != tt.intent || keyword != tt.keyword {
				t.Errorf("Match(%q) = %q, %q; want %q, %q", tt.body, intent, keyword, tt.intent, tt.keyword)
			}
		})
	}
}

// Accounts texting in other languages configure their own keywords; they
// match with the same rules.
func TestMatchCustomLists(t *testing.T) {
	keywords := Keywords{
		OptOut: []string{"ARRÊT", "СТОП", "停止", "ABMELDEN", "OPT-OUT", "Baja"},
		OptIn:  []string{"ДА", "Sí"},
		Help:   []string{"AIDE"},
	}
	tests := []struct {
		name    string
		body    string
		intent  Intent
		keyword string
	}{
		{"French with accent", "arrêt!", IntentOptOut, "ARRÊT"},
		{"French with a combining accent", "arre\u0302t", IntentOptOut, "ARRÊT"},
		// Accents are not stripped: in some languages they tell words apart.
		// An account wants both spellings if its contacts drop them.
		{"French without accent", "arret", IntentNone, ""},
		{"Cyrillic", "стоп", IntentOptOut, "СТОП"},
		{"Cyrillic with punctuation", "Стоп!", IntentOptOut, "СТОП"},
		{"Chinese with full-width punctuation", "停止！", IntentOptOut, "停止"},
		{"German", "Abmelden.", IntentOptOut, "ABMELDEN"},
		{"hyphenated keyword as configured", "opt-out", IntentOptOut, "OPT-OUT"},
		{"keyword returned as written", "BAJA", IntentOptOut, "Baja"},
		{"Cyrillic opt-in", "да", IntentOptIn, "ДА"},
		{"Spanish opt-in", "SÍ", IntentOptIn, "Sí"},
		{"French help", "aide?", IntentHelp, "AIDE"},
		{"defaults are replaced, not added to", "STOP", IntentNone, ""},
	}
	m := keywords.Compile()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			intent, keyword := m.Match(tt.body)
			if intent != tt.intent || keyword != tt.keyword {
				t.Errorf("Match(%q) = %q, %q; want %q, %q", tt.body, intent, keyword, tt.intent, tt.keyword)
			}
		})
	}
}

// Settings saved before Validate existed may list a keyword twice; the
// safe reading wins.
func TestMatchKeywordInTwoLists(t *testing.T) {
	keywords := Keywords{
		OptOut: []string{"END"},
		OptIn:  []string{"end", "GO"},
		Help:   []string{"go"},
	}
	if intent, _ := keywords.Match("end"); intent != IntentOptOut {
		t.Errorf(`Match("end") = %q; want opt-out to win over opt-in`, intent)
	}
	if intent, _ := keywords.Match("go"); intent != IntentHelp {
		t.Errorf(`Match("go") = %q; want help to win over opt-in`, intent)
	}
}

func TestZeroMatcherMatchesNothing(t *testing.T) {
	var m Matcher
	if intent, keyword := m.Match("STOP"); intent != IntentNone || keyword != "" {
		t.Errorf("zero Matcher matched %q, %q", intent, keyword)
	}
}

func TestDefaultKeywordsAreFreshCopies(t *testing.T) {
	a := DefaultKeywords()
	a.OptOut[0] = "NOPE"
	if b := DefaultKeywords(); b.OptOut[0] != "STOP" {
		t.Errorf("editing one account's lists changed the defaults: %q", b.OptOut)
	}
}

func TestValidate(t *testing.T) {
	defaults := DefaultKeywords
	tests := []struct {
		name   string
		edit   func(k *Keywords)
		fields []string // fields that must be reported; none means valid
	}{
		{"defaults", func(k *Keywords) {}, nil},
		{"other scripts", func(k *Keywords) { k.OptOut = append(k.OptOut, "ARRÊT", "СТОП") }, nil},
		{"same keyword twice in one list", func(k *Keywords) { k.OptOut = append(k.OptOut, "stop") }, nil},
		{"no opt-in or help keywords", func(k *Keywords) { k.OptIn, k.Help = nil, nil }, nil},
		{"no opt-out keywords", func(k *Keywords) { k.OptOut = nil }, []string{"opt_out"}},
		{"empty keyword", func(k *Keywords) { k.Help = append(k.Help, "") }, []string{"help"}},
		{"whitespace keyword", func(k *Keywords) { k.OptIn = append(k.OptIn, "  ") }, []string{"opt_in"}},
		{"emoji keyword", func(k *Keywords) { k.OptOut = append(k.OptOut, "🛑") }, []string{"opt_out"}},
		{"punctuation keyword", func(k *Keywords) { k.Help = append(k.Help, "?") }, []string{"help"}},
		{"huge keyword", func(k *Keywords) { k.Help = append(k.Help, strings.Repeat("a", 2000)) }, []string{"help"}},
		{"opt-out keyword also opt-in", func(k *Keywords) { k.OptIn = append(k.OptIn, "Stop!") }, []string{"opt_in"}},
		{"help keyword also opt-out", func(k *Keywords) { k.OptOut = append(k.OptOut, "info") }, []string{"help"}},
		{"problems in two lists", func(k *Keywords) {
			k.OptOut = append(k.OptOut, "")
			k.OptIn = append(k.OptIn, "HELP")
		}, []string{"opt_out", "opt_in"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := defaults()
			tt.edit(&k)
			err := k.Validate()
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v; want nil", err)
				}
				return
			}
			var perr *parley.Error
			if !errors.As(err, &perr) || perr.Kind != parley.EINVALID {
				t.Fatalf("Validate() = %v; want an EINVALID *parley.Error", err)
			}
			for _, f := range tt.fields {
				if perr.Fields[f] == "" {
					t.Errorf("Fields = %q; want a message for %q", perr.Fields, f)
				}
			}
			if len(perr.Fields) != len(tt.fields) {
				t.Errorf("Fields = %q; want only %q", perr.Fields, tt.fields)
			}
		})
	}
}

func TestValidateNamesTheOtherList(t *testing.T) {
	k := DefaultKeywords()
	k.OptIn = append(k.OptIn, "stop")
	var perr *parley.Error
	if !errors.As(k.Validate(), &perr) {
		t.Fatal("Validate() accepted STOP as an opt-in keyword")
	}
	if got := perr.Fields["opt_in"]; !strings.Contains(got, "opt-out") {
		t.Errorf(`Fields["opt_in"] = %q; want it to say the keyword is an opt-out keyword`, got)
	}
}

// seedBodies returns the real-shaped texts in ../testdata/keywords.txt, one
// per line.
func seedBodies(tb testing.TB) []string {
	tb.Helper()
	f, err := os.Open("../testdata/keywords.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var bodies []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		bodies = append(bodies, sc.Text())
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return bodies
}

func FuzzMatch(f *testing.F) {
	for _, body := range seedBodies(f) {
		f.Add(body)
	}
	lists := []Keywords{DefaultKeywords(), {
		OptOut: []string{"ARRÊT", "СТОП", "停止", "OPT-OUT"},
		OptIn:  []string{"ДА", "Sí"},
		Help:   []string{"AIDE", "ℹ️ info"},
	}}
	f.Fuzz(func(t *testing.T, body string) {
		for _, k := range lists {
			intent, keyword := k.Match(body)
			if intent == IntentNone {
				if keyword != "" {
					t.Fatalf("Match(%q) = no intent with keyword %q", body, keyword)
				}
				continue
			}
			if !slices.Contains(listOf(k, intent), keyword) {
				t.Fatalf("Match(%q) = %q, %q: keyword not in that list", body, intent, keyword)
			}
			padded := "  " + body + "!"
			if i, kw := k.Match(padded); i != intent || kw != keyword {
				t.Fatalf("Match(%q) = %q, %q but Match(%q) = %q, %q", body, intent, keyword, padded, i, kw)
			}
		}
		if isASCII(body) {
			if fast, slow := foldCase(body), foldCase(body+"é"); fast+"é" != slow {
				t.Fatalf("ASCII fast path folds %q to %q, the tables to %q", body, fast, slow)
			}
		}
	})
}

func listOf(k Keywords, intent Intent) []string {
	switch intent {
	case IntentOptOut:
		return k.OptOut
	case IntentOptIn:
		return k.OptIn
	case IntentHelp:
		return k.Help
	}
	return nil
}

func BenchmarkMatch(b *testing.B) {
	bodies := map[string]string{
		"keyword":       "Stop.",
		"sentence":      "Running 10 min late, sorry! See you at 3?",
		"non-ASCII":     "Стоп 🛑",
		"long sentence": strings.Repeat("Thanks for the reminder. ", 60),
	}
	m := DefaultKeywords().Compile()
	for name, body := range bodies {
		b.Run("Matcher/"+name, func(b *testing.B) {
			for b.Loop() {
				m.Match(body)
			}
		})
	}
	b.Run("Keywords/keyword", func(b *testing.B) {
		k := DefaultKeywords()
		for b.Loop() {
			k.Match("Stop.")
		}
	})
}
