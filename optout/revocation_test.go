package optout

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLooksLikeRevocation(t *testing.T) {
	tests := []struct {
		name string
		body string
		want bool
	}{
		{"please stop texting me", "please stop texting me", true},
		{"shouted with punctuation", "STOP TEXTING ME!!!", true},
		{"stop messaging me", "stop messaging me", true},
		{"quit calling us", "Quit calling us", true},
		{"cease contacting me", "Cease contacting me immediately.", true},
		{"stop sending me", "Stop sending me these", true},
		{"stop sending messages", "can you stop sending messages", true},
		{"stop these texts", "Please stop these texts", true},
		{"stop calling this number", "stop calling this number", true},
		{"unsubscribe me", "unsubscribe me", true},
		{"asks how to unsubscribe", "How do I unsubscribe?", true},
		{"remove me", "Remove me from your list", true},
		{"take me off", "take me off your list", true},
		{"opt me out", "Opt me out please", true},
		{"wants to opt out", "I would like to opt out", true},
		{"hyphenated opt-out", "Opt-Out", true},
		{"don't text me", "don't text me anymore", true},
		{"curly apostrophe", "Don’t text me anymore", true},
		{"dont without apostrophe", "dont message me", true},
		{"do not contact", "Do not contact me again", true},
		{"leave me alone", "leave me alone", true},
		{"no more texts", "No more texts please", true},
		{"lose my number", "lose my number", true},
		{"wrong number", "Sorry, wrong number", true},
		{"stop then a question", "STOP. Who is this?", true},
		{"stop after a comment", "Who is this? Stop", true},
		{"stop please", "Stop please", true},
		{"repeated stop", "STOP STOP STOP", true},
		{"stop with emoji then words", "stop 🛑 this is annoying", true},
		{"across a line break", "Hi\nplease stop messaging me", true},

		{"don't stop", "don't stop", false},
		{"stop by", "stop by at 5", false},
		{"can't stop laughing", "I can't stop laughing", false},
		{"stop by tomorrow", "can you stop by tomorrow?", false},
		{"please stop by", "Please stop by the front desk", false},
		{"don't stop texting", "please don't stop texting me, I love the deals", false},
		{"cancel an appointment", "Cancel, I'll reschedule next week", false},
		{"the end", "The end.", false},
		{"take me to", "Can you take me at 4 instead?", false},
		{"message you", "I'll text you when I'm outside", false},
		{"thanks", "Thanks! See you at 3", false},
		{"emoji", "👍", false},
		{"empty", "", false},
		{"invalid UTF-8", "\xff\xfe\xfd", false},
		{"invalid UTF-8 around a revocation", "\xffplease stop texting me\xfe", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LooksLikeRevocation(tt.body); got != tt.want {
				t.Errorf("LooksLikeRevocation(%q) = %v; want %v", tt.body, got, tt.want)
			}
		})
	}
}

func TestLooksLikeRevocationLongText(t *testing.T) {
	body := strings.Repeat("Thanks for the reminder. ", 400) + "Please stop texting me."
	if !LooksLikeRevocation(body) {
		t.Error("missed a revocation at the end of a long text")
	}
}

func TestLooksLikeRevocationMore(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{"I don't want any more messages", true},
		{"no longer want to receive texts", true},
		{"withdraw my consent", true},
		{"Do not text this number", true},
		{"dejen de escribirme", true},
		{"ＳＴＯＰ ＴＥＸＴＩＮＧ ＭＥ", true},
		{"stop\u200b texting me", true},
		{"why did you stop texting me? I liked the reminders", false},
		{"if you don't stop texting me I'll report you", true},
		{"I want to cancel my order", false},
		{"the bus stop on Main", false},
		{"don't text me the code, email it", false},
		{"no me llegó el mensaje", false},
		{"No me envi\u0301en ma\u0301s mensajes", true}, // combining accents
		{"stop 🛑 texting 🙏 me", true},                   // "stop" is a clause of its own
	}
	for _, tt := range tests {
		if got := LooksLikeRevocation(tt.body); got != tt.want {
			t.Errorf("LooksLikeRevocation(%q) = %v; want %v", tt.body, got, tt.want)
		}
	}
}

