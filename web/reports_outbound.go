package web

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/reports"
	"github.com/parleyhq/parley/reports/export"
)

// Reports → Outbound: the outbound report (API.md, "Reports and
// exports") in three tabs over one filter form. Summary gives the
// figures, the sales funnel and the splits by origin type, final tag and
// new or recurring contact; Detailed a row per campaign, sorted on the
// server; Audit the sends themselves a page at a time, and downloads of
// every row the filters select. The form is a GET and every link (tab,
// sort, page, download) carries it, so a view is a link to share.

func (s *Server) outboundReportRoutes(r *mux.Router) {
	r.Handle("/reports/outbound", s.page(s.outboundReport)).Methods(http.MethodGet)
	r.Handle("/reports/outbound/export", s.page(s.outboundExport)).Methods(http.MethodGet)
}

// The report's tabs.
const (
	tabSummary  = "summary"
	tabDetailed = "detailed"
	tabAudit    = "audit"
)

// outboundOrigins are the origin types in the order the form offers them.
var outboundOrigins = []string{"campaign", "quick_message", "flow", "template", "webhook"}

func originLabel(o string) string {
	if o == "quick_message" {
		return "Quick message"
	}
	if o == "" {
		return ""
	}
	return strings.ToUpper(o[:1]) + o[1:]
}

// outboundForm is the filter form as the person filled it: dates (the
// last one included) rather than the API's half-open range, and an empty
// reply window for the default.
type outboundForm struct {
	From, To                                        string
	ChannelID, OriginType, CampaignID, CampaignName string
	TagType, FinalTagID, ContactKind, ReplyWindow   string
}

// values is the form as a query, without its empty fields: what the
// tab, sort, page and download links carry.
func (f outboundForm) values() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"from": f.From, "to": f.To, "channel_id": f.ChannelID, "origin_type": f.OriginType,
		"campaign_id": f.CampaignID, "campaign_name": f.CampaignName, "tag_type": f.TagType, "final_tag_id": f.FinalTagID,
		"contact_kind": f.ContactKind, "reply_window": f.ReplyWindow} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// readOutboundForm reads the page's query, filling in the last 30 days
// when no dates are given (as the outcomes page does), and returns the
// API's query for it.
func readOutboundForm(q url.Values, now time.Time) (outboundForm, url.Values, error) {
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	dates, api, err := readReportForm(url.Values{"from": {get("from")}, "to": {get("to")}}, now)
	f := outboundForm{From: dates.From, To: dates.To, ChannelID: get("channel_id"), OriginType: get("origin_type"),
		CampaignID: get("campaign_id"), CampaignName: get("campaign_name"), TagType: get("tag_type"),
		FinalTagID: get("final_tag_id"), ContactKind: get("contact_kind"), ReplyWindow: get("reply_window")}
	if err != nil {
		return f, nil, err
	}
	api.Del("interval")
	for k, v := range f.values() {
		if k != "from" && k != "to" {
			api[k] = v
		}
	}
	return f, api, nil
}

type outboundReportData struct {
	Form outboundForm
	Tab  string
	Tabs []outboundTabLink
	// Error is the filters' refusal, shown in place of the figures.
	Error string

	Channels  []conversations.Channel
	Campaigns []campaigns.Campaign
	Tags      []conversations.Tag
	Origins   []option
	TagTypes  []option
	Window    int // the reply window in hours

	Summary  *outboundSummary
	Detailed *outboundDetailed
	Audit    *outboundAuditPage
}

type outboundTabLink struct {
	Label, URL string
	Current    bool
}

type option struct{ Value, Label string }

func (s *Server) outboundReport(w http.ResponseWriter, r *http.Request) error {
	u := me(r)
	if !u.CanViewAll() {
		return parley.Errorf(parley.EFORBIDDEN, "reports are for admins and for people who see every conversation")
	}
	q := r.URL.Query()
	d := outboundReportData{Tab: q.Get("tab")}
	if d.Tab != tabDetailed && d.Tab != tabAudit {
		d.Tab = tabSummary
	}
	if err := s.outboundChoices(r.Context(), u.AccountID, &d); err != nil {
		return err
	}
	f, err := s.outboundFilter(q, u.AccountID, &d)
	if err == nil {
		err = s.fillOutbound(r.Context(), &d, f, q)
	}
	if parley.IsKind(err, parley.EINVALID) {
		// A refused filter or page still shows the form, to correct it.
		d.Error = errorText(err)
		return s.renderStatus(w, r, http.StatusUnprocessableEntity, "reports_outbound", "Outbound report", d)
	}
	if err != nil {
		return err
	}
	return s.render(w, r, "reports_outbound", "Outbound report", d)
}

