package campaigns

import (
	"time"

	"github.com/parleyhq/parley/conversations"
)

// A campaign advances in ticks: each tick queues a batch of its texts, as
// many as its rate allows over the tick, spread across it.

// MaxAhead is how many ticks of a campaign's texts the outbox may hold.
const MaxAhead = 2

// MaxCatchUp bounds how many missed ticks one late tick makes up for.
const MaxCatchUp = 5

// A campaign's tick of work is bounded on the wall clock: when the
// database is slower than the rate, the tick still ends in time for the
// next one and for the other campaigns, and the next tick makes up what
// was not queued. Queueing gets what expansion left of TickBudget, and at
// least QueueMin.
const (
	TickBudget = 850 * time.Millisecond
	QueueMin   = 300 * time.Millisecond
)

// TicksDue is how many ticks' worth of texts a campaign is owed now: one,
// plus those a late or skipped tick missed since its batch was due at
// lastDue (the scheduler skips a tick while the last one still runs).
// Making them up keeps the average at the campaign's rate. A zero lastDue
// is a campaign's first batch.
func TicksDue(lastDue, now time.Time, tick time.Duration) int {
	if lastDue.IsZero() {
		return 1
	}
	behind := now.Sub(lastDue)
	return min(MaxCatchUp, 1+int(behind/tick))
}

// DueBy is the latest time a batch may be due to be taken by a tick at
// now: the scheduler fires once a tick, each fire a few milliseconds late
// or early, and a batch due 2 ms after a fire must not wait a whole tick
// (its campaign would lose that tick for good). Half a tick either way
// takes each batch at the fire nearest its time.
func DueBy(now time.Time, tick time.Duration) time.Time {
	return now.Add(tick / 2)
}

// NextBatch keeps a campaign's batches on their schedule: due ticks after
// the last one was due, so a tick that fires a little early or late does
// not push every later batch back. After a stall (paused, or behind by
// more than MaxCatchUp) it restarts from now.
func NextBatch(lastDue time.Time, due int, now time.Time, tick time.Duration) time.Time {
	if !lastDue.IsZero() {
		if next := lastDue.Add(tick * time.Duration(due)); next.After(now) {
			return next
		}
	}
	return now.Add(tick)
}

// BatchSize is how many texts a tick may queue for a campaign sending
// ratePerSecond, owed due ticks, with waiting of its texts overdue in the
// outbox. Backpressure: when the dispatcher or the carrier is slower than
// the rate, texts of earlier batches still wait; new ones are held back
// so the outbox keeps at most MaxAhead ticks of the campaign.
func BatchSize(ratePerSecond int, tick time.Duration, due, waiting int) int {
	perTick := ratePerSecond * max(1, int(tick/time.Second))
	return min(perTick*due, max(0, MaxAhead*perTick-waiting))
}

// QueueDeadline is when a tick that began at began stops queueing, given
// that expansion ran until now.
func QueueDeadline(began, now time.Time) time.Time {
	stop := began.Add(TickBudget)
	if least := now.Add(QueueMin); stop.Before(least) {
		return least
	}
	return stop
}

// SendAt spreads a batch of n texts over span from now: the k-th text
// (from 0) goes at now + span*k/n.
func SendAt(now time.Time, span time.Duration, k, n int) time.Time {
	return now.Add(span * time.Duration(k) / time.Duration(n))
}

// PendingToRead is how many pending recipients a tick reads to queue n
// texts. It looks further under quiet hours: recipients whose night it is
// wait, and must not hold up the ones behind them whose clocks say day.
func PendingToRead(n int, quiet *conversations.QuietHours) int {
	if quiet != nil {
		return n * 10
	}
	return n
}

// InQuietHours reports whether a campaign text to phone waits for the
// account's quiet hours to end; nil quiet hours hold nothing.
func InQuietHours(quiet *conversations.QuietHours, now time.Time, phone string) bool {
	return quiet != nil && quiet.QuietFor(now, phone)
}

// Waits reports whether a scheduled campaign's start time is still ahead.
func (c Campaign) Waits(now time.Time) bool {
	return c.Status == StatusScheduled && c.SendAt != nil && c.SendAt.After(now)
}

// Text is the campaign text a recipient gets, with its segmentation.
func (t Template) Text(r Recipient) (string, conversations.Segmentation) {
	body := t.Render(r)
	return body, conversations.Segment(body)
}

// TickStatus is a campaign's status after a tick that queued texts: it
// completes once its audience is fully expanded, the tick queued nothing
// and nothing is left (a recipient pending, a text waiting to be sent).
// left is asked only then: it reads the database.
func TickStatus(expanded bool, queued int, left func() (bool, error)) (Status, error) {
	if !expanded || queued > 0 {
		return StatusSending, nil
	}
	more, err := left()
	if err != nil || more {
		return StatusSending, err
	}
	return StatusCompleted, nil
}
