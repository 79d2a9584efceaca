package web

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/routing"
)

// settingsRoutingRoutes: routing tables, contact types and outbound
// webhooks, the admin settings that shape where texts and events go.
func (s *Server) settingsRoutingRoutes(r *mux.Router) {
	get := func(path string, h handlerFunc) {
		r.Handle(path, s.adminPage(h)).Methods(http.MethodGet, http.MethodHead)
	}
	post := func(path string, h handlerFunc) { r.Handle(path, s.adminPage(h)).Methods(http.MethodPost) }

	get("/settings/routing", s.routingTables)
	get("/settings/routing/new", s.newRoutingTable)
	post("/settings/routing", s.createRoutingTable)
	get("/settings/routing/{id:[0-9]+}", s.routingTable)
	post("/settings/routing/{id:[0-9]+}", s.replaceRoutingTable)
	post("/settings/routing/{id:[0-9]+}/delete", s.deleteRoutingTable)

	get("/settings/contact-types", s.contactTypes)
	post("/settings/contact-types", s.createContactType)
	post("/settings/contact-types/{id:[0-9]+}", s.updateContactType)

	get("/settings/webhooks", s.webhooks)
	post("/settings/webhooks", s.createWebhook)
	get("/settings/webhooks/{id:[0-9]+}", s.webhook)
	post("/settings/webhooks/{id:[0-9]+}", s.onEndpoint(s.changeWebhook))
	post("/settings/webhooks/{id:[0-9]+}/enabled", s.onEndpoint(s.enableWebhook))
	post("/settings/webhooks/{id:[0-9]+}/rotate", s.rotateWebhookSecret)
	post("/settings/webhooks/{id:[0-9]+}/test", s.onEndpoint(s.testWebhook))
	post("/settings/webhooks/{id:[0-9]+}/delete", s.onEndpoint(s.deleteWebhook))
	post("/settings/webhooks/{id:[0-9]+}/deliveries/{delivery:[0-9]+}/retry", s.onEndpoint(s.retryWebhookDelivery))
}

// routingTablesData is the routing tables' list.
type routingTablesData struct {
	Tables []routingTableRow
}

type routingTableRow struct {
	routing.Table
	// ContactTypes are the names of the contact types it routes.
	ContactTypes []string
}

func (s *Server) routingTables(w http.ResponseWriter, r *http.Request) error {
	accountID := me(r).AccountID
	tables, err := routing.Tables(r.Context(), s.d.Routing, accountID)
	if err != nil {
		return err
	}
	types, err := routing.ContactTypes(r.Context(), s.d.Routing, accountID)
	if err != nil {
		return err
	}
	data := routingTablesData{}
	for _, t := range tables {
		row := routingTableRow{Table: t}
		for _, c := range types {
			if c.RoutingTableID != nil && *c.RoutingTableID == t.ID {
				row.ContactTypes = append(row.ContactTypes, c.Name)
			}
		}
		data.Tables = append(data.Tables, row)
	}
	return s.render(w, r, "settings_routing", "Routing", data)
}

// tableEditor is the page that makes or changes a routing table, with
// the simulate panel once the table is saved.
type tableEditor struct {
	Table   routing.Table // its id (0 for a new one), name and default
	Entries []entryForm
	// Errors are the table's own problems (name, entries, a conflict).
	Errors       []string
	Saved        bool
	Dir          routing.Directory
	ContactTypes []routing.ContactType
	Strategies   []routing.Strategy
	Simulate     *simulatePanel
}

// Action is where the editor's form posts.
func (e tableEditor) Action() string {
	if e.Table.ID == 0 {
		return "/settings/routing"
	}
	return "/settings/routing/" + e.Table.ID.String()
}

// simulatePanel asks who the saved table would pick for a contact now.
type simulatePanel struct {
	Conversations []conversations.Conversation
	ContactID     string
	Phone         string
	// Result is the decision when one was asked for.
	Result *simulation
	Error  string
}

// simulation is routing's decision as the simulate endpoint returns it,
// with the names a person needs.
type simulation struct {
	routing.Decision
	Contact  conversations.Contact
	UserName string
}

