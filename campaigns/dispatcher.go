package campaigns

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
)

// Dispatcher drains the outbox: it claims due items, checks consent at
// send time, hands each text to the Sender and records the outcome.
// Several dispatchers (in one or many processes) may share an outbox:
// claims are leases, so every item has one owner at a time.
type Dispatcher struct {
	Store  OutboxStore
	Sender Sender
	Clock  parley.Clock
	Log    zerolog.Logger

	// StatusCallbackURL is given to the carrier with every text.
	StatusCallbackURL string
	// Workers is how many texts are at the carrier (or waiting for their
	// turn) at once; a worker is free as soon as the carrier answered,
	// while the outcome is recorded.
	Workers int
	// Batch is how many items one claim takes.
	Batch int
	// Lease is how long a claimed item stays invisible to other workers.
	// It must be longer than a send can take, and a carrier lookup before
	// it: an item whose lease expires is taken for a crashed send.
	Lease time.Duration
	// SendTimeout is the longest a carrier call may take (the Sender's
	// own timeout); the lease is renewed before a send it might not
	// outlast.
	SendTimeout time.Duration
	// Poll is how often the outbox is polled when nobody calls Notify.
	Poll time.Duration
	// MaxAttempts bounds retries of temporary failures.
	MaxAttempts int

	wake chan struct{}
	once sync.Once
	// slots holds a token for each text in flight, at most Workers;
	// freed is signalled as one returns.
	slots chan struct{}
	freed chan struct{}
	// Observer, when set, hears how each attempt to send went (metrics).
	Observer SendObserver

	// Sleep waits for a text's turn; tests replace it to observe the
	// pacing without waiting.
	Sleep func(ctx context.Context, d time.Duration) error

	// campaignPace holds a token bucket per campaign: a backlog of a
	// campaign's texts never goes out faster than its rate.
	campaignPace *Throttle
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		d.wake = make(chan struct{}, 1)
		d.freed = make(chan struct{}, 1)
		if d.Workers <= 0 {
			d.Workers = 64
		}
		d.slots = make(chan struct{}, d.Workers)
		if d.Batch <= 0 {
			d.Batch = d.Workers
		}
		if d.Lease <= 0 {
			d.Lease = time.Minute
		}
		if d.SendTimeout <= 0 {
			d.SendTimeout = 10 * time.Second
		}
		if d.Poll <= 0 {
			// Short enough that texts spread across a second (campaign
			// batches) go out close to their time.
			d.Poll = 200 * time.Millisecond
		}
		d.campaignPace = &Throttle{}
		if d.MaxAttempts <= 0 {
			d.MaxAttempts = 8
		}
	})
}

// WorkerCount is how many texts the dispatcher keeps in flight at most.
func (d *Dispatcher) WorkerCount() int {
	d.init()
	return d.Workers
}

// Notify wakes the dispatcher: something was queued.
func (d *Dispatcher) Notify() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run dispatches until ctx is cancelled. It claims texts as workers come
// free, never more than are free, so that a text claimed is sent at once
// and its hold, checked for the claimed batch together, is fresh. Texts
// already handed to a worker are finished before Run returns, so a
// shutdown never abandons a send whose outcome is unrecorded.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.init()
	var wg sync.WaitGroup
	defer wg.Wait()
	// A busy dispatcher waits for a quarter of its workers before it
	// claims again: a claim per freed worker would cost a query a text.
	quorum := max(1, d.Workers/4)
	for {
		if d.Workers-len(d.slots) < quorum && !d.waitFreed(ctx) {
			return nil
		}
		limit := min(d.Batch, d.Workers-len(d.slots))
		n, err := d.claimAndStart(ctx, limit, &wg)
		if err != nil && ctx.Err() == nil {
			d.Log.Error().Err(err).Msg("outbox claim failed")
		}
		if n == limit && err == nil {
			continue // more may be waiting
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-time.After(d.Poll):
		}
	}
}

// waitFreed waits for a worker to come free; false when ctx ends first.
func (d *Dispatcher) waitFreed(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-d.freed:
		return true
	}
}

// drainOnce claims one batch, sends it and waits for its outcomes; it
// returns how many it claimed.
func (d *Dispatcher) drainOnce(ctx context.Context) (int, error) {
	d.init()
	var wg sync.WaitGroup
	defer wg.Wait()
	return d.claimAndStart(ctx, d.Batch, &wg)
}

