package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley/store/devdb"
)

// TestDevSeedAndListBench: the measurement tools seed an inbox and measure
// every list the inbox asks for, with each statement's plan, ending with
// one JSON line.
func TestDevSeedAndListBench(t *testing.T) {
	env := getenvFrom(map[string]string{"PARLEY_DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "dev.db")})
	var seeded bytes.Buffer
	if err := run(context.Background(), []string{"dev", "seed", "--conversations", "300", "--messages", "1500", "--agents", "3",
		"--contacts", "400", "--contact-type", "customer", "--outcomes", "120"}, env, &seeded, io.Discard); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if !strings.Contains(seeded.String(), "seeded 400 contacts, 300 conversations, 1500 messages and 120 outcomes") {
		t.Errorf("seed said %q", seeded.String())
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"dev", "listbench", "--runs", "5"}, env, &out, io.Discard); err != nil {
		t.Fatalf("listbench: %v\n%s", err, out.String())
	}
	// Each list is followed by the plan of the statement it ran.
	if !strings.Contains(out.String(), "-- plain: 51 rows\nSEARCH cv USING INDEX conversations_activity") {
		t.Errorf("no plan of view=all's statement:\n%s", out.String())
	}
	// The Outcome filter walks the index of the conversations with one.
	if !strings.Contains(out.String(), "outcome=invoice_paid ") ||
		!regexp.MustCompile(`-- plain: \d+ rows\nSEARCH cv USING INDEX conversations_with_outcomes`).MatchString(out.String()) {
		t.Errorf("no outcome= list walking conversations_with_outcomes:\n%s", out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var sum listSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("last line is not the JSON summary: %v\n%s", err, out.String())
	}
	if sum.Kind != "inbox" || sum.DB != "sqlite" || sum.Conversations != 300 || sum.Messages != 1500 || len(sum.Queries) < 50 || sum.WorstP95 <= 0 {
		t.Errorf("summary %+v", sum)
	}
	// The first ten keep the names of earlier measurements.
	first := []string{"view=all", "view=all page 3", "view=mine", "view=all status=new,open", "view=unassigned",
		"q=gutter (rare word)", "q=quote (common word)", "q=hopper (contact name)", "q=0042 (last digits)", "view=mine q=gutter"}
	for i, name := range first {
		if i >= len(sum.Queries) || sum.Queries[i].Name != name {
			t.Errorf("query %d is not %q: %+v", i, name, sum.Queries)
			break
		}
	}
}

// TestDevSeedVocabulary: --vocabulary gives threads words of their own
// beside the fixed common ones, Zipf-distributed: a few of them in many
// threads, most in one or two. Without it every word is a fixed one.
func TestDevSeedVocabulary(t *testing.T) {
	threadWords := func(t *testing.T, extra ...string) (fixed, own map[string]int) {
		t.Helper()
		url := "sqlite://" + filepath.Join(t.TempDir(), "dev.db")
		args := append([]string{"dev", "seed", "--conversations", "40", "--messages", "2000", "--agents", "1"}, extra...)
		if err := run(context.Background(), args, getenvFrom(map[string]string{"PARLEY_DATABASE_URL": url}), io.Discard, io.Discard); err != nil {
			t.Fatalf("seed: %v", err)
		}
		db, err := devdb.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.SQL().Query(`SELECT conversation_id, body FROM messages`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		vocabulary := regexp.MustCompile(`^q[bdfgklmnprstvz][aeiou]`)
		fixed, own = map[string]int{}, map[string]int{}
		threads := map[string]map[int64]bool{}
		for rows.Next() {
			var conv int64
			var body string
			if err := rows.Scan(&conv, &body); err != nil {
				t.Fatal(err)
			}
			for _, w := range strings.Fields(body) {
				if !vocabulary.MatchString(w) {
					fixed[w]++
					continue
				}
				if threads[w] == nil {
					threads[w] = map[int64]bool{}
				}
				threads[w][conv] = true
			}
		}
		for w, in := range threads {
			own[w] = len(in)
		}
		return fixed, own
	}
	fixed, own := threadWords(t)
	if len(own) != 0 || len(fixed) == 0 {
		t.Fatalf("without a vocabulary: %d vocabulary words, %d fixed ones", len(own), len(fixed))
	}
	_, own = threadWords(t, "--vocabulary", "5000")
	inOne, inMost := 0, 0
	for _, threads := range own {
		if threads == 1 {
			inOne++
		}
		if threads > 20 {
			inMost++
		}
	}
	// 2,000 texts of about ten words, half of them drawn: some 10,000
	// draws, a few hundred distinct words in one thread only, and the
	// head of the distribution in more than half of the 40.
	if len(own) < 500 || inOne < len(own)/3 || inMost == 0 {
		t.Errorf("%d vocabulary words, %d of them in one thread, %d in more than half", len(own), inOne, inMost)
	}
}
