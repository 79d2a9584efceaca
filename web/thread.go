package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/optout"
	"github.com/parleyhq/parley/outcomes"
)

// The thread (its texts, notes and activity, the reply and note boxes, the
// actions) and the details pane of an open conversation. Its form posts
// are in actions.go.

// threadPageSize is how many texts and notes a thread page shows.
const threadPageSize = 50

// threadData is the thread and details panes of an open conversation.
type threadData struct {
	Conv    conversations.Conversation
	Contact conversations.Contact
	Inbox   string
	// URL is the thread's address with the list's query; Next is where
	// "resolve and next" goes: the following conversation of the list.
	URL, Next string
	// Query is the list's query string; ThreadSrc and DetailsSrc are the
	// panes' own addresses.
	Query, ThreadSrc, DetailsSrc string
	SnoozeMin                    string // now, as a datetime-local value
	Entries                      []entry
	// Older links to the page before this one ("" at the start); Latest
	// back to the newest page when this is an older one.
	Older, Latest string
	// Others are the contact's other conversations (other numbers).
	Others  []conversations.Conversation
	Users   []conversations.User // active users, for the assignee select
	Names   map[parley.ID]string
	Consent optout.Consent
	// OptOutReason says why the contact cannot be texted, "" when they can.
	OptOutReason string
	// SendRefusal says why this user may not text here ("" when they may).
	SendRefusal string
	CanAct      bool
	CanAssign   bool
	Statuses    []conversations.Action
	Priorities  []conversations.Priority
	Now         time.Time
	// Outcomes is the records, outcomes and suggestions pane (outcomes.go).
	Outcomes *outcomesData
	// Tags are the account's unarchived tags, which the add and the
	// resolve-with-tag controls offer (tags.go).
	Tags []conversations.Tag
}

// Offers reports whether the thread offers action: one that changes the
// status (reopen only what is not new or open already).
func (t *threadData) Offers(a conversations.Action) bool {
	to, _ := a.Target()
	st := t.Conv.Status
	return to != st && !(a == conversations.ActionReopen && st == conversations.StatusNew)
}

// Assigned reports whether the conversation is assigned to user id.
func (t *threadData) Assigned(id parley.ID) bool {
	return t.Conv.AssigneeID != nil && *t.Conv.AssigneeID == id
}

// Assignee names the conversation's assignee.
func (t *threadData) Assignee() string {
	if t.Conv.AssigneeID == nil {
		return "Unassigned"
	}
	if n := t.Names[*t.Conv.AssigneeID]; n != "" {
		return n
	}
	return "User " + t.Conv.AssigneeID.String()
}

// carrierErrors are the carrier codes a failed text most often carries,
// as staff should read them.
var carrierErrors = map[int]string{
	21610: "the recipient unsubscribed (replied STOP)",
	21614: "not a mobile number",
	30003: "the phone is unreachable",
	30004: "the recipient blocked it",
	30005: "unknown or inactive number",
	30006: "a landline or unreachable carrier",
	30007: "filtered by the carrier as spam",
	30008: "unknown carrier error",
}

// Failure says why an outbound text was not delivered, "" when it was
// not refused.
func (t *threadData) Failure(m *conversations.Message) string {
	if m.Status != conversations.MessageFailed && m.Status != conversations.MessageUndelivered {
		return ""
	}
	switch {
	case m.ErrorCode != nil && carrierErrors[*m.ErrorCode] != "":
		return fmt.Sprintf("Error %d: %s", *m.ErrorCode, carrierErrors[*m.ErrorCode])
	case m.ErrorCode != nil:
		return fmt.Sprintf("Carrier error %d", *m.ErrorCode)
	case m.ErrorReason != "":
		return "Not sent: " + strings.ReplaceAll(m.ErrorReason, "_", " ")
	}
	return "Not delivered"
}