// Entry is the 1-based number of the deciding entry.
func (s simulation) Entry() int { return s.EntryIndex + 1 }

func (s *Server) newRoutingTable(w http.ResponseWriter, r *http.Request) error {
	ed, err := s.tableEditor(r, routing.Table{})
	if err != nil {
		return err
	}
	ed.Entries = []entryForm{blankEntry(0, ed.Dir)}
	return s.render(w, r, "settings_routing_table", "New routing table", ed)
}

// pathTable reads the {id} routing table of the admin's account.
func (s *Server) pathTable(r *http.Request) (routing.Table, error) {
	id, err := varID(r, "id")
	if err != nil {
		return routing.Table{}, err
	}
	return s.d.Routing.GetRoutingTable(r.Context(), me(r).AccountID, id)
}

func (s *Server) routingTable(w http.ResponseWriter, r *http.Request) error {
	t, err := s.pathTable(r)
	if err != nil {
		return err
	}
	ed, err := s.tableEditor(r, t)
	if err != nil {
		return err
	}
	for i, e := range t.Entries {
		ed.Entries = append(ed.Entries, entryFormOf(i, e, ed.Dir))
	}
	ed.Saved = r.URL.Query().Get("saved") != ""
	if ed.Simulate, err = s.simulatePanel(r, t); err != nil {
		return err
	}
	return s.render(w, r, "settings_routing_table", t.Name, ed)
}

// tableEditor loads what the editor offers to pick.
func (s *Server) tableEditor(r *http.Request, t routing.Table) (tableEditor, error) {
	accountID := me(r).AccountID
	ed := tableEditor{Table: t, Strategies: []routing.Strategy{routing.RoundRobin, routing.LeastBusy, routing.Priority}}
	var err error
	if ed.Dir, err = routing.LoadDirectory(r.Context(), s.d.Store, accountID); err != nil {
		return ed, err
	}
	ed.ContactTypes, err = routing.ContactTypes(r.Context(), s.d.Routing, accountID)
	return ed, err
}

// simulatePanel reads the recent conversations to pick from and, when a
// contact (or a phone) was given, runs the simulation.
func (s *Server) simulatePanel(r *http.Request, t routing.Table) (*simulatePanel, error) {
	q := r.URL.Query()
	p := &simulatePanel{ContactID: q.Get("contact_id"), Phone: strings.TrimSpace(q.Get("phone"))}
	convs, _, err := s.d.Store.FindConversations(r.Context(), conversations.ConversationFilter{AccountID: t.AccountID, Page: parley.Page{}.Normalize()})
	if err != nil {
		return nil, err
	}
	p.Conversations = convs
	contactID, err := s.simulatedContact(r, p)
	if err != nil || contactID == 0 {
		if err != nil && !isShown(err) {
			return nil, err
		}
		if err != nil {
			p.Error = errorText(err)
		}
		return p, nil
	}
	dec, err := routing.Simulate(r.Context(), s.d.Routing, t.AccountID, t.ID, contactID)
	if err != nil {
		if !isShown(err) {
			return nil, err
		}
		p.Error = errorText(err)
		return p, nil
	}
	sim := &simulation{Decision: dec}
	if sim.Contact, err = s.d.Store.GetContact(r.Context(), t.AccountID, contactID); err != nil {
		return nil, err
	}
	if dec.UserID != nil {
		if u, err := s.d.Store.GetUser(r.Context(), t.AccountID, *dec.UserID); err == nil {
			sim.UserName = u.Name
		}
	}
	// Routing explains itself in the API's words (entries[0], user 7);
	// the page says Entry 1 and the user's name.
	sim.Reason = entryWords(sim.Reason)
	if sim.UserName != "" {
		sim.Reason = strings.Replace(sim.Reason, "user "+dec.UserID.String(), sim.UserName, 1)
	}
	sim.Passed = make([]string, len(dec.Passed))
	for i, why := range dec.Passed {
		sim.Passed[i] = entryWords(why)
	}
	p.Result = sim
	return p, nil
}

