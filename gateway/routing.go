package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/routing"
)

type entryJSON struct {
	ID         parley.ID          `json:"id"`
	Conditions routing.Conditions `json:"conditions"`
	UserIDs    []parley.ID        `json:"user_ids"`
	Strategy   routing.Strategy   `json:"strategy"`
	Capacity   *int               `json:"capacity"`
}

type routingTableJSON struct {
	ID        parley.ID   `json:"id"`
	Name      string      `json:"name"`
	Default   bool        `json:"default"`
	Entries   []entryJSON `json:"entries"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
}

func toRoutingTableJSON(t routing.Table) routingTableJSON {
	out := routingTableJSON{ID: t.ID, Name: t.Name, Default: t.Default, Entries: []entryJSON{}, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	for _, e := range t.Entries {
		out.Entries = append(out.Entries, entryJSON{ID: e.ID, Conditions: e.Conditions, UserIDs: e.UserIDs, Strategy: e.Strategy, Capacity: e.Capacity})
	}
	return out
}

// routingTableInput is the body of POST and PUT /v1/routing-tables.
type routingTableInput struct {
	Name    string `json:"name"`
	Default bool   `json:"default"`
	Entries []struct {
		Conditions routing.Conditions `json:"conditions"`
		UserIDs    []parley.ID        `json:"user_ids"`
		Strategy   routing.Strategy   `json:"strategy"`
		Capacity   *int               `json:"capacity"`
	} `json:"entries"`
}

// table decodes and validates a table for the caller's account.
func (d *Deps) routingTableFrom(w http.ResponseWriter, r *http.Request) (routing.Table, error) {
	var in routingTableInput
	if err := decode(w, r, &in); err != nil {
		return routing.Table{}, err
	}
	me := currentUser(r)
	now := d.Clock.Now()
	t := routing.Table{AccountID: me.AccountID, Name: in.Name, Default: in.Default, CreatedAt: now, UpdatedAt: now}
	for _, e := range in.Entries {
		t.Entries = append(t.Entries, routing.Entry{Conditions: e.Conditions, UserIDs: e.UserIDs, Strategy: e.Strategy, Capacity: e.Capacity})
	}
	dir, err := routing.LoadDirectory(r.Context(), d.Store, me.AccountID)
	if err != nil {
		return t, err
	}
	return t, dir.Validate(&t)
}

func handleCreateRoutingTable(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		t, err := d.routingTableFrom(w, r)
		if err != nil {
			return err
		}
		if t, err = d.Routing.CreateRoutingTable(r.Context(), t); err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, toRoutingTableJSON(t))
		return nil
	}
}

func handleReplaceRoutingTable(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if _, err := d.Routing.GetRoutingTable(r.Context(), currentUser(r).AccountID, id); err != nil {
			return err
		}
		t, err := d.routingTableFrom(w, r)
		if err != nil {
			return err
		}
		t.ID = id
		if t, err = d.Routing.ReplaceRoutingTable(r.Context(), t); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toRoutingTableJSON(t))
		return nil
	}
}

func handleGetRoutingTable(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		t, err := d.Routing.GetRoutingTable(r.Context(), currentUser(r).AccountID, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toRoutingTableJSON(t))
		return nil
	}
}

func handleListRoutingTables(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		ts, next, err := d.Routing.ListRoutingTables(r.Context(), currentUser(r).AccountID, page)
		if err != nil {
			return err
		}
		writePage(w, ts, next, toRoutingTableJSON)
		return nil
	}
}

func handleDeleteRoutingTable(d *Deps) apiFunc {
	return adminDelete(func(ctx context.Context, accountID, id parley.ID) error {
		return d.Routing.DeleteRoutingTable(ctx, accountID, id)
	})
}

type decisionJSON struct {
	TableID      parley.ID        `json:"table_id"`
	UserID       *parley.ID       `json:"user_id"`
	Entry        *int             `json:"entry"`
	Strategy     routing.Strategy `json:"strategy,omitempty"`
	Sticky       bool             `json:"sticky"`
	Relationship string           `json:"relationship,omitempty"`
	Reason       string           `json:"reason"`
	Passed       []string         `json:"passed"`
}

// handleSimulate answers who the table would pick for a contact now, and
// why, without assigning anything.
func handleSimulate(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var in struct {
			ContactID *parley.ID `json:"contact_id"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		if in.ContactID == nil {
			return parley.Invalid(map[string]string{"contact_id": "is required"})
		}
		dec, err := routing.Simulate(r.Context(), d.Routing, currentUser(r).AccountID, id, *in.ContactID)
		if err != nil {
			return err
		}
		out := decisionJSON{TableID: id, UserID: dec.UserID, Strategy: dec.Strategy, Sticky: dec.Sticky,
			Relationship: dec.Relationship, Reason: dec.Reason, Passed: dec.Passed}
		if dec.EntryIndex >= 0 {
			out.Entry = &dec.EntryIndex
		}
		if out.Passed == nil {
			out.Passed = []string{}
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

type contactTypeJSON struct {
	ID             parley.ID  `json:"id"`
	Name           string     `json:"name"`
	Relationship   string     `json:"relationship"`
	RoutingTableID *parley.ID `json:"routing_table_id"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func toContactTypeJSON(c routing.ContactType) contactTypeJSON {
	return contactTypeJSON{ID: c.ID, Name: c.Name, Relationship: c.Relationship, RoutingTableID: c.RoutingTableID,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func (d *Deps) contactTypeFrom(w http.ResponseWriter, r *http.Request) (routing.ContactType, error) {
	var in struct {
		Name           string     `json:"name"`
		Relationship   string     `json:"relationship"`
		RoutingTableID *parley.ID `json:"routing_table_id"`
	}
	if err := decode(w, r, &in); err != nil {
		return routing.ContactType{}, err
	}
	now := d.Clock.Now()
	c := routing.ContactType{AccountID: currentUser(r).AccountID, Name: in.Name, Relationship: in.Relationship,
		RoutingTableID: in.RoutingTableID, CreatedAt: now, UpdatedAt: now}
	return c, c.Validate()
}

func handleCreateContactType(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		c, err := d.contactTypeFrom(w, r)
		if err != nil {
			return err
		}
		if c, err = d.Routing.CreateContactType(r.Context(), c); err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, toContactTypeJSON(c))
		return nil
	}
}

func handleUpdateContactType(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		id, err := pathID(r)
		if err != nil {
			return err
		}
		c, err := d.contactTypeFrom(w, r)
		if err != nil {
			return err
		}
		c.ID = id
		if c, err = d.Routing.UpdateContactType(r.Context(), c); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toContactTypeJSON(c))
		return nil
	}
}

func handleGetContactType(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		c, err := d.Routing.GetContactType(r.Context(), currentUser(r).AccountID, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toContactTypeJSON(c))
		return nil
	}
}

func handleListContactTypes(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		cs, next, err := d.Routing.ListContactTypes(r.Context(), currentUser(r).AccountID, page)
		if err != nil {
			return err
		}
		writePage(w, cs, next, toContactTypeJSON)
		return nil
	}
}