// entry is one line of the thread: a text, a note or an activity event.
type entry struct {
	At      time.Time
	Message *conversations.Message
	Event   *conversations.Event
	Author  string // who wrote the message, or did the event
	Text    string // an event's sentence
}

func (s *Server) threadRoutes(r *mux.Router) {
	r.Handle("/inbox/conversations/{id}", s.page(s.thread)).Methods(http.MethodGet)
	s.actionRoutes(r)
	s.outcomeRoutes(r)
}

func (s *Server) thread(w http.ResponseWriter, r *http.Request) error {
	pane := r.URL.Query().Get("pane")
	// The list beside a thread is the user's list whatever became of the
	// thread: when it is reassigned away, the list still refreshes, and
	// the conversation drops out of it by itself.
	if pane == "list" {
		list, err := s.loadList(r)
		if err != nil {
			return err
		}
		return s.render(w, r, "inbox", "Inbox", inboxData{List: list})
	}
	conv, err := s.visible(r)
	if err != nil {
		if pane == "outcomes" {
			return unseen(err)
		}
		return err
	}
	title := conv.ContactName
	if title == "" {
		title = conv.ContactPhone
	}
	data := inboxData{}
	if pane == "outcomes" {
		return s.outcomesPane(w, r, conv, title)
	}
	// Opening the thread reads it, and so does a live refresh of an open
	// thread: first, so that the list on this same page shows it read.
	if pane == "" || pane == "thread" {
		if err := s.markRead(r, conv.ID); err != nil {
			return err
		}
	}
	// The list is read for the page, and for the thread: "resolve and
	// next" needs the conversation after this one.
	if pane == "" || pane == "thread" {
		if data.List, err = s.loadList(r); err != nil {
			return err
		}
	}
	if data.Thread, err = s.loadThread(r, conv, data.List); err != nil {
		return err
	}
	if pane == "" {
		if data.Thread.Outcomes, err = s.loadOutcomes(r, conv); err != nil {
			return err
		}
	}
	return s.render(w, r, "inbox", title, data)
}

// visible loads the {id} conversation if the signed-in user may see it.
func (s *Server) visible(r *http.Request) (conversations.Conversation, error) {
	id, err := pathID(r)
	if err != nil {
		return conversations.Conversation{}, err
	}
	return conversations.Visible(r.Context(), s.d.Store, me(r), id)
}

// paneWords are the query words of the thread's panes, not of the list:
// which pane, the thread's page, the outcomes pane's search and review.
var paneWords = []string{"pane", "before", paramRecordQuery, paramRecordType, paramReview}

