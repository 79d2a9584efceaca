package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestDevReportBench: on a seeded database the report bench times each
// report and ends with one JSON line of their medians and p95s.
func TestDevReportBench(t *testing.T) {
	env := getenvFrom(map[string]string{"PARLEY_DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "dev.db")})
	if err := run(context.Background(), []string{"dev", "seed", "--conversations", "200", "--messages", "400", "--agents", "2",
		"--contacts", "200", "--outcomes", "150"}, env, io.Discard, io.Discard); err != nil {
		t.Fatalf("seed: %v", err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"dev", "reportbench", "--runs", "3"}, env, &out, io.Discard); err != nil {
		t.Fatalf("reportbench: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "a year by month") || strings.Contains(out.String(), "a year by month   outcomes=0 ") {
		t.Errorf("no report over the seeded year:\n%s", out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var sum listSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("last line is not the JSON summary: %v\n%s", err, out.String())
	}
	if sum.Kind != "outcomes_report" || sum.DB != "sqlite" || len(sum.Queries) != 4 || sum.WorstP95 <= 0 {
		t.Errorf("summary %+v", sum)
	}
}