// fillOutbound gathers what the tab shows.
func (s *Server) fillOutbound(ctx context.Context, d *outboundReportData, f reports.OutboundFilter, q url.Values) error {
	if d.Tab == tabAudit {
		return s.fillOutboundAudit(ctx, d, f, q)
	}
	rep, err := s.d.Reports.OutboundReport(ctx, f)
	if err != nil {
		return err
	}
	d.fillReport(rep, q)
	return nil
}

// outboundFilter reads the form into the report's filter, and fills in
// what the page's links keep.
func (s *Server) outboundFilter(q url.Values, accountID parley.ID, d *outboundReportData) (reports.OutboundFilter, error) {
	form, api, err := readOutboundForm(q, s.d.Clock.Now())
	d.Form = form
	for _, t := range []struct{ tab, label string }{{tabSummary, "Summary"}, {tabDetailed, "Detailed"}, {tabAudit, "Audit"}} {
		d.Tabs = append(d.Tabs, outboundTabLink{Label: t.label, URL: d.link(url.Values{"tab": {t.tab}}), Current: t.tab == d.Tab})
	}
	d.Window = int(reports.DefaultReplyWindow.Hours())
	if err != nil {
		return reports.OutboundFilter{}, err
	}
	f, err := reports.ParseOutboundQuery(api, accountID)
	if err == nil {
		d.Window = int(f.ReplyWindow.Hours())
	}
	return f, err
}

// link is the page with the form's filters and extra (tab, sort, …).
func (d *outboundReportData) link(extra url.Values) string {
	q := d.Form.values()
	for k, v := range extra {
		q[k] = v
	}
	return "/reports/outbound?" + q.Encode()
}

// outboundChoices lists what the filters offer.
func (s *Server) outboundChoices(ctx context.Context, accountID parley.ID, d *outboundReportData) error {
	var err error
	if d.Channels, err = s.allChannels(ctx, accountID); err != nil {
		return err
	}
	if d.Campaigns, _, err = s.d.Campaigns.ListCampaigns(ctx, accountID, nil, parley.Page{Limit: 200}); err != nil {
		return err
	}
	if d.Tags, err = s.d.Tags.ListTags(ctx, accountID, true); err != nil {
		return err
	}
	for _, o := range outboundOrigins {
		d.Origins = append(d.Origins, option{o, originLabel(o)})
	}
	for _, t := range conversations.TagTypes {
		d.TagTypes = append(d.TagTypes, option{string(t), tagTypeLabel(t)})
	}
	return nil
}

// ---- summary and detailed ----------------------------------------------

// outboundRow is a group of sends' figures with their rates (of the
// successful sends): the totals, an origin type or a campaign.
type outboundRow struct {
	Name, OriginType string
	CampaignID       parley.ID // of a campaign's row
	reports.OutboundCounts
	RepliedRate, AssignedRate, SalesRate string
}

func newOutboundRow(name string, c reports.OutboundCounts) outboundRow {
	return outboundRow{Name: name, OutboundCounts: c,
		RepliedRate: share(c.Replied, c.Sends), AssignedRate: share(c.Assigned, c.Sends), SalesRate: share(c.Sales, c.Sends)}
}

// share is n of all as a percentage, "—" when there is nothing to divide.
func share(n, all int64) string { return reportPercent(reports.Rate(n, all)) }

type outboundSummary struct {
	Totals       outboundRow
	Funnel       barRows
	Origins      []outboundRow
	FinalTags    barRows
	FinalTagRows []finalTagRow
	// New and Recurring split the contacts; their shares are of them.
	New, Recurring           int64
	NewShare, RecurringShare string
}

