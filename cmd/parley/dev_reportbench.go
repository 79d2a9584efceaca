package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/reports"
)

// runDevReportBench is `parley dev reportbench`: the outcomes report's
// latency (median and p95) over the last year by month, week and day, and
// over the last month, on whatever database it is given (seed it with
// `parley dev seed --outcomes N`). It ends with one JSON line.
func runDevReportBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var runs int
	var account int64
	cfg, err := parseConfig("dev reportbench", args, getenv, stdout, stderr, func(_ *Config, fs *flag.FlagSet) {
		fs.IntVar(&runs, "runs", 50, "measured runs per report")
		fs.Int64Var(&account, "account-id", 0, "the account to report on (default: the one with the most conversations)")
	})
	if err != nil {
		return err
	}
	if runs < 1 {
		return fmt.Errorf("--runs must be at least 1")
	}
	db, tools, closeAll, err := openTools(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeAll()
	acc := parley.ID(account)
	if acc == 0 {
		if acc, err = tools.BusiestAccount(ctx); err != nil {
			return fmt.Errorf("no conversations to report on: run parley dev seed --outcomes N first: %w", err)
		}
	}
	to := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	year, month := to.AddDate(-1, 0, 0), to.AddDate(0, -1, 0)
	cases := []struct {
		name string
		f    reports.OutcomesFilter
	}{
		{"a year by month", reports.OutcomesFilter{From: year, To: to, Interval: reports.Month}},
		{"a year by week", reports.OutcomesFilter{From: year, To: to, Interval: reports.Week}},
		{"a year by day", reports.OutcomesFilter{From: year, To: to, Interval: reports.Day}},
		{"a month by day", reports.OutcomesFilter{From: month, To: to, Interval: reports.Day}},
	}
	fmt.Fprintf(stdout, "database %s, %d runs each\n", db.URL, runs)
	summary := listSummary{Kind: "outcomes_report", DB: db.Dialect()}
	if summary.Conversations, summary.Messages, err = tools.Size(ctx, acc); err != nil {
		return err
	}
	for _, c := range cases {
		f := c.f
		f.AccountID = acc
		durations := make([]time.Duration, 0, runs)
		var rep reports.OutcomesReport
		for i := 0; i < runs+runs/10; i++ { // the first tenth warms caches
			start := time.Now()
			if rep, err = db.OutcomesReport(ctx, f); err != nil {
				return err
			}
			if i >= runs/10 {
				durations = append(durations, time.Since(start))
			}
		}
		slices.Sort(durations)
		p50, p95 := durations[len(durations)/2], durations[len(durations)*95/100]
		var outcomes int64
		for _, b := range rep.Series {
			for _, n := range b.Counts {
				outcomes += n
			}
		}
		fmt.Fprintf(stdout, "%-18s outcomes=%-7d buckets=%-4d median=%-9s p95=%-9s max=%s\n", c.name, outcomes, len(rep.Series),
			p50.Round(time.Microsecond), p95.Round(time.Microsecond), durations[len(durations)-1].Round(time.Microsecond))
		summary.Queries = append(summary.Queries, listFigure{Name: c.name, P50: ms(p50), P95: ms(p95)})
		summary.WorstP95 = max(summary.WorstP95, ms(p95))
	}
	line, err := json.Marshal(summary)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(line))
	return nil
}
