package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/outcomes"
)

// What an open conversation led to: its linked records, its outcomes and
// the suggestions waiting for a person, in a pane of their own under the
// thread (?pane=outcomes) that the stream refreshes on outcome and
// suggestion events. Every handler first checks that the signed-in user
// may see the conversation, as the API does; the store scopes each id to
// the account, so another account's record or outcome is not found.

// The pane's own query words: a record search, and the suggestion under
// review in the add form. They are the pane's state, not the list's.
const (
	paramRecordQuery = "record_q"
	paramRecordType  = "record_type"
	paramReview      = "review"
)

// recordSearchLimit is how many records a search offers.
const recordSearchLimit = 10

// outcomesData is the records, outcomes and suggestions pane.
type outcomesData struct {
	Conv conversations.Conversation
	// URL is the thread (with the list's query), where forms return;
	// Src the pane's address now (with its search or review), Home the
	// pane's address without them.
	URL, Src, Home string
	// ListParams are the list's query words, kept by the search form.
	ListParams  url.Values
	Links       []outcomes.Link
	Outcomes    []outcomes.Outcome
	Suggestions []outcomes.Suggestion
	Names       map[parley.ID]string

	RecordQuery string
	RecordType  outcomes.RecordType
	Searched    bool
	Found       []outcomes.Record // the search's records not linked yet
	RecordTypes []outcomes.RecordType

	Types []outcomes.Type
	// Choices are the records the add form offers: the linked ones, and
	// the reviewed suggestion's record.
	Choices []outcomes.Record
	Form    outcomeForm
}

// outcomeForm is the add form's values: empty, or a suggestion's under
// review (saving it accepts the suggestion).
type outcomeForm struct {
	Review   *outcomes.Suggestion
	Type     outcomes.Type
	RecordID parley.ID
}

// Action is where the add form posts.
func (d *outcomesData) Action() string {
	base := "/inbox/conversations/" + d.Conv.ID.String()
	if d.Form.Review != nil {
		return base + "/suggestions/" + d.Form.Review.ID.String() + "/accept"
	}
	return base + "/outcomes"
}

// ReviewURL is the thread with suggestion s's outcome in the add form.
func (d *outcomesData) ReviewURL(s outcomes.Suggestion) string {
	return withParam(d.URL, paramReview, s.ID.String())
}

// Who names who added an outcome.
func (d *outcomesData) Who(o outcomes.Outcome) string {
	switch {
	case o.CreatedBy != nil && d.Names[*o.CreatedBy] != "":
		return d.Names[*o.CreatedBy]
	case o.CreatedBy != nil:
		return "User " + o.CreatedBy.String()
	case o.Source == outcomes.SourceAPI:
		return "An integration"
	}
	return "Parley"
}

// Fits reports whether record r may go with an outcome of the form's type.
func (d *outcomesData) Fits(r outcomes.Record) bool {
	return d.Form.Type == "" || d.Form.Type.Fits(r.Type)
}

func (s *Server) outcomeRoutes(r *mux.Router) {
	post := func(path string, h handlerFunc) {
		r.Handle("/inbox/conversations/{id}/"+path, s.page(h)).Methods(http.MethodPost)
	}
	post("links", s.linkRecord)
	post("links/{record_id}/delete", s.unlinkRecord)
	post("outcomes", s.addOutcome)
	post("outcomes/{outcome_id}/delete", s.deleteOutcome)
	post("suggestions/{suggestion_id}/accept", s.acceptSuggestion)
	post("suggestions/{suggestion_id}/dismiss", s.dismissSuggestion)
}

// outcomesPane answers ?pane=outcomes: that pane alone, without the
// thread (which a refresh of this pane must not mark read).
func (s *Server) outcomesPane(w http.ResponseWriter, r *http.Request, conv conversations.Conversation, title string) error {
	o, err := s.loadOutcomes(r, conv)
	if err != nil {
		return err
	}
	return s.render(w, r, "inbox", title, inboxData{Thread: &threadData{Conv: conv, Outcomes: o}})
}

func (s *Server) loadOutcomes(r *http.Request, conv conversations.Conversation) (*outcomesData, error) {
	ctx := r.Context()
	u := me(r)
	query := r.URL.Query()
	d := &outcomesData{Conv: conv, URL: conversationURL(conv.ID, listQuery(r)), Types: outcomes.Types,
		RecordTypes: outcomes.RecordTypes, ListParams: url.Values{}}
	for k, v := range query {
		if !slices.Contains(paneWords, k) {
			d.ListParams[k] = v
		}
	}
	d.Home = withParam(d.URL, "pane", "outcomes")
	d.Src = d.Home
	var err error
	if d.Links, err = s.d.Outcomes.ListLinks(ctx, u.AccountID, conv.ID); err != nil {
		return nil, err
	}
	if d.Outcomes, err = s.d.Outcomes.ListOutcomes(ctx, u.AccountID, conv.ID); err != nil {
		return nil, err
	}
	if d.Suggestions, err = s.d.Outcomes.ListSuggestions(ctx, u.AccountID, conv.ID); err != nil {
		return nil, err
	}
	users, err := s.allUsers(ctx, u.AccountID)
	if err != nil {
		return nil, err
	}
	d.Names = map[parley.ID]string{}
	for _, x := range users {
		d.Names[x.ID] = x.Name
	}
	for _, l := range d.Links {
		d.Choices = append(d.Choices, l.Record)
	}
	if err := s.searchRecords(r, d); err != nil {
		return nil, err
	}
	d.review(query.Get(paramReview))
	return d, nil
}

