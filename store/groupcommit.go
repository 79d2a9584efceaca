package store

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
)

// commitGroup writes calls that arrive together in one transaction: a
// worker takes a waiting call, gathers those arriving in the next
// groupMaxWait while another batch commits (at most groupMaxBatch), writes
// them and commits once. Every caller waits for the commit that holds its
// call, so what Parley acknowledges is durable, as with a transaction per
// call; the statements' round trips overlap less, but the commit's flush
// to disk is shared. Inbound texts (Ingest, PostgreSQL) and the
// carrier's acceptance of outbound ones (MarkSent) and its receipts
// (ApplyStatus) go through one each; on SQLite, whose one writer takes
// every transaction in turn, a batch also saves its place in that queue.
// Reads arriving together share a query the same way (Holds).
type commitGroup[C any] struct {
	calls chan C
	stop  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
	// write writes a batch and answers each of its calls.
	write func(batch []C)
	// batches and items count what was committed, for the stats;
	// committing, the batches being written now.
	batches, items, committing atomic.Int64
}

// Batching bounds: a call waits at most groupMaxWait for company; a batch
// holds at most groupMaxBatch calls; groupWorkers batches are written side
// by side, one gathering while the other commits. These made the largest
// batches and the best ratio to the one-transaction-per-text ceiling in
// `parley bench` (docs/PERFORMANCE.md, "How ingest is built").
const (
	groupMaxWait  = 2 * time.Millisecond
	groupMaxBatch = 64
	groupWorkers  = 2
)

func newCommitGroup[C any](write func(batch []C)) *commitGroup[C] {
	return &commitGroup[C]{calls: make(chan C), stop: make(chan struct{}), write: write}
}

// run hands c to a batch and waits until the batch has answered it; when
// the group is closed, alone answers it in a transaction of its own. The
// error is ctx's, when it ended before c joined a batch: once joined, the
// caller waits whatever ctx says, as c may be committed and the caller
// must learn it.
func (g *commitGroup[C]) run(ctx context.Context, c C, done <-chan struct{}, alone func()) error {
	g.once.Do(func() {
		for range groupWorkers {
			g.wg.Add(1)
			go g.work()
		}
	})
	select {
	case g.calls <- c:
		<-done
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-g.stop:
		alone()
		return nil
	}
}

// close stops the workers once their batches are done; a nil group (off)
// has none.
func (g *commitGroup[C]) close() {
	if g == nil {
		return
	}
	close(g.stop)
	g.wg.Wait()
}

func (g *commitGroup[C]) work() {
	defer g.wg.Done()
	for {
		select {
		case first := <-g.calls:
			batch := g.gather(first)
			// Counted before the callers are answered, so that one who
			// reads the counts after its call returns sees its batch.
			g.batches.Add(1)
			g.items.Add(int64(len(batch)))
			g.committing.Add(1)
			g.write(batch)
			g.committing.Add(-1)
		case <-g.stop:
			return
		}
	}
}

// gather collects the calls arriving within groupMaxWait of the first.
// Like PostgreSQL's commit_siblings, it waits only when other batches are
// committing: alone, a call has nobody to share its commit with, and
// waiting would only add to its latency.
func (g *commitGroup[C]) gather(first C) []C {
	batch := []C{first}
	if g.committing.Load() == 0 {
		for len(batch) < groupMaxBatch { // only those already waiting
			select {
			case c := <-g.calls:
				batch = append(batch, c)
			default:
				return batch
			}
		}
		return batch
	}
	timer := time.NewTimer(groupMaxWait)
	defer timer.Stop()
	for len(batch) < groupMaxBatch {
		select {
		case c := <-g.calls:
			batch = append(batch, c)
		case <-timer.C:
			return batch
		}
	}
	return batch
}

// ---- inbound texts --------------------------------------------------

// IngestBatch gives each text the result it would have had alone, so
// idempotency and the state machine are unchanged
// (TestIngestBatchMatchesOneByOne); a text that fails gets its own error,
// its neighbours theirs.
type ingestCall struct {
	ctx  context.Context
	plan conversations.IngestPlan
	res  conversations.IngestResult
	err  error
	done chan struct{}
}

func (db *DB) groupIngest(ctx context.Context, p conversations.IngestPlan) (conversations.IngestResult, error) {
	call := &ingestCall{ctx: ctx, plan: p, done: make(chan struct{})}
	alone := func() { call.res, call.err = db.IngestAlone(ctx, p) }
	if err := db.ingests.run(ctx, call, call.done, alone); err != nil {
		return conversations.IngestResult{}, err
	}
	return call.res, call.err
}

// ingestBatch writes a batch of texts and answers their callers.
func (db *DB) ingestBatch(batch []*ingestCall) {
	plans := make([]conversations.IngestPlan, len(batch))
	for i, c := range batch {
		plans[i] = c.plan
	}
	// The batch is not any one caller's: a caller giving up must not roll
	// back its neighbours.
	results, errs := db.IngestBatch(context.WithoutCancel(batch[0].ctx), plans)
	for i, c := range batch {
		c.res, c.err = results[i], errs[i]
		close(c.done)
	}
}

// ---- texts the carrier accepted -----------------------------------------

type sentCall struct {
	ctx  context.Context
	item campaigns.OutboxItem
	sent campaigns.Sent
	at   time.Time
	err  error
	done chan struct{}
}

