package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"sync"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
)

// eventAnnouncer hands announcements to whoever listens (the hub): this
// process's commits, and on PostgreSQL every instance's by NOTIFY.
type eventAnnouncer struct {
	mu     sync.RWMutex
	listen events.Listener
}

func (a *eventAnnouncer) announce(ann events.Announcement) {
	a.mu.RLock()
	l := a.listen
	a.mu.RUnlock()
	if l != nil {
		l.Announced(ann)
	}
}

func (a *eventAnnouncer) catchUp() {
	a.mu.RLock()
	l := a.listen
	a.mu.RUnlock()
	if l != nil {
		l.CatchUp()
	}
}

// AnnounceTo makes l hear of every committed event: this process's at
// once, other instances' through PostgreSQL's notifications.
func (db *DB) AnnounceTo(l events.Listener) {
	db.log.mu.Lock()
	db.log.listen = l
	db.log.mu.Unlock()
}

func (db *DB) announce(anns []events.Announcement) {
	for _, a := range anns {
		db.log.announce(a)
	}
}

type logRow struct {
	AccountID      int64         `db:"account_id"`
	Seq            int64         `db:"seq"`
	Type           string        `db:"type"`
	ConversationID sql.NullInt64 `db:"conversation_id"`
	SubjectID      sql.NullInt64 `db:"subject_id"`
	ActorType      string        `db:"actor_type"`
	ActorID        *int64        `db:"actor_id"`
	Data           string        `db:"data"`
	CreatedAt      int64         `db:"created_at"`
}

func (r logRow) event() events.Event {
	return events.Event{AccountID: parley.ID(r.AccountID), Seq: r.Seq, Type: events.Type(r.Type),
		ConversationID: parley.ID(r.ConversationID.Int64), SubjectID: parley.ID(r.SubjectID.Int64),
		ActorType: r.ActorType, ActorID: idPtr(r.ActorID), Data: json.RawMessage(r.Data), At: fromMS(r.CreatedAt)}
}

const eventColumns = `account_id, seq, type, conversation_id, subject_id, actor_type, actor_id, data, created_at`

// EventsAfter reads up to limit of an account's events after position
// after, oldest first. Positions commit in order, so what it returns is
// final: no event will ever appear between two it returned.
func (db *DB) EventsAfter(ctx context.Context, accountID parley.ID, after int64, limit int) ([]events.Event, error) {
	var rows []logRow
	err := db.db.SelectContext(ctx, &rows, db.rebind(`SELECT `+eventColumns+` FROM events
WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?`), accountID, after, limit)
	if err != nil {
		return nil, translate(err)
	}
	out := make([]events.Event, len(rows))
	for i, r := range rows {
		out[i] = r.event()
	}
	return out, nil
}

// EventBounds are an account's oldest kept position (0 when none is kept)
// and its head (0 before its first event).
func (db *DB) EventBounds(ctx context.Context, accountID parley.ID) (oldest, head int64, err error) {
	err = db.db.QueryRowxContext(ctx, db.rebind(`SELECT
COALESCE((SELECT seq FROM events WHERE account_id = ? ORDER BY seq LIMIT 1), 0),
COALESCE((SELECT seq FROM event_heads WHERE account_id = ?), 0)`), accountID, accountID).Scan(&oldest, &head)
	return oldest, head, translate(err)
}

// PruneEvents deletes up to limit events recorded before cutoff and says
// how many it deleted; the caller repeats while it deletes a full batch.
// Heads stay, so positions keep counting where they were.
//
// Each account's log is read from its oldest position, at most the batch
// left, by its key: no index by age to keep up on every event written. An
// account's times follow its positions but for transactions writing side
// by side (a few seconds at most): one older than a newer one before it
// waits for a later pass.
func (db *DB) PruneEvents(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	left := limit
	err := db.inTx(ctx, func(tx *Tx) error {
		var accounts []int64
		if err := tx.SelectContext(ctx, &accounts, `SELECT account_id FROM event_heads ORDER BY account_id`); err != nil {
			return err
		}
		for _, acc := range accounts {
			if left == 0 {
				break
			}
			res, err := tx.ExecContext(ctx, tx.Rebind(pruneAccountEvents), acc, acc, left, ms(cutoff))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			left -= int(n)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return limit - left, nil
}

// pruneAccountEvents deletes those of an account's oldest events (the
// limit) recorded before the cutoff.
const pruneAccountEvents = `DELETE FROM events WHERE account_id = ? AND seq IN
(SELECT seq FROM (SELECT seq, created_at FROM events WHERE account_id = ? ORDER BY seq LIMIT ?) oldest WHERE created_at < ?)`
