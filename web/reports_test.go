package web

import (
	"net/url"
	"testing"
	"time"
)

// The report page's form: the last 30 days by day when nothing is asked,
// and the "Through" day included in the API's half-open range.
func TestReadReportForm(t *testing.T) {
	now := time.Date(2026, 3, 15, 17, 30, 0, 0, time.UTC)
	f, api, err := readReportForm(url.Values{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if f.From != "2026-02-14" || f.To != "2026-03-15" || f.Interval != "day" {
		t.Errorf("defaults = %+v; want 14 Feb through 15 Mar by day", f)
	}
	if api.Get("from") != "2026-02-14T00:00:00Z" || api.Get("to") != "2026-03-16T00:00:00Z" {
		t.Errorf("api range = %s – %s; want the last day included", api.Get("from"), api.Get("to"))
	}
	q := url.Values{"from": {"2026-01-01"}, "to": {"2026-01-31"}, "interval": {"week"}, "inbox_id": {"4"}, "channel_id": {""}}
	if _, api, _ = readReportForm(q, now); api.Get("inbox_id") != "4" || api.Has("channel_id") || api.Get("interval") != "week" {
		t.Errorf("api query = %v; want the inbox filter and no empty channel", api)
	}
	if _, _, err := readReportForm(url.Values{"from": {"yesterday"}}, now); err == nil {
		t.Error("a from that is not a date was accepted")
	}
}

func TestNiceCeilAndDurations(t *testing.T) {
	for v, want := range map[float64]float64{0: 1, 1: 1, 3: 5, 12: 20, 250: 500, 1000: 1000} {
		if got := niceCeil(v); got != want {
			t.Errorf("niceCeil(%v) = %v; want %v", v, got, want)
		}
	}
	for d, want := range map[time.Duration]string{30 * time.Second: "under a minute", 90 * time.Minute: "1 h 30 min", 50 * time.Hour: "2 days 2 h"} {
		if got := reportDuration(d); got != want {
			t.Errorf("reportDuration(%v) = %q; want %q", d, got, want)
		}
	}
}
