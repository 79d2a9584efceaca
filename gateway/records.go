package gateway

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/outcomes"
)

type recordJSON struct {
	ID         parley.ID  `json:"id"`
	Type       string     `json:"type"`
	ExternalID string     `json:"external_id"`
	Title      string     `json:"title"`
	Status     *string    `json:"status"`
	Amount     *string    `json:"amount"`
	Currency   *string    `json:"currency"`
	URL        *string    `json:"url"`
	ContactID  *parley.ID `json:"contact_id"`
	// OccurredAt is when the record's event happened in the system it
	// comes from, as PUT gave it (an extension: what is written is read).
	OccurredAt *time.Time `json:"occurred_at"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

func toRecordJSON(r outcomes.Record) recordJSON {
	amount, cur := moneyJSON(r.Amount)
	var occurred *time.Time
	if r.OccurredAt != nil {
		t := r.OccurredAt.UTC()
		occurred = &t
	}
	return recordJSON{ID: r.ID, Type: string(r.Type), ExternalID: r.ExternalID, Title: r.Title, Status: nullable(r.Status),
		Amount: amount, Currency: cur, URL: nullable(r.URL), ContactID: r.ContactID, OccurredAt: occurred,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// recordRefJSON is a record as an outcome or a suggestion shows it.
type recordRefJSON struct {
	ID         parley.ID `json:"id"`
	Type       string    `json:"type"`
	ExternalID string    `json:"external_id"`
	Title      string    `json:"title"`
	Amount     *string   `json:"amount"`
	Currency   *string   `json:"currency"`
}

func toRecordRefJSON(r *outcomes.Record) *recordRefJSON {
	if r == nil {
		return nil
	}
	amount, cur := moneyJSON(r.Amount)
	return &recordRefJSON{ID: r.ID, Type: string(r.Type), ExternalID: r.ExternalID, Title: r.Title, Amount: amount, Currency: cur}
}

type linkJSON struct {
	ConversationID parley.ID  `json:"conversation_id"`
	Record         recordJSON `json:"record"`
	CreatedBy      *parley.ID `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
}

func toLinkJSON(l outcomes.Link) linkJSON {
	return linkJSON{ConversationID: l.ConversationID, Record: toRecordJSON(l.Record), CreatedBy: l.CreatedBy, CreatedAt: l.CreatedAt}
}

