package campaigns

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
)

// memOutbox is an in-memory OutboxStore that records outcomes.
type memOutbox struct {
	mu        sync.Mutex
	queued    []OutboxItem
	optedOut  map[string]bool
	sent      map[parley.ID]Sent
	retried   map[parley.ID]time.Time
	retriedAs map[parley.ID]OutboxItem // the item as MarkRetry got it
	deferred  map[parley.ID]time.Time
	nextTurn  map[parley.ID]time.Time
	lostLease map[parley.ID]bool // another worker took these items
	renewed   map[parley.ID]time.Time
	failed    map[parley.ID]int
	taken     map[string]bool // carrier ids already other messages'
	unsubbed  []string
	skipped   []parley.ID
	holds     []Hold // why each skipped item was held
	cancelled map[parley.ID]bool
}

func newMemOutbox(items ...OutboxItem) *memOutbox {
	return &memOutbox{queued: items, optedOut: map[string]bool{}, sent: map[parley.ID]Sent{},
		retried: map[parley.ID]time.Time{}, retriedAs: map[parley.ID]OutboxItem{}, failed: map[parley.ID]int{}, taken: map[string]bool{},
		cancelled: map[parley.ID]bool{}, deferred: map[parley.ID]time.Time{},
		nextTurn: map[parley.ID]time.Time{}, lostLease: map[parley.ID]bool{}, renewed: map[parley.ID]time.Time{}}
}

func (m *memOutbox) ClaimOutbox(_ context.Context, _ time.Time, _ time.Duration, limit int) ([]OutboxItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := min(limit, len(m.queued))
	items := m.queued[:n]
	m.queued = m.queued[n:]
	return items, nil
}

func (m *memOutbox) Holds(_ context.Context, items []OutboxItem) ([]Hold, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	holds := make([]Hold, len(items))
	for i, item := range items {
		switch {
		case m.optedOut[item.Text.To] && !item.ExemptFromConsent():
			holds[i] = HoldOptedOut
		case m.cancelled[item.CampaignID]:
			holds[i] = HoldCampaignCancelled
		}
	}
	return holds, nil
}

func (m *memOutbox) MarkSent(_ context.Context, item OutboxItem, s Sent, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.taken[s.CarrierMessageID] {
		return parley.Errorf(parley.ECONFLICT, "carrier id %s is another message's", s.CarrierMessageID)
	}
	m.sent[item.ID] = s
	return nil
}

func (m *memOutbox) MarkRetry(_ context.Context, item OutboxItem, at time.Time, _ string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.retried[item.ID] = at
	m.retriedAs[item.ID] = item
	return nil
}

// BookTurn keeps each channel's next free turn, as the database does.
func (m *memOutbox) BookTurn(_ context.Context, channelID parley.ID, mps float64, now time.Time, within time.Duration) (time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := m.nextTurn[channelID]
	if next.After(now.Add(within)) {
		return next, false, nil
	}
	turn := now
	if next.After(now) {
		turn = next
	}
	m.nextTurn[channelID] = turn.Add(time.Duration(float64(time.Second) / mps))
	return turn, true, nil
}

func (m *memOutbox) RenewLease(_ context.Context, item OutboxItem, until time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lostLease[item.ID] {
		return false, nil
	}
	m.renewed[item.ID] = until
	return true, nil
}

func (m *memOutbox) Defer(_ context.Context, item OutboxItem, until time.Time, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deferred[item.ID] = until
	return nil
}

func (m *memOutbox) MarkFailed(_ context.Context, item OutboxItem, code int, _ string, unsubscribed bool, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failed[item.ID] = code
	if unsubscribed {
		m.unsubbed = append(m.unsubbed, item.Text.To)
	}
	return nil
}

func (m *memOutbox) MarkSkipped(_ context.Context, item OutboxItem, hold Hold, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.skipped = append(m.skipped, item.ID)
	m.holds = append(m.holds, hold)
	return nil
}

// scriptedSender answers each To number with a fixed result. Its carrier
// already has the texts in has, and fails every lookup with lookupErr.
type scriptedSender struct {
	mu        sync.Mutex
	errs      map[string]error
	calls     []OutboundText
	delay     time.Duration
	has       map[string]SendResult
	lookupErr error
	lookups   []time.Time // since of each Lookup
}

func (s *scriptedSender) Lookup(_ context.Context, t OutboundText, since time.Time) (SendResult, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups = append(s.lookups, since)
	if s.lookupErr != nil {
		return SendResult{}, false, s.lookupErr
	}
	res, ok := s.has[t.To]
	return res, ok, nil
}

