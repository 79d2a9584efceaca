package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/routing"
)

// Contacts: a searchable list a page at a time, a record page with the
// contact's conversations, and forms to create and edit a contact. They
// call the domain as the API's /v1/contacts handlers do.

func (s *Server) contactRoutes(r *mux.Router) {
	r.Handle("/contacts", s.page(s.contacts)).Methods(http.MethodGet)
	r.Handle("/contacts", s.page(s.createContact)).Methods(http.MethodPost)
	r.Handle("/contacts/new", s.page(s.newContact)).Methods(http.MethodGet)
	r.Handle("/contacts/{id:[0-9]+}", s.page(s.contact)).Methods(http.MethodGet)
	r.Handle("/contacts/{id:[0-9]+}/edit", s.page(s.editContact)).Methods(http.MethodGet)
	r.Handle("/contacts/{id:[0-9]+}", s.page(s.updateContact)).Methods(http.MethodPost)
}

// contactsData is the contact list: one page of a search.
type contactsData struct {
	Query    string
	Contacts []conversations.Contact
	Next     string // cursor of the next page; empty on the last
	Paged    bool   // this is not the first page
}

func (s *Server) contacts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := conversations.ContactFilter{AccountID: me(r).AccountID, Query: strings.TrimSpace(q.Get("q")),
		Page: conversations.Page{Cursor: q.Get("cursor")}.Normalize()}
	if err := f.Validate(); err != nil {
		return err
	}
	list, next, err := s.d.Store.FindContacts(r.Context(), f)
	if err != nil {
		return err
	}
	return s.render(w, r, "contacts", "Contacts", contactsData{Query: f.Query, Contacts: list, Next: next, Paged: f.Page.Cursor != ""})
}

// contactForm is the create and edit form: the contact as typed, and the
// account's contact types to choose from.
type contactForm struct {
	Contact    conversations.Contact
	Phones     string // one a line
	Attributes string // a JSON object
	Types      []string
}

func (s *Server) contactForm(ctx context.Context, c conversations.Contact) (contactForm, error) {
	f := contactForm{Contact: c, Phones: strings.Join(c.Phones, "\n"), Attributes: "{}"}
	if len(c.Attributes) > 0 {
		b, err := json.MarshalIndent(c.Attributes, "", "  ")
		if err != nil {
			return f, err
		}
		f.Attributes = string(b)
	}
	types, err := routing.ContactTypes(ctx, s.d.Routing, c.AccountID)
	if err != nil {
		return f, err
	}
	for _, t := range types {
		f.Types = append(f.Types, t.Name)
	}
	return f, nil
}

func (s *Server) newContact(w http.ResponseWriter, r *http.Request) error {
	f, err := s.contactForm(r.Context(), conversations.Contact{AccountID: me(r).AccountID})
	if err != nil {
		return err
	}
	return s.render(w, r, "contact_form", "New contact", f)
}

// contactFields reads the form's fields as the API's contact body.
func contactFields(r *http.Request) (name, typ string, phones []string, attrs map[string]any, err error) {
	attrs = map[string]any{}
	if raw := strings.TrimSpace(r.PostFormValue("attributes")); raw != "" {
		if json.Unmarshal([]byte(raw), &attrs) != nil || attrs == nil {
			return "", "", nil, nil, parley.Invalid(map[string]string{"attributes": "must be a JSON object, like {\"city\": \"Lyon\"}"})
		}
	}
	return r.PostFormValue("name"), r.PostFormValue("type"), splitEntries(r.PostFormValue("phones")), attrs, nil
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request) error {
	name, typ, phones, attrs, err := contactFields(r)
	if err != nil {
		return err
	}
	now := s.d.Clock.Now()
	c := conversations.Contact{AccountID: me(r).AccountID, Name: name, Type: typ, Attributes: attrs, Phones: phones,
		CreatedAt: now, UpdatedAt: now}
	if err := c.ValidateNew(); err != nil {
		return err
	}
	c, err = s.d.Store.CreateContact(r.Context(), c)
	if err != nil {
		return err
	}
	return done(w, r, "/contacts/"+c.ID.String())
}

// contactData is a contact's record page: the contact, and its
// Conversations tab or its edit form.
type contactData struct {
	Contact conversations.Contact
	Tab     string // "conversations" or "edit"
	// Conversations are the contact's conversations the user may see.
	Conversations []conversations.Conversation
	Next          string
	// OnlyMine: an agent sees only the conversations assigned to them.
	OnlyMine  bool
	Assignees map[parley.ID]string
	Form      contactForm
}

// Assignee names the user a conversation is assigned to.
func (d contactData) Assignee(c conversations.Conversation) string {
	if c.AssigneeID == nil {
		return "Unassigned"
	}
	return d.Assignees[*c.AssigneeID]
}

func (s *Server) loadContact(r *http.Request) (conversations.Contact, error) {
	id, err := pathID(r)
	if err != nil {
		return conversations.Contact{}, err
	}
	return s.d.Store.GetContact(r.Context(), me(r).AccountID, id)
}

func (s *Server) contact(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadContact(r)
	if err != nil {
		return err
	}
	u := me(r)
	f := conversations.ContactConversations(u, c.ID, conversations.Page{Cursor: r.URL.Query().Get("cursor")}.Normalize())
	convs, next, err := s.d.Store.FindConversations(r.Context(), f)
	if err != nil {
		return err
	}
	names, err := s.accountUserNames(r.Context(), u.AccountID)
	if err != nil {
		return err
	}
	return s.render(w, r, "contact", contactTitle(c), contactData{Contact: c, Tab: "conversations", Conversations: convs,
		Next: next, OnlyMine: !u.CanViewAll(), Assignees: names})
}

func (s *Server) editContact(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadContact(r)
	if err != nil {
		return err
	}
	form, err := s.contactForm(r.Context(), c)
	if err != nil {
		return err
	}
	names, err := s.accountUserNames(r.Context(), c.AccountID)
	if err != nil {
		return err
	}
	return s.render(w, r, "contact", "Edit "+contactTitle(c), contactData{Contact: c, Tab: "edit", Form: form, Assignees: names})
}

// updateContact applies the edit form as PATCH /v1/contacts/{id} would:
// every field of the form is set, the phone list replaced.
func (s *Server) updateContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	name, typ, phones, attrs, err := contactFields(r)
	if err != nil {
		return err
	}
	p := conversations.ContactPatch{Name: &name, Type: &typ, Attributes: &attrs, Phones: &phones}
	c, err := s.d.Staff.UpdateContact(r.Context(), me(r).AccountID, id, p, s.d.Clock.Now())
	if err != nil {
		return err
	}
	return done(w, r, "/contacts/"+c.ID.String())
}

// contactTitle names a contact: its name, else its first phone.
func contactTitle(c conversations.Contact) string {
	switch {
	case c.Name != "":
		return c.Name
	case len(c.Phones) > 0:
		return c.Phones[0]
	}
	return "Contact " + c.ID.String()
}

// accountUserNames maps the account's users to their names, for showing who a
// conversation is assigned to or who did something.
func (s *Server) accountUserNames(ctx context.Context, accountID parley.ID) (map[parley.ID]string, error) {
	users, err := s.allUsers(ctx, accountID)
	if err != nil {
		return nil, err
	}
	names := map[parley.ID]string{}
	for _, u := range users {
		names[u.ID] = u.Name
	}
	return names, nil
}

// splitEntries reads a text box of items one a line or separated by commas
// or semicolons, without the blanks.
func splitEntries(s string) []string {
	out := []string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ';' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