// searchRecords finds the account's records for the pane's search, by
// title or external id, and of a type when one is chosen.
func (s *Server) searchRecords(r *http.Request, d *outcomesData) error {
	query := r.URL.Query()
	d.RecordQuery = strings.TrimSpace(query.Get(paramRecordQuery))
	d.RecordType = outcomes.RecordType(query.Get(paramRecordType))
	if !d.RecordType.Valid() {
		d.RecordType = ""
	}
	if d.RecordQuery == "" && !query.Has(paramRecordType) {
		return nil
	}
	d.Searched = true
	d.Src = withParam(withParam(d.Src, paramRecordQuery, d.RecordQuery), paramRecordType, string(d.RecordType))
	found, err := s.d.Outcomes.ListRecords(r.Context(), outcomes.RecordFilter{AccountID: me(r).AccountID,
		Type: d.RecordType, Query: d.RecordQuery, Page: parley.Page{Limit: recordSearchLimit}})
	if err != nil {
		return err
	}
	d.Found = slices.DeleteFunc(found, func(rec outcomes.Record) bool {
		return slices.ContainsFunc(d.Links, func(l outcomes.Link) bool { return l.Record.ID == rec.ID })
	})
	return nil
}

// review prefills the add form with pending suggestion raw's type and
// record; a suggestion no longer pending leaves the form empty.
func (d *outcomesData) review(raw string) {
	id, err := parley.ParseID(raw)
	if err != nil {
		return
	}
	at := slices.IndexFunc(d.Suggestions, func(s outcomes.Suggestion) bool { return s.ID == id })
	if at < 0 {
		return
	}
	sg := d.Suggestions[at]
	d.Form = outcomeForm{Review: &sg, Type: sg.Type}
	d.Src = withParam(d.Src, paramReview, raw)
	if sg.Record == nil {
		return
	}
	d.Form.RecordID = sg.Record.ID
	if !slices.ContainsFunc(d.Choices, func(r outcomes.Record) bool { return r.ID == sg.Record.ID }) {
		d.Choices = append(d.Choices, *sg.Record)
	}
}

// seen is visible for the outcomes pane and its forms: a conversation the
// user may not see is not found, as in the API's outcomes routes, so that
// they do not tell an agent which conversations exist.
func (s *Server) seen(r *http.Request) (conversations.Conversation, error) {
	conv, err := s.visible(r)
	return conv, unseen(err)
}

// unseen turns refusing a conversation the user may not see into not
// finding it.
func unseen(err error) error {
	if parley.IsKind(err, parley.EFORBIDDEN) {
		return parley.Errorf(parley.ENOTFOUND, "there is no such conversation")
	}
	return err
}

// visibleTarget is the {id} conversation the user may see, and the id in
// the path variable name (a malformed one is not found).
func (s *Server) visibleTarget(r *http.Request, name string) (conversations.Conversation, parley.ID, error) {
	conv, err := s.seen(r)
	if err != nil {
		return conv, 0, err
	}
	id, err := varID(r, name)
	return conv, id, err
}

func (s *Server) linkRecord(w http.ResponseWriter, r *http.Request) error {
	conv, err := s.seen(r)
	if err != nil {
		return err
	}
	recordID, err := formRecordID(r)
	if err != nil {
		return err
	}
	if recordID == nil {
		return parley.Invalid(map[string]string{"record_id": "is required: choose a record"})
	}
	u := me(r)
	if _, _, err := s.d.Outcomes.LinkRecord(r.Context(), u.AccountID, conv.ID, *recordID, &u.ID, s.d.Clock.Now()); err != nil {
		return err
	}
	return done(w, r, r.PostFormValue("next"))
}

func (s *Server) unlinkRecord(w http.ResponseWriter, r *http.Request) error {
	conv, recordID, err := s.visibleTarget(r, "record_id")
	if err != nil {
		return err
	}
	u := me(r)
	if err := s.d.Outcomes.UnlinkRecord(r.Context(), u.AccountID, conv.ID, recordID, &u.ID, s.d.Clock.Now()); err != nil {
		return err
	}
	return done(w, r, r.PostFormValue("next"))
}