func (s *scriptedSender) Send(ctx context.Context, t OutboundText) (SendResult, error) {
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, t)
	if err := s.errs[t.To]; err != nil {
		return SendResult{}, err
	}
	return SendResult{CarrierMessageID: "SM" + t.To, Status: "queued", Segments: 1}, nil
}

func item(id parley.ID, to, purpose string, attempts int) OutboxItem {
	return OutboxItem{ID: id, MessageID: id * 10, AccountID: 1, Purpose: purpose, Attempts: attempts,
		Text: OutboundText{To: to, Body: "hello", From: "+14155550199"}}
}

// campaignItem makes it a text of campaign 7.
func campaignItem(it OutboxItem) OutboxItem {
	it.CampaignID = 7
	return it
}

// epoch is the dispatcher's clock in these tests.
var epoch = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// reclaimed is an item whose earlier send began two minutes ago and was
// never recorded: its sender crashed.
func reclaimed(it OutboxItem) OutboxItem {
	it.Reclaimed, it.ClaimedAt = true, epoch.Add(-2*time.Minute)
	return it
}

// disconnected makes the item's channel one disconnected since it was queued.
func disconnected(it OutboxItem) OutboxItem {
	it.ChannelDisconnected = true
	return it
}

func newDispatcher(store OutboxStore, sender Sender) *Dispatcher {
	return &Dispatcher{Store: store, Sender: sender, Clock: &parley.FixedClock{T: epoch},
		Log: zerolog.Nop(), StatusCallbackURL: "https://parley.example.com/webhooks/twilio/status", MaxAttempts: 3}
}