func TestRecogniseRevocation(t *testing.T) {
	tests := []struct {
		body  string
		rule  string
		quote string // the words the Reason must quote, as written
	}{
		{"Thanks for the help but please STOP texting me now", "stop-contacting", "STOP texting me"},
		{"I don't want any more messages", "negated-want", "don't want any more messages"},
		{"I no longer want to receive texts from you", "negated-want", "longer want to receive texts"},
		{"Please withdraw my consent", "fcc-words", "withdraw my consent"},
		{"Do not text this number", "dont-contact", "not text this number"},
		{"remove me from your list, thanks", "remove-me", "remove me from your list"},
		{"Leave me the hell alone!!", "leave-alone", "Leave me the hell alone"},
		{"Stop. Who is this?", "keyword-clause", "Stop"},
		{"sorry, Wrong #", "wrong-number", "Wrong #"},
		{"No more texts pls", "no-more", "No more texts"},
		{"I never signed up for this", "not-consented", "never signed up for this"},
		{"why do you keep texting me", "unwanted", "why do you keep texting me"},
		{"Not interested.", "not-interested", "Not interested"},
		{"No me envíen más mensajes", "es-dont-contact", "No me envíen más mensajes"},
		{"Ya no quiero recibir mensajes", "es-negated-want", "no quiero recibir mensajes"},
		{"Bórrenme de su lista por favor", "es-remove-me", "Bórrenme de su lista"},
		{"Don’t   text me", "dont-contact", "Don’t text me"},
		{"I was wondering, if it's not too much trouble, whether you could please stop sending me all of these appointment reminder texts",
			"stop-contacting", "stop sending me all of these appointment reminder texts"},
	}
	for _, tt := range tests {
		rev, ok := RecogniseRevocation(tt.body)
		if !ok || rev.Rule != tt.rule {
			t.Errorf("RecogniseRevocation(%q) = %+v, %v; want rule %q", tt.body, rev, ok, tt.rule)
			continue
		}
		if want := reasons[tt.rule] + ` "` + tt.quote + `"`; rev.Reason != want {
			t.Errorf("RecogniseRevocation(%q).Reason = %q; want %q", tt.body, rev.Reason, want)
		}
	}
	if rev, ok := RecogniseRevocation("See you at 3"); ok || rev != (Revocation{}) {
		t.Errorf("RecogniseRevocation(ordinary) = %+v, %v; want a zero Revocation", rev, ok)
	}
}

// A Reason quotes at most maxQuoteBytes of the text, cut on a character.
func TestReasonLongQuote(t *testing.T) {
	body := "stop sending me " + strings.Repeat("é", 10) + " these annoying promotional text messages"
	rev, ok := RecogniseRevocation("please LEAVE ME ABSOLUTELYYYYYYYYYYY COMPLETELYYYYYYYYYYYYYYYY ÉNTIRELYYYYYYYYYYYY ALONE")
	if !ok || !strings.HasSuffix(rev.Reason, `…"`) || len(rev.Reason) > maxReasonBytes {
		t.Errorf("long match: Reason %q", rev.Reason)
	}
	for _, s := range []string{body, strings.Repeat("ñ", 40), strings.Repeat("a", 100)} {
		q := quoteSpan(s)
		if len(q) > maxQuoteBytes || !utf8.ValidString(q) {
			t.Errorf("quoteSpan(%q) = %q: %d bytes", s, q, len(q))
		}
	}
	if q := quoteSpan("stop \u200b  texting\u00a0me"); q != "stop texting me" {
		t.Errorf("quoteSpan kept invisible characters or runs of spaces: %q", q)
	}
}