// simulatedContact is the contact the simulate form names: by phone when
// one is typed, else the picked conversation's contact; 0 when neither.
func (s *Server) simulatedContact(r *http.Request, p *simulatePanel) (parley.ID, error) {
	if p.Phone != "" {
		phone, err := conversations.NormalizePhone(p.Phone)
		if err != nil {
			return 0, parley.Invalid(map[string]string{"phone": "must be a phone number in international form, like +15551230001"})
		}
		cs, _, err := s.d.Store.FindContacts(r.Context(), conversations.ContactFilter{AccountID: me(r).AccountID, Phone: phone, Page: parley.Page{Limit: 1}})
		if err != nil {
			return 0, err
		}
		if len(cs) == 0 {
			return 0, parley.Errorf(parley.ENOTFOUND, "No contact has the phone %s.", phone)
		}
		return cs[0].ID, nil
	}
	if p.ContactID == "" {
		return 0, nil
	}
	id, err := parley.ParseID(p.ContactID)
	if err != nil {
		return 0, parley.Invalid(map[string]string{"contact_id": "no such contact"})
	}
	return id, nil
}

// isShown reports whether err is a problem to show on the page (the
// person's to fix) rather than a failure.
func isShown(err error) bool {
	return errorStatus(err) < http.StatusInternalServerError
}

func (s *Server) createRoutingTable(w http.ResponseWriter, r *http.Request) error {
	return s.saveRoutingTable(w, r, routing.Table{})
}

func (s *Server) replaceRoutingTable(w http.ResponseWriter, r *http.Request) error {
	t, err := s.pathTable(r)
	if err != nil {
		return err
	}
	return s.saveRoutingTable(w, r, t)
}

// saveRoutingTable answers the editor's form: its Add, Remove and Move up
// buttons re-render the form as typed, changed; Save creates or replaces
// (PUT) the table. A table that does not validate comes back as typed,
// with each problem beside its entry.
func (s *Server) saveRoutingTable(w http.ResponseWriter, r *http.Request, saved routing.Table) error {
	ed, err := s.tableEditor(r, saved)
	if err != nil {
		return err
	}
	ed.Table.Name = r.PostFormValue("name")
	ed.Table.Default = r.PostFormValue("default") != ""
	ed.Entries = entriesFromForm(r.PostForm, ed.Dir)
	title := "New routing table"
	if saved.ID != 0 {
		title = saved.Name
	}
	if ed.editAction(r.PostFormValue("action")) {
		return s.render(w, r, "settings_routing_table", title, ed)
	}
	now := s.d.Clock.Now()
	t := routing.Table{ID: saved.ID, AccountID: me(r).AccountID, Name: ed.Table.Name, Default: ed.Table.Default, CreatedAt: now, UpdatedAt: now}
	fields := map[string]string{}
	for _, e := range ed.Entries {
		t.Entries = append(t.Entries, e.entry(fields))
	}
	err = ed.Dir.Validate(&t)
	if len(fields) > 0 {
		err = parley.MergeInvalid(parley.Invalid(fields), err) // the form's own words first
	}
	if err == nil {
		if saved.ID == 0 {
			t, err = s.d.Routing.CreateRoutingTable(r.Context(), t)
		} else {
			t, err = s.d.Routing.ReplaceRoutingTable(r.Context(), t)
		}
	}
	if err != nil {
		if !isShown(err) || parley.IsKind(err, parley.ENOTFOUND) {
			return err
		}
		ed.showErrors(err)
		return s.renderStatus(w, r, errorStatus(err), "settings_routing_table", title, ed)
	}
	return done(w, r, "/settings/routing/"+t.ID.String()+"?saved=1")
}

func (s *Server) deleteRoutingTable(w http.ResponseWriter, r *http.Request) error {
	id, err := varID(r, "id")
	if err != nil {
		return err
	}
	if err := s.d.Routing.DeleteRoutingTable(r.Context(), me(r).AccountID, id); err != nil {
		return err
	}
	return done(w, r, "/settings/routing")
}

// StrategyLabel says how the deciding entry picked.
func (s simulation) StrategyLabel() string { return strategyLabel(s.Strategy) }
