package campaigns

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// A text the carrier accepted normally settles through status callbacks.
// Callbacks get lost (Parley was down, or the carrier cannot reach
// PARLEY_PUBLIC_URL), so a text with no final status StatusCheckAfter its
// acceptance is looked up at the carrier, then again with a doubling wait
// (at most statusCheckMaxWait), until StatusCheckGiveUp after acceptance.
const (
	StatusCheckAfter   = time.Hour
	StatusCheckGiveUp  = 72 * time.Hour
	statusCheckMaxWait = 24 * time.Hour
)

// FirstStatusCheck is when a text the carrier accepted at acceptedAt is
// first looked up if no final status has come by then.
func FirstStatusCheck(acceptedAt time.Time) time.Time {
	return acceptedAt.Add(StatusCheckAfter)
}

// NextStatusCheck is when a text is looked up again after its checks-th
// lookup (1-based) at now left it without a final status; false means it
// is given up on. Every text is looked up at least once, however old.
func NextStatusCheck(acceptedAt time.Time, checks int, now time.Time) (time.Time, bool) {
	giveUp := acceptedAt.Add(StatusCheckGiveUp)
	if !now.Before(giveUp) {
		return time.Time{}, false
	}
	wait := min(StatusCheckAfter<<min(max(checks-1, 0), 10), statusCheckMaxWait)
	next := now.Add(wait)
	if next.After(giveUp) {
		next = giveUp // one last look at the bound
	}
	return next, true
}

// StatusCheck is a text due for a lookup at the carrier: accepted, with
// no final status yet.
type StatusCheck struct {
	MessageID        parley.ID
	CarrierMessageID string
	AcceptedAt       time.Time
	Checks           int // lookups done before this one
	// Text carries the channel's credentials to ask with.
	Text OutboundText
}

// CarrierStatus is what the carrier says of a text now, in Parley's words.
type CarrierStatus struct {
	Status    conversations.MessageStatus
	ErrorCode *int
	// Unsubscribed: the carrier failed the text because the recipient
	// opted out at the carrier; the phone is then recorded as opted out,
	// as MarkFailed does for a refused send.
	Unsubscribed bool
}

// StatusChecker asks the carrier for a text's current status. A
// *SendError that is not Temporary means the carrier will never say (the
// text or the account is unknown to it).
type StatusChecker interface {
	CheckStatus(ctx context.Context, t OutboundText, carrierMessageID string) (CarrierStatus, error)
}

// StatusCheckStore keeps the texts waiting for a lookup.
type StatusCheckStore interface {
	// ClaimStatusChecks takes up to limit texts due by now, each hidden
	// from other claims until now+lease.
	ClaimStatusChecks(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]StatusCheck, error)
	// RecordStatusCheck moves the text's status forward to s (as a status
	// callback would; a zero Status changes nothing) and looks again at
	// next, or never when next is zero or the status is final.
	RecordStatusCheck(ctx context.Context, c StatusCheck, s CarrierStatus, next time.Time, at time.Time) error
}

// StatusPoller looks up, at a bounded rate, the texts whose final status
// never came. Several pollers (one per instance) share the work: claims
// are leases.
type StatusPoller struct {
	Store   StatusCheckStore
	Carrier StatusChecker
	Clock   parley.Clock
	Log     zerolog.Logger
	// PerSecond bounds this instance's lookups.
	PerSecond int
	// Lease is how long a claimed text stays with this poller.
	Lease time.Duration
	// Poll is how long to wait when fewer than PerSecond were due (one
	// second when zero): an indexed query, cheap to repeat.
	Poll time.Duration
}

// Run polls until ctx is cancelled.
func (p *StatusPoller) Run(ctx context.Context) {
	if p.PerSecond <= 0 {
		return
	}
	poll := p.Poll
	if poll <= 0 {
		poll = time.Second
	}
	for ctx.Err() == nil {
		started := time.Now()
		n, err := p.CheckOnce(ctx)
		if err != nil && ctx.Err() == nil {
			p.Log.Error().Err(err).Msg("checking stale statuses failed")
		}
		// A full second's worth goes on after the second; less means
		// nothing more is due for now.
		wait := poll
		if n == p.PerSecond && err == nil {
			wait = time.Second - time.Since(started)
		}
		if sleep(ctx, wait) != nil {
			return
		}
	}
}

// CheckOnce claims up to PerSecond due texts, looks each up and records
// what the carrier says; it returns how many it claimed.
func (p *StatusPoller) CheckOnce(ctx context.Context) (int, error) {
	lease := p.Lease
	if lease <= 0 {
		lease = 5 * time.Minute
	}
	checks, err := p.Store.ClaimStatusChecks(ctx, p.Clock.Now(), lease, p.PerSecond)
	if err != nil {
		return 0, err
	}
	for _, c := range checks {
		if err := p.check(ctx, c); err != nil {
			if ctx.Err() != nil {
				return len(checks), ctx.Err()
			}
			p.Log.Error().Err(err).Stringer("message_id", c.MessageID).Msg("recording a looked-up status failed; the lease will expire")
		}
	}
	return len(checks), nil
}

func (p *StatusPoller) check(ctx context.Context, c StatusCheck) error {
	s, err := p.Carrier.CheckStatus(ctx, c.Text, c.CarrierMessageID)
	now := p.Clock.Now()
	next, again := NextStatusCheck(c.AcceptedAt, c.Checks+1, now)
	var se *SendError
	if err != nil && errors.As(err, &se) && !se.Temporary {
		p.Log.Warn().Err(err).Stringer("message_id", c.MessageID).Msg("the carrier cannot tell this text's status; not asking again")
		again = false
	} else if err != nil {
		p.Log.Warn().Err(err).Stringer("message_id", c.MessageID).Msg("status lookup failed; will look again")
	}
	if !again {
		next = time.Time{}
	}
	return p.Store.RecordStatusCheck(ctx, c, s, next, now)
}