// claimAndStart claims up to limit items and hands them to workers
// (counted in wg); it returns how many it claimed.
func (d *Dispatcher) claimAndStart(ctx context.Context, limit int, wg *sync.WaitGroup) (int, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	items, err := d.Store.ClaimOutbox(ctx, d.Clock.Now(), d.Lease, limit)
	if err != nil {
		return 0, err
	}
	// Sends outlive ctx cancellation: a claimed item is finished and
	// recorded, so nothing is left leased on shutdown.
	sendCtx := context.WithoutCancel(ctx)
	var jobs []sendJob
	for _, item := range items {
		// Turns are given in claim order (replies first), one item after
		// the other, before any worker runs.
		wait, later, err := d.turn(sendCtx, item, d.Clock.Now())
		if err != nil {
			d.Log.Error().Err(err).Stringer("message_id", item.MessageID).Msg("booking a turn to send failed; trying again shortly")
			later = d.Poll
		}
		if later > 0 {
			if err := d.Store.Defer(sendCtx, item, d.Clock.Now().Add(later), d.Clock.Now()); err != nil {
				d.Log.Error().Err(err).Stringer("message_id", item.MessageID).Msg("putting a text back until its turn failed; its lease will expire")
			}
			continue
		}
		jobs = append(jobs, sendJob{item: item, wait: wait})
	}
	d.holdNow(sendCtx, jobs)
	for _, job := range jobs {
		d.slots <- struct{}{}
		wg.Add(1)
		// The slot is freed once the carrier answered, before the
		// outcome is recorded: the recording waits for a group commit,
		// and holding the slot through it would leave the carrier idle.
		job.release = sync.OnceFunc(func() {
			<-d.slots
			select {
			case d.freed <- struct{}{}:
			default:
			}
		})
		go func() {
			defer wg.Done()
			defer job.release()
			d.dispatch(sendCtx, job)
		}()
	}
	return len(items), nil
}

// sendJob is a claimed item on its way to the carrier: its turn's wait,
// and its hold when that was checked already.
type sendJob struct {
	item    OutboxItem
	wait    time.Duration
	hold    Hold
	checked bool
	// release frees the job's worker slot (once).
	release func()
}

// holdNow checks the holds of the jobs that are sent at once, in one
// query for all of them. Those that wait for their turn, or are looked up
// at the carrier first, are checked after that, each alone: a STOP or a
// cancel that lands meanwhile must hold them.
func (d *Dispatcher) holdNow(ctx context.Context, jobs []sendJob) {
	var now []int
	for i, j := range jobs {
		if j.wait <= 0 && !j.item.Reclaimed {
			now = append(now, i)
		}
	}
	if len(now) == 0 {
		return
	}
	items := make([]OutboxItem, len(now))
	for k, i := range now {
		items[k] = jobs[i].item
	}
	holds, err := d.Store.Holds(ctx, items)
	if err != nil {
		d.Log.Warn().Err(err).Msg("checking consent for a batch failed; each text is checked alone")
		return
	}
	for k, i := range now {
		jobs[i].hold, jobs[i].checked = holds[k], true
	}
}

// turn books the item's turn: its campaign's (a token bucket in this
// process; the campaign's batches already keep its rate across instances)
// and its sender channel's (booked in the database, shared by every
// instance). A turn within the poll interval is kept and waited for
// (wait); a later one is not booked and the text goes back to the outbox
// until then (later), so that no text waits in this process holding a
// turn that whatever is first in line then — a staff reply before
// campaign texts — should have.
func (d *Dispatcher) turn(ctx context.Context, item OutboxItem, now time.Time) (wait, later time.Duration, err error) {
	pace := d.campaignPace.reserve(item.CampaignID, item.CampaignRate, now)
	giveBack := func() {
		if pace != nil {
			pace.CancelAt(now)
		}
	}
	if pace != nil {
		wait = pace.DelayFrom(now)
	}
	if wait > d.Poll {
		giveBack()
		return 0, wait, nil
	}
	if item.ChannelMPS > 0 {
		at, booked, err := d.Store.BookTurn(ctx, item.ChannelID, item.ChannelMPS, now, d.Poll)
		if err != nil || !booked {
			giveBack()
			return 0, max(at.Sub(now), time.Millisecond), err
		}
		wait = max(wait, at.Sub(now))
	}
	return wait, 0, nil
}

// SendObserver hears the outcome of each attempt to send a text: sent,
// retry, failed (with the carrier's error code), held (opted out or
// cancelled at send time) or reconciled (an interrupted send found at the
// carrier), and how long the carrier call took.
type SendObserver interface {
	ObserveSend(carrier, outcome string, code int, took time.Duration)
}

