package reports

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/reports/export"
)

// Exports (API.md, "Reports and exports"): GET /v1/exports/{report}
// streams every row a report's filters select, up to a limit, from one
// snapshot. Each export is a query (one of the types below) that names
// its report and columns; the store turns it into rows and package
// export into a file.

// Export is one export's query.
type Export interface {
	// Report is the export's name in /v1/exports/{report}.
	Report() string
	// Columns are the names of the row values, in order.
	Columns() []string
	// Range is the half-open range the export covers (its file's name).
	Range() (from, to time.Time)
}

// ExportStore streams exports (the store implements it).
type ExportStore interface {
	// ExportRows reads x's rows inside one read-only snapshot. It counts
	// them first: with more than limit it returns ErrTooManyRows and calls
	// nothing. Otherwise it calls begin once, then row for every row in
	// order (values in x.Columns() order), stopping at the first error.
	// A cancelled ctx stops the query at once.
	ExportRows(ctx context.Context, x Export, limit int, begin func() error, row func(values []any) error) error
}

// TooManyRows is the refusal of an export over limit rows: 422
// too_many_rows, before anything is sent.
func TooManyRows(limit int) error {
	return &parley.Error{Kind: parley.EINVALID, Code: "too_many_rows",
		Message: "the export has more than " + groupThousands(limit) + " rows; narrow the range or the filters"}
}

func groupThousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// ExportReports are the reports that have an export.
var ExportReports = []string{"outbound_audit", "conversations", "messages", "outcomes"}

// exportParams are the query parameters each export reads besides
// format: its report's or list's filters over from and to. A parameter
// an export does not read is refused (422 naming it), never ignored: an
// ignored filter would make the file wider than asked.
var exportParams = map[string][]string{
	"outbound_audit": {"from", "to", "channel_id", "origin_type", "campaign_id", "campaign_name", "tag_type",
		"final_tag_type", "final_tag_id", "contact_kind", "reply_window"},
	// interval shapes the report's series, not its rows: taken, so that
	// the report's query exports as it is.
	"outcomes": {"from", "to", "interval", "inbox_id", "channel_id", "campaign_id"},
	// q is read to be refused with its own reason (search is not exported).
	"conversations": {"from", "to", "view", "q", "status", "priority", "inbox_id", "channel_id", "assignee_id",
		"outcome", "outcome_absent", "tag_id", "tag_type", "final_tag_id", "final_tag_type", "revocation_flagged"},
	"messages": {"from", "to", "channel_id", "inbox_id", "campaign_id", "conversation_id", "direction"},
}

// ExportParams are the query parameters the report's export takes,
// format included; nil for a report with no export.
func ExportParams(report string) []string {
	ps, ok := exportParams[report]
	if !ok {
		return nil
	}
	return append([]string{"format"}, ps...)
}

// ParseExport reads /v1/exports/{report}'s query: 404 for a report with
// no export, 422 naming each bad field and each parameter the export
// does not take.
func ParseExport(report string, q url.Values, u conversations.User) (Export, error) {
	accountID := u.AccountID
	var x Export
	var err error
	switch report {
	case "outbound_audit":
		x, err = ParseOutboundQuery(q, accountID)
	case "outcomes":
		x, err = ParseOutcomesQuery(q, accountID)
	case "conversations":
		x, err = parseConversationsExport(q, u)
	case "messages":
		x, err = parseMessagesExport(q, accountID)
	default:
		return nil, parley.Errorf(parley.ENOTFOUND, "no export %q; exports are outbound_audit, conversations, messages, outcomes", report)
	}
	if err := parley.MergeInvalid(err, unknownParams(report, q)); err != nil {
		return nil, err
	}
	return x, nil
}

// unknownParams names each parameter of q that report's export does not
// take.
func unknownParams(report string, q url.Values) error {
	known := ExportParams(report)
	bad := map[string]string{}
	for name := range q {
		if !slices.Contains(known, name) {
			bad[name] = "is not a filter of the " + report + " export; it takes " + strings.Join(known[1:], ", ")
		}
	}
	if len(bad) > 0 {
		return parley.Invalid(bad)
	}
	return nil
}

// Report, Columns and Range make the outbound filter the outbound_audit export.
func (f OutboundFilter) Report() string              { return "outbound_audit" }
func (f OutboundFilter) Columns() []string           { return AuditColumns }
func (f OutboundFilter) Range() (from, to time.Time) { return f.From, f.To }

// Report, Columns and Range make the outcomes filter the outcomes export.
func (f OutcomesFilter) Report() string              { return "outcomes" }
func (f OutcomesFilter) Columns() []string           { return OutcomeColumns }
func (f OutcomesFilter) Range() (from, to time.Time) { return f.From, f.To }

// ConversationsExport is the conversations created in [From, To) that
// the inbox list's filters keep (status, inbox_id, assignee_id, priority,
// tag_id, tag_type, final_tag_id, final_tag_type), in creation order,
// optionally of one channel.
type ConversationsExport struct {
	From, To time.Time
	// Filter holds the account and the list's filters; its Query and Page
	// are not used.
	Filter    conversations.ConversationFilter
	ChannelID *parley.ID
}

