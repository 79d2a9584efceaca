package web

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/outcomes"
)

// The inbox is one page of three panes: the list (this file), the thread
// and its details (thread.go). /inbox shows the list alone;
// /inbox/conversations/{id} shows all three. Both keep the list's filters
// in the query string, and ?pane=list|thread|details renders one pane.
//
// The list reads the query words of GET /v1/conversations
// (conversations.ParseListQuery: view, status, inbox_id, assignee_id,
// priority, outcome, outcome_absent, tag_id, tag_type, final_tag_id,
// final_tag_type, q) and cursor, so a list's URL is the
// API's.

func (s *Server) inboxRoutes(r *mux.Router) {
	r.Handle("/inbox", s.page(s.inbox)).Methods(http.MethodGet)
	s.threadRoutes(r)
}

// inboxData is the inbox page's data: the list, and the open thread when
// one is open.
type inboxData struct {
	List   listData
	Thread *threadData
}

// listData is the conversation list pane.
type listData struct {
	// Conversations are the page's conversations, newest activity first;
	// Rows the same with what each row shows.
	Conversations []conversations.Conversation
	Rows          []listRow
	View          conversations.View
	Views         []conversations.View // the view tabs the user may choose
	Statuses      []conversations.Status
	Status        string // the status tab's value: "" for all statuses
	Priorities    []conversations.Priority
	Filter        conversations.ConversationFilter
	Inboxes       []conversations.Inbox
	// ManyNumbers: the account texts from more than one number, so each
	// row says which one its thread is on (a contact may have one on each).
	ManyNumbers   bool
	Assignees     []conversations.User // for the assignee filter: only for those who see all
	Filtered      int                  // how many of inbox, assignee, priority and outcome are chosen
	Src           string               // the pane's own URL
	Older, Newest string               // the next page's link, the first page's; "" when none
	// OutcomeTypes are the Outcome filter's types; Outcome its choice:
	// "" for any, a type, outcomeNone, or the outcome= of a link that
	// lists several, OutcomeList. KeepAbsent is an outcome_absent the
	// choice does not show, for the form to keep.
	OutcomeTypes []outcomes.Type
	Outcome      string
	OutcomeList  []outcomes.Type
	KeepAbsent   string
	// Tags are all the account's tags (archived ones too: conversations
	// keep them) for the Tag and Final tag filters; TagTypes the tagging
	// types for theirs.
	Tags     []conversations.Tag
	TagTypes []conversations.TagType
}

// TagChosen reports whether a tag filter's choice is tag id.
func (listData) TagChosen(choice *parley.ID, id parley.ID) bool {
	return choice != nil && *choice == id
}

// tagFilters counts the tag filters chosen.
func (d *listData) tagFilters(f conversations.ConversationFilter) {
	for _, on := range []bool{f.TagID != nil, f.TagType != "", f.FinalTagID != nil, f.FinalTagType != ""} {
		if on {
			d.Filtered++
		}
	}
}

// listRow is one conversation of the list.
type listRow struct {
	conversations.Conversation
	Glance  conversations.Glance
	Name    string // the contact's name, else the phone
	Href    string // the thread, keeping the list's query
	Unread  bool
	Current bool // the open thread
}

// statusTabs are the list's status tabs, after "All statuses".
var statusTabs = []conversations.Status{conversations.StatusNew, conversations.StatusOpen, conversations.StatusPending,
	conversations.StatusSnoozed, conversations.StatusResolved, conversations.StatusClosed}

// priorities are the priority filter's choices, most pressing first.
var priorities = []conversations.Priority{conversations.PriorityUrgent, conversations.PriorityHigh,
	conversations.PriorityMedium, conversations.PriorityLow, conversations.PriorityNone}

