package reports

import (
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/outcomes"
)

// MaxRange is the longest range a report covers: a day-by-day series of it
// is still a page, and its query stays within the report's budget.
const MaxRange = 2 * 366 * 24 * time.Hour

// ParseOutcomesQuery reads GET /v1/reports/outcomes's query (the outcomes
// export takes the same filters). Bad input is 422 naming each field.
func ParseOutcomesQuery(q url.Values, accountID parley.ID) (OutcomesFilter, error) {
	f := OutcomesFilter{AccountID: accountID, Interval: Day}
	bad := map[string]string{}
	f.From, f.To = parseRange(q, bad)
	if v := q.Get("interval"); v != "" {
		f.Interval = Interval(v)
		if !f.Interval.Valid() {
			bad["interval"] = "must be one of day, week, month"
		}
	}
	f.InboxID = parseID(q, "inbox_id", bad)
	f.ChannelID = parseID(q, "channel_id", bad)
	f.CampaignID = parseID(q, "campaign_id", bad)
	if len(bad) > 0 {
		return OutcomesFilter{}, parley.Invalid(bad)
	}
	return f, nil
}

func parseTime(q url.Values, name string, bad map[string]string) time.Time {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		bad[name] = "is required (an RFC 3339 time)"
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		bad[name] = "must be an RFC 3339 time"
	}
	return upToMillisecond(t.UTC())
}

// upToMillisecond rounds a bound up to the millisecond times are kept in:
// an instant kept as v ms is at or after t exactly when v is at or after
// t rounded up, so a half-open range keeps its meaning for either bound.
func upToMillisecond(t time.Time) time.Time {
	if ms := t.Truncate(time.Millisecond); ms.Before(t) {
		return ms.Add(time.Millisecond)
	}
	return t
}

func parseID(q url.Values, name string, bad map[string]string) *parley.ID {
	v := q.Get(name)
	if v == "" {
		return nil
	}
	id, err := parley.ParseID(v)
	if err != nil {
		bad[name] = "must be an id"
		return nil
	}
	return &id
}

// Valid reports whether iv is one of the intervals.
func (iv Interval) Valid() bool { return iv == Day || iv == Week || iv == Month }

// Start is the start of the bucket t falls in (UTC; weeks start Monday).
func (iv Interval) Start(t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch iv {
	case Week:
		back := (int(day.Weekday()) + 6) % 7 // days since Monday
		return day.AddDate(0, 0, -back)
	case Month:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return day
}

// Next is the start of the bucket after the one starting at start.
func (iv Interval) Next(start time.Time) time.Time {
	switch iv {
	case Week:
		return start.AddDate(0, 0, 7)
	case Month:
		return start.AddDate(0, 1, 0)
	}
	return start.AddDate(0, 0, 1)
}

// BucketStarts lists the starts of every bucket that overlaps [from, to),
// so that a series shows empty intervals too.
func BucketStarts(from, to time.Time, iv Interval) []time.Time {
	var out []time.Time
	for s := iv.Start(from); s.Before(to); s = iv.Next(s) {
		out = append(out, s)
	}
	return out
}

// Rate is num ÷ den, nil when den is zero (undefined, not zero).
func Rate(num, den int64) *float64 {
	if den == 0 {
		return nil
	}
	r := float64(num) / float64(den)
	return &r
}

// Median is the middle duration (the mean of the two middle ones when
// their number is even), nil when there are none. ds is sorted in place.
func Median(ds []time.Duration) *time.Duration {
	if len(ds) == 0 {
		return nil
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	m := ds[len(ds)/2]
	if len(ds)%2 == 0 {
		m = ds[len(ds)/2-1] + (m-ds[len(ds)/2-1])/2
	}
	return &m
}

// Series folds figures gathered per UTC day into the filter's buckets:
// every bucket of the range, empty ones included.
type Series struct {
	iv      Interval
	buckets []Bucket
	index   map[time.Time]int
}

// NewSeries is the empty series of f's range.
func NewSeries(f OutcomesFilter) *Series {
	s := &Series{iv: f.Interval, index: map[time.Time]int{}}
	for i, start := range BucketStarts(f.From, f.To, f.Interval) {
		s.buckets = append(s.buckets, Bucket{Start: start, Counts: map[outcomes.Type]int64{}})
		s.index[start] = i
	}
	return s
}

// AddCount adds n outcomes of type t recorded on the day starting at day.
func (s *Series) AddCount(day time.Time, t outcomes.Type, n int64) {
	if i, ok := s.index[s.iv.Start(day)]; ok {
		s.buckets[i].Counts[t] += n
	}
}

// AddRevenue adds units of currency cur paid on the day starting at day.
func (s *Series) AddRevenue(day time.Time, cur string, units, n int64) {
	if i, ok := s.index[s.iv.Start(day)]; ok {
		s.buckets[i].Revenue = AddTotal(s.buckets[i].Revenue, cur, units, n)
	}
}

// Buckets is the series, oldest first.
func (s *Series) Buckets() []Bucket { return s.buckets }

// AddTotal adds units and a count to cur's total, keeping totals sorted
// by currency: revenue is never added across currencies.
func AddTotal(ts []CurrencyTotal, cur string, units, n int64) []CurrencyTotal {
	i := sort.Search(len(ts), func(i int) bool { return ts[i].Currency >= cur })
	if i < len(ts) && ts[i].Currency == cur {
		ts[i].Units += units
		ts[i].Count += n
		return ts
	}
	ts = append(ts, CurrencyTotal{})
	copy(ts[i+1:], ts[i:])
	ts[i] = CurrencyTotal{Currency: cur, Units: units, Count: n}
	return ts
}
