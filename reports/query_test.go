package reports_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/outcomes"
	"github.com/parleyhq/parley/reports"
)

func TestParseOutcomesQuery(t *testing.T) {
	ok := func(q string) reports.OutcomesFilter {
		t.Helper()
		v, _ := url.ParseQuery(q)
		f, err := reports.ParseOutcomesQuery(v, 7)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return f
	}
	f := ok("from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00%2B01:00&inbox_id=3&channel_id=4&campaign_id=5")
	if f.Interval != reports.Day || f.AccountID != 7 || *f.InboxID != 3 || *f.ChannelID != 4 || *f.CampaignID != 5 {
		t.Errorf("filter = %+v; want day by default and the three ids", f)
	}
	if want := time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC); !f.To.Equal(want) || f.To.Location() != time.UTC {
		t.Errorf("to = %v; want %v in UTC", f.To, want)
	}
	if ok("from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&interval=month").Interval != reports.Month {
		t.Error("interval=month not read")
	}
	for q, fields := range map[string][]string{
		"":                                       {"from", "to"},
		"from=yesterday&to=2026-01-01T00:00:00Z": {"from"},
		"from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z":                                        {"to"},
		"from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z":                                        {"to"},
		"from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z":                                        {"to"},
		"from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&interval=year":                          {"interval"},
		"from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&inbox_id=x&channel_id=0&campaign_id=-1": {"inbox_id", "channel_id", "campaign_id"},
	} {
		v, _ := url.ParseQuery(q)
		_, err := reports.ParseOutcomesQuery(v, 7)
		var pe *parley.Error
		if !asError(err, &pe) || pe.Kind != parley.EINVALID {
			t.Errorf("%q: err = %v; want 422", q, err)
			continue
		}
		for _, name := range fields {
			if pe.Fields[name] == "" {
				t.Errorf("%q: fields %v do not name %s", q, pe.Fields, name)
			}
		}
		if len(pe.Fields) != len(fields) {
			t.Errorf("%q: fields %v; want only %v", q, pe.Fields, fields)
		}
	}
}

func asError(err error, pe **parley.Error) bool {
	e, ok := err.(*parley.Error)
	*pe = e
	return ok
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestBucketStarts(t *testing.T) {
	tests := []struct {
		iv       reports.Interval
		from, to time.Time
		want     []string
	}{
		{reports.Day, day("2026-03-01").Add(5 * time.Hour), day("2026-03-03").Add(time.Hour), []string{"2026-03-01", "2026-03-02", "2026-03-03"}},
		{reports.Day, day("2026-03-01"), day("2026-03-03"), []string{"2026-03-01", "2026-03-02"}},
		// 2026-03-04 is a Wednesday: its week began Monday 2 March.
		{reports.Week, day("2026-03-04"), day("2026-03-17"), []string{"2026-03-02", "2026-03-09", "2026-03-16"}},
		// A Sunday belongs to the week of the Monday before it.
		{reports.Week, day("2026-03-08"), day("2026-03-09"), []string{"2026-03-02"}},
		{reports.Month, day("2026-01-31"), day("2026-04-01"), []string{"2026-01-01", "2026-02-01", "2026-03-01"}},
		{reports.Month, day("2025-12-15"), day("2026-01-02"), []string{"2025-12-01", "2026-01-01"}},
	}
	for _, tt := range tests {
		var got []string
		for _, s := range reports.BucketStarts(tt.from, tt.to, tt.iv) {
			got = append(got, s.Format("2006-01-02"))
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s %v–%v = %v; want %v", tt.iv, tt.from, tt.to, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s %v–%v = %v; want %v", tt.iv, tt.from, tt.to, got, tt.want)
				break
			}
		}
	}
}