type finalTagRow struct {
	Name, Type, Share string
	Count             int64
}

type outboundDetailed struct {
	Columns []sortColumn
	Rows    []outboundRow
}

// sortColumn is a header of the detailed table: a link that sorts by it
// (the other way when it already does).
type sortColumn struct {
	Label, URL string
	// AriaSort is "ascending" or "descending" on the column the table is
	// sorted by, else empty.
	AriaSort string
	Numeric  bool
}

func (d *outboundReportData) fillReport(rep reports.OutboundReport, q url.Values) {
	if d.Tab == tabDetailed {
		d.Detailed = d.detailed(rep, q.Get("sort"), q.Get("dir"))
		return
	}
	sum := &outboundSummary{Totals: newOutboundRow("All", rep.Totals), New: rep.NewContacts, Recurring: rep.RecurringContacts,
		NewShare: share(rep.NewContacts, rep.Totals.Contacts), RecurringShare: share(rep.RecurringContacts, rep.Totals.Contacts)}
	sum.Funnel = outboundFunnel(rep)
	for _, o := range rep.ByOriginType {
		row := newOutboundRow(originLabel(o.OriginType), o.OutboundCounts)
		row.OriginType = o.OriginType
		sum.Origins = append(sum.Origins, row)
	}
	var all int64
	for _, t := range rep.FinalTags {
		all += t.Count
	}
	var bars []barInput
	for _, t := range rep.FinalTags {
		sum.FinalTagRows = append(sum.FinalTagRows, finalTagRow{Name: t.Name, Type: tagTypeLabel(t.Type), Count: t.Count, Share: share(t.Count, all)})
		bars = append(bars, barInput{Key: t.TagID.String(), Label: t.Name, Count: t.Count,
			Value: fmt.Sprintf("%d · %s", t.Count, share(t.Count, all)),
			Title: fmt.Sprintf("%s (%s): %d sends closed with it", t.Name, tagTypeLabel(t.Type), t.Count)})
	}
	sum.FinalTags = barRowChart("chart-final-tags", "Final tags",
		fmt.Sprintf("How many sends' first closed episode ended with each final tag; %d in all.", all), bars, false)
	d.Summary = sum
}

// funnelStages name the funnel's stages.
var funnelStages = map[string]string{"successful_sends": "Successful sends", "replied": "Replied", "assigned": "Assigned", "sales": "Sales"}

// outboundFunnel draws successful sends → replied → assigned → sales,
// each with its share of the successful sends.
func outboundFunnel(rep reports.OutboundReport) barRows {
	var bars []barInput
	sends := rep.Totals.Sends
	var desc []string
	for _, st := range rep.Funnel() {
		label := funnelStages[st.Stage]
		bars = append(bars, barInput{Key: st.Stage, Label: label, Count: st.Count,
			Value: fmt.Sprintf("%d · %s", st.Count, share(st.Count, sends)),
			Title: fmt.Sprintf("%s: %d of %d successful sends (%s)", label, st.Count, sends, share(st.Count, sends))})
		desc = append(desc, fmt.Sprintf("%s %d", strings.ToLower(label), st.Count))
	}
	return barRowChart("chart-funnel", "Sales funnel", "From successful sends to sales: "+strings.Join(desc, ", then ")+".", bars, true)
}

// The detailed table's columns: key, header, and whether it is a number
// (numbers sort largest first on the first click).
type detailedColumn struct {
	key, label string
	numeric    bool
	value      func(outboundRow) float64
}

var detailedColumns = []detailedColumn{
	{"campaign", "Campaign", false, nil},
	{"origin_type", "Origin", false, nil},
	{"sends", "Sends", true, func(r outboundRow) float64 { return float64(r.Sends) }},
	{"contacts", "Contacts", true, func(r outboundRow) float64 { return float64(r.Contacts) }},
	{"replied", "Replied", true, func(r outboundRow) float64 { return float64(r.Replied) }},
	{"replied_rate", "Reply rate", true, func(r outboundRow) float64 { return ratio(r.Replied, r.Sends) }},
	{"assigned", "Assigned", true, func(r outboundRow) float64 { return float64(r.Assigned) }},
	{"assigned_rate", "Assign rate", true, func(r outboundRow) float64 { return ratio(r.Assigned, r.Sends) }},
	{"sales", "Sales", true, func(r outboundRow) float64 { return float64(r.Sales) }},
	{"sales_rate", "Sale rate", true, func(r outboundRow) float64 { return ratio(r.Sales, r.Sends) }},
}

