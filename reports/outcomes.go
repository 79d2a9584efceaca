// Package reports holds what Parley's reports mean: their filters, their
// figures and how rows are grouped into a time series. The SQL that
// gathers the figures lives in store/; the HTTP and the pages in gateway/
// and web/. Package reports/export streams report rows as CSV, JSON or
// XLSX.
package reports

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/outcomes"
)

// Interval is the width of a report's time-series bucket.
type Interval string

// Intervals. Weeks start on Monday; buckets are in UTC.
const (
	Day   Interval = "day"
	Week  Interval = "week"
	Month Interval = "month"
)

// OutcomesFilter is GET /v1/reports/outcomes: a half-open range of when
// outcomes were recorded, the bucket width, and optional filters on the
// conversation's inbox, channel and originating campaign.
type OutcomesFilter struct {
	AccountID  parley.ID
	From, To   time.Time
	Interval   Interval
	InboxID    *parley.ID
	ChannelID  *parley.ID
	CampaignID *parley.ID
}

// Origin is how a conversation began: the contact texted first, or the
// business did with a quick message or a campaign.
type Origin string

// Origins.
const (
	OriginInbound      Origin = "inbound"
	OriginQuickMessage Origin = "quick_message"
	OriginCampaign     Origin = "campaign"
)

// CurrencyTotal is a sum of amounts in one currency: revenue is never
// added across currencies.
type CurrencyTotal struct {
	Currency string
	Units    int64 // minor units; outcomes.FormatUnits writes them
	Count    int64
}

// ProjectSource is where project_created outcomes came from.
type ProjectSource struct {
	Source     Origin
	CampaignID *parley.ID
	InboxID    parley.ID
	ChannelID  parley.ID
	Count      int64
}

// Bucket is one interval of the series: outcome counts by type, and
// invoice_paid revenue per currency.
type Bucket struct {
	Start   time.Time
	Counts  map[outcomes.Type]int64
	Revenue []CurrencyTotal
}

// OutcomesReport is the outcomes report (API.md, "Reports and exports").
// Rates are nil when their denominator is zero.
type OutcomesReport struct {
	Revenue        []CurrencyTotal
	QuotesSent     int64
	QuotesAccepted int64
	ConversionRate *float64
	InvoicesSent   int64
	InvoicesPaid   int64
	PaidRate       *float64
	Projects       int64
	ProjectSources []ProjectSource
	// IssueResolved counts issue_resolved outcomes; Resolved the
	// conversations that became resolved in the range, and
	// MedianTimeToResolve the median time from their opening to that.
	IssueResolved       int64
	Resolved            int64
	MedianTimeToResolve *time.Duration
	Series              []Bucket
}

// OutcomeRow is one outcome as the outcomes export writes it.
type OutcomeRow struct {
	Outcome      outcomes.Outcome
	InboxID      *parley.ID
	ChannelID    *parley.ID
	Origin       Origin
	CampaignID   *parley.ID
	ContactPhone string
	ContactName  string
}

// Store gathers report figures (the store package implements it).
type Store interface {
	// OutcomesReport computes the report over live (not deleted) outcomes.
	OutcomesReport(ctx context.Context, f OutcomesFilter) (OutcomesReport, error)
	OutboundStore
	ExportStore
}