// loadList reads the list pane for the request's filters: one query for
// the page and one for its rows' glances, whatever the page's length.
func (s *Server) loadList(r *http.Request) (listData, error) {
	u := me(r)
	ctx := r.Context()
	query := r.URL.Query()
	f, view, err := conversations.ParseListQuery(u, query)
	if err != nil {
		return listData{}, err
	}
	f.Page = conversations.Page{Cursor: query.Get("cursor")}.Normalize()
	convs, next, err := s.d.Store.FindConversations(ctx, f)
	if err != nil {
		return listData{}, err
	}
	ids := make([]parley.ID, len(convs))
	for i, c := range convs {
		ids[i] = c.ID
	}
	glances, err := s.d.Store.GlanceConversations(ctx, u.AccountID, u.ID, ids)
	if err != nil {
		return listData{}, err
	}
	inboxes, err := s.allInboxes(ctx, u.AccountID)
	if err != nil {
		return listData{}, err
	}
	// Two channels are enough to know: every live refresh renders this.
	channels, _, err := s.d.Store.ListChannels(ctx, u.AccountID, parley.Page{Limit: 2})
	if err != nil {
		return listData{}, err
	}
	d := listData{Conversations: convs, View: view, Views: conversations.Views(u), Statuses: statusTabs,
		Priorities: priorities, Status: query.Get("status"), Filter: f, Inboxes: inboxes, ManyNumbers: len(channels) > 1}
	if u.CanViewAll() {
		users, err := s.allUsers(ctx, u.AccountID)
		if err != nil {
			return listData{}, err
		}
		d.Assignees = slices.DeleteFunc(users, func(u conversations.User) bool { return !u.Active })
	}
	for _, v := range []string{"inbox_id", "assignee_id", "priority", "revocation_flagged"} {
		if query.Get(v) != "" {
			d.Filtered++
		}
	}
	d.outcomeFilter(f, query)
	d.tagFilters(f)
	d.TagTypes = conversations.TagTypes
	if d.Tags, err = s.d.Tags.ListTags(ctx, u.AccountID, true); err != nil {
		return listData{}, err
	}

	// The list's own query (its filters and page) is kept by the pane's
	// URL and by every row's link, so that a refresh or an opened thread
	// shows the same list.
	keep := url.Values{}
	for k, v := range query {
		if k != "pane" && k != "before" {
			keep[k] = v
		}
	}
	open, _ := pathID(r)
	for _, c := range convs {
		g := glances[c.ID]
		row := listRow{Conversation: c, Glance: g, Name: c.ContactName, Href: "/inbox/conversations/" + c.ID.String() + withQuery(keep),
			Current: c.ID == open}
		if row.Name == "" {
			row.Name = c.ContactPhone
		}
		// The open thread is being read: a text arriving in it is seen.
		row.Unread = g.Unread(c) && !row.Current
		d.Rows = append(d.Rows, row)
	}
	pane := maps.Clone(keep)
	pane.Set("pane", "list")
	d.Src = r.URL.Path + withQuery(pane)
	if next != "" {
		older := maps.Clone(keep)
		older.Set("cursor", next)
		d.Older = r.URL.Path + withQuery(older)
	}
	if keep.Has("cursor") {
		keep.Del("cursor")
		d.Newest = r.URL.Path + withQuery(keep)
	}
	return d, nil
}

// outcomeNone is the Outcome filter's "Without outcome": the form sends
// outcome=none, which the inbox turns into the API's outcome_absent= every
// type (withoutOutcome).
const outcomeNone = "none"

// allOutcomes is every outcome type, as outcome_absent lists them.
var allOutcomes = outcomes.MaskOf(outcomes.Types...)

// outcomeFilter sets the Outcome filter's choice from the list's query.
func (d *listData) outcomeFilter(f conversations.ConversationFilter, query url.Values) {
	d.OutcomeTypes = outcomes.Types
	if f.OutcomesAny != 0 || f.OutcomesAbsent != 0 {
		d.Filtered++
	}
	switch types := f.OutcomesAny.Types(); {
	case f.OutcomesAny == 0 && f.OutcomesAbsent == allOutcomes:
		d.Outcome = outcomeNone
		return
	case len(types) == 1:
		d.Outcome = string(types[0])
	case len(types) > 1:
		d.Outcome, d.OutcomeList = query.Get("outcome"), types
	}
	d.KeepAbsent = query.Get("outcome_absent")
}

// withoutOutcome redirects the form's outcome=none to the list's URL with
// outcome_absent= every type, so that the list's URL stays the API's;
// false when the query has no outcome=none.
func withoutOutcome(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	if q.Get("outcome") != outcomeNone {
		return false
	}
	q.Del("outcome")
	var types []string
	for _, t := range outcomes.Types {
		types = append(types, string(t))
	}
	q.Set("outcome_absent", strings.Join(types, ","))
	http.Redirect(w, r, r.URL.Path+withQuery(q), http.StatusSeeOther)
	return true
}

// withQuery is "?" and q encoded, or "" when q is empty.
func withQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// markRead notes that the signed-in user opened conversation id now: the
// list shows it unread again once a text comes in after. Opening a
// thread calls it (thread.go), before the list is read.
func (s *Server) markRead(r *http.Request, id parley.ID) error {
	u := me(r)
	return s.d.Store.MarkConversationRead(r.Context(), u.AccountID, u.ID, id, s.d.Clock.Now())
}

func (s *Server) inbox(w http.ResponseWriter, r *http.Request) error {
	if withoutOutcome(w, r) {
		return nil
	}
	list, err := s.loadList(r)
	if err != nil {
		return err
	}
	return s.render(w, r, "inbox", "Inbox", inboxData{List: list})
}