// ratio sorts a rate; no sends sorts below every rate.
func ratio(n, all int64) float64 {
	if all == 0 {
		return -1
	}
	return float64(n) / float64(all)
}

// detailed is the per-campaign table sorted by key (sends when unknown)
// in dir; ties go by name then id, so the order is stable between loads.
func (d *outboundReportData) detailed(rep reports.OutboundReport, key, dir string) *outboundDetailed {
	col := slices.IndexFunc(detailedColumns, func(c detailedColumn) bool { return c.key == key })
	if col < 0 {
		col, dir = 2, "desc"
	}
	if dir != "asc" && dir != "desc" {
		dir = map[bool]string{true: "desc", false: "asc"}[detailedColumns[col].numeric]
	}
	det := &outboundDetailed{}
	for _, c := range rep.ByCampaign {
		name := c.Name
		if name == "" {
			name = "Campaign " + c.CampaignID.String()
		}
		row := newOutboundRow(name, c.OutboundCounts)
		row.OriginType, row.CampaignID = c.OriginType, c.CampaignID
		det.Rows = append(det.Rows, row)
	}
	by := detailedColumns[col]
	slices.SortStableFunc(det.Rows, func(a, b outboundRow) int {
		var c int
		switch by.key {
		case "campaign":
			c = cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		case "origin_type":
			c = cmp.Compare(a.OriginType, b.OriginType)
		default:
			c = cmp.Compare(by.value(a), by.value(b))
		}
		if dir == "desc" {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.CampaignID, b.CampaignID))
	})
	for i, c := range detailedColumns {
		sc := sortColumn{Label: c.label, Numeric: c.numeric}
		next := map[bool]string{true: "desc", false: "asc"}[c.numeric]
		if i == col {
			sc.AriaSort = map[string]string{"asc": "ascending", "desc": "descending"}[dir]
			next = map[string]string{"asc": "desc", "desc": "asc"}[dir]
		}
		sc.URL = d.link(url.Values{"tab": {tabDetailed}, "sort": {c.key}, "dir": {next}})
		det.Columns = append(det.Columns, sc)
	}
	return det
}

// ---- audit ---------------------------------------------------------------

type outboundAuditPage struct {
	Rows []auditView
	// Next is the next page's link (empty on the last); First the first
	// page's (empty on it).
	Next, First string
	Exports     []outboundExportLink
}

// auditView is an audit row as the table shows it: every field of
// API.md's row, ids with the names they stand for.
type auditView struct {
	SendID, SentAt, SentAtISO, CampaignID, Campaign, Origin, ChannelID, Channel string
	ContactID, ContactName, Phone, Status, RepliedAt, RepliedAtISO              string
	AssigneeID, Assignee, FinalTag, FinalTagType, Sale, ContactKind             string
	ConversationID                                                              string
}

type outboundExportLink struct {
	Label, Format, URL string
}

func (s *Server) fillOutboundAudit(ctx context.Context, d *outboundReportData, f reports.OutboundFilter, q url.Values) error {
	after, err := parseAuditCursor(q.Get("cursor"))
	if err != nil {
		return err
	}
	limit := reports.MaxAuditPage
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 && n < limit {
		limit = n
	}
	rows, more, err := s.d.Reports.OutboundAudit(ctx, f, after, limit)
	if err != nil {
		return err
	}
	users, err := s.allUsers(ctx, f.AccountID)
	if err != nil {
		return err
	}
	page := &outboundAuditPage{}
	for _, row := range rows {
		page.Rows = append(page.Rows, d.auditView(row, users))
	}
	keep := url.Values{"tab": {tabAudit}}
	if q.Get("limit") != "" && limit < reports.MaxAuditPage {
		keep.Set("limit", strconv.Itoa(limit))
	}
	if after != nil {
		page.First = d.link(keep)
	}
	if more && len(rows) > 0 {
		last := rows[len(rows)-1]
		next := url.Values{"cursor": {reports.AuditCursor{SentAt: last.SentAt, SendID: last.SendID}.String()}}
		for k, v := range keep {
			next[k] = v
		}
		page.Next = d.link(next)
	}
	for _, x := range []struct{ label, format string }{{"CSV", "csv"}, {"Excel (XLSX)", "xlsx"}, {"JSON", "json"}} {
		q := d.Form.values()
		q.Set("format", x.format)
		page.Exports = append(page.Exports, outboundExportLink{Label: x.label, Format: x.format, URL: "/reports/outbound/export?" + q.Encode()})
	}
	d.Audit = page
	return nil
}

