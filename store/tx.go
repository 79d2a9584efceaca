package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/events"
)

// Tx is a write transaction. Besides the SQL transaction it carries the
// events its changes make: they are written last, just before the commit,
// and announced once it succeeded (the way wtf's store publishes events
// from inside its transactions), so nothing is announced that did not
// commit.
type Tx struct {
	*sqlx.Tx
	// db, when set, has the transaction's statements prepared once
	// (prepared.go).
	db      *DB
	pending []events.Event
}

// record adds an event to those the transaction writes. The position is
// given at commit. A conversation changed several ways in one transaction
// makes one conversation.updated (or only its conversation.created); a
// message or campaign, one event with its last state.
func (tx *Tx) record(e events.Event) {
	if e.Type == events.ConversationUpdated {
		for i := range tx.pending {
			p := &tx.pending[i]
			if p.ConversationID == e.ConversationID && p.AccountID == e.AccountID &&
				(p.Type == events.ConversationCreated || p.Type == events.ConversationUpdated) {
				if p.Type == events.ConversationUpdated {
					p.Data = appendChanges(p.Data, e.Data)
				}
				return
			}
		}
	}
	if e.Type == events.MessageUpdated || e.Type == events.CampaignUpdated {
		for i := range tx.pending {
			p := &tx.pending[i]
			if p.SubjectID == e.SubjectID && p.AccountID == e.AccountID && sameSubject(p.Type, e.Type) {
				if p.Type == e.Type {
					p.Data, p.At = e.Data, e.At
				}
				return
			}
		}
	}
	tx.pending = append(tx.pending, e)
}

// sameSubject: an event of type a already says a subject changed as one of
// type b would (a message created and then updated in one transaction).
func sameSubject(a, b events.Type) bool {
	return a == b || (a == events.MessageCreated && b == events.MessageUpdated)
}

// createdFirst ranks conversation.created before every other event.
func createdFirst(e events.Event) int {
	if e.Type == events.ConversationCreated {
		return 0
	}
	return 1
}

// appendChanges merges two conversation.updated payloads ({"changes":[…]}).
func appendChanges(a, b json.RawMessage) json.RawMessage {
	var x, y struct {
		Changes []json.RawMessage `json:"changes"`
	}
	_ = json.Unmarshal(a, &x)
	_ = json.Unmarshal(b, &y)
	out, _ := json.Marshal(map[string]any{"changes": append(x.Changes, y.Changes...)})
	return out
}

// eventsChannel is the PostgreSQL notification channel of the log. A
// payload is "account:first:last", positions only.
const eventsChannel = "parley_events"

// writeEvents writes the pending events, account by account in id order
// (two transactions writing to the same accounts take their heads in the
// same order), and returns what to announce after the commit.
//
// Each account's head row is locked from here to the commit: the next
// transaction of the account waits for it, so positions commit in order
// and a reader that saw position n has seen every position before it. It
// is taken last so that it is held for as short a time as possible; the
// writers that commit often (ingest, sends, receipts) are group-committed
// batches, so few transactions queue for it.
func (tx *Tx) writeEvents(ctx context.Context) ([]events.Announcement, error) {
	if len(tx.pending) == 0 {
		return nil, nil
	}
	byAccount := map[parley.ID][]events.Event{}
	var accounts []parley.ID
	for _, e := range tx.pending {
		if _, ok := byAccount[e.AccountID]; !ok {
			accounts = append(accounts, e.AccountID)
		}
		byAccount[e.AccountID] = append(byAccount[e.AccountID], e)
	}
	slices.Sort(accounts)
	for _, acc := range accounts {
		// A conversation is announced before what happens in it.
		slices.SortStableFunc(byAccount[acc], func(a, b events.Event) int {
			return createdFirst(a) - createdFirst(b)
		})
	}
	anns := make([]events.Announcement, 0, len(accounts))
	for _, acc := range accounts {
		ann, err := tx.appendToLog(ctx, acc, byAccount[acc])
		if err != nil {
			return nil, err
		}
		anns = append(anns, ann)
	}
	tx.pending = nil
	return anns, nil
}

// eventChunk is the most events one insert writes: a campaign tick queues
// thousands of texts.
const eventChunk = 2000

// appendToLog writes one account's events, numbered after its head, and
// says what to announce once they committed.
func (tx *Tx) appendToLog(ctx context.Context, accountID parley.ID, evs []events.Event) (events.Announcement, error) {
	d := dialectOf(tx)
	ann := events.Announcement{AccountID: accountID, Events: evs}
	// On SQLite a longer batch than the longest VALUES list would be
	// read from JSON, which costs more than writing a second statement.
	size := eventChunk
	if d.batchesAsValues() {
		size = maxValuesRows
	}
	for chunk := range slices.Chunk(evs, size) {
		last, booked, err := d.appendEvents(ctx, tx, accountID, chunk)
		if err != nil {
			return events.Announcement{}, err
		}
		for i := range chunk {
			chunk[i].Seq = last - int64(len(chunk)) + int64(i) + 1
		}
		ann.Deliveries = addBooked(ann.Deliveries, booked)
	}
	ann.First, ann.Last = evs[0].Seq, evs[len(evs)-1].Seq
	return ann, nil
}

// eventRows are an account's events as rows of a batch (batchRows), in
// eventBatchColumns' order: the i-th is numbered i after the head's old
// position.
func eventRows(accountID parley.ID, evs []events.Event) [][]any {
	rows := make([][]any, len(evs))
	for i, e := range evs {
		data := e.Data
		if len(data) == 0 {
			data = json.RawMessage(`{}`)
		}
		rows[i] = []any{accountID, i + 1, string(e.Type), nullID(e.ConversationID), nullID(e.SubjectID), e.ActorType, e.ActorID, string(data), ms(e.At)}
	}
	return rows
}

// eventBatchColumns are the columns of eventRows.
var eventBatchColumns = []string{"account_id BIGINT", "i BIGINT", "type TEXT", "conversation_id BIGINT", "subject_id BIGINT",
	"actor_type TEXT", "actor_id BIGINT", "data TEXT", "created_at BIGINT"}

// addBooked adds a chunk's booked deliveries to the sum so far; unknown
// in either is unknown.
func addBooked(sum, booked int) int {
	if sum == events.DeliveriesUnknown || booked == events.DeliveriesUnknown {
		return events.DeliveriesUnknown
	}
	return sum + booked
}

// parseAnnouncement reads an eventsChannel payload, account:first:last;
// it does not say what the transaction booked.
func parseAnnouncement(payload string) (events.Announcement, error) {
	parts := strings.Split(payload, ":")
	if len(parts) != 3 {
		return events.Announcement{}, fmt.Errorf("event announcement %q", payload)
	}
	var n [3]int64
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return events.Announcement{}, fmt.Errorf("event announcement %q", payload)
		}
		n[i] = v
	}
	return events.Announcement{AccountID: parley.ID(n[0]), First: n[1], Last: n[2], Deliveries: events.DeliveriesUnknown}, nil
}

// nullID stores the zero id as NULL.
func nullID(id parley.ID) any {
	if id == 0 {
		return nil
	}
	return int64(id)
}