// observe tells Observer how an attempt at t went, by t's carrier.
func (d *Dispatcher) observe(t OutboundText, outcome string, code int, took time.Duration) {
	if d.Observer != nil {
		d.Observer.ObserveSend(t.Carrier, outcome, code, took)
	}
}

// leaseMargin is kept on a lease beyond the send's timeout, for the
// instances' clocks to differ a little.
const leaseMargin = 5 * time.Second

// keepLease makes sure the item's lease outlasts a send starting now,
// renewing it when it would not; false when the claim is no longer ours.
func (d *Dispatcher) keepLease(ctx context.Context, item OutboxItem) (bool, error) {
	now := d.Clock.Now()
	if item.LeaseUntil.IsZero() || now.Add(d.SendTimeout+leaseMargin).Before(item.LeaseUntil) {
		return true, nil
	}
	return d.Store.RenewLease(ctx, item, now.Add(d.Lease))
}

func (d *Dispatcher) sleep(ctx context.Context, wait time.Duration) error {
	if d.Sleep != nil {
		return d.Sleep(ctx, wait)
	}
	return sleep(ctx, wait)
}

// dispatch sends one item once its turn comes and records the outcome.
func (d *Dispatcher) dispatch(ctx context.Context, job sendJob) {
	log := d.Log.With().Stringer("message_id", job.item.MessageID).Logger()
	if err := d.send(ctx, job); err != nil {
		log.Error().Err(err).Msg("recording outbox outcome failed; the lease will expire and the item be retried")
	}
}

func (d *Dispatcher) send(ctx context.Context, job sendJob) error {
	item, wait := job.item, job.wait
	text := item.Text
	text.MessageID = item.MessageID
	text.StatusCallbackURL = d.StatusCallbackURL
	if item.Reclaimed {
		done, err := d.reconcile(ctx, item, text)
		if done || err != nil {
			return err
		}
	}
	if wait > 0 {
		if err := d.sleep(ctx, wait); err != nil {
			return d.Store.MarkRetry(ctx, item, d.Clock.Now(), "throttle: "+err.Error(), d.Clock.Now())
		}
	}
	// The lease must outlast the send: a worker that lost it (a stall
	// past its end, and another worker took the text) must not send too.
	if owned, err := d.keepLease(ctx, item); err != nil || !owned {
		if err == nil {
			d.Log.Warn().Stringer("message_id", item.MessageID).Msg("lease lost before sending: another worker has the text; not sent here")
		}
		return err
	}
	// Consent and the campaign are checked last, after any wait: a STOP
	// or a cancel that lands while the text waits for its turn holds it.
	hold := job.hold
	if !job.checked {
		holds, err := d.Store.Holds(ctx, []OutboxItem{item})
		if err != nil {
			return err
		}
		hold = holds[0]
	}
	if hold != HoldNone {
		d.observe(text, "held", 0, 0)
		return d.Store.MarkSkipped(ctx, item, hold, d.Clock.Now())
	}
	started, wall := d.Clock.Now(), time.Now()
	res, err := d.Sender.Send(ctx, text)
	now, took := d.Clock.Now(), time.Since(wall)
	job.release()
	if err == nil {
		d.observe(text, "sent", 0, took)
		return d.Store.MarkSent(ctx, item, Sent{
			CarrierMessageID: res.CarrierMessageID,
			Status:           acceptedStatus(res.Status),
			Segments:         res.Segments,
		}, now)
	}
	var se *SendError
	if !errors.As(err, &se) {
		se = &SendError{Message: err.Error(), Temporary: true}
	}
	// An answer settles this attempt. Without one (a timeout, a dropped
	// connection) the carrier may have the text, so the retry looks it up
	// first, as after a crash.
	item.Reclaimed, item.ClaimedAt = false, time.Time{}
	if se.Temporary && se.HTTPStatus == 0 && !se.NotSent {
		item.Reclaimed, item.ClaimedAt = true, started
	}
	if se.Temporary && item.Attempts+1 < d.MaxAttempts {
		d.observe(text, "retry", se.Code, took)
		return d.Store.MarkRetry(ctx, item, now.Add(Backoff(item.Attempts+1)), se.Error(), now)
	}
	d.observe(text, "failed", se.Code, took)
	d.Log.Warn().Stringer("message_id", item.MessageID).Int("code", se.Code).Int("http_status", se.HTTPStatus).Msg("text failed")
	return d.Store.MarkFailed(ctx, item, se.Code, se.Message, se.Unsubscribed, now)
}