func (db *DB) groupMarkSent(ctx context.Context, item campaigns.OutboxItem, s campaigns.Sent, at time.Time) error {
	call := &sentCall{ctx: ctx, item: item, sent: s, at: at, done: make(chan struct{})}
	alone := func() { call.err = db.markSentAlone(ctx, item, s, at) }
	if err := db.sents.run(ctx, call, call.done, alone); err != nil {
		return err
	}
	return call.err
}

// markSentBatch records a batch of accepted texts in one transaction. When
// it fails as a whole (a twin's carrier id, a deadlock), each is recorded
// alone, so that an error is its own text's. Texts go in the order of
// their carrier ids, whose locks receipt batches take in the same order.
func (db *DB) markSentBatch(batch []*sentCall) {
	slices.SortStableFunc(batch, func(a, b *sentCall) int {
		return strings.Compare(a.sent.CarrierMessageID, b.sent.CarrierMessageID)
	})
	ctx := context.WithoutCancel(batch[0].ctx)
	if len(batch) == 1 {
		c := batch[0]
		c.err = db.markSentAlone(ctx, c.item, c.sent, c.at)
		close(c.done)
		return
	}
	err := db.inTx(ctx, func(tx *Tx) error { return db.markSentTogether(ctx, tx, batch) })
	if err != nil {
		db.batchFallbacks.Add(1)
	}
	for _, c := range batch {
		if err != nil {
			c.err = db.markSentAlone(ctx, c.item, c.sent, c.at)
		}
		close(c.done)
	}
}

// ---- the carrier's receipts -------------------------------------------

type statusCall struct {
	ctx    context.Context
	update conversations.StatusUpdate
	msg    conversations.Message
	err    error
	done   chan struct{}
}

func (db *DB) groupApplyStatus(ctx context.Context, u conversations.StatusUpdate) (conversations.Message, error) {
	call := &statusCall{ctx: ctx, update: u, done: make(chan struct{})}
	alone := func() { call.msg, call.err = db.applyStatusAlone(ctx, u) }
	if err := db.statuses.run(ctx, call, call.done, alone); err != nil {
		return conversations.Message{}, err
	}
	return call.msg, call.err
}

// applyStatusBatch applies a batch of receipts in one transaction, in the
// order of their carrier ids (the locks' order); each refusal stays its
// own. When the transaction fails as a whole, each is applied alone.
func (db *DB) applyStatusBatch(batch []*statusCall) {
	slices.SortStableFunc(batch, func(a, b *statusCall) int {
		return strings.Compare(a.update.CarrierMessageID, b.update.CarrierMessageID)
	})
	ctx := context.WithoutCancel(batch[0].ctx)
	err := db.inTx(ctx, func(tx *Tx) error { return db.applyStatusesTogether(ctx, tx, batch) })
	if err != nil && len(batch) > 1 {
		db.batchFallbacks.Add(1)
	}
	for _, c := range batch {
		if err != nil {
			c.msg, c.err = conversations.Message{}, err
			if len(batch) > 1 {
				c.msg, c.err = db.applyStatusAlone(ctx, c.update)
			}
		}
		close(c.done)
	}
}

// ---- hold checks of texts checked one at a time --------------------

// holdsCall is one text's hold check, read with others'.
type holdsCall struct {
	ctx  context.Context
	item campaigns.OutboxItem
	hold campaigns.Hold
	err  error
	done chan struct{}
}

// readHoldsBatch reads the holds of texts checked alone at the same
// moment, in one query.
func (db *DB) readHoldsBatch(batch []*holdsCall) {
	items := make([]campaigns.OutboxItem, len(batch))
	for i, c := range batch {
		items[i] = c.item
	}
	holds, err := db.readHolds(context.WithoutCancel(batch[0].ctx), items)
	for i, c := range batch {
		c.err = err
		if err == nil {
			c.hold = holds[i]
		}
		close(c.done)
	}
}

// BatchFallbacks reports how many batches failed as a whole, their calls
// then written one transaction each: a deadlock, a text that failed a
// statement it shared, a commit that failed.
func (db *DB) BatchFallbacks() int64 { return db.batchFallbacks.Load() }

// Deadlocks reports how many ingests, alone or in a batch, the server
// aborted as a deadlock's victim (each then written again): a second's
// wait for the texts of both transactions.
func (db *DB) Deadlocks() int64 { return db.deadlocks.Load() }

// GroupCommitStats reports how many batches the group commit of inbound
// texts wrote and how many texts they held; zeros when it is off.
func (db *DB) GroupCommitStats() (batches, texts int64) {
	if db.ingests == nil {
		return 0, 0
	}
	return db.ingests.batches.Load(), db.ingests.items.Load()
}

// SentGroupStats is GroupCommitStats for the texts the carrier accepted.
func (db *DB) SentGroupStats() (batches, texts int64) {
	if db.sents == nil {
		return 0, 0
	}
	return db.sents.batches.Load(), db.sents.items.Load()
}

// StatusGroupStats is GroupCommitStats for the carrier's receipts.
func (db *DB) StatusGroupStats() (batches, receipts int64) {
	if db.statuses == nil {
		return 0, 0
	}
	return db.statuses.batches.Load(), db.statuses.items.Load()
}