func TestDispatchOutcomes(t *testing.T) {
	const earlier = "SMearlier" // the carrier's id for a text an interrupted send got through
	tests := []struct {
		name       string
		item       OutboxItem
		optedOut   bool
		sendErr    error
		carrierHas bool  // the carrier already has the text, as earlier
		lookupErr  error // the carrier's list cannot be read
		taken      bool  // earlier is already another message's
		wantSent   bool
		wantSid    string // the carrier id recorded; "" for any
		wantRetry  bool
		wantFail   int
		wantFailed bool // failed without a carrier code
		wantSkip   bool
		wantHold   Hold
		cancelled  bool // campaign 7 was cancelled
		wantUnsub  bool
		wantCall   bool // Send was called
		wantLookup bool // Lookup was called
		// wantUnresolved: the retry keeps the item Reclaimed, so its next
		// attempt looks it up again before any send.
		wantUnresolved bool
	}{
		{name: "accepted", item: item(1, "+1555", PurposeReply, 0), wantSent: true, wantSid: "SM+1555", wantCall: true},
		{name: "opted out at send time is skipped, never sent", item: item(1, "+1555", PurposeReply, 0), optedOut: true, wantSkip: true, wantHold: HoldOptedOut},
		{name: "the opt-out confirmation itself still goes out", item: item(1, "+1555", PurposeOptOutConfirmation, 0), optedOut: true, wantSent: true, wantCall: true},
		{name: "429 is retried", item: item(1, "+1555", PurposeReply, 0), sendErr: &SendError{HTTPStatus: 429, Code: 20429, Temporary: true}, wantRetry: true, wantCall: true},
		{name: "network failure is retried, looking the text up first", item: item(1, "+1555", PurposeReply, 0), sendErr: errors.New("connection reset"), wantRetry: true, wantCall: true, wantUnresolved: true},
		{name: "a request that never left is retried without a lookup", item: item(1, "+1555", PurposeReply, 0), sendErr: &SendError{Message: "connection refused", Temporary: true, NotSent: true}, wantRetry: true, wantCall: true},
		{name: "no answer in time is retried, looking the text up first", item: item(1, "+1555", PurposeReply, 0), sendErr: &SendError{Message: "no answer", Temporary: true}, wantRetry: true, wantCall: true, wantUnresolved: true},
		{name: "temporary failure on the last attempt fails", item: item(1, "+1555", PurposeReply, 2), sendErr: &SendError{HTTPStatus: 503, Temporary: true}, wantFail: 0, wantCall: true},
		{name: "4xx fails with the carrier code", item: item(1, "+1555", PurposeReply, 0), sendErr: &SendError{HTTPStatus: 400, Code: 21211}, wantFail: 21211, wantCall: true},
		{name: "21610 fails and records an opt-out", item: item(1, "+1555", PurposeReply, 0), sendErr: &SendError{HTTPStatus: 400, Code: 21610, Unsubscribed: true}, wantFail: 21610, wantUnsub: true, wantCall: true},

		{name: "reclaimed and the carrier has it: recorded with its id, not sent again", item: reclaimed(item(1, "+1555", PurposeReply, 0)), carrierHas: true,
			wantSent: true, wantSid: earlier, wantLookup: true},
		{name: "reclaimed and the carrier never got it: sent", item: reclaimed(item(1, "+1555", PurposeReply, 0)),
			wantSent: true, wantSid: "SM+1555", wantLookup: true, wantCall: true},
		{name: "reclaimed and the lookup fails: retried, not sent blind", item: reclaimed(item(1, "+1555", PurposeReply, 0)), lookupErr: errors.New("http 503"),
			wantRetry: true, wantLookup: true, wantUnresolved: true},
		{name: "reclaimed at a carrier that cannot look texts up: failed at once, not sent blind", item: reclaimed(item(1, "+1555", PurposeReply, 0)),
			lookupErr: fmt.Errorf("telnyx: %w", ErrNoLookup), wantFailed: true, wantLookup: true},
		{name: "reclaimed and the lookup fails on the last attempt: failed, not sent blind", item: reclaimed(item(1, "+1555", PurposeReply, 2)), lookupErr: errors.New("http 503"),
			wantFailed: true, wantLookup: true},
		{name: "reclaimed and the match is another message's text: failed, not sent", item: reclaimed(item(1, "+1555", PurposeReply, 0)), carrierHas: true, taken: true,
			wantFailed: true, wantLookup: true},
		{name: "reclaimed, never got it, then 429: a plain retry", item: reclaimed(item(1, "+1555", PurposeReply, 0)), sendErr: &SendError{HTTPStatus: 429, Code: 20429, Temporary: true},
			wantRetry: true, wantLookup: true, wantCall: true},
		{name: "reclaimed, opted out meanwhile, and the carrier has it: recorded as sent, the truth", item: reclaimed(item(1, "+1555", PurposeReply, 0)), optedOut: true, carrierHas: true,
			wantSent: true, wantSid: earlier, wantLookup: true},
		{name: "reclaimed, opted out meanwhile, and the carrier never got it: skipped", item: reclaimed(item(1, "+1555", PurposeReply, 0)), optedOut: true,
			wantSkip: true, wantHold: HoldOptedOut, wantLookup: true},
		{name: "reclaimed, its channel disconnected meanwhile, and the carrier never got it: failed, never sent",
			item: disconnected(reclaimed(item(1, "+1555", PurposeReply, 0))), wantSkip: true, wantHold: HoldChannelDisconnected, wantLookup: true},
		{name: "reclaimed, its channel disconnected meanwhile, and the carrier has it: recorded as sent", item: disconnected(reclaimed(item(1, "+1555", PurposeReply, 0))),
			carrierHas: true, wantSent: true, wantSid: earlier, wantLookup: true},
		{name: "its campaign was cancelled: skipped, never sent", item: campaignItem(item(1, "+1555", "campaign", 0)), cancelled: true,
			wantSkip: true, wantHold: HoldCampaignCancelled},
		{name: "a running campaign's text: sent", item: campaignItem(item(1, "+1555", "campaign", 0)),
			wantSent: true, wantCall: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemOutbox(tt.item)
			store.optedOut["+1555"] = tt.optedOut
			store.taken[earlier] = tt.taken
			store.cancelled[7] = tt.cancelled
			sender := &scriptedSender{errs: map[string]error{"+1555": tt.sendErr}, has: map[string]SendResult{}, lookupErr: tt.lookupErr}
			if tt.carrierHas {
				sender.has["+1555"] = SendResult{CarrierMessageID: earlier, Status: "delivered", Segments: 1}
			}
			d := newDispatcher(store, sender)
			d.init()
			if _, err := d.drainOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			sent, isSent := store.sent[1]
			_, retried := store.retried[1]
			code, failed := store.failed[1]
			if isSent != tt.wantSent || retried != tt.wantRetry || len(store.skipped) == 1 != tt.wantSkip || (len(store.unsubbed) == 1) != tt.wantUnsub {
				t.Errorf("sent=%v retried=%v skipped=%v unsubscribed=%v", isSent, retried, store.skipped, store.unsubbed)
			}
			if tt.wantSkip && store.holds[0] != tt.wantHold {
				t.Errorf("held for %q, want %q", store.holds[0], tt.wantHold)
			}
			wantFailed := tt.wantFail != 0 || tt.wantFailed || (tt.sendErr != nil && !tt.wantRetry)
			if failed != wantFailed || code != tt.wantFail {
				t.Errorf("failed=%v code=%d, want failed=%v code=%d", failed, code, wantFailed, tt.wantFail)
			}
			if (len(sender.calls) == 1) != tt.wantCall {
				t.Errorf("carrier sends = %d, want %d", len(sender.calls), map[bool]int{true: 1}[tt.wantCall])
			}
			if tt.wantCall && sender.calls[0].StatusCallbackURL != d.StatusCallbackURL {
				t.Errorf("StatusCallback = %q", sender.calls[0].StatusCallbackURL)
			}
			// A reconciled text is recorded as the carrier has it now (its
			// receipts may be lost); a fresh one as sending.
			wantStatus := "sending"
			if tt.carrierHas {
				wantStatus = "delivered"
			}
			if tt.wantSent && sent.Status != wantStatus {
				t.Errorf("status after the carrier accepted = %q, want %s", sent.Status, wantStatus)
			}
			if tt.wantSid != "" && sent.CarrierMessageID != tt.wantSid {
				t.Errorf("recorded carrier id %q, want %q", sent.CarrierMessageID, tt.wantSid)
			}
			if (len(sender.lookups) == 1) != tt.wantLookup {
				t.Errorf("carrier lookups = %d", len(sender.lookups))
			}
			if tt.wantLookup {
				// The window starts at the crashed attempt, widened for the
				// carrier's clock.
				if want := tt.item.ClaimedAt.Add(-ClockSkew); !sender.lookups[0].Equal(want) {
					t.Errorf("looked up since %v, want %v", sender.lookups[0], want)
				}
			}
			if retried {
				again := store.retriedAs[1]
				if again.Reclaimed != tt.wantUnresolved {
					t.Errorf("retry Reclaimed = %v, want %v", again.Reclaimed, tt.wantUnresolved)
				}
				if tt.wantUnresolved && !tt.item.Reclaimed && !again.ClaimedAt.Equal(epoch) {
					t.Errorf("unanswered send's retry ClaimedAt = %v, want when it started (%v)", again.ClaimedAt, epoch)
				}
				if tt.wantUnresolved && tt.item.Reclaimed && !again.ClaimedAt.Equal(tt.item.ClaimedAt) {
					t.Errorf("retry ClaimedAt = %v, want the crashed attempt's %v", again.ClaimedAt, tt.item.ClaimedAt)
				}
			}
		})
	}
}