func (d *outboundReportData) auditView(r reports.AuditRow, users []conversations.User) auditView {
	v := auditView{SendID: r.SendID.String(), SentAt: r.SentAt.UTC().Format("2 Jan 2006 15:04:05"), SentAtISO: r.SentAt.UTC().Format(time.RFC3339),
		Origin: originLabel(r.OriginType), ChannelID: r.ChannelID.String(), ContactID: r.ContactID.String(), ContactName: r.ContactName,
		Phone: r.Phone, Status: string(r.Status), FinalTag: r.FinalTag, ContactKind: string(r.ContactKind),
		ConversationID: r.ConversationID.String(), Sale: "No"}
	v.Channel = v.ChannelID
	for _, c := range d.Channels {
		if c.ID == r.ChannelID {
			v.Channel = channelLabel(c)
		}
	}
	if r.CampaignID != nil {
		v.CampaignID, v.Campaign = r.CampaignID.String(), r.CampaignName
	}
	if r.RepliedAt != nil {
		v.RepliedAt, v.RepliedAtISO = r.RepliedAt.UTC().Format("2 Jan 2006 15:04:05"), r.RepliedAt.UTC().Format(time.RFC3339)
	}
	if r.AssigneeID != nil {
		v.AssigneeID, v.Assignee = r.AssigneeID.String(), "User "+r.AssigneeID.String()
		for _, u := range users {
			if u.ID == *r.AssigneeID {
				v.Assignee = u.Name
			}
		}
	}
	if r.FinalTagType != "" {
		v.FinalTagType = tagTypeLabel(r.FinalTagType)
	}
	if r.Sale {
		v.Sale = "Yes"
	}
	return v
}

// parseAuditCursor reads the page's ?cursor= (nil for the first page).
func parseAuditCursor(s string) (*reports.AuditCursor, error) {
	if s == "" {
		return nil, nil
	}
	c, ok := reports.ParseAuditCursor(s)
	if !ok {
		return nil, parley.Invalid(map[string]string{"cursor": "is not a page of this report; start from the first page"})
	}
	return &c, nil
}

// ---- downloads -------------------------------------------------------------

// outboundExport streams every audit row the filters select, through the
// same store call as GET /v1/exports/outbound_audit, so that the page's
// session is enough. More rows than the limit is refused before a byte is
// sent; a download cut short (the client left, the database failed) is
// cut, never ended like a whole file.
func (s *Server) outboundExport(w http.ResponseWriter, r *http.Request) error {
	u := me(r)
	if !u.CanViewAll() {
		return parley.Errorf(parley.EFORBIDDEN, "reports are for admins and for people who see every conversation")
	}
	q := r.URL.Query()
	format, err := export.ParseFormat(q.Get("format"))
	if err != nil {
		return err
	}
	_, api, err := readOutboundForm(q, s.d.Clock.Now())
	if err != nil {
		return err
	}
	f, err := reports.ParseOutboundQuery(api, u.AccountID)
	if err != nil {
		return err
	}
	limit := s.d.ExportLimit
	if limit <= 0 {
		limit = export.MaxRows
	}
	from, to := f.Range()
	err = export.Stream(w, r, format, export.Name(f.Report(), from, to), f.Columns(),
		func(begin func() error, row func([]any) error) error {
			return s.d.Reports.ExportRows(r.Context(), f, limit, begin, row)
		})
	return err
}