func (x ConversationsExport) Report() string              { return "conversations" }
func (x ConversationsExport) Columns() []string           { return ConversationColumns }
func (x ConversationsExport) Range() (from, to time.Time) { return x.From, x.To }

// ConversationColumns are the conversations export's columns.
var ConversationColumns = []string{"conversation_id", "created_at", "last_message_at", "status", "priority",
	"inbox_id", "channel_id", "business_phone", "contact_id", "contact_phone", "contact_name", "assignee_id",
	"tags", "final_tag", "final_tag_type", "outcomes"}

// ConversationRow is one conversation as its export writes it.
type ConversationRow struct {
	Conversation conversations.Conversation
	CreatedAt    time.Time
	// Tags are the names of the tags on it now; FinalTag the name of the
	// tag its latest closed episode closed with.
	Tags     []string
	FinalTag string
}

// Values is the row in ConversationColumns' order; tags and outcome
// types are joined with "; ". The contact's name and the tags are
// export.Text.
func (r ConversationRow) Values() []any {
	c := r.Conversation
	var finalTag, finalType any
	if r.FinalTag != "" {
		finalTag = export.Text(r.FinalTag)
	}
	if c.FinalTag != nil {
		finalType = string(c.FinalTag.Type)
	}
	var types []string
	for _, t := range c.Outcomes.Types() {
		types = append(types, string(t))
	}
	return []any{c.ID.String(), r.CreatedAt, c.LastMessageAt, string(c.Status), string(c.Priority),
		c.InboxID.String(), c.ChannelID.String(), c.BusinessPhone, c.ContactID.String(), c.ContactPhone, export.Text(c.ContactName),
		idText(c.AssigneeID), export.Text(strings.Join(r.Tags, "; ")), finalTag, finalType, strings.Join(types, "; ")}
}

// MessagesExport is the messages created in [From, To), optionally of
// one channel, inbox (the conversation's), campaign, conversation or
// direction, in creation order.
type MessagesExport struct {
	AccountID      parley.ID
	From, To       time.Time
	ChannelID      *parley.ID
	InboxID        *parley.ID
	CampaignID     *parley.ID
	ConversationID *parley.ID
	Direction      conversations.Direction
}

func (x MessagesExport) Report() string              { return "messages" }
func (x MessagesExport) Columns() []string           { return MessageColumns }
func (x MessagesExport) Range() (from, to time.Time) { return x.From, x.To }

// MessageColumns are the messages export's columns.
var MessageColumns = []string{"message_id", "created_at", "conversation_id", "channel_id", "direction", "kind",
	"status", "error_code", "body", "media_urls", "contact_phone", "author_id", "campaign_id", "segments", "encoding",
	"carrier_message_id"}

// MessageRow is one message as its export writes it.
type MessageRow struct {
	Message      conversations.Message
	ContactPhone string
}

// Values is the row in MessageColumns' order; media URLs are joined
// with spaces. The body, the URLs and the carrier's id are export.Text.
func (r MessageRow) Values() []any {
	m := r.Message
	var code any
	if m.ErrorCode != nil {
		code = *m.ErrorCode
	}
	return []any{m.ID.String(), m.CreatedAt, m.ConversationID.String(), m.ChannelID.String(), string(m.Direction),
		string(m.Kind), string(m.Status), code, export.Text(m.Body), export.Text(strings.Join(m.MediaURLs, " ")),
		r.ContactPhone, idText(m.AuthorID), idText(m.CampaignID), m.Segments, m.Encoding, export.Text(m.CarrierMessageID)}
}

// parseConversationsExport reads from, to, channel_id and the inbox
// list's filters (conversations.ParseListQuery) for u. Search (q=) is not
// exported.
func parseConversationsExport(q url.Values, u conversations.User) (Export, error) {
	bad := map[string]string{}
	x := ConversationsExport{}
	x.From, x.To = parseRange(q, bad)
	x.ChannelID = parseID(q, "channel_id", bad)
	f, _, err := conversations.ParseListQuery(u, q)
	if f.Query != "" {
		bad["q"] = "search is not exported; filter by status, inbox, assignee, priority, tag or outcome"
	}
	var rangeErr error
	if len(bad) > 0 {
		rangeErr = parley.Invalid(bad)
	}
	if err := parley.MergeInvalid(rangeErr, err); err != nil {
		return nil, err
	}
	x.Filter = f
	return x, nil
}

// parseMessagesExport reads from, to, channel_id, inbox_id, campaign_id,
// conversation_id and direction.
func parseMessagesExport(q url.Values, accountID parley.ID) (Export, error) {
	bad := map[string]string{}
	x := MessagesExport{AccountID: accountID}
	x.From, x.To = parseRange(q, bad)
	x.ChannelID = parseID(q, "channel_id", bad)
	x.InboxID = parseID(q, "inbox_id", bad)
	x.CampaignID = parseID(q, "campaign_id", bad)
	x.ConversationID = parseID(q, "conversation_id", bad)
	switch d := conversations.Direction(q.Get("direction")); d {
	case "", conversations.Inbound, conversations.Outbound:
		x.Direction = d
	default:
		bad["direction"] = "must be inbound or outbound"
	}
	if len(bad) > 0 {
		return nil, parley.Invalid(bad)
	}
	return x, nil
}
