package campaigns

import (
	"testing"
	"time"

	"github.com/parleyhq/parley/conversations"
)

var tickNow = time.Date(2026, 6, 2, 14, 0, 0, 0, time.UTC)

func TestTicksDue(t *testing.T) {
	tick := time.Second
	tests := []struct {
		name    string
		lastDue time.Time
		want    int
	}{
		{"first batch", time.Time{}, 1},
		{"on time", tickNow, 1},
		{"a little late", tickNow.Add(-900 * time.Millisecond), 1},
		{"one tick skipped", tickNow.Add(-time.Second), 2},
		{"three ticks skipped", tickNow.Add(-3500 * time.Millisecond), 4},
		{"far behind makes up MaxCatchUp at most", tickNow.Add(-time.Hour), MaxCatchUp},
	}
	for _, tt := range tests {
		if got := TicksDue(tt.lastDue, tickNow, tick); got != tt.want {
			t.Errorf("%s: TicksDue = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestNextBatch(t *testing.T) {
	tick := time.Second
	tests := []struct {
		name    string
		lastDue time.Time
		due     int
		want    time.Time
	}{
		{"first batch: a tick from now", time.Time{}, 1, tickNow.Add(tick)},
		{"a tick fired early keeps the schedule", tickNow.Add(200 * time.Millisecond), 1, tickNow.Add(1200 * time.Millisecond)},
		{"a late tick keeps the schedule", tickNow.Add(-300 * time.Millisecond), 1, tickNow.Add(700 * time.Millisecond)},
		{"made-up ticks move it on as many", tickNow.Add(-2300 * time.Millisecond), 3, tickNow.Add(700 * time.Millisecond)},
		{"after a stall it restarts from now", tickNow.Add(-time.Hour), MaxCatchUp, tickNow.Add(tick)},
	}
	for _, tt := range tests {
		if got := NextBatch(tt.lastDue, tt.due, tickNow, tick); !got.Equal(tt.want) {
			t.Errorf("%s: NextBatch = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestBatchSize(t *testing.T) {
	tests := []struct {
		name    string
		rate    int
		tick    time.Duration
		due     int
		waiting int
		want    int
	}{
		{"the rate over a one-second tick", 10, time.Second, 1, 0, 10},
		{"the rate over a five-second tick", 10, 5 * time.Second, 1, 0, 50},
		{"a sub-second tick counts as one second", 10, 500 * time.Millisecond, 1, 0, 10},
		{"a missed tick made up", 10, time.Second, 2, 0, 20},
		{"made-up ticks capped by the outbox's MaxAhead ticks", 10, time.Second, 3, 0, 20},
		{"a backlog holds new texts back", 10, time.Second, 1, 15, 5},
		{"a full outbox queues none", 10, time.Second, 1, 20, 0},
		{"a backlog past MaxAhead queues none", 10, time.Second, 2, 50, 0},
	}
	for _, tt := range tests {
		if got := BatchSize(tt.rate, tt.tick, tt.due, tt.waiting); got != tt.want {
			t.Errorf("%s: BatchSize = %d, want %d", tt.name, got, tt.want)
		}
	}
	if got := BatchSize(10, time.Second, MaxCatchUp, 0); got != MaxAhead*10 {
		t.Errorf("catching up on an empty outbox: BatchSize = %d, want MaxAhead ticks (%d)", got, MaxAhead*10)
	}
}

func TestQueueDeadline(t *testing.T) {
	began := tickNow
	if got, want := QueueDeadline(began, began.Add(100*time.Millisecond)), began.Add(TickBudget); !got.Equal(want) {
		t.Errorf("quick expansion: QueueDeadline = %v, want the budget's end %v", got, want)
	}
	late := began.Add(TickBudget)
	if got, want := QueueDeadline(began, late), late.Add(QueueMin); !got.Equal(want) {
		t.Errorf("expansion used the budget: QueueDeadline = %v, want QueueMin more %v", got, want)
	}
}

func TestSendAt(t *testing.T) {
	span := 2 * time.Second
	for k, want := range []time.Duration{0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond} {
		if got := SendAt(tickNow, span, k, 4); !got.Equal(tickNow.Add(want)) {
			t.Errorf("text %d of 4 over %v: SendAt = %v, want now+%v", k, span, got, want)
		}
	}
}

func TestQuietHoursHoldCampaignTexts(t *testing.T) {
	night := &conversations.QuietHours{Start: "21:00", End: "08:00", Timezone: "America/New_York"}
	if got := PendingToRead(10, nil); got != 10 {
		t.Errorf("without quiet hours: PendingToRead = %d, want 10", got)
	}
	if got := PendingToRead(10, night); got != 100 {
		t.Errorf("under quiet hours: PendingToRead = %d, want 100", got)
	}
	at22NewYork := time.Date(2026, 6, 2, 2, 0, 0, 0, time.UTC)
	if !InQuietHours(night, at22NewYork, "+12125550100") {
		t.Error("a New York number at 22:00 there was not held")
	}
	if InQuietHours(night, at22NewYork, "+14155550100") {
		t.Error("a California number at 19:00 there was held")
	}
	if InQuietHours(nil, at22NewYork, "+12125550100") {
		t.Error("an account without quiet hours held a text")
	}
}

func TestCampaignWaits(t *testing.T) {
	later, earlier := tickNow.Add(time.Hour), tickNow.Add(-time.Hour)
	tests := []struct {
		name string
		c    Campaign
		want bool
	}{
		{"scheduled for later", Campaign{Status: StatusScheduled, SendAt: &later}, true},
		{"scheduled, time come", Campaign{Status: StatusScheduled, SendAt: &earlier}, false},
		{"scheduled now", Campaign{Status: StatusScheduled}, false},
		{"already sending", Campaign{Status: StatusSending, SendAt: &later}, false},
	}
	for _, tt := range tests {
		if got := tt.c.Waits(tickNow); got != tt.want {
			t.Errorf("%s: Waits = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTemplateText(t *testing.T) {
	tpl, err := ParseTemplate("Hi {{first_name|there}}, your code is {{attributes.code}} ✓")
	if err != nil {
		t.Fatal(err)
	}
	body, seg := tpl.Text(Recipient{Name: "Ana Lima", Phone: "+15550001111", Attributes: map[string]any{"code": "X1"}})
	if want := "Hi Ana, your code is X1 ✓"; body != want {
		t.Errorf("body = %q, want %q", body, want)
	}
	if want := conversations.Segment(body); seg != want {
		t.Errorf("segmentation = %+v, want %+v", seg, want)
	}
	if seg.Encoding != conversations.EncodingUCS2 {
		t.Errorf("encoding = %s, want UCS-2 for the check mark", seg.Encoding)
	}
}

func TestTickStatusCompletesOnlyWhenNothingIsLeft(t *testing.T) {
	asked := 0
	left := func(more bool) func() (bool, error) {
		return func() (bool, error) { asked++; return more, nil }
	}
	for _, c := range []struct {
		name     string
		expanded bool
		queued   int
		more     bool
		want     Status
	}{
		{"the audience is still being expanded", false, 0, false, StatusSending},
		{"the tick queued texts", true, 3, false, StatusSending},
		{"texts still wait in the outbox", true, 0, true, StatusSending},
		{"everything handled", true, 0, false, StatusCompleted},
	} {
		if got, _ := TickStatus(c.expanded, c.queued, left(c.more)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if asked != 2 {
		t.Errorf("the database was asked %d times, want only when the rest allowed completing (2)", asked)
	}
}