// Only the first and last maxBodyBytes of a longer text are read.
func TestRecogniseRevocationLongTexts(t *testing.T) {
	filler := strings.Repeat("Thanks for the reminder. ", 200) // 5000 bytes
	if !LooksLikeRevocation("Please stop texting me. " + filler) {
		t.Error("missed a revocation at the start of a long text")
	}
	if !LooksLikeRevocation(filler + "Please stop texting me.") {
		t.Error("missed a revocation at the end of a long text")
	}
	if LooksLikeRevocation(filler + "Please stop texting me. " + filler) {
		t.Error("read the middle of a long text; want only its ends read")
	}
	// A cut inside a word drops the word: "stopping" cut to "stop" must
	// not make "please stop" a keyword clause.
	head := strings.Repeat("x", maxBodyBytes-len("please stop")) + " please stop"
	if LooksLikeRevocation(head[1:] + "ping by tomorrow " + filler) {
		t.Error(`a word cut at the bound was read as "stop"`)
	}
	// "$" does not match at a cut: the clause went on.
	if LooksLikeRevocation(strings.Repeat("a ", maxBodyBytes/2-6) + "please stop" + " by at 5 " + filler) {
		t.Error(`a clause cut at the bound was read as ending there`)
	}
}

// Every rule's example is caught by that rule, and every guard's example
// by the guard and by no rule.
func TestRuleExamples(t *testing.T) {
	for _, list := range [][]rule{rules, guards} {
		for i := range list {
			r := &list[i]
			var tx text
			tx.read(r.example)
			matched := false
			for _, c := range tx.clauses {
				words := tx.words[c.lo:c.hi]
				for p := range words {
					if r.match(words, p, c, nil) > p {
						matched = true
					}
				}
			}
			if !matched {
				t.Errorf("rule %q: pattern %q does not match its example %q", r.id, r.pattern, r.example)
			}
			if _, ok := RecogniseRevocation(r.example); ok != (r.id != "") {
				t.Errorf("rule %q: RecogniseRevocation(%q) = %v", r.id, r.example, ok)
			}
		}
	}
}

// Every rule id has a Reason, short enough, and is listed with an
// example in the comment of revocation_rules.go.
func TestRuleIDsDocumented(t *testing.T) {
	src, err := os.ReadFile("revocation_rules.go")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range rules {
		ids[r.id] = true
	}
	for id := range ids {
		reason, ok := reasons[id]
		if !ok {
			t.Errorf("rule %q has no reason", id)
		}
		if len(reason) > maxReasonBytes-maxQuoteBytes-len(` ""`) {
			t.Errorf("reason %q of rule %q is too long", reason, id)
		}
		if !strings.Contains(string(src), "//\t"+id+" ") {
			t.Errorf("rule %q is not listed in the comment of revocation_rules.go", id)
		}
		if strings.HasPrefix(id, "es-") != (rulesLang(id) == spanish) {
			t.Errorf("rule %q: Spanish rule ids start with es-", id)
		}
	}
	for id := range reasons {
		if !ids[id] {
			t.Errorf("reason for %q, which no rule has", id)
		}
	}
}

// Every class is used by a pattern or by the negation sets.
func TestClassesUsed(t *testing.T) {
	var patterns strings.Builder
	for _, list := range [][]ruleDef{englishRules, englishGuards, spanishRules, spanishGuards} {
		for _, d := range list {
			patterns.WriteString(d.pattern + " ")
		}
	}
	used := strings.NewReplacer("|", " ", "?", " ", "!", " ", "*", " ").Replace(patterns.String())
	for name := range classes {
		negationSet := false
		for _, suffix := range []string{"neg", "bridge", "you", "unless", "past"} {
			negationSet = negationSet || name == "en-"+suffix || name == "es-"+suffix
		}
		if !negationSet && !strings.Contains(used, "@"+name+" ") {
			t.Errorf("class %q is not used", name)
		}
	}
}

func rulesLang(id string) language {
	for _, r := range rules {
		if r.id == id {
			return r.lang
		}
	}
	return english
}

func TestPatternErrors(t *testing.T) {
	for _, pattern := range []string{
		"@nosuchclass me",
		"stop me*0",
		"stop me*x",
		"Stop",
		"don't",
		"stop|",
		"me? us?",
		"$",
		strings.Repeat("a ", maxSlots+1),
	} {
		c := newCompiler(classes)
		if _, err := c.compile(ruleDef{"x", "", pattern}, english); err == nil {
			t.Errorf("compile(%q) = nil error", pattern)
		}
	}
}

// perWordBound is the most word tests the rules can make per word of a
// text: at each word each rule and guard is tried once (one test), and a
// match tests at most each of its word slots against each of the next
// words, as many as it has word slots.
func perWordBound() int {
	n := 0
	for _, list := range [][]rule{rules, guards} {
		for i := range list {
			w := list[i].wordSlots()
			n += 1 + w*w
		}
	}
	return n
}

