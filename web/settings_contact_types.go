package web

import (
	"net/http"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/routing"
)

// Contact types: a kind of contact names the relationship a routed user
// gets with it and the routing table that routes it.

type contactTypesData struct {
	Types  []routing.ContactType
	Tables []routing.Table
}

func (s *Server) contactTypes(w http.ResponseWriter, r *http.Request) error {
	accountID := me(r).AccountID
	var data contactTypesData
	var err error
	if data.Types, err = routing.ContactTypes(r.Context(), s.d.Routing, accountID); err != nil {
		return err
	}
	if data.Tables, err = routing.Tables(r.Context(), s.d.Routing, accountID); err != nil {
		return err
	}
	return s.render(w, r, "settings_contact_types", "Contact types", data)
}

// contactTypeFromForm reads and validates a contact type's form.
func (s *Server) contactTypeFromForm(r *http.Request) (routing.ContactType, error) {
	now := s.d.Clock.Now()
	c := routing.ContactType{AccountID: me(r).AccountID, Name: r.PostFormValue("name"),
		Relationship: r.PostFormValue("relationship"), CreatedAt: now, UpdatedAt: now}
	fields := map[string]string{}
	c.RoutingTableID = formID(r.PostFormValue("routing_table_id"), "routing_table_id", "no such routing table", fields)
	if len(fields) > 0 {
		return c, parley.Invalid(fields)
	}
	return c, c.Validate()
}

func (s *Server) createContactType(w http.ResponseWriter, r *http.Request) error {
	c, err := s.contactTypeFromForm(r)
	if err != nil {
		return err
	}
	if _, err := s.d.Routing.CreateContactType(r.Context(), c); err != nil {
		return err
	}
	return done(w, r, "/settings/contact-types")
}

// updateContactType replaces a contact type's name, relationship and
// table (the API's PUT).
func (s *Server) updateContactType(w http.ResponseWriter, r *http.Request) error {
	id, err := varID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.contactTypeFromForm(r)
	if err != nil {
		return err
	}
	c.ID = id
	if _, err := s.d.Routing.UpdateContactType(r.Context(), c); err != nil {
		return err
	}
	return done(w, r, "/settings/contact-types")
}
