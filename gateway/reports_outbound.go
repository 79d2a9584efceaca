package gateway

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/reports"
)

// The outbound report (API.md, "Reports and exports"): the summary and
// detailed table at GET /v1/reports/outbound, one row per send at
// GET /v1/reports/outbound/audit. Both read the same filter, so counting
// the audit's rows gives the summary's figures.

// originTypeCountsJSON and campaignCountsJSON spell the figures out
// rather than embed outboundCountsJSON, so that the OpenAPI test's
// reflection sees the fields the wire has.
type originTypeCountsJSON struct {
	OriginType string `json:"origin_type"`
	Sends      int64  `json:"sends"`
	Contacts   int64  `json:"contacts"`
	Replied    int64  `json:"replied"`
	Assigned   int64  `json:"assigned"`
	Sales      int64  `json:"sales"`
}

type campaignCountsJSON struct {
	CampaignID parley.ID `json:"campaign_id"`
	Name       string    `json:"name"`
	OriginType string    `json:"origin_type"`
	Sends      int64     `json:"sends"`
	Contacts   int64     `json:"contacts"`
	Replied    int64     `json:"replied"`
	Assigned   int64     `json:"assigned"`
	Sales      int64     `json:"sales"`
}

type funnelStageJSON struct {
	Stage string `json:"stage"`
	Count int64  `json:"count"`
}

type finalTagCountJSON struct {
	TagID parley.ID `json:"tag_id"`
	Name  string    `json:"name"`
	Type  string    `json:"type"`
	Count int64     `json:"count"`
}

type contactKindsJSON struct {
	New       int64 `json:"new"`
	Recurring int64 `json:"recurring"`
}

type outboundReportJSON struct {
	TotalContacts   int64                  `json:"total_contacts"`
	SuccessfulSends int64                  `json:"successful_sends"`
	Replied         int64                  `json:"replied"`
	Assigned        int64                  `json:"assigned"`
	Sales           int64                  `json:"sales"`
	Funnel          []funnelStageJSON      `json:"funnel"`
	ByOriginType    []originTypeCountsJSON `json:"by_origin_type"`
	ByCampaign      []campaignCountsJSON   `json:"by_campaign"`
	FinalTags       []finalTagCountJSON    `json:"final_tags"`
	ContactKinds    contactKindsJSON       `json:"contact_kinds"`
	// ReplyWindowHours echoes the window the figures were counted with
	// (an extension: the default is not otherwise visible in the answer).
	ReplyWindowHours int `json:"reply_window_hours"`
}

func toOutboundReportJSON(rep reports.OutboundReport, window time.Duration) outboundReportJSON {
	t := rep.Totals
	out := outboundReportJSON{TotalContacts: t.Contacts, SuccessfulSends: t.Sends, Replied: t.Replied, Assigned: t.Assigned, Sales: t.Sales,
		ContactKinds:     contactKindsJSON{New: rep.NewContacts, Recurring: rep.RecurringContacts},
		ReplyWindowHours: int(window / time.Hour),
		Funnel:           []funnelStageJSON{}, ByOriginType: []originTypeCountsJSON{}, ByCampaign: []campaignCountsJSON{}, FinalTags: []finalTagCountJSON{}}
	for _, s := range rep.Funnel() {
		out.Funnel = append(out.Funnel, funnelStageJSON{Stage: s.Stage, Count: s.Count})
	}
	for _, o := range rep.ByOriginType {
		n := o.OutboundCounts
		out.ByOriginType = append(out.ByOriginType, originTypeCountsJSON{OriginType: o.OriginType,
			Sends: n.Sends, Contacts: n.Contacts, Replied: n.Replied, Assigned: n.Assigned, Sales: n.Sales})
	}
	for _, c := range rep.ByCampaign {
		n := c.OutboundCounts
		out.ByCampaign = append(out.ByCampaign, campaignCountsJSON{CampaignID: c.CampaignID, Name: c.Name, OriginType: c.OriginType,
			Sends: n.Sends, Contacts: n.Contacts, Replied: n.Replied, Assigned: n.Assigned, Sales: n.Sales})
	}
	for _, f := range rep.FinalTags {
		out.FinalTags = append(out.FinalTags, finalTagCountJSON{TagID: f.TagID, Name: f.Name, Type: string(f.Type), Count: f.Count})
	}
	return out
}