// The work is linear in the words read, and a text of any length reads at
// most 2*maxBodyBytes, so the worst case is small. Counted, not timed.
func TestRecogniseRevocationWork(t *testing.T) {
	adversarial := map[string]string{
		"stop":       "stop ",
		"can't stop": "can't stop ",
		"don't":      "don't ",
		"no more":    "no more ",
		"stop the":   "stop the ",
		"why":        "why do you keep ",
		"i gave":     "i gave you the ",
		"remove me":  "remove me from the ",
		"no me":      "no me envíen ",
		"one word":   "a",
		"emoji":      "🛑",
		"mixed":      "please don't stop texting me the more of these any ",
	}
	// practical is the most tests per word the rules make on these texts:
	// far below perWordBound, since a word is tried only with the rules
	// that can start with it.
	const practical = 60
	bound := perWordBound()
	for name, unit := range adversarial {
		small := strings.Repeat(unit, 800/len(unit))
		large := strings.Repeat(unit, maxBodyBytes/len(unit))
		huge := strings.Repeat(unit, 100_000/len(unit))
		var s, l, h matchStats
		recognise(small, &s)
		recognise(large, &l)
		recognise(huge, &h)
		words := countWords(large)
		t.Logf("%-10s %5d words, %7d tests (%.1f a word)", name, words, l.checks, float64(l.checks)/float64(max(words, 1)))
		if l.checks > bound*max(words, 1) {
			t.Errorf("%s: %d tests for %d words; the bound is %d a word", name, l.checks, words, bound)
		}
		if l.checks > practical*max(words, 1) {
			t.Errorf("%s: %d tests for %d words; want at most %d a word", name, l.checks, words, practical)
		}
		if sw, lw := max(countWords(small), 1), max(words, 1); l.checks*sw > (s.checks+practical)*lw*5/4 {
			t.Errorf("%s: %d words cost %d tests, %d words %d: not linear", name, sw, s.checks, lw, l.checks)
		}
		if h.checks > 2*l.checks+practical*4 {
			t.Errorf("%s: a 100 kB text cost %d tests, a %d-byte one %d: the bound is not applied", name, h.checks, len(large), l.checks)
		}
	}
}

func countWords(body string) int {
	var tx text
	tx.read(body)
	return len(tx.words)
}

func FuzzRecogniseRevocation(f *testing.F) {
	for _, body := range seedBodies(f) {
		f.Add(body)
	}
	for _, name := range []string{"revocations.txt", "ordinary.txt"} {
		for _, text := range readCorpus(f, name) {
			f.Add(text.body)
		}
	}
	bound := perWordBound()
	f.Fuzz(func(t *testing.T, body string) {
		var st matchStats
		rev, ok := recognise(body, &st)
		if LooksLikeRevocation(body) != ok {
			t.Fatalf("LooksLikeRevocation(%q) disagrees with RecogniseRevocation", body)
		}
		if !ok {
			if rev != (Revocation{}) {
				t.Fatalf("RecogniseRevocation(%q) = %+v without a match", body, rev)
			}
		} else {
			if rev.Rule == "" || !strings.HasPrefix(rev.Reason, reasons[rev.Rule]+` "`) {
				t.Fatalf("RecogniseRevocation(%q) = %+v: no rule, or a reason not its own", body, rev)
			}
			if !utf8.ValidString(rev.Reason) || len(rev.Reason) > maxReasonBytes {
				t.Fatalf("RecogniseRevocation(%q).Reason = %q: invalid UTF-8 or over %d bytes", body, rev.Reason, maxReasonBytes)
			}
		}
		words := countWords(body)
		if st.checks > bound*max(words, 1) {
			t.Fatalf("RecogniseRevocation(%q): %d tests for %d words", body, st.checks, words)
		}
		// A word and the space after it take at least two bytes.
		if words > maxBodyBytes+2 {
			t.Fatalf("RecogniseRevocation(%q) read %d words, more than 2*maxBodyBytes holds", body, words)
		}
	})
}
