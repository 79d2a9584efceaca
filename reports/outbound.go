package reports

import (
	"context"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/reports/export"
)

// The outbound report (API.md, "Reports and exports"; DESIGN.md, "Tags,
// episodes, the outbound report") answers whether business-originated
// texts worked. A send is a campaign's or quick message's text the carrier
// accepted; the store keeps, per send, the contact's first reply and the
// first assignment after it and the first episode closed after it. The
// summary, the detailed table and the audit rows are read through one
// filter (OutboundFilter), so the same filters always give figures that
// agree.

// DefaultReplyWindow is how long after a send a reply or an assignment
// still counts (reply_window=, in hours).
const DefaultReplyWindow = 72 * time.Hour

// MaxReplyWindow bounds reply_window=: a send older than this is no longer
// marked by later replies and assignments, so that a conversation texted
// for years does not drag every old send along.
const MaxReplyWindow = 30 * 24 * time.Hour

// ContactKind says whether a send's contact had a successful send before
// the report's range (recurring) or not (new).
type ContactKind string

// Contact kinds.
const (
	ContactNew       ContactKind = "new"
	ContactRecurring ContactKind = "recurring"
)

// OutboundFilter is GET /v1/reports/outbound's query, shared by its audit
// and the outbound_audit export. Zero fields do not filter.
type OutboundFilter struct {
	AccountID parley.ID
	// From and To bound when the carrier accepted the send (half-open).
	From, To   time.Time
	ChannelID  *parley.ID
	OriginType string
	CampaignID *parley.ID
	// CampaignName keeps sends of campaigns whose name contains it
	// (case-insensitive).
	CampaignName string
	// TagType and FinalTagID keep sends whose first episode closed after
	// them closed with a final tag of that type, or that tag.
	TagType     conversations.TagType
	FinalTagID  *parley.ID
	ContactKind ContactKind
	ReplyWindow time.Duration
}

// ParseOutboundQuery reads the outbound report's query; bad input is 422
// naming each field.
func ParseOutboundQuery(q url.Values, accountID parley.ID) (OutboundFilter, error) {
	bad := map[string]string{}
	f := OutboundFilter{AccountID: accountID, ReplyWindow: DefaultReplyWindow}
	f.From, f.To = parseRange(q, bad)
	f.ChannelID = parseID(q, "channel_id", bad)
	f.CampaignID = parseID(q, "campaign_id", bad)
	f.FinalTagID = parseID(q, "final_tag_id", bad)
	f.CampaignName = strings.TrimSpace(q.Get("campaign_name"))
	if v := q.Get("origin_type"); v != "" {
		if !campaigns.OriginTypes[v] {
			bad["origin_type"] = "must be one of campaign, quick_message, flow, template, webhook"
		}
		f.OriginType = v
	}
	// tag_type is the final tag's type here (API.md); final_tag_type, as
	// the conversation list names it, says the same.
	for _, name := range []string{"tag_type", "final_tag_type"} {
		if v := q.Get(name); v != "" {
			t := conversations.TagType(v)
			switch {
			case !t.Valid():
				bad[name] = "must be one of positive, negative, follow_up, self_management_end, sale, other"
			case f.TagType != "" && f.TagType != t:
				bad[name] = "must be the same as tag_type: both are the final tag's type"
			}
			f.TagType = t
		}
	}
	switch v := ContactKind(q.Get("contact_kind")); v {
	case "", ContactNew, ContactRecurring:
		f.ContactKind = v
	default:
		bad["contact_kind"] = "must be new or recurring"
	}
	if v := q.Get("reply_window"); v != "" {
		h, err := strconv.Atoi(v)
		if err != nil || h < 1 || time.Duration(h)*time.Hour > MaxReplyWindow {
			bad["reply_window"] = "must be a whole number of hours from 1 to 720"
		} else {
			f.ReplyWindow = time.Duration(h) * time.Hour
		}
	}
	if len(bad) > 0 {
		return OutboundFilter{}, parley.Invalid(bad)
	}
	return f, nil
}

// parseRange reads the required from and to of a report: to after from,
// at most MaxRange apart.
func parseRange(q url.Values, bad map[string]string) (from, to time.Time) {
	from = parseTime(q, "from", bad)
	to = parseTime(q, "to", bad)
	if bad["from"] == "" && bad["to"] == "" {
		switch {
		case !to.After(from):
			bad["to"] = "must be after from"
		case to.Sub(from) > MaxRange:
			bad["to"] = "must be at most two years after from"
		}
	}
	return from, to
}

// OutboundCounts are a group of sends' figures. Sends counts successful
// sends; Contacts their distinct contacts; Replied, Assigned and Sales the
// sends whose contact replied, whose conversation had an assignee within
// the reply window, and whose first episode closed after them has a final
// tag of type sale.
type OutboundCounts struct {
	Sends, Contacts, Replied, Assigned, Sales int64
}

