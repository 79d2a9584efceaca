package conversations

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/outcomes"
)

// Conversation lists as staff ask for them: the JSON API's
// GET /v1/conversations and the web inbox's list read the same query
// words, and both go through ParseListQuery, so that the rules of who sees
// which view live here once.

// View is which of the account's conversations a list shows.
type View string

// Views.
const (
	ViewAll        View = "all"
	ViewMine       View = "mine"
	ViewUnassigned View = "unassigned"
)

// Views are the views u may choose, in the order the inbox offers them:
// all three for admins and view-all users, Mine alone for the others.
func Views(u User) []View {
	if u.CanViewAll() {
		return []View{ViewAll, ViewMine, ViewUnassigned}
	}
	return []View{ViewMine}
}

// DefaultView is the view of a list that names none: all for those who
// see every conversation, mine for the others.
func DefaultView(u User) View {
	if u.CanViewAll() {
		return ViewAll
	}
	return ViewMine
}

// ParseListQuery reads a list's query (view, status as a comma list,
// inbox_id, assignee_id, priority, q, outcome, outcome_absent, tag_id,
// tag_type, final_tag_id, final_tag_type) for u and returns its filter without
// the page or contact_phone, and the view it shows. EINVALID names each
// malformed word; EFORBIDDEN when u, who sees only their own
// conversations, asks for all, the unassigned ones or a colleague's.
func ParseListQuery(u User, q url.Values) (ConversationFilter, View, error) {
	f := ConversationFilter{AccountID: u.AccountID, Query: q.Get("q")}
	view := View(q.Get("view"))
	if view == "" {
		view = DefaultView(u)
	}
	switch view {
	case ViewAll:
	case ViewMine:
		f.AssigneeID = u.ID
	case ViewUnassigned:
		f.Unassigned = true
	default:
		return f, view, parley.Invalid(map[string]string{"view": "must be all, mine or unassigned"})
	}
	if view != ViewMine && !u.CanViewAll() {
		return f, view, parley.Errorf(parley.EFORBIDDEN,
			"only admins and users with view_all_conversations may list %s conversations; you see those assigned to you", view)
	}
	fields := map[string]string{}
	if strings.ContainsRune(f.Query, 0) || !utf8.ValidString(f.Query) {
		fields["q"] = "must be text"
	}
	if raw := q.Get("status"); raw != "" {
		for _, s := range strings.Split(raw, ",") {
			st := Status(strings.TrimSpace(s))
			if !st.Valid() {
				fields["status"] = "must be a comma list of new, open, pending, snoozed, resolved, closed"
				break
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	if raw := q.Get("priority"); raw != "" {
		if f.Priority = Priority(raw); !f.Priority.Valid() {
			fields["priority"] = "must be one of none, low, medium, high, urgent"
		}
	}
	var err error
	if raw := q.Get("inbox_id"); raw != "" {
		if f.InboxID, err = parley.ParseID(raw); err != nil {
			fields["inbox_id"] = "must be an inbox id"
		}
	}
	if raw := q.Get("assignee_id"); raw != "" {
		id, err := parley.ParseID(raw)
		switch {
		case err != nil:
			fields["assignee_id"] = "must be a user id"
		case view == ViewMine && id != u.ID:
			return f, view, parley.Errorf(parley.EFORBIDDEN,
				"only admins and users with view_all_conversations may list a colleague's conversations")
		default:
			f.AssigneeID = id
		}
	}
	for name, into := range map[string]*outcomes.Mask{"outcome": &f.OutcomesAny, "outcome_absent": &f.OutcomesAbsent} {
		if raw := q.Get(name); raw != "" {
			m, ok := outcomes.ParseTypes(raw)
			if !ok {
				fields[name] = "must be a comma list of outcome types (quote_sent, quote_accepted, invoice_sent, invoice_paid, project_created, issue_resolved, lead_abandoned)"
			}
			*into = m
		}
	}
	parseTagFilters(q, &f, fields)
	switch q.Get("revocation_flagged") {
	case "", "false":
	case "true":
		f.RevocationFlagged = true
	default:
		fields["revocation_flagged"] = "must be true or false"
	}
	if len(fields) > 0 {
		return f, view, parley.Invalid(fields)
	}
	return f, view, nil
}

// parseTagFilters reads tag_id, tag_type, final_tag_id and
// final_tag_type into f, naming each malformed one in fields.
func parseTagFilters(q url.Values, f *ConversationFilter, fields map[string]string) {
	for name, into := range map[string]**parley.ID{"tag_id": &f.TagID, "final_tag_id": &f.FinalTagID} {
		if raw := q.Get(name); raw != "" {
			id, err := parley.ParseID(raw)
			if err != nil {
				fields[name] = "must be a tag id"
				continue
			}
			*into = &id
		}
	}
	for name, into := range map[string]*TagType{"tag_type": &f.TagType, "final_tag_type": &f.FinalTagType} {
		if raw := q.Get(name); raw != "" {
			if *into = TagType(raw); !into.Valid() {
				fields[name] = "must be one of positive, negative, follow_up, self_management_end, sale, other"
			}
		}
	}
}

// Glance is what a list row shows of a conversation besides the
// conversation itself, for one person looking at the list.
type Glance struct {
	ConversationID parley.ID
	AssigneeName   string // "" when nobody has it
	// LastText is the start of the latest text, in or out (notes are
	// not texts); "" when there is none or it had only media.
	LastText          string
	LastTextDirection Direction
	// ReadAt is when the person last opened the conversation; nil when
	// never.
	ReadAt *time.Time
}

// Unread reports whether c had an inbound text after the person last
// opened it.
func (g Glance) Unread(c Conversation) bool {
	return c.LastInboundAt != nil && (g.ReadAt == nil || c.LastInboundAt.After(*g.ReadAt))
}

// GlanceStore reads and keeps what a list shows of each conversation.
type GlanceStore interface {
	// GlanceConversations reads the glances of the account's
	// conversations ids for user userID, all in one query; ids it does
	// not find are left out.
	GlanceConversations(ctx context.Context, accountID, userID parley.ID, ids []parley.ID) (map[parley.ID]Glance, error)
	// MarkConversationRead notes that user userID opened the
	// conversation at `at`; an earlier time than the one noted changes
	// nothing. ENOTFOUND when the conversation is not the account's.
	MarkConversationRead(ctx context.Context, accountID, userID, conversationID parley.ID, at time.Time) error
}