// ClockSkew widens the window in which a reclaimed item is looked up: the
// carrier stamps a text with its own clock, which may run behind Parley's,
// and Twilio's timestamps drop the fraction of a second.
const ClockSkew = time.Minute

// reconcile settles a reclaimed item with the carrier's own list before
// any send: found, it is recorded with the carrier's id and the status the
// carrier reports now (its callbacks may be long gone); unknown,
// it waits for another lookup. done is false only when the carrier never
// got the text, which may then be sent, unless its channel was
// disconnected.
func (d *Dispatcher) reconcile(ctx context.Context, item OutboxItem, text OutboundText) (done bool, err error) {
	log := d.Log.With().Stringer("message_id", item.MessageID).Logger()
	res, found, err := d.Sender.Lookup(ctx, text, item.ClaimedAt.Add(-ClockSkew))
	now := d.Clock.Now()
	switch {
	case errors.Is(err, ErrNoLookup):
		log.Warn().Msg("interrupted send cannot be looked up at this carrier; text failed without a resend")
		return true, d.Store.MarkFailed(ctx, item, 0, "the send was interrupted and "+err.Error()+": failed rather than risk a second copy", false, now)
	case err != nil:
		// Never send on a guess: the lookup is retried, and if it never
		// succeeds the text fails rather than risk reaching the phone twice.
		reason := "could not look up an interrupted send at the carrier: " + err.Error()
		if item.Attempts+1 < d.MaxAttempts {
			log.Warn().Err(err).Msg("carrier lookup failed; will look again")
			return true, d.Store.MarkRetry(ctx, item, now.Add(Backoff(item.Attempts+1)), reason, now)
		}
		log.Warn().Err(err).Msg("carrier lookup kept failing; text failed without a resend")
		return true, d.Store.MarkFailed(ctx, item, 0, reason, false, now)
	case !found && item.ChannelDisconnected:
		log.Info().Msg("interrupted send never reached the carrier, and its channel was disconnected; failed")
		d.observe(text, "held", 0, 0)
		return true, d.Store.MarkSkipped(ctx, item, HoldChannelDisconnected, now)
	case !found:
		log.Info().Msg("interrupted send never reached the carrier; sending")
		return false, nil
	}
	err = d.Store.MarkSent(ctx, item, Sent{
		CarrierMessageID: res.CarrierMessageID,
		Status:           acceptedStatus(res.Status),
		Segments:         res.Segments,
		ErrorCode:        res.ErrorCode,
		Unsubscribed:     res.Unsubscribed,
	}, now)
	if parley.IsKind(err, parley.ECONFLICT) {
		// The match is another message's: a twin text, same body to the
		// same number in the window. Whether this one reached the carrier
		// cannot be told, so it fails instead of risking a second copy.
		log.Warn().Str("carrier_message_id", res.CarrierMessageID).Msg("carrier lookup matched another message's text; failed without a resend")
		return true, d.Store.MarkFailed(ctx, item, 0,
			"an interrupted send could not be told apart from an identical text sent just before it", false, now)
	}
	if err == nil {
		d.observe(text, "reconciled", 0, 0)
		log.Info().Str("carrier_message_id", res.CarrierMessageID).Msg("interrupted send had reached the carrier; recorded, not resent")
	}
	return true, err
}

// acceptedStatus is the status to record for a text the carrier has: what
// it reports (Sender results are in Parley's words), and at least
// "sending", past Parley's own outbox's "queued" (Twilio's queued and
// accepted mean that the carrier has the text and is sending it).
func acceptedStatus(carrierStatus string) string {
	s := conversations.MessageStatus(carrierStatus)
	if s.Rank() < conversations.MessageSending.Rank() {
		return string(conversations.MessageSending)
	}
	return carrierStatus
}

// Backoff is the wait before retry number attempt (1-based): exponential
// from one second, capped at five minutes, with full jitter so that many
// texts refused together do not retry together.
func Backoff(attempt int) time.Duration {
	ceiling := time.Second << min(attempt-1, 9)
	ceiling = min(ceiling, 5*time.Minute)
	return ceiling/2 + rand.N(ceiling/2+1)
}

// React is the dispatcher's effect: a text queued, or a campaign tick that
// queued texts, wakes it.
func (d *Dispatcher) React(e events.Event) {
	switch e.Type {
	case events.MessageCreated:
		if dir, status := e.MessageState(); dir == string(conversations.Outbound) && status == string(conversations.MessageQueued) {
			d.Notify()
		}
	case events.CampaignUpdated:
		d.Notify()
	}
}