// OriginTypeCounts are the figures of one origin type.
type OriginTypeCounts struct {
	OriginType string
	OutboundCounts
}

// CampaignCounts are the figures of one campaign (the detailed tab).
type CampaignCounts struct {
	CampaignID parley.ID
	Name       string
	OriginType string
	OutboundCounts
}

// FinalTagCount is how many sends' first closing episode closed with a tag.
type FinalTagCount struct {
	TagID parley.ID
	Name  string
	Type  conversations.TagType
	Count int64
}

// OutboundReport is the summary and the detailed table. ByOriginType is
// ordered by origin type, ByCampaign by campaign id, FinalTags by count
// (most first) then name.
type OutboundReport struct {
	Totals       OutboundCounts
	ByOriginType []OriginTypeCounts
	ByCampaign   []CampaignCounts
	FinalTags    []FinalTagCount
	// NewContacts and RecurringContacts split Totals.Contacts.
	NewContacts, RecurringContacts int64
}

// FunnelStage is one bar of the sales funnel.
type FunnelStage struct {
	Stage string
	Count int64
}

// Funnel is successful sends → replied → assigned → sales.
func (r OutboundReport) Funnel() []FunnelStage {
	t := r.Totals
	return []FunnelStage{{"successful_sends", t.Sends}, {"replied", t.Replied}, {"assigned", t.Assigned}, {"sales", t.Sales}}
}

// AuditRow is one send as the audit and the outbound_audit export give it.
// RepliedAt and AssigneeID are set only when the reply or the assignment
// fell within the reply window, so that counting audit rows gives the
// summary's figures.
type AuditRow struct {
	SendID         parley.ID
	SentAt         time.Time
	CampaignID     *parley.ID
	CampaignName   string
	OriginType     string
	ChannelID      parley.ID
	ContactID      parley.ID
	ContactName    string
	Phone          string
	Status         conversations.MessageStatus
	RepliedAt      *time.Time
	AssigneeID     *parley.ID
	FinalTag       string
	FinalTagType   conversations.TagType
	Sale           bool
	ContactKind    ContactKind
	ConversationID parley.ID
}

// AuditColumns are the audit row's fields, in order (API.md).
var AuditColumns = []string{"send_id", "sent_at", "campaign_id", "campaign_name", "origin_type", "channel_id",
	"contact_id", "contact_name", "phone", "status", "replied_at", "assignee_id", "final_tag", "final_tag_type",
	"sale", "contact_kind", "conversation_id"}

// Values is the row in AuditColumns' order, ids as strings, names as
// export.Text.
func (r AuditRow) Values() []any {
	var finalType any
	if r.FinalTagType != "" {
		finalType = string(r.FinalTagType)
	}
	var finalTag any
	if r.FinalTag != "" {
		finalTag = export.Text(r.FinalTag)
	}
	var campaignName any
	if r.CampaignID != nil {
		campaignName = export.Text(r.CampaignName)
	}
	return []any{r.SendID.String(), r.SentAt, idText(r.CampaignID), campaignName, r.OriginType, r.ChannelID.String(),
		r.ContactID.String(), export.Text(r.ContactName), r.Phone, string(r.Status), r.RepliedAt, idText(r.AssigneeID), finalTag, finalType,
		r.Sale, string(r.ContactKind), r.ConversationID.String()}
}

// AuditCursor is where an audit page resumes: after this send.
type AuditCursor struct {
	SentAt time.Time
	SendID parley.ID
}

// String is the cursor as the API and the web pages hand it out, opaque
// like every cursor: the send's time (Unix nanoseconds) and id,
// base64url encoded.
func (c AuditCursor) String() string {
	raw := strconv.FormatInt(c.SentAt.UnixNano(), 10) + "." + c.SendID.String()
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// ParseAuditCursor reads a cursor String made; ok is false for anything else.
func ParseAuditCursor(s string) (c AuditCursor, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return AuditCursor{}, false
	}
	at, id, found := strings.Cut(string(raw), ".")
	nanos, err1 := strconv.ParseInt(at, 10, 64)
	sendID, err2 := strconv.ParseInt(id, 10, 64)
	if !found || err1 != nil || err2 != nil || sendID <= 0 {
		return AuditCursor{}, false
	}
	return AuditCursor{SentAt: time.Unix(0, nanos).UTC(), SendID: parley.ID(sendID)}, true
}

// MaxAuditPage is the most audit rows one page (and the web's table) shows.
const MaxAuditPage = 2000

// OutboundStore gathers the outbound report (the store implements it).
type OutboundStore interface {
	// OutboundReport computes the summary and the detailed table.
	OutboundReport(ctx context.Context, f OutboundFilter) (OutboundReport, error)
	// OutboundAudit lists up to limit sends in (sent_at, send_id) order
	// after the cursor (nil: from the start); more reports whether there
	// are rows after the page.
	OutboundAudit(ctx context.Context, f OutboundFilter, after *AuditCursor, limit int) (rows []AuditRow, more bool, err error)
}
