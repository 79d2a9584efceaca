package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/parleyhq/parley/store/storetest"
)

func TestParseMix(t *testing.T) {
	m, err := parseMix("new=1, reply=2,duplicate=0,stop=3,status=4")
	if err != nil || m != (benchMix{New: 1, Reply: 2, Stop: 3, Status: 4}) {
		t.Errorf("parseMix = %+v, %v", m, err)
	}
	for _, bad := range []string{"new=1,hello=2", "new=-1", "new", "new=0,reply=0", "new=x"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("parseMix(%q) accepted", bad)
		}
	}
}

// TestBenchDrivesParleyAndTheCeiling runs the load tool briefly in both
// loops on each database: every webhook answered 200, latencies recorded,
// the ceiling measured, group commit sharing transactions on PostgreSQL,
// and the last line is the JSON summary.
func TestBenchDrivesParleyAndTheCeiling(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		dbURL := storetest.URL(t, dialect)
		for _, mode := range []string{"closed", "open"} {
			t.Run(dialect+"/"+mode, func(t *testing.T) {
				var out, errs bytes.Buffer
				// A closed loop counts a webhook by when it began: on a
				// loaded machine each client's first one can begin in the
				// warm-up and end after the measured second, counting none.
				warmup := "200ms"
				if mode == "closed" {
					warmup = "0s"
				}
				args := []string{"bench", "--mode", mode, "--clients", "4", "--rate", "50", "--duration", "1s", "--warmup", warmup,
					"--mix", "new=2,reply=4,duplicate=1,stop=1,status=2"}
				trace := filepath.Join(t.TempDir(), "trace.csv")
				if mode == "open" {
					args = append(args, "--latency-trace", trace)
				}
				err := run(context.Background(), args, getenvFrom(map[string]string{"PARLEY_DATABASE_URL": dbURL}), &out, &errs)
				if err != nil {
					t.Fatalf("bench: %v\n%s", err, errs.String())
				}
				lines := strings.Split(strings.TrimSpace(out.String()), "\n")
				var res struct {
					Kind           string  `json:"kind"`
					DB             string  `json:"db"`
					Requests       int     `json:"requests"`
					Errors         int     `json:"errors"`
					RPS            float64 `json:"rps"`
					P50            float64 `json:"p50_ms"`
					P99            float64 `json:"p99_ms"`
					CeilingTPS     float64 `json:"ceiling_tps"`
					Ratio          float64 `json:"ratio"`
					TextsPerCommit float64 `json:"texts_per_commit"`
					CPUms          float64 `json:"cpu_ms"`
					PostgresCPUms  float64 `json:"postgres_cpu_ms"`
				}
				if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
					t.Fatalf("the last line is not the JSON summary: %v\n%s", err, out.String())
				}
				if res.Kind != "ingest" || res.DB != dialect || res.Requests == 0 || res.Errors != 0 || res.RPS <= 0 ||
					res.P50 <= 0 || res.P99 < res.P50 || res.CeilingTPS <= 0 || res.Ratio <= 0 {
					t.Errorf("summary %+v\n%s%s", res, out.String(), errs.String())
				}
				// Group commit is PostgreSQL's, and each of its transactions
				// holds at least one text.
				if (dialect == "postgres") != (res.TextsPerCommit >= 1) {
					t.Errorf("%s: %.2f texts per group commit", dialect, res.TextsPerCommit)
				}
				// What a webhook cost: this process always, the database's
				// server when it is PostgreSQL (on this machine in tests).
				if res.CPUms <= 0 || (dialect == "postgres") != (res.PostgresCPUms > 0) {
					t.Errorf("%s: cpu a webhook %.3f ms here, %.3f ms PostgreSQL", dialect, res.CPUms, res.PostgresCPUms)
				}
				if mode == "open" {
					checkLatencyTrace(t, trace, res.Requests)
				}
			})
		}
	}
	if err := run(context.Background(), []string{"bench", "--mode", "sideways"}, getenvFrom(nil), io.Discard, io.Discard); err == nil {
		t.Error("an unknown mode was accepted")
	}
}

