package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/outcomes"
)

type outcomeJSON struct {
	ID             parley.ID      `json:"id"`
	ConversationID parley.ID      `json:"conversation_id"`
	Type           string         `json:"type"`
	Record         *recordRefJSON `json:"record"`
	Notes          string         `json:"notes"`
	Metadata       jsonObject     `json:"metadata"`
	Source         string         `json:"source"`
	SuggestionID   *parley.ID     `json:"suggestion_id"`
	CreatedBy      *parley.ID     `json:"created_by"`
	CreatedAt      time.Time      `json:"created_at"`
}

func toOutcomeJSON(o outcomes.Outcome) outcomeJSON {
	return outcomeJSON{ID: o.ID, ConversationID: o.ConversationID, Type: string(o.Type), Record: toRecordRefJSON(o.Record),
		Notes: o.Notes, Metadata: jsonObject{o.Metadata}, Source: string(o.Source), SuggestionID: o.SuggestionID,
		CreatedBy: o.CreatedBy, CreatedAt: o.CreatedAt}
}

type suggestionJSON struct {
	ID             parley.ID      `json:"id"`
	ConversationID parley.ID      `json:"conversation_id"`
	Type           string         `json:"type"`
	Record         *recordRefJSON `json:"record"`
	Reason         string         `json:"reason"`
	CreatedAt      time.Time      `json:"created_at"`
}

func toSuggestionJSON(s outcomes.Suggestion) suggestionJSON {
	return suggestionJSON{ID: s.ID, ConversationID: s.ConversationID, Type: string(s.Type), Record: toRecordRefJSON(s.Record), Reason: s.Reason, CreatedAt: s.CreatedAt}
}

// jsonObject is an outcome's metadata, sent as the client gave it: its
// numbers are not read into floats and back.
type jsonObject struct{ raw json.RawMessage }

func (o jsonObject) MarshalJSON() ([]byte, error) {
	if len(o.raw) == 0 {
		return []byte("{}"), nil
	}
	return o.raw, nil
}

// outcomeInput is the body of POST …/outcomes and, without type, of a
// suggestion's accept.
type outcomeInput struct {
	Type     outcomes.Type   `json:"type"`
	RecordID *parley.ID      `json:"record_id"`
	Notes    string          `json:"notes"`
	Metadata json.RawMessage `json:"metadata"`
}

func handleCreateOutcome(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := seenPathConversation(r, d)
		if err != nil {
			return err
		}
		var in outcomeInput
		if err := decode(w, r, &in); err != nil {
			return err
		}
		me := currentUser(r)
		n := outcomes.NewOutcome{AccountID: me.AccountID, ConversationID: c.ID, Type: in.Type, RecordID: in.RecordID,
			Notes: in.Notes, Metadata: in.Metadata, Source: sourceOf(r), IdempotencyKey: r.Header.Get("Idempotency-Key"),
			CreatedBy: &me.ID, At: d.Clock.Now()}
		amount, err := n.Validate()
		if err != nil {
			return err
		}
		o, _, err := d.Outcomes.CreateOutcome(r.Context(), n, amount)
		if err != nil {
			return err
		}
		// A replay answers as the first request did; the key on another
		// conversation is a client's mistake, never that outcome.
		if o.ConversationID != c.ID {
			return parley.Conflict("idempotency_key_reused", "this Idempotency-Key was used for an outcome of another conversation")
		}
		writeJSON(w, http.StatusCreated, toOutcomeJSON(o))
		return nil
	}
}

func handleListOutcomes(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := seenPathConversation(r, d)
		if err != nil {
			return err
		}
		os, err := d.Outcomes.ListOutcomes(r.Context(), c.AccountID, c.ID)
		if err != nil {
			return err
		}
		return writePageOf(w, r, os, func(o outcomes.Outcome) string { return idKey(o.ID) }, toOutcomeJSON)
	}
}

func handleDeleteOutcome(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		me := currentUser(r)
		o, err := d.Outcomes.GetOutcome(r.Context(), me.AccountID, id)
		if err != nil {
			return err
		}
		if _, err := seenConversation(r, d, o.ConversationID); err != nil {
			return err
		}
		if _, err := d.Outcomes.DeleteOutcome(r.Context(), me.AccountID, id, me.ID, d.Clock.Now()); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func handleListSuggestions(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := seenPathConversation(r, d)
		if err != nil {
			return err
		}
		ss, err := d.Outcomes.ListSuggestions(r.Context(), c.AccountID, c.ID)
		if err != nil {
			return err
		}
		return writePageOf(w, r, ss, func(s outcomes.Suggestion) string { return idKey(s.ID) }, toSuggestionJSON)
	}
}

// seenSuggestion loads the {id} suggestion if the caller may see its
// conversation.
func seenSuggestion(r *http.Request, d *Deps) (outcomes.Suggestion, error) {
	id, err := pathID(r)
	if err != nil {
		return outcomes.Suggestion{}, err
	}
	s, err := d.Outcomes.GetSuggestion(r.Context(), currentUser(r).AccountID, id)
	if err != nil {
		return s, err
	}
	_, err = seenConversation(r, d, s.ConversationID)
	return s, err
}

func handleAcceptSuggestion(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		s, err := seenSuggestion(r, d)
		if err != nil {
			return err
		}
		var in struct {
			RecordID *parley.ID      `json:"record_id"`
			Notes    string          `json:"notes"`
			Metadata json.RawMessage `json:"metadata"`
		}
		if err := decodeBodyOrNone(w, r, &in); err != nil {
			return err
		}
		me := currentUser(r)
		now := d.Clock.Now()
		// The accepted outcome is checked as any outcome of its type is.
		n := outcomes.NewOutcome{Type: s.Type, Notes: in.Notes, Metadata: in.Metadata}
		amount, err := n.Validate()
		if err != nil {
			return err
		}
		o, err := d.Outcomes.AcceptSuggestion(r.Context(), me.AccountID, outcomes.Accept{SuggestionID: s.ID, Notes: n.Notes,
			Metadata: n.Metadata, RecordID: in.RecordID, By: me.ID, At: now}, amount)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, toOutcomeJSON(o))
		return nil
	}
}

func handleDismissSuggestion(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		s, err := seenSuggestion(r, d)
		if err != nil {
			return err
		}
		me := currentUser(r)
		if err := d.Outcomes.DismissSuggestion(r.Context(), me.AccountID, s.ID, me.ID, d.Clock.Now()); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// decodeBodyOrNone is decode where the whole body is optional (an accept
// as suggested): no body leaves v as it is.
func decodeBodyOrNone(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		return decodeError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return decodeBody(body, v)
}