func handleOutboundReport(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireViewAll(r); err != nil {
			return err
		}
		f, err := reports.ParseOutboundQuery(r.URL.Query(), currentUser(r).AccountID)
		if err != nil {
			return err
		}
		rep, err := d.Reports.OutboundReport(r.Context(), f)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toOutboundReportJSON(rep, f.ReplyWindow))
		return nil
	}
}

// auditRowJSON is one send of the audit, with the export's columns.
type auditRowJSON struct {
	SendID         parley.ID  `json:"send_id"`
	SentAt         time.Time  `json:"sent_at"`
	CampaignID     *parley.ID `json:"campaign_id"`
	CampaignName   *string    `json:"campaign_name"`
	OriginType     string     `json:"origin_type"`
	ChannelID      parley.ID  `json:"channel_id"`
	ContactID      parley.ID  `json:"contact_id"`
	ContactName    string     `json:"contact_name"`
	Phone          string     `json:"phone"`
	Status         string     `json:"status"`
	RepliedAt      *time.Time `json:"replied_at"`
	AssigneeID     *parley.ID `json:"assignee_id"`
	FinalTag       *string    `json:"final_tag"`
	FinalTagType   *string    `json:"final_tag_type"`
	Sale           bool       `json:"sale"`
	ContactKind    string     `json:"contact_kind"`
	ConversationID parley.ID  `json:"conversation_id"`
}

// orNull is s, or null when empty.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toAuditRowJSON(a reports.AuditRow) auditRowJSON {
	row := auditRowJSON{SendID: a.SendID, SentAt: a.SentAt, CampaignID: a.CampaignID, OriginType: a.OriginType,
		ChannelID: a.ChannelID, ContactID: a.ContactID, ContactName: a.ContactName, Phone: a.Phone, Status: string(a.Status),
		RepliedAt: a.RepliedAt, AssigneeID: a.AssigneeID, FinalTag: orNull(a.FinalTag), FinalTagType: orNull(string(a.FinalTagType)),
		Sale: a.Sale, ContactKind: string(a.ContactKind), ConversationID: a.ConversationID}
	if a.CampaignID != nil {
		row.CampaignName = &a.CampaignName
	}
	return row
}

// defaultAuditPage is the audit's page without ?limit=, as other lists'.
const defaultAuditPage = 50

// auditPage reads ?limit= (1 to reports.MaxAuditPage) and ?cursor=.
func auditPage(q url.Values) (after *reports.AuditCursor, limit int, err error) {
	bad := map[string]string{}
	limit = defaultAuditPage
	if raw := q.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > reports.MaxAuditPage {
			bad["limit"] = "must be a whole number from 1 to " + strconv.Itoa(reports.MaxAuditPage)
		}
		limit = n
	}
	if raw := q.Get("cursor"); raw != "" {
		c, ok := reports.ParseAuditCursor(raw)
		if !ok {
			bad["cursor"] = "is not a cursor this list returned"
		}
		after = &c
	}
	if len(bad) > 0 {
		return nil, 0, parley.Invalid(bad)
	}
	return after, limit, nil
}

func handleOutboundAudit(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireViewAll(r); err != nil {
			return err
		}
		q := r.URL.Query()
		f, err := reports.ParseOutboundQuery(q, currentUser(r).AccountID)
		after, limit, perr := auditPage(q)
		// One 422 names every bad field, the filter's and the page's.
		if err := parley.MergeInvalid(err, perr); err != nil {
			return err
		}
		rows, more, err := d.Reports.OutboundAudit(r.Context(), f, after, limit)
		if err != nil {
			return err
		}
		next := ""
		if more && len(rows) > 0 {
			last := rows[len(rows)-1]
			next = reports.AuditCursor{SentAt: last.SentAt, SendID: last.SendID}.String()
		}
		writePage(w, rows, next, toAuditRowJSON)
		return nil
	}
}
