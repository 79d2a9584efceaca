package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/outcomes"
	"github.com/parleyhq/parley/reports"
	"github.com/parleyhq/parley/reports/export"
)

// Reports → Outcomes: the outcomes report over a range of days, as
// figures, SVG charts and a table, with links to its export. The form is
// a GET, so a report is a link that can be shared and reloaded.

func (s *Server) reportRoutes(r *mux.Router) {
	r.Handle("/reports", http.RedirectHandler("/reports/outcomes", http.StatusSeeOther)).Methods(http.MethodGet)
	r.Handle("/reports/outcomes", s.page(s.outcomesReport)).Methods(http.MethodGet)
}

// defaultReportDays is the range the page shows when none is asked for.
const defaultReportDays = 30

// reportForm is the page's form as the person filled it: dates (the last
// one included) rather than the API's half-open RFC 3339 range.
type reportForm struct {
	From, To                       string
	Interval                       string
	InboxID, ChannelID, CampaignID string
}

type outcomesReportData struct {
	Form reportForm
	// Error is the filters' refusal, shown beside the form in place of
	// the figures.
	Error     string
	Inboxes   []conversations.Inbox
	Channels  []conversations.Channel
	Campaigns []campaigns.Campaign

	Report         reports.OutcomesReport
	Totals         []reportTypeTotal
	Revenue        []reportMoneyFigure
	ConversionRate string
	PaidRate       string
	Median         string
	Sources        []reportSourceRow
	CountsChart    chart
	RevenueCharts  []chart
	Series         []reportSeriesRow
	Exports        []reportExportLink
}

type reportTypeTotal struct {
	Type  outcomes.Type
	Count int64
}

type reportMoneyFigure struct {
	Currency, Amount string
	Count            int64
}

type reportSourceRow struct {
	Source, Inbox, Channel, Campaign string
	Count                            int64
}

type reportSeriesRow struct {
	Label   string
	Counts  []int64 // in outcomes.Types' order
	Revenue []reportMoneyFigure
}

type reportExportLink struct {
	Label, URL string
}

func (s *Server) outcomesReport(w http.ResponseWriter, r *http.Request) error {
	u := me(r)
	if !u.CanViewAll() {
		return parley.Errorf(parley.EFORBIDDEN, "reports are for admins and for people who see every conversation")
	}
	form, apiQuery, err := readReportForm(r.URL.Query(), s.d.Clock.Now())
	var f reports.OutcomesFilter
	if err == nil {
		f, err = reports.ParseOutcomesQuery(apiQuery, u.AccountID)
	}
	if parley.IsKind(err, parley.EINVALID) {
		// A refused range still shows the form, to correct it.
		d := outcomesReportData{Form: form, Error: errorText(err)}
		if err := s.reportChoices(r.Context(), u.AccountID, &d); err != nil {
			return err
		}
		return s.renderStatus(w, r, http.StatusUnprocessableEntity, "report_outcomes", "Outcomes report", d)
	}
	if err != nil {
		return err
	}
	rep, err := s.d.Reports.OutcomesReport(r.Context(), f)
	if err != nil {
		return err
	}
	d := outcomesReportData{Form: form, Report: rep}
	if err := s.reportChoices(r.Context(), u.AccountID, &d); err != nil {
		return err
	}
	d.fill(rep, string(f.Interval))
	for _, fm := range []export.Format{export.CSV, export.XLSX, export.JSON} {
		q := url.Values{}
		for k, v := range apiQuery {
			q[k] = v
		}
		q.Set("format", string(fm))
		d.Exports = append(d.Exports, reportExportLink{Label: map[export.Format]string{export.CSV: "CSV", export.XLSX: "Excel (XLSX)", export.JSON: "JSON"}[fm],
			URL: "/v1/exports/outcomes?" + q.Encode()})
	}
	return s.render(w, r, "report_outcomes", "Outcomes report", d)
}

// readReportForm reads the page's query, filling in the last 30 days and
// daily buckets when none are given, and returns the API's query for it.
func readReportForm(q url.Values, now time.Time) (reportForm, url.Values, error) {
	f := reportForm{From: q.Get("from"), To: q.Get("to"), Interval: q.Get("interval"),
		InboxID: q.Get("inbox_id"), ChannelID: q.Get("channel_id"), CampaignID: q.Get("campaign_id")}
	today := now.UTC().Truncate(24 * time.Hour)
	if f.To == "" {
		f.To = today.Format(time.DateOnly)
	}
	if f.From == "" {
		f.From = today.AddDate(0, 0, 1-defaultReportDays).Format(time.DateOnly)
	}
	if f.Interval == "" {
		f.Interval = string(reports.Day)
	}
	bad := map[string]string{}
	from, err := time.Parse(time.DateOnly, f.From)
	if err != nil {
		bad["from"] = "must be a date"
	}
	to, err := time.Parse(time.DateOnly, f.To)
	if err != nil {
		bad["to"] = "must be a date"
	}
	if len(bad) > 0 {
		return f, nil, parley.Invalid(bad)
	}
	api := url.Values{}
	api.Set("from", from.Format(time.RFC3339))
	api.Set("to", to.AddDate(0, 0, 1).Format(time.RFC3339)) // the last day is included
	api.Set("interval", f.Interval)
	for k, v := range map[string]string{"inbox_id": f.InboxID, "channel_id": f.ChannelID, "campaign_id": f.CampaignID} {
		if v != "" {
			api.Set(k, v)
		}
	}
	return f, api, nil
}