// A reconciled text the carrier already failed is recorded with the
// carrier's code, and 21610 as the recipient's opt-out, as a refused send.
func TestReconciledFailureKeepsTheCarrierCode(t *testing.T) {
	tests := []struct {
		name      string
		found     SendResult
		wantUnsub bool
	}{
		{"unsubscribed", SendResult{CarrierMessageID: "SMgone", Status: "failed", ErrorCode: 21610, Unsubscribed: true}, true},
		{"unreachable", SendResult{CarrierMessageID: "SMgone", Status: "undelivered", ErrorCode: 30003}, false},
		{"delivered after all", SendResult{CarrierMessageID: "SMgone", Status: "delivered"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemOutbox(reclaimed(item(1, "+1555", PurposeReply, 0)))
			sender := &scriptedSender{has: map[string]SendResult{"+1555": tt.found}}
			d := newDispatcher(store, sender)
			d.init()
			if _, err := d.drainOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			got, ok := store.sent[1]
			if !ok || got.Status != tt.found.Status || got.ErrorCode != tt.found.ErrorCode || got.Unsubscribed != tt.wantUnsub {
				t.Errorf("recorded %+v (unsubscribed %v); want %s with code %d, unsubscribed %v", got, got.Unsubscribed,
					tt.found.Status, tt.found.ErrorCode, tt.wantUnsub)
			}
			if len(sender.calls) != 0 {
				t.Errorf("sent again %d times", len(sender.calls))
			}
		})
	}
}

