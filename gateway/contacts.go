package gateway

import (
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

type contactJSON struct {
	ID         parley.ID      `json:"id"`
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Attributes map[string]any `json:"attributes"`
	Phones     []string       `json:"phones"`
	// Relationships: relationship name to user id, set by routing.
	Relationships map[string]parley.ID `json:"relationships"`
	CreatedAt     time.Time            `json:"created_at"`
	UpdatedAt     time.Time            `json:"updated_at"`
}

func toContactJSON(c conversations.Contact) contactJSON {
	rels := c.Relationships
	if rels == nil {
		rels = map[string]parley.ID{}
	}
	return contactJSON{ID: c.ID, Name: c.Name, Type: c.Type, Attributes: c.Attributes, Phones: c.Phones,
		Relationships: rels, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func handleCreateContact(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			Name       string         `json:"name"`
			Phones     []string       `json:"phones"`
			Type       string         `json:"type"`
			Attributes map[string]any `json:"attributes"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		now := d.Clock.Now()
		c := conversations.Contact{AccountID: currentUser(r).AccountID, Name: in.Name, Type: in.Type, Attributes: in.Attributes,
			Phones: in.Phones, CreatedAt: now, UpdatedAt: now}
		if err := c.ValidateNew(); err != nil {
			return err
		}
		c, err := d.Store.CreateContact(r.Context(), c)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, toContactJSON(c))
		return nil
	}
}

func handleGetContact(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		c, err := d.Store.GetContact(r.Context(), currentUser(r).AccountID, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toContactJSON(c))
		return nil
	}
}

func handleListContacts(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		f := conversations.ContactFilter{AccountID: currentUser(r).AccountID, Query: r.URL.Query().Get("q"), Page: page}
		if err := f.Validate(); err != nil {
			return err
		}
		if f.Phone, err = phoneParam(r, "phone"); err != nil {
			return err
		}
		contacts, next, err := d.Store.FindContacts(r.Context(), f)
		if err != nil {
			return err
		}
		writePage(w, contacts, next, toContactJSON)
		return nil
	}
}

// phoneParam reads an optional phone query parameter as E.164. A query
// string turns "+" into a space, so a leading space is read back as "+".
func phoneParam(r *http.Request, name string) (string, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return "", nil
	}
	if strings.HasPrefix(raw, " ") {
		raw = "+" + strings.TrimPrefix(raw, " ")
	}
	// Threads from short codes and sender IDs are found by them too.
	p, err := conversations.NormalizeSender(raw)
	if err != nil {
		return "", parley.Invalid(map[string]string{name: "must be a phone number, short code or sender ID"})
	}
	return p, nil
}

func handleContactConversations(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		me := currentUser(r)
		if _, err := d.Store.GetContact(r.Context(), me.AccountID, id); err != nil {
			return err
		}
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		return listConversations(w, r, d, conversations.ContactConversations(me, id, page))
	}
}