// reportChoices lists what the filters offer: the inboxes, the channels
// and the latest campaigns.
func (s *Server) reportChoices(ctx context.Context, accountID parley.ID, d *outcomesReportData) error {
	var err error
	if d.Inboxes, err = s.allInboxes(ctx, accountID); err != nil {
		return err
	}
	if d.Channels, err = s.allChannels(ctx, accountID); err != nil {
		return err
	}
	d.Campaigns, _, err = s.d.Campaigns.ListCampaigns(ctx, accountID, nil, parley.Page{Limit: 200})
	return err
}

// fill computes the page's figures, charts and table from the report.
func (d *outcomesReportData) fill(rep reports.OutcomesReport, interval string) {
	counts := map[outcomes.Type]int64{}
	var labels []string
	for _, b := range rep.Series {
		label := bucketLabel(b.Start, interval)
		labels = append(labels, label)
		row := reportSeriesRow{Label: label, Revenue: reportMoneyFigures(b.Revenue)}
		for _, t := range outcomes.Types {
			row.Counts = append(row.Counts, b.Counts[t])
			counts[t] += b.Counts[t]
		}
		d.Series = append(d.Series, row)
	}
	var lines []lineSeries
	for k, t := range outcomes.Types {
		d.Totals = append(d.Totals, reportTypeTotal{Type: t, Count: counts[t]})
		if counts[t] == 0 {
			continue
		}
		ls := lineSeries{Label: reportTypeLabel(t)}
		for _, row := range d.Series {
			ls.Values = append(ls.Values, row.Counts[k])
		}
		lines = append(lines, ls)
	}
	d.CountsChart = lineChart("chart-outcomes", "Outcomes by "+interval,
		fmt.Sprintf("Outcomes recorded each %s, one line per outcome type, from %s to %s.", interval, firstLabel(labels), lastLabel(labels)), labels, lines)
	d.Revenue = reportMoneyFigures(rep.Revenue)
	for _, total := range rep.Revenue {
		cur := total.Currency
		scale := math.Pow10(int(outcomes.Scale(cur)))
		var values []float64
		for _, b := range rep.Series {
			var units int64
			for _, m := range b.Revenue {
				if m.Currency == cur {
					units = m.Units
				}
			}
			values = append(values, float64(units)/scale)
		}
		digits := int(outcomes.Scale(cur))
		amount := func(v float64) string { return strconv.FormatFloat(v, 'f', digits, 64) }
		d.RevenueCharts = append(d.RevenueCharts, barChart("chart-revenue-"+cur, "Revenue in "+cur+" by "+interval,
			fmt.Sprintf("Invoices paid each %s in %s; %s in all.", interval, cur, outcomes.FormatUnits(total.Units, cur)), labels, values,
			amount, func(v float64) string { return cur + " " + amount(v) }))
	}
	d.ConversionRate, d.PaidRate = reportPercent(rep.ConversionRate), reportPercent(rep.PaidRate)
	d.Median = "—"
	if rep.MedianTimeToResolve != nil {
		d.Median = reportDuration(*rep.MedianTimeToResolve)
	}
	for _, p := range rep.ProjectSources {
		row := reportSourceRow{Source: map[reports.Origin]string{reports.OriginInbound: "Inbound", reports.OriginQuickMessage: "Quick message",
			reports.OriginCampaign: "Campaign"}[p.Source], Inbox: inboxName(d.Inboxes, p.InboxID), Count: p.Count}
		for _, c := range d.Channels {
			if c.ID == p.ChannelID {
				row.Channel = channelLabel(c)
			}
		}
		if p.CampaignID != nil {
			row.Campaign = "Campaign " + p.CampaignID.String()
			for _, c := range d.Campaigns {
				if c.ID == *p.CampaignID {
					row.Campaign = c.Name
				}
			}
		}
		d.Sources = append(d.Sources, row)
	}
}

func reportMoneyFigures(ts []reports.CurrencyTotal) []reportMoneyFigure {
	var out []reportMoneyFigure
	for _, t := range ts {
		out = append(out, reportMoneyFigure{Currency: t.Currency, Amount: outcomes.FormatUnits(t.Units, t.Currency), Count: t.Count})
	}
	return out
}

// TypeLabels are the outcome types as the table's head names them.
func (d outcomesReportData) TypeLabels() []string {
	var out []string
	for _, t := range outcomes.Types {
		out = append(out, reportTypeLabel(t))
	}
	return out
}

func reportTypeLabel(t outcomes.Type) string {
	return map[outcomes.Type]string{outcomes.QuoteSent: "Quotes sent", outcomes.QuoteAccepted: "Quotes accepted",
		outcomes.InvoiceSent: "Invoices sent", outcomes.InvoicePaid: "Invoices paid", outcomes.ProjectCreated: "Projects created",
		outcomes.IssueResolved: "Issues resolved", outcomes.LeadAbandoned: "Leads abandoned"}[t]
}

func reportPercent(r *float64) string {
	if r == nil {
		return "—"
	}
	return strconv.FormatFloat(*r*100, 'f', 1, 64) + "%"
}

// reportDuration is a median time to resolve in words: "3 h 20 min".
func reportDuration(d time.Duration) string {
	if d < time.Minute {
		return "under a minute"
	}
	d = d.Round(time.Minute)
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days %d h", int(d.Hours())/24, int(d.Hours())%24)
}

func firstLabel(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func lastLabel(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}