func TestSeriesKeepsEmptyBucketsAndCurrencies(t *testing.T) {
	f := reports.OutcomesFilter{From: day("2026-03-02"), To: day("2026-03-23"), Interval: reports.Week}
	s := reports.NewSeries(f)
	s.AddCount(day("2026-03-03"), outcomes.QuoteSent, 2)
	s.AddCount(day("2026-03-08"), outcomes.QuoteSent, 1)
	s.AddRevenue(day("2026-03-16"), "USD", 1000, 1)
	s.AddRevenue(day("2026-03-17"), "EUR", 500, 1)
	s.AddRevenue(day("2026-03-18"), "USD", 30, 1)
	s.AddCount(day("2026-03-30"), outcomes.QuoteSent, 9) // outside: dropped
	b := s.Buckets()
	if len(b) != 3 {
		t.Fatalf("buckets = %d; want 3 weeks", len(b))
	}
	if b[0].Counts[outcomes.QuoteSent] != 3 || b[1].Counts[outcomes.QuoteSent] != 0 {
		t.Errorf("counts = %v, %v; want 3 then an empty week", b[0].Counts, b[1].Counts)
	}
	want := []reports.CurrencyTotal{{Currency: "EUR", Units: 500, Count: 1}, {Currency: "USD", Units: 1030, Count: 2}}
	if len(b[2].Revenue) != 2 || b[2].Revenue[0] != want[0] || b[2].Revenue[1] != want[1] {
		t.Errorf("revenue = %v; want %v (never added across currencies)", b[2].Revenue, want)
	}
}

func TestRateAndMedian(t *testing.T) {
	if reports.Rate(3, 0) != nil {
		t.Error("rate over zero is defined")
	}
	if r := reports.Rate(1, 4); r == nil || *r != 0.25 {
		t.Errorf("rate = %v; want 0.25", r)
	}
	if reports.Median(nil) != nil {
		t.Error("median of nothing is defined")
	}
	if m := reports.Median([]time.Duration{9, 1, 5}); *m != 5 {
		t.Errorf("median = %v; want 5", *m)
	}
	if m := reports.Median([]time.Duration{4 * time.Hour, time.Hour, 2 * time.Hour, 10 * time.Hour}); *m != 3*time.Hour {
		t.Errorf("median = %v; want 3h (mean of the middle two)", *m)
	}
}

func TestOutcomeRowValues(t *testing.T) {
	in := parley.ID(3)
	r := reports.OutcomeRow{Outcome: outcomes.Outcome{ID: 9, ConversationID: 4, Type: outcomes.InvoicePaid,
		CreatedAt: day("2026-03-01"), Metadata: []byte(`{"po":"A-1"}`),
		Record: &outcomes.Record{ID: 5, Type: outcomes.RecordInvoice, ExternalID: "INV-5", Amount: &outcomes.Money{Units: 30, Currency: "USD"}}},
		InboxID: &in, Origin: reports.OriginInbound, ContactPhone: "+14155550100"}
	v := r.Values()
	if len(v) != len(reports.OutcomeColumns) {
		t.Fatalf("%d values for %d columns", len(v), len(reports.OutcomeColumns))
	}
	col := func(name string) any {
		for i, c := range reports.OutcomeColumns {
			if c == name {
				return v[i]
			}
		}
		t.Fatalf("no column %s", name)
		return nil
	}
	if col("amount") != "0.30" || col("currency") != "USD" || col("record_id") != "5" || col("inbox_id") != "3" || col("channel_id") != nil {
		t.Errorf("values = %v; want the record's amount as a decimal string and ids as strings", v)
	}
}

// Times are kept in milliseconds: a bound with a finer part is rounded up,
// so that a send at .023 is before from=.0231 and one at .322 is before
// to=.3225, as the half-open range says.
func TestRangeBoundsRoundUpToTheMillisecond(t *testing.T) {
	q := url.Values{"from": {"2026-12-07T20:00:56.0231Z"}, "to": {"2026-12-07T20:00:56.3225Z"}}
	f, err := reports.ParseOutcomesQuery(q, 1)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 7, 20, 0, 56, 0, time.UTC)
	if want := base.Add(24 * time.Millisecond); !f.From.Equal(want) {
		t.Errorf("from = %v, want %v", f.From, want)
	}
	if want := base.Add(323 * time.Millisecond); !f.To.Equal(want) {
		t.Errorf("to = %v, want %v", f.To, want)
	}
	q = url.Values{"from": {"2026-12-07T20:00:56.023Z"}, "to": {"2026-12-07T20:00:57Z"}}
	if f, err = reports.ParseOutcomesQuery(q, 1); err != nil || !f.From.Equal(base.Add(23*time.Millisecond)) || !f.To.Equal(base.Add(time.Second)) {
		t.Errorf("whole milliseconds moved: %v – %v, %v", f.From, f.To, err)
	}
}