// outcomeFields reads the add form: the record, notes, and the amount and
// currency as the outcome's metadata. A record must be the account's and
// fit the type (the store checks both again).
func (s *Server) outcomeFields(r *http.Request, t outcomes.Type) (recordID *parley.ID, notes string, meta json.RawMessage, err error) {
	if recordID, err = formRecordID(r); err != nil {
		return nil, "", nil, err
	}
	money, bad := outcomes.ParseMoney(r.PostFormValue("amount"), strings.ToUpper(strings.TrimSpace(r.PostFormValue("currency"))))
	if len(bad) > 0 {
		return nil, "", nil, parley.Invalid(bad)
	}
	if money != nil {
		meta, _ = json.Marshal(map[string]string{"amount": money.String(), "currency": money.Currency})
	}
	if recordID != nil && t.Valid() {
		rec, err := s.d.Outcomes.GetRecord(r.Context(), me(r).AccountID, *recordID)
		if err != nil {
			return nil, "", nil, err
		}
		if err := outcomes.FitRecord(t, rec); err != nil {
			return nil, "", nil, err
		}
	}
	return recordID, strings.TrimSpace(r.PostFormValue("notes")), meta, nil
}

// formRecordID is the form's record_id: nil when none was chosen.
func formRecordID(r *http.Request) (*parley.ID, error) {
	raw := r.PostFormValue("record_id")
	if raw == "" {
		return nil, nil
	}
	id, err := parley.ParseID(raw)
	if err != nil {
		return nil, parley.Errorf(parley.ENOTFOUND, "there is no such record")
	}
	return &id, nil
}

func (s *Server) addOutcome(w http.ResponseWriter, r *http.Request) error {
	conv, err := s.seen(r)
	if err != nil {
		return err
	}
	u := me(r)
	t := outcomes.Type(r.PostFormValue("type"))
	recordID, notes, meta, err := s.outcomeFields(r, t)
	if err != nil {
		return err
	}
	n := outcomes.NewOutcome{AccountID: u.AccountID, ConversationID: conv.ID, Type: t, RecordID: recordID, Notes: notes,
		Metadata: meta, Source: outcomes.SourceManual, CreatedBy: &u.ID, At: s.d.Clock.Now()}
	amount, err := n.Validate()
	if err != nil {
		return err
	}
	if _, _, err := s.d.Outcomes.CreateOutcome(r.Context(), n, amount); err != nil {
		return err
	}
	return done(w, r, r.PostFormValue("next"))
}

func (s *Server) deleteOutcome(w http.ResponseWriter, r *http.Request) error {
	conv, id, err := s.visibleTarget(r, "outcome_id")
	if err != nil {
		return err
	}
	u := me(r)
	o, err := s.d.Outcomes.GetOutcome(r.Context(), u.AccountID, id)
	if err != nil {
		return err
	}
	if o.ConversationID != conv.ID {
		return parley.Errorf(parley.ENOTFOUND, "this conversation has no such outcome")
	}
	if _, err := s.d.Outcomes.DeleteOutcome(r.Context(), u.AccountID, id, u.ID, s.d.Clock.Now()); err != nil {
		return err
	}
	return done(w, r, r.PostFormValue("next"))
}

// suggestionOf is the {suggestion_id} suggestion of the {id} conversation
// the user may see.
func (s *Server) suggestionOf(r *http.Request) (outcomes.Suggestion, error) {
	conv, id, err := s.visibleTarget(r, "suggestion_id")
	if err != nil {
		return outcomes.Suggestion{}, err
	}
	sg, err := s.d.Outcomes.GetSuggestion(r.Context(), me(r).AccountID, id)
	if err != nil {
		return sg, err
	}
	if sg.ConversationID != conv.ID {
		return sg, parley.Errorf(parley.ENOTFOUND, "this conversation has no such suggestion")
	}
	return sg, nil
}

// acceptSuggestion saves the reviewed suggestion's outcome with the
// notes, amount and record the person chose.
func (s *Server) acceptSuggestion(w http.ResponseWriter, r *http.Request) error {
	sg, err := s.suggestionOf(r)
	if err != nil {
		return err
	}
	u := me(r)
	recordID, notes, meta, err := s.outcomeFields(r, sg.Type)
	if err != nil {
		return err
	}
	// The same checks as an outcome added by hand (notes, metadata).
	n := outcomes.NewOutcome{Type: sg.Type, Notes: notes, Metadata: meta}
	amount, err := n.Validate()
	if err != nil {
		return err
	}
	a := outcomes.Accept{SuggestionID: sg.ID, Notes: notes, Metadata: n.Metadata, RecordID: recordID, By: u.ID, At: s.d.Clock.Now()}
	if _, err := s.d.Outcomes.AcceptSuggestion(r.Context(), u.AccountID, a, amount); err != nil {
		return err
	}
	return done(w, r, r.PostFormValue("next"))
}

func (s *Server) dismissSuggestion(w http.ResponseWriter, r *http.Request) error {
	sg, err := s.suggestionOf(r)
	if err != nil {
		return err
	}
	u := me(r)
	if err := s.d.Outcomes.DismissSuggestion(r.Context(), u.AccountID, sg.ID, u.ID, s.d.Clock.Now()); err != nil {
		return err
	}
	return done(w, r, r.PostFormValue("next"))
}