// listQuery is the list's query string as the thread keeps it in its links.
func listQuery(r *http.Request) string {
	q := url.Values{}
	for k, v := range r.URL.Query() {
		if !slices.Contains(paneWords, k) {
			q[k] = v
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

func (s *Server) loadThread(r *http.Request, conv conversations.Conversation, list listData) (*threadData, error) {
	ctx := r.Context()
	u := me(r)
	q := listQuery(r)
	t := &threadData{URL: conversationURL(conv.ID, q), Now: s.d.Clock.Now().UTC(),
		Statuses: []conversations.Action{conversations.ActionReopen, conversations.ActionPending, conversations.ActionClose},
		Priorities: []conversations.Priority{conversations.PriorityNone, conversations.PriorityLow, conversations.PriorityMedium,
			conversations.PriorityHigh, conversations.PriorityUrgent}}
	t.Next = nextInList(list.Conversations, conv.ID, q)
	t.Query = q
	t.ThreadSrc, t.DetailsSrc = withParam(t.URL, "pane", "thread"), withParam(t.URL, "pane", "details")
	t.SnoozeMin = t.Now.Format("2006-01-02T15:04")

	var before parley.ID
	if raw := r.URL.Query().Get("before"); raw != "" {
		id, err := parley.ParseID(raw)
		if err != nil {
			return nil, parley.Invalid(map[string]string{"before": "must be a message id"})
		}
		before = id
		t.Latest = t.URL
		t.ThreadSrc = withParam(withParam(t.URL, "before", raw), "pane", "thread") // an older page stays put
	}
	page, err := s.d.Store.ReadThread(ctx, u.AccountID, conv.ID, before, threadPageSize)
	if err != nil {
		return nil, err
	}
	// The state shown is the page's, read with it: what the activity log
	// says happened is never contradicted beside it (a reply box still
	// disabled under "assigned it to you").
	conv = page.Conversation
	t.Conv, t.CanAct, t.CanAssign = conv, conversations.CanAct(u, conv), conversations.CanAssign(u, conv)
	t.SendRefusal = sendRefusalText(conversations.CheckSend(u, conv))
	if page.Older != 0 {
		t.Older = withParam(t.URL, "before", page.Older.String())
	}
	users, err := s.allUsers(ctx, u.AccountID)
	if err != nil {
		return nil, err
	}
	t.Names = map[parley.ID]string{}
	for _, x := range users {
		t.Names[x.ID] = x.Name
		if x.Active {
			t.Users = append(t.Users, x)
		}
	}
	t.Entries = timeline(page, t.Names)

	if t.Contact, err = s.d.Store.GetContact(ctx, u.AccountID, conv.ContactID); err != nil {
		return nil, err
	}
	others, _, err := s.d.Store.FindConversations(ctx, conversations.ContactConversations(u, conv.ContactID, conversations.Page{Limit: 20}))
	if err != nil {
		return nil, err
	}
	if len(others) > 1 || (len(others) == 1 && others[0].ID != conv.ID) {
		t.Others = others
	}
	inboxes := list.Inboxes
	if inboxes == nil { // the list was not read (the details pane alone)
		if inboxes, err = s.allInboxes(ctx, u.AccountID); err != nil {
			return nil, err
		}
	}
	t.Inbox = inboxName(inboxes, conv.InboxID)
	if t.Tags, err = s.offeredTags(ctx, u.AccountID); err != nil {
		return nil, err
	}
	if t.Consent, err = s.d.Consent.GetConsent(ctx, u.AccountID, conv.ContactPhone); err != nil {
		return nil, err
	}
	if t.Consent.OptedOut {
		if t.OptOutReason, err = s.optOutReason(ctx, u.AccountID, t.Consent, t.Names); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func conversationURL(id parley.ID, query string) string {
	return "/inbox/conversations/" + id.String() + query
}

// withParam adds key=value to a local URL's query.
func withParam(u, key, value string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := p.Query()
	q.Set(key, value)
	p.RawQuery = q.Encode()
	return p.RequestURI()
}

// nextInList is where "resolve and next" leads: the conversation after id
// in the list (the one before it when id is the last), or the list itself.
func nextInList(list []conversations.Conversation, id parley.ID, query string) string {
	at := slices.IndexFunc(list, func(c conversations.Conversation) bool { return c.ID == id })
	switch {
	case at >= 0 && at+1 < len(list):
		return conversationURL(list[at+1].ID, query)
	case at > 0:
		return conversationURL(list[at-1].ID, query)
	case at < 0 && len(list) > 0:
		return conversationURL(list[0].ID, query)
	}
	return "/inbox" + query
}

// timeline merges a page's messages and events in time order; an event
// that happened with a text (a reply opening the conversation) follows
// it, but for the conversation's creation, which comes first.
func timeline(p conversations.ThreadPage, names map[parley.ID]string) []entry {
	out := make([]entry, 0, len(p.Messages)+len(p.Events))
	for i := range p.Messages {
		m := &p.Messages[i]
		e := entry{At: m.CreatedAt, Message: m}
		if m.AuthorID != nil {
			e.Author = names[*m.AuthorID]
		}
		out = append(out, e)
	}
	for i := range p.Events {
		ev := &p.Events[i]
		out = append(out, entry{At: ev.CreatedAt, Event: ev, Text: eventText(*ev, names)})
	}
	// A conversation's creation comes before the text that created it.
	rank := func(e entry) int {
		if e.Event != nil && e.Event.Type == conversations.EventCreated {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(out, func(a, b entry) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return rank(a) - rank(b)
	})
	return out
}

// eventText is the sentence an activity entry reads as in the thread.
func eventText(e conversations.Event, names map[parley.ID]string) string {
	who := "Someone"
	switch {
	case e.ActorType == conversations.ActorContact:
		who = "The contact"
	case e.ActorType == conversations.ActorSystem || e.ActorType == conversations.ActorCarrier:
		who = "Parley"
	case e.ActorID != nil && names[*e.ActorID] != "":
		who = names[*e.ActorID]
	}
	str := func(k string) string {
		if v, ok := e.Data[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	}
	user := func(k string) string {
		id, err := parley.ParseID(str(k))
		if err != nil {
			return ""
		}
		if n := names[id]; n != "" {
			return n
		}
		return "user " + id.String()
	}
	switch e.Type {
	case conversations.EventCreated:
		switch str("reason") {
		case "campaign":
			return "Conversation started by a campaign"
		case "quick_message":
			return "Conversation started by " + who + "'s quick message"
		}
		return "Conversation started (" + str("status") + ")"
	case conversations.EventStatusChanged:
		to := str("to")
		switch str("reason") {
		case "inbound":
			return "Moved to " + to + " by the contact's text"
		case "snooze_ended":
			return "Snooze ended: open again"
		case "replied":
			return who + " replied: open"
		}
		if to == string(conversations.StatusSnoozed) && str("until") != "" {
			if t, err := time.Parse(time.RFC3339, str("until")); err == nil {
				return who + " snoozed it until " + t.UTC().Format("2 Jan 2006 15:04 UTC")
			}
		}
		return who + " moved it to " + to
	case conversations.EventAssigneeChanged:
		to, from := user("to"), user("from")
		switch str("reason") {
		case "reopened_after_close":
			return "Assignee cleared: the contact wrote after it was closed"
		case conversations.ReasonUserDeactivated:
			return "Unassigned: " + from + " was deactivated"
		case "auto_assigned":
			return "Assigned to " + to + " automatically"
		case "replied":
			return who + " took it by replying"
		case "quick_message":
			return who + " took it with a quick message"
		}
		if to == "" {
			return who + " unassigned it"
		}
		return who + " assigned it to " + to
	case conversations.EventPriorityChanged:
		return who + " set the priority to " + str("to")
	case conversations.EventOptedOut:
		if k := str("keyword"); k != "" {
			return "The contact opted out (" + k + ")"
		}
		return "Opted out (" + str("source") + ")"
	case conversations.EventOptedIn:
		if k := str("keyword"); k != "" {
			return "The contact opted back in (" + k + ")"
		}
		return "Opted back in"
	case conversations.EventHelpRequested:
		return "The contact asked for help (" + str("keyword") + ")"
	case conversations.EventRevocationFlagged:
		if why := str("why"); why != "" {
			return "Flagged: this text reads like a request to stop texting (" + why + ")"
		}
		return "Flagged: this text reads like a request to stop texting"
	case conversations.EventRevocationAnswered:
		if str("answer") == string(conversations.RevocationOptedOut) {
			return who + " recorded the opt-out the flagged text asked for"
		}
		return who + " dismissed the flag: not a request to stop texting"
	case conversations.EventOutcomeAdded:
		added := " added the outcome "
		if str("source") == string(outcomes.SourceSuggestion) {
			added = " added the suggested outcome "
		}
		return who + added + words(str("type")) + of(str("record_title"))
	case conversations.EventOutcomeDeleted:
		return who + " deleted the outcome " + words(str("type")) + of(str("record_title"))
	case conversations.EventRecordLinked:
		return who + " linked the " + str("record_type") + " " + str("title")
	case conversations.EventRecordUnlinked:
		return who + " unlinked the " + str("record_type") + " " + str("title")
	case conversations.EventTagAdded:
		return who + " tagged it " + str("tag_name")
	case conversations.EventTagRemoved:
		return who + " removed the tag " + str("tag_name")
	case conversations.EventSuggestionDismissed:
		return who + " dismissed the suggested outcome " + words(str("type"))
	}
	return string(e.Type)
}

// words is an identifier (an outcome type) as words: "quote sent".
func words(id string) string { return strings.ReplaceAll(id, "_", " ") }

// of names a record after an outcome: " (Patio)", or nothing.
func of(title string) string {
	if title == "" {
		return ""
	}
	return " (" + title + ")"
}

// sendRefusalText is what the reply box says when this user may not text.
func sendRefusalText(err error) string {
	if err == nil {
		return ""
	}
	return errorText(err)
}

// allUsers lists all the account's users, for names and the assignee select.
func (s *Server) allUsers(ctx context.Context, accountID parley.ID) ([]conversations.User, error) {
	return parley.All(func(p parley.Page) ([]conversations.User, string, error) {
		return s.d.Store.ListUsers(ctx, accountID, p)
	})
}

// allInboxes lists all the account's inboxes.
func (s *Server) allInboxes(ctx context.Context, accountID parley.ID) ([]conversations.Inbox, error) {
	return parley.All(func(p parley.Page) ([]conversations.Inbox, string, error) {
		return s.d.Store.ListInboxes(ctx, accountID, p)
	})
}

// allChannels lists all the account's channels.
func (s *Server) allChannels(ctx context.Context, accountID parley.ID) ([]conversations.Channel, error) {
	return parley.All(func(p parley.Page) ([]conversations.Channel, string, error) {
		return s.d.Store.ListChannels(ctx, accountID, p)
	})
}

// connectedChannels lists the account's channels that can send: what a
// form that sends offers.
func (s *Server) connectedChannels(ctx context.Context, accountID parley.ID) ([]conversations.Channel, error) {
	chans, err := s.allChannels(ctx, accountID)
	return slices.DeleteFunc(chans, func(c conversations.Channel) bool { return !c.Connected() }), err
}

// inboxName names inbox id among inboxes ("" when it is not there).
func inboxName(inboxes []conversations.Inbox, id parley.ID) string {
	for _, i := range inboxes {
		if i.ID == id {
			return i.Name
		}
	}
	return ""
}

// optOutReason says how a phone came to be opted out: the keyword it
// texted, or the last opt-out in its consent log (staff, the carrier).
func (s *Server) optOutReason(ctx context.Context, accountID parley.ID, c optout.Consent, names map[parley.ID]string) (string, error) {
	since := ""
	if c.ChangedAt != nil {
		since = " on " + c.ChangedAt.UTC().Format("2 Jan 2006 15:04 UTC")
	}
	if c.Keyword != "" {
		return fmt.Sprintf("The contact texted %q%s.", c.Keyword, since), nil
	}
	events, err := parley.All(func(p parley.Page) ([]optout.Event, string, error) {
		return s.d.Consent.ListConsentEvents(ctx, accountID, c.Phone, p)
	})
	if err != nil {
		return "", err
	}
	var last *optout.Event
	for i := range events {
		if events[i].Action == optout.ActionOptOut {
			last = &events[i]
		}
	}
	switch {
	case last == nil:
		return "The number is opted out" + since + ".", nil
	case last.Source == optout.SourceStaff && last.UserID != nil:
		return fmt.Sprintf("%s recorded an opt-out%s.", names[*last.UserID], since), nil
	case last.Source == optout.SourceCarrierError:
		return fmt.Sprintf("The carrier reported the number unsubscribed (error %s)%s.", last.Detail, since), nil
	}
	return "The number is opted out" + since + ".", nil
}
