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
