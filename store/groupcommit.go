package store

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/conversations"
)

// groupCommit writes inbound texts that arrive together in one
// transaction: a worker takes a waiting text, gathers those arriving in
// the next groupMaxWait while another batch commits (at most
// groupMaxBatch), writes them with IngestBatch and commits once. Every
// webhook is answered only after the commit that holds its text, so what
// Parley acknowledges is durable, as with a transaction per text; the
// statements and the commit's flush to disk are shared.
//
// IngestBatch gives each text the result it would have had alone, so
// idempotency and the state machine are unchanged
// (TestIngestBatchMatchesOneByOne); a text that fails gets its own error,
// its neighbours theirs.
type groupCommit struct {
	db    *DB
	calls chan *ingestCall
	stop  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
	// batches and texts count what was committed, for GroupCommitStats;
	// committing, the batches being written now.
	batches, texts, committing atomic.Int64
}

// Batching bounds: a text waits at most groupMaxWait for company; a batch
// holds at most groupMaxBatch texts; groupWorkers batches are written side
// by side, one gathering while the other commits. These made the largest
// batches and the best ratio to the one-transaction-per-text ceiling in
// `parley bench` (docs/PERFORMANCE.md, "How ingest is built").
const (
	groupMaxWait  = 2 * time.Millisecond
	groupMaxBatch = 64
	groupWorkers  = 2
)

type ingestCall struct {
	ctx  context.Context
	plan conversations.IngestPlan
	res  conversations.IngestResult
	err  error
	done chan struct{}
}

func newGroupCommit(db *DB) *groupCommit {
	return &groupCommit{db: db, calls: make(chan *ingestCall), stop: make(chan struct{})}
}

func (g *groupCommit) ingest(ctx context.Context, p conversations.IngestPlan) (conversations.IngestResult, error) {
	g.once.Do(func() {
		for range groupWorkers {
			g.wg.Add(1)
			go g.work()
		}
	})
	call := &ingestCall{ctx: ctx, plan: p, done: make(chan struct{})}
	select {
	case g.calls <- call:
	case <-ctx.Done():
		return conversations.IngestResult{}, ctx.Err()
	case <-g.stop:
		return g.db.IngestAlone(ctx, p)
	}
	// Not cut short by ctx: once taken, the text may be committed, and the
	// caller must learn what happened to it.
	<-call.done
	return call.res, call.err
}

// close stops the workers once their batches are done.
func (g *groupCommit) close() {
	close(g.stop)
	g.wg.Wait()
}

func (g *groupCommit) work() {
	defer g.wg.Done()
	for {
		select {
		case first := <-g.calls:
			g.commit(g.gather(first))
		case <-g.stop:
			return
		}
	}
}

// gather collects the texts arriving within groupMaxWait of the first.
// Like PostgreSQL's commit_siblings, it waits only when other batches are
// committing: alone, a text has nobody to share its commit with, and
// waiting would only add to its latency.
func (g *groupCommit) gather(first *ingestCall) []*ingestCall {
	batch := []*ingestCall{first}
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

// commit writes a batch in one transaction and answers its callers.
func (g *groupCommit) commit(batch []*ingestCall) {
	plans := make([]conversations.IngestPlan, len(batch))
	for i, c := range batch {
		plans[i] = c.plan
	}
	// The batch is not any one caller's: a caller giving up must not roll
	// back its neighbours.
	g.committing.Add(1)
	results, errs := g.db.IngestBatch(context.WithoutCancel(batch[0].ctx), plans)
	g.committing.Add(-1)
	g.batches.Add(1)
	g.texts.Add(int64(len(batch)))
	for i, c := range batch {
		c.res, c.err = results[i], errs[i]
		close(c.done)
	}
}

// BatchFallbacks reports how many batches failed as a whole, their texts
// then written one transaction each: a deadlock, a text that failed a
// statement it shared, a commit that failed.
func (db *DB) BatchFallbacks() int64 { return db.batchFallbacks.Load() }

// GroupCommitStats reports how many batches the group commit wrote and
// how many texts they held; zeros when it is off.
func (db *DB) GroupCommitStats() (batches, texts int64) {
	if db.group == nil {
		return 0, 0
	}
	return db.group.batches.Load(), db.group.texts.Load()
}
