package optout

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// A labelled text of the corpus in testdata/.
type corpusText struct {
	body string
	lang string // "en" or "es"
	line int
}

// readCorpus reads one corpus file: one text per line; blank lines and
// lines starting with "#" are skipped, and "#lang: es" or "#lang: en"
// sets the language of the lines below it (English at first).
func readCorpus(tb testing.TB, name string) []corpusText {
	tb.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var texts []corpusText
	lang := "en"
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if l, ok := strings.CutPrefix(line, "#lang:"); ok {
			lang = strings.TrimSpace(l)
			if lang != "en" && lang != "es" {
				tb.Fatalf("%s:%d: unknown language %q", name, n, lang)
			}
			continue
		}
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		texts = append(texts, corpusText{line, lang, n})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return texts
}

// Thresholds the corpus holds the recogniser to.
const (
	minRecall        = 0.95
	maxFalseFlagRate = 0.02
)

// tally counts flagged texts of a group.
type tally struct{ flagged, total int }

func (t tally) rate() float64 {
	if t.total == 0 {
		return 0
	}
	return float64(t.flagged) / float64(t.total)
}

func TestRevocationCorpus(t *testing.T) {
	revocations := readCorpus(t, "revocations.txt")
	ordinary := readCorpus(t, "ordinary.txt")
	recall := map[string]*tally{"all": {}, "en": {}, "es": {}}
	falseFlags := map[string]*tally{"all": {}, "en": {}, "es": {}}
	for _, text := range revocations {
		rev, ok := RecogniseRevocation(text.body)
		for _, g := range []string{"all", text.lang} {
			recall[g].total++
			if ok {
				recall[g].flagged++
			}
		}
		if !ok {
			t.Logf("missed (revocations.txt:%d, %s): %q", text.line, text.lang, text.body)
		} else if testing.Verbose() {
			t.Logf("caught (%s): %q by %s", text.lang, text.body, rev.Rule)
		}
	}
	for _, text := range ordinary {
		rev, ok := RecogniseRevocation(text.body)
		for _, g := range []string{"all", text.lang} {
			falseFlags[g].total++
			if ok {
				falseFlags[g].flagged++
			}
		}
		if ok {
			t.Logf("false flag (ordinary.txt:%d, %s): %q by %s: %s", text.line, text.lang, text.body, rev.Rule, rev.Reason)
		}
	}
	if recall["en"].total < 200 || falseFlags["en"].total < 200 || recall["es"].total < 40 || falseFlags["es"].total < 40 {
		t.Errorf("corpus too small: %d+%d English, %d+%d Spanish texts; want at least 200+200 and 40+40",
			recall["en"].total, falseFlags["en"].total, recall["es"].total, falseFlags["es"].total)
	}
	for _, g := range []string{"all", "en", "es"} {
		r, f := recall[g], falseFlags[g]
		t.Logf("%-3s recall %d/%d = %.1f%%, false flags %d/%d = %.1f%%",
			g, r.flagged, r.total, 100*r.rate(), f.flagged, f.total, 100*f.rate())
		if r.rate() < minRecall {
			t.Errorf("%s recall %.1f%%; want at least %.0f%%", g, 100*r.rate(), 100*minRecall)
		}
		if f.rate() > maxFalseFlagRate {
			t.Errorf("%s false flags %.1f%%; want at most %.0f%%", g, 100*f.rate(), 100*maxFalseFlagRate)
		}
	}
}

// The corpus files must not hold a text twice, nor one text in both.
func TestRevocationCorpusDistinct(t *testing.T) {
	seen := map[string]string{}
	for _, name := range []string{"revocations.txt", "ordinary.txt"} {
		for _, text := range readCorpus(t, name) {
			key := strings.ToLower(strings.TrimSpace(text.body))
			if prev, ok := seen[key]; ok {
				t.Errorf("%s:%d: %q is already in %s", name, text.line, text.body, prev)
			}
			seen[key] = name
		}
	}
}

func BenchmarkRecogniseRevocation(b *testing.B) {
	var bodies []string
	for _, name := range []string{"revocations.txt", "ordinary.txt"} {
		for _, text := range readCorpus(b, name) {
			bodies = append(bodies, text.body)
		}
	}
	b.Run("corpus", func(b *testing.B) {
		// One op is one text of the corpus, in turn.
		i := 0
		for b.Loop() {
			RecogniseRevocation(bodies[i%len(bodies)])
			i++
		}
	})
	b.Run("long", func(b *testing.B) {
		body := strings.Repeat("Thanks for the reminder, see you at 3. ", 40)
		for b.Loop() {
			RecogniseRevocation(body)
		}
	})
}