func TestRetryIsScheduledInTheFuture(t *testing.T) {
	store := newMemOutbox(item(1, "+1555", PurposeReply, 0))
	d := newDispatcher(store, &scriptedSender{errs: map[string]error{"+1555": &SendError{HTTPStatus: 500, Temporary: true}}})
	d.init()
	if _, err := d.drainOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	now := d.Clock.Now()
	if at := store.retried[1]; !at.After(now) || at.After(now.Add(time.Second)) {
		t.Errorf("first retry at %v, want within (now, now+1s]", at.Sub(now))
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	for attempt := 1; attempt <= 20; attempt++ {
		ceiling := min(time.Second<<min(attempt-1, 9), 5*time.Minute)
		for i := 0; i < 50; i++ {
			if b := Backoff(attempt); b < ceiling/2 || b > ceiling {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", attempt, b, ceiling/2, ceiling)
			}
		}
	}
}

func TestShutdownFinishesClaimedSends(t *testing.T) {
	var items []OutboxItem
	for i := 1; i <= 20; i++ {
		items = append(items, item(parley.ID(i), "+1555", PurposeReply, 0))
	}
	store := newMemOutbox(items...)
	d := newDispatcher(store, &scriptedSender{delay: 20 * time.Millisecond})
	d.Workers, d.Batch = 4, 20
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	<-done
	store.mu.Lock()
	defer store.mu.Unlock()
	// Run claims as workers come free: what it claimed, it finished.
	claimed := 20 - len(store.queued)
	if claimed == 0 || len(store.sent) != claimed {
		t.Errorf("%d of %d claimed texts recorded after shutdown: claimed work must be finished", len(store.sent), claimed)
	}
}

// TestDispatcherKeepsItsLease: a text whose lease would end during the send
// is renewed first; when another worker has taken it meanwhile, it is not
// sent here, and nothing is recorded over the other worker's outcome.
func TestDispatcherKeepsItsLease(t *testing.T) {
	fresh := item(1, "+1555", PurposeReply, 0)
	fresh.LeaseUntil = epoch.Add(time.Minute)
	ending := item(2, "+1556", PurposeReply, 0)
	ending.LeaseUntil = epoch.Add(3 * time.Second) // less than a send's timeout
	lost := item(3, "+1557", PurposeReply, 0)
	lost.LeaseUntil = epoch.Add(3 * time.Second)
	store := newMemOutbox(fresh, ending, lost)
	store.lostLease[3] = true
	sender := &scriptedSender{}
	d := newDispatcher(store, sender)
	d.Lease = time.Minute
	d.init()
	if _, err := d.drainOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := store.sent[1]; !ok || store.renewed[1] != (time.Time{}) {
		t.Errorf("a text with a long lease left: sent=%v renewed=%v; want sent without a renewal", ok, store.renewed[1])
	}
	if _, ok := store.sent[2]; !ok || !store.renewed[2].Equal(epoch.Add(time.Minute)) {
		t.Errorf("a text whose lease was ending: sent=%v renewed to %v; want renewed for a full lease, then sent", ok, store.renewed[2])
	}
	_, sent := store.sent[3]
	_, retried := store.retried[3]
	_, failed := store.failed[3]
	if sent || retried || failed || len(sender.calls) != 2 {
		t.Errorf("a text whose lease was lost: sent=%v retried=%v failed=%v, carrier calls %d; want it left to its new owner", sent, retried, failed, len(sender.calls))
	}
}

// gatedOutbox holds every MarkSent until the gate opens, as a group
// commit holds a recording until its batch commits.
type gatedOutbox struct {
	*memOutbox
	gate chan struct{}
}

func (g gatedOutbox) MarkSent(ctx context.Context, item OutboxItem, s Sent, at time.Time) error {
	<-g.gate
	return g.memOutbox.MarkSent(ctx, item, s, at)
}

// TestWorkersAreFreeWhileOutcomesAreRecorded: a worker goes back to the
// carrier as soon as it answered; the recording of the outcome does not
// keep it, so a slow commit never leaves the carrier idle. Shutdown still
// waits for every recording.
func TestWorkersAreFreeWhileOutcomesAreRecorded(t *testing.T) {
	var items []OutboxItem
	for i := 1; i <= 6; i++ {
		items = append(items, item(parley.ID(i), fmt.Sprint("+1555000000", i), PurposeReply, 0))
	}
	store := gatedOutbox{newMemOutbox(items...), make(chan struct{})}
	sender := &scriptedSender{}
	d := newDispatcher(store, sender)
	d.Workers, d.Batch, d.Poll = 2, 2, time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for sent := 0; sent < len(items); {
		if time.Now().After(deadline) {
			t.Fatalf("the carrier got %d of %d texts while 2 workers' outcomes waited to be recorded", sent, len(items))
		}
		time.Sleep(time.Millisecond)
		sender.mu.Lock()
		sent = len(sender.calls)
		sender.mu.Unlock()
	}
	cancel()
	close(store.gate)
	<-done
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.sent) != len(items) {
		t.Errorf("%d of %d outcomes recorded after shutdown", len(store.sent), len(items))
	}
}
