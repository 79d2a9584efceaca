package optout

import "testing"

// TestMatcherForFollowsTheLists: a kept Matcher answers as a fresh
// compile of the same lists does, and a list changed in any way (another
// keyword, a keyword moved between lists, another language) is compiled
// anew rather than answered from the old one.
func TestMatcherForFollowsTheLists(t *testing.T) {
	en := DefaultKeywords()
	es := DefaultSpanishKeywords()
	both := []Pack{{English, en}, {Spanish, es}}
	for _, body := range []string{"STOP", "parar", "Ayuda", "start", "hello"} {
		if got, want := MatcherFor(both...).Lookup(body), CompilePacks(both...).Lookup(body); got != want {
			t.Errorf("%q: kept matcher says %+v, a fresh compile %+v", body, got, want)
		}
	}
	if hit := MatcherFor(Pack{English, en}).Lookup("parar"); hit.Intent != IntentNone {
		t.Errorf("English alone matched PARAR: %+v", hit)
	}

	custom := en
	custom.OptOut = append([]string{"BASTA"}, en.OptOut...)
	if hit := MatcherFor(Pack{English, custom}).Lookup("basta"); hit.Intent != IntentOptOut {
		t.Errorf("a keyword added to the opt-out list is not matched: %+v", hit)
	}
	moved := Keywords{OptOut: []string{"STOP"}, Help: []string{"BASTA"}, OptIn: en.OptIn}
	if hit := MatcherFor(Pack{English, moved}).Lookup("basta"); hit.Intent != IntentHelp {
		t.Errorf("a keyword moved to the help list still answers %+v", hit)
	}
	if hit := MatcherFor(Pack{Spanish, Keywords{OptOut: []string{"STOP"}, Help: []string{"BASTA"}}}).Lookup("basta"); hit.Language != Spanish {
		t.Errorf("the same lists in another language answer %+v", hit)
	}
}

func BenchmarkMatcherFor(b *testing.B) {
	packs := []Pack{{English, DefaultKeywords()}, {Spanish, DefaultSpanishKeywords()}}
	b.Run("compiled each text", func(b *testing.B) {
		for b.Loop() {
			CompilePacks(packs...).Lookup("Stop please")
		}
	})
	b.Run("kept", func(b *testing.B) {
		for b.Loop() {
			MatcherFor(packs...).Lookup("Stop please")
		}
	})
}