// moneyJSON writes an amount as a decimal string with its currency: never
// a float, so that no cent is lost on the way.
func moneyJSON(m *outcomes.Money) (amount, currency *string) {
	if m == nil {
		return nil, nil
	}
	a, c := m.String(), m.Currency
	return &a, &c
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// viaToken reports whether the caller authenticated with an API token (an
// integration) rather than the web inbox's session: requestUser reads
// the cookie only when there is no Authorization header.
func viaToken(r *http.Request) bool { return r.Header.Get("Authorization") != "" }

// sourceOf is how an outcome the caller records is sourced.
func sourceOf(r *http.Request) outcomes.Source {
	if viaToken(r) {
		return outcomes.SourceAPI
	}
	return outcomes.SourceManual
}

// seenConversation is visibleConversation for a conversation a body or
// another resource names: one the caller may not see is not found there.
// A conversation in the path is refused as the conversation routes refuse
// it (seenPathConversation).
func seenConversation(r *http.Request, d *Deps, id parley.ID) (conversations.Conversation, error) {
	c, err := conversations.Visible(r.Context(), d.Store, currentUser(r), id)
	if parley.IsKind(err, parley.EFORBIDDEN) {
		return c, parley.Errorf(parley.ENOTFOUND, "no conversation %s", id)
	}
	return c, err
}

// seenPathConversation is the conversation of the path, for its outcomes,
// links, suggestions, tags and episodes: 403 for an agent who may not see
// it, as GET /v1/conversations/{id} answers (API.md: 404 is for another
// account's).
func seenPathConversation(r *http.Request, d *Deps) (conversations.Conversation, error) {
	return visibleConversation(r, d)
}

// requireRecordWriter lets the users who may write records write them,
// whether through the inbox or an API token (outcomes.MayWriteRecords).
func requireRecordWriter(r *http.Request) error {
	if u := currentUser(r); outcomes.MayWriteRecords(u.IsAdmin(), u.ViewAllConversations) {
		return nil
	}
	return forbidden("writing records needs the admin role or view_all_conversations")
}

func handlePutRecord(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireRecordWriter(r); err != nil {
			return err
		}
		var in struct {
			Title          string     `json:"title"`
			Status         string     `json:"status"`
			Amount         string     `json:"amount"`
			Currency       string     `json:"currency"`
			URL            string     `json:"url"`
			ContactID      *parley.ID `json:"contact_id"`
			OccurredAt     *string    `json:"occurred_at"`
			ConversationID *parley.ID `json:"conversation_id"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		occurred, err := optionalTime("occurred_at", in.OccurredAt)
		if err != nil {
			return err
		}
		me := currentUser(r)
		vars := mux.Vars(r)
		rec, err := outcomes.RecordInput{Type: outcomes.RecordType(vars["type"]), ExternalID: vars["external_id"],
			Title: in.Title, Status: in.Status, Amount: in.Amount, Currency: in.Currency, URL: in.URL,
			ContactID: in.ContactID, OccurredAt: occurred, ConversationID: in.ConversationID}.Validate(me.AccountID)
		if err != nil {
			return err
		}
		if in.ConversationID != nil {
			if _, err := seenConversation(r, d, *in.ConversationID); err != nil {
				return namingField(err, "conversation_id")
			}
		}
		rec, created, err := d.Outcomes.PutRecord(r.Context(), rec, in.ConversationID, &me.ID, d.Clock.Now())
		if err != nil {
			return err
		}
		writeUpserted(w, created, toRecordJSON(rec))
		return nil
	}
}

// writeUpserted answers 201 with what a write created, 200 with what it
// found already there.
func writeUpserted(w http.ResponseWriter, created bool, v any) {
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, v)
}

// namingField says which field of the body named what was not found.
func namingField(err error, field string) error {
	if parley.IsKind(err, parley.ENOTFOUND) {
		msg := field + " names nothing in this account"
		return &parley.Error{Kind: parley.ENOTFOUND, Code: parley.ENOTFOUND, Message: msg, Fields: map[string]string{field: msg}}
	}
	return err
}

func handleGetRecord(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		rec, err := d.Outcomes.GetRecord(r.Context(), currentUser(r).AccountID, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toRecordJSON(rec))
		return nil
	}
}

func handleListRecords(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		f := outcomes.RecordFilter{AccountID: currentUser(r).AccountID, Type: outcomes.RecordType(q.Get("type")), Query: q.Get("q")}
		if f.Type != "" && !f.Type.Valid() {
			return parley.Invalid(map[string]string{"type": "must be one of contact, account, ticket, deal, quote, invoice, project"})
		}
		if raw := q.Get("contact_id"); raw != "" {
			if f.ContactID, err = parley.ParseID(raw); err != nil {
				return parley.Invalid(map[string]string{"contact_id": "must be an id (a string of digits)"})
			}
		}
		recs, next, err := recordPage(r, d, f, page)
		if err != nil {
			return err
		}
		writePage(w, recs, next, toRecordJSON)
		return nil
	}
}

// recordPage reads one page of records and its next cursor. The store's
// cursor is the id of a page's last record; one more than the page is
// asked for, when the limit allows, so a full last page has no next.
func recordPage(r *http.Request, d *Deps, f outcomes.RecordFilter, page parley.Page) ([]outcomes.Record, string, error) {
	ask := page
	if ask.Limit < parley.MaxPageLimit {
		ask.Limit++
	}
	f.Page = ask
	recs, err := d.Outcomes.ListRecords(r.Context(), f)
	if err != nil || len(recs) < ask.Limit {
		return recs, "", err
	}
	recs = recs[:page.Limit]
	return recs, recs[len(recs)-1].ID.String(), nil
}

func handleLinkRecord(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := seenPathConversation(r, d)
		if err != nil {
			return err
		}
		var in struct {
			RecordID *parley.ID `json:"record_id"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		if in.RecordID == nil {
			return parley.Invalid(map[string]string{"record_id": "is required"})
		}
		me := currentUser(r)
		l, created, err := d.Outcomes.LinkRecord(r.Context(), me.AccountID, c.ID, *in.RecordID, &me.ID, d.Clock.Now())
		if err != nil {
			return err
		}
		writeUpserted(w, created, toLinkJSON(l))
		return nil
	}
}

func handleListLinks(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := seenPathConversation(r, d)
		if err != nil {
			return err
		}
		links, err := d.Outcomes.ListLinks(r.Context(), c.AccountID, c.ID)
		if err != nil {
			return err
		}
		return writePageOf(w, r, links, func(l outcomes.Link) string {
			return fmt.Sprintf("%020d.%s", l.CreatedAt.UnixMicro(), idKey(l.Record.ID))
		}, toLinkJSON)
	}
}

func handleUnlinkRecord(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := seenPathConversation(r, d)
		if err != nil {
			return err
		}
		recordID, err := parley.ParseID(mux.Vars(r)["record_id"])
		if err != nil {
			return err
		}
		me := currentUser(r)
		if err := d.Outcomes.UnlinkRecord(r.Context(), me.AccountID, c.ID, recordID, &me.ID, d.Clock.Now()); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