// checkLatencyTrace reads a --latency-trace file: every webhook of the
// open loop in the order it was due, the warm-up's marked unmeasured, as
// many measured as the summary counted, each with its latency.
func checkLatencyTrace(t *testing.T, path string, requests int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no latency trace: %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 || !slices.Equal(rows[0], []string{"due_unix_ms", "latency_ms", "measured"}) {
		t.Fatalf("latency trace %q: %v", rows, err)
	}
	measured, warmup, last := 0, 0, int64(0)
	for _, r := range rows[1:] {
		due, errDue := strconv.ParseInt(r[0], 10, 64)
		latency, errLatency := strconv.ParseFloat(r[1], 64)
		if errDue != nil || errLatency != nil || due < last || latency <= 0 {
			t.Fatalf("latency trace row %q after %d: want due times in order and a latency", r, last)
		}
		last = due
		switch r[2] {
		case "true":
			measured++
		case "false":
			warmup++
		default:
			t.Fatalf("latency trace row %q: measured is neither true nor false", r)
		}
	}
	if measured != requests || warmup == 0 {
		t.Errorf("latency trace: %d measured and %d warm-up webhooks, want the %d measured and the warm-up's", measured, warmup, requests)
	}
}

// Streams opened as agents are sent only their own conversations' texts,
// and each delivery is timed from the webhook's answer too.
func TestBenchStreamsAsAgents(t *testing.T) {
	dbURL := storetest.URL(t, "sqlite")
	var out, errs bytes.Buffer
	args := []string{"bench", "--mode", "open", "--rate", "40", "--duration", "2s", "--warmup", "500ms", "--ceiling=false",
		"--mix", "new=1,reply=3", "--streams", "4", "--stream-agents", "2"}
	if err := run(context.Background(), args, getenvFrom(map[string]string{"PARLEY_DATABASE_URL": dbURL}), &out, &errs); err != nil {
		t.Fatalf("bench: %v\n%s", err, errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var res struct {
		Requests   int     `json:"requests"`
		Agents     int     `json:"stream_agents"`
		Deliveries int     `json:"stream_deliveries"`
		Errors     int     `json:"stream_errors"`
		AnswerP99  float64 `json:"stream_from_answer_p99_ms"`
		ArrivalP99 float64 `json:"stream_p99_ms"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("the last line is not the JSON summary: %v\n%s", err, out.String())
	}
	// Every stream as the admin would get every inbound text (4 × the
	// requests); agents get the replies in their conversations only.
	if res.Agents != 2 || res.Errors != 0 || res.Deliveries == 0 || res.Deliveries >= 4*res.Requests {
		t.Errorf("summary %+v\n%s%s", res, out.String(), errs.String())
	}
	if res.AnswerP99 > res.ArrivalP99 {
		t.Errorf("timed from the answer (%.1f ms) later than from the arrival (%.1f ms)", res.AnswerP99, res.ArrivalP99)
	}
	if err := run(context.Background(), []string{"bench", "--stream-agents", "501"}, getenvFrom(nil), io.Discard, io.Discard); err == nil {
		t.Error("a pool of 501 agents was accepted")
	}
}

// --carrier sends each carrier's signed webhooks through its fake: every
// one answered 200 (a refused signature or an unknown channel would be an
// error), the summary names the carrier, and Parley's STOP replies went
// out through that carrier's API.
func TestBenchThroughEachCarrier(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t, "sqlite")
	for _, name := range []string{"telnyx", "plivo", "bandwidth", "vonage", "bird"} {
		t.Run(name, func(t *testing.T) {
			var out, errs bytes.Buffer
			// No warm-up: each client's first webhook begins in the
			// measured window, so it counts however slow a loaded machine
			// makes it.
			args := []string{"bench", "--carrier", name, "--clients", "2", "--duration", "1s", "--warmup", "0s", "--ceiling=false",
				"--mix", "new=2,reply=2,stop=2,status=1"}
			if err := run(context.Background(), args, getenvFrom(map[string]string{"PARLEY_DATABASE_URL": dbURL}), &out, &errs); err != nil {
				t.Fatalf("bench: %v\n%s", err, errs.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			var res struct {
				Carrier  string `json:"carrier"`
				Requests int    `json:"requests"`
				Errors   int    `json:"errors"`
			}
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
				t.Fatal(err)
			}
			if res.Carrier != name || res.Requests == 0 || res.Errors != 0 {
				t.Errorf("summary %+v\n%s", res, errs.String())
			}
		})
	}
	if err := run(context.Background(), []string{"bench", "--carrier", "pigeon"}, getenvFrom(nil), io.Discard, io.Discard); err == nil {
		t.Error("an unknown carrier was accepted")
	}
}
