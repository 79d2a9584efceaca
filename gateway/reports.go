package gateway

import (
	"math"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/outcomes"
	"github.com/parleyhq/parley/reports"
	"github.com/parleyhq/parley/reports/export"
)

// Reports are for those who see the whole account: a report's figures
// cover conversations an agent may not open.
func requireViewAll(r *http.Request) error {
	if !currentUser(r).CanViewAll() {
		return forbidden("reports need the admin role or view_all_conversations")
	}
	return nil
}

type reportMoneyJSON struct {
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
	Count    *int64 `json:"count,omitempty"`
}

type projectSourceJSON struct {
	Source     string     `json:"source"`
	CampaignID *parley.ID `json:"campaign_id,omitempty"`
	InboxID    parley.ID  `json:"inbox_id"`
	ChannelID  parley.ID  `json:"channel_id"`
	Count      int64      `json:"count"`
}

type outcomeBucketJSON struct {
	Start          time.Time         `json:"start"`
	QuoteSent      int64             `json:"quote_sent"`
	QuoteAccepted  int64             `json:"quote_accepted"`
	InvoiceSent    int64             `json:"invoice_sent"`
	InvoicePaid    int64             `json:"invoice_paid"`
	ProjectCreated int64             `json:"project_created"`
	IssueResolved  int64             `json:"issue_resolved"`
	LeadAbandoned  int64             `json:"lead_abandoned"`
	Revenue        []reportMoneyJSON `json:"revenue"`
}

type outcomesReportJSON struct {
	Revenue []reportMoneyJSON `json:"revenue"`
	Quotes  struct {
		Sent           int64    `json:"sent"`
		Accepted       int64    `json:"accepted"`
		ConversionRate *float64 `json:"conversion_rate"`
	} `json:"quotes"`
	Invoices struct {
		Sent     int64    `json:"sent"`
		Paid     int64    `json:"paid"`
		PaidRate *float64 `json:"paid_rate"`
	} `json:"invoices"`
	Projects struct {
		Created  int64               `json:"created"`
		BySource []projectSourceJSON `json:"by_source"`
	} `json:"projects"`
	Resolution struct {
		IssueResolved         int64  `json:"issue_resolved"`
		ResolvedConversations int64  `json:"resolved_conversations"`
		MedianTimeToResolveS  *int64 `json:"median_time_to_resolve_s"`
	} `json:"resolution"`
	Series []outcomeBucketJSON `json:"series"`
}

// reportMoneyList writes totals with amounts as decimal strings; counted says
// whether each carries its count (the totals do, the series' do not).
func reportMoneyList(ts []reports.CurrencyTotal, counted bool) []reportMoneyJSON {
	out := make([]reportMoneyJSON, 0, len(ts))
	for _, t := range ts {
		m := reportMoneyJSON{Currency: t.Currency, Amount: outcomes.FormatUnits(t.Units, t.Currency)}
		if counted {
			n := t.Count
			m.Count = &n
		}
		out = append(out, m)
	}
	return out
}

func toOutcomesReportJSON(rep reports.OutcomesReport) outcomesReportJSON {
	var out outcomesReportJSON
	out.Revenue = reportMoneyList(rep.Revenue, true)
	out.Quotes.Sent, out.Quotes.Accepted, out.Quotes.ConversionRate = rep.QuotesSent, rep.QuotesAccepted, rep.ConversionRate
	out.Invoices.Sent, out.Invoices.Paid, out.Invoices.PaidRate = rep.InvoicesSent, rep.InvoicesPaid, rep.PaidRate
	out.Projects.Created = rep.Projects
	out.Projects.BySource = make([]projectSourceJSON, 0, len(rep.ProjectSources))
	for _, p := range rep.ProjectSources {
		out.Projects.BySource = append(out.Projects.BySource, projectSourceJSON{Source: string(p.Source), CampaignID: p.CampaignID,
			InboxID: p.InboxID, ChannelID: p.ChannelID, Count: p.Count})
	}
	out.Resolution.IssueResolved, out.Resolution.ResolvedConversations = rep.IssueResolved, rep.Resolved
	if m := rep.MedianTimeToResolve; m != nil {
		s := int64(math.Round(m.Seconds()))
		out.Resolution.MedianTimeToResolveS = &s
	}
	out.Series = make([]outcomeBucketJSON, 0, len(rep.Series))
	for _, b := range rep.Series {
		c := b.Counts
		out.Series = append(out.Series, outcomeBucketJSON{Start: b.Start, QuoteSent: c[outcomes.QuoteSent], QuoteAccepted: c[outcomes.QuoteAccepted],
			InvoiceSent: c[outcomes.InvoiceSent], InvoicePaid: c[outcomes.InvoicePaid], ProjectCreated: c[outcomes.ProjectCreated],
			IssueResolved: c[outcomes.IssueResolved], LeadAbandoned: c[outcomes.LeadAbandoned], Revenue: reportMoneyList(b.Revenue, false)})
	}
	return out
}

func handleOutcomesReport(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireViewAll(r); err != nil {
			return err
		}
		f, err := reports.ParseOutcomesQuery(r.URL.Query(), currentUser(r).AccountID)
		if err != nil {
			return err
		}
		rep, err := d.Reports.OutcomesReport(r.Context(), f)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toOutcomesReportJSON(rep))
		return nil
	}
}

func handleExport(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireViewAll(r); err != nil {
			return err
		}
		x, format, err := exportQuery(r)
		if err != nil {
			return err
		}
		limit := d.ExportLimit
		if limit <= 0 {
			limit = export.MaxRows
		}
		from, to := x.Range()
		err = export.Stream(w, r, format, export.Name(x.Report(), from, to), x.Columns(),
			func(begin func() error, row func([]any) error) error {
				return d.Reports.ExportRows(r.Context(), x, limit, begin, row)
			})
		return err
	}
}

// exportQuery reads the report (404 when it has no export), its filters
// and the format, naming every bad field of either in one 422.
func exportQuery(r *http.Request) (reports.Export, export.Format, error) {
	q := r.URL.Query()
	x, err := reports.ParseExport(mux.Vars(r)["report"], q, currentUser(r))
	format, ferr := export.ParseFormat(q.Get("format"))
	if err := parley.MergeInvalid(err, ferr); err != nil {
		return nil, "", err
	}
	return x, format, nil
}
