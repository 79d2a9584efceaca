package store

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/events"
)

// sequencer numbers PostgreSQL's committed events. Writers insert their
// events unnumbered, in their own transactions and without waiting for
// anyone; the sequencer then gives each account's committed events the
// next positions, moves the account's head, queues the webhook deliveries
// and notifies every instance, in one transaction. Every instance runs
// one; an advisory lock lets one number at a time, so positions are dense
// and a reader that saw position n has seen every position before it (a
// transaction committing late is numbered late, never in a gap).
//
// It is woken by this process's commits; the tick numbers what other
// instances committed when theirs cannot (an instance that died between
// its commit and its wake-up).
type sequencer struct {
	db   *DB
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

const (
	// sequencerTick bounds how late an event nobody woke a sequencer for
	// is numbered.
	sequencerTick = 250 * time.Millisecond
	// sequenceBatch is how many events one numbering takes.
	sequenceBatch = 5000
	// sequencerLock is the advisory lock's key: one numbering at a time.
	sequencerLock = "parley_event_sequencer"
)

func startSequencer(db *DB) *sequencer {
	s := &sequencer{db: db, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *sequencer) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *sequencer) close() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
}

func (s *sequencer) run() {
	defer close(s.done)
	tick := time.NewTicker(sequencerTick)
	defer tick.Stop()
	for {
		stopping := false
		select {
		case <-s.stop:
			stopping = true // what this process committed last is numbered before it goes
		case <-s.wake:
		case <-tick.C:
		}
		for {
			n, err := s.db.numberEvents(context.Background())
			if err != nil || n < sequenceBatch {
				break
			}
		}
		if stopping {
			return
		}
	}
}

// numberEvents numbers up to sequenceBatch committed events, oldest
// first, and announces them.
func (db *DB) numberEvents(ctx context.Context) (int, error) {
	var numbered []logRow
	err := db.inTx(ctx, func(tx *Tx) error {
		if err := db.dialect.lockKey(ctx, tx, sequencerLock); err != nil {
			return err
		}
		// Read committed: this statement sees every commit before it,
		// including the rows the previous sequencer left.
		if err := tx.SelectContext(ctx, &numbered, tx.Rebind(numberEventsQuery), sequenceBatch); err != nil {
			return err
		}
		for _, a := range announcementsOf(numbered) {
			payload := strconv.FormatInt(int64(a.AccountID), 10) + ":" + strconv.FormatInt(a.First, 10) + ":" + strconv.FormatInt(a.Last, 10)
			if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, eventsChannel, payload); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	db.announce(announcementsOf(numbered))
	return len(numbered), nil
}

// announcementsOf groups numbered rows (ordered by account and position)
// into one announcement per account, carrying the events.
func announcementsOf(rows []logRow) []events.Announcement {
	var out []events.Announcement
	for _, r := range rows {
		e := r.event()
		if n := len(out); n > 0 && out[n-1].AccountID == e.AccountID {
			out[n-1].Last = e.Seq
			out[n-1].Events = append(out[n-1].Events, e)
			continue
		}
		out = append(out, events.Announcement{AccountID: e.AccountID, First: e.Seq, Last: e.Seq, Events: []events.Event{e}})
	}
	return out
}

// prefixed qualifies each column of a list with a table alias.
func prefixed(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// numberEventsQuery numbers the oldest unnumbered events (at most its
// parameter), moves each account's head past them, books their webhook
// deliveries and returns them.
//
// The oldest first, read in the order of the unnumbered index: numbered
// rows leave dead entries there until VACUUM, which an ordered index scan
// marks and steps over, where a bitmap scan of every unnumbered row (the
// window function's input, were it read before the LIMIT) visits each of
// them again. The rows are updated through an array of their ids, which
// the primary key serves: joined, a plan kept from while the log was
// small scans all of it.
var numberEventsQuery = `WITH oldest AS (
    SELECT id, account_id FROM events WHERE seq IS NULL ORDER BY id LIMIT ?),
todo AS (
    SELECT id, account_id, row_number() OVER (PARTITION BY account_id ORDER BY id) AS n FROM oldest),
counts AS (SELECT account_id, COUNT(*) AS c FROM todo GROUP BY account_id),
heads AS (
    INSERT INTO event_heads (account_id, seq) SELECT account_id, c FROM counts
    ON CONFLICT (account_id) DO UPDATE SET seq = event_heads.seq + excluded.seq
    RETURNING account_id, seq),
numbered AS (
    UPDATE events e SET seq = h.seq - c.c + t.n
    FROM todo t JOIN counts c ON c.account_id = t.account_id JOIN heads h ON h.account_id = t.account_id
    WHERE e.id = t.id AND e.id = ANY(ARRAY(SELECT id FROM oldest))
    RETURNING ` + prefixed("e.", eventColumns) + `),
deliveries AS (
    INSERT INTO webhook_deliveries (account_id, endpoint_id, event_seq, event_type, next_attempt_at, created_at)
    SELECT s.account_id, s.endpoint_id, n.seq, n.type, n.created_at, n.created_at FROM numbered n
    JOIN webhook_subscriptions s ON s.account_id = n.account_id AND s.type = n.type
    JOIN webhook_endpoints ep ON ep.id = s.endpoint_id AND ep.disabled_at IS NULL)
SELECT ` + eventColumns + ` FROM numbered ORDER BY account_id, seq`
