package store_test

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/outcomes"
	"github.com/parleyhq/parley/reports"
	"github.com/parleyhq/parley/store"
)

// reportOutcome is an outcome as the report reads it, inserted directly:
// the outcomes store is not what these tests are about.
type reportOutcome struct {
	conv     parley.ID
	typ      outcomes.Type
	at       time.Time
	units    *int64
	cur      string
	record   *parley.ID
	deleted  bool
	inbox    int64
	channel  int64
	origin   string
	campaign *int64
	notes    string
	meta     string
}

func insertReportOutcome(t testing.TB, db *store.DB, account parley.ID, o reportOutcome) parley.ID {
	t.Helper()
	var deleted, cur, meta any
	if o.deleted {
		deleted = o.at.Add(time.Minute).UnixMilli()
	}
	if o.cur != "" {
		cur = o.cur
	}
	meta = "{}"
	if o.meta != "" {
		meta = o.meta
	}
	if o.origin == "" {
		o.origin = "inbound"
	}
	var rec any
	if o.record != nil {
		rec = int64(*o.record)
	}
	var units, campaign any
	if o.units != nil {
		units = *o.units
	}
	if o.campaign != nil {
		campaign = *o.campaign
	}
	var id int64
	q := `INSERT INTO outcomes (account_id, conversation_id, type, record_id, notes, metadata, amount_units, currency, source, created_at, deleted_at,
  inbox_id, channel_id, origin, origin_campaign_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'api', ?, ?, ?, ?, ?, ?) RETURNING id`
	err := db.SQL().QueryRowContext(ctx, db.SQL().Rebind(q), account, o.conv, string(o.typ), rec, o.notes, meta, units, cur,
		o.at.UnixMilli(), deleted, o.inbox, o.channel, o.origin, campaign).Scan(&id)
	if err != nil {
		t.Fatalf("insert outcome: %v", err)
	}
	return parley.ID(id)
}

func insertReportRecord(t testing.TB, db *store.DB, account parley.ID, typ outcomes.RecordType, ext string, units int64, cur string) parley.ID {
	t.Helper()
	var id int64
	q := `INSERT INTO records (account_id, type, external_id, title, amount_units, currency, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	if err := db.SQL().QueryRowContext(ctx, db.SQL().Rebind(q), account, string(typ), ext, "Invoice "+ext, units, cur,
		t0.UnixMilli(), t0.UnixMilli()).Scan(&id); err != nil {
		t.Fatalf("insert record: %v", err)
	}
	return parley.ID(id)
}

func unitsOf(v int64) *int64 { return &v }

// TestOutcomesReport: figures over live outcomes only, revenue per
// currency (the metadata amount over the record's), weekly buckets with
// the empty week kept, the filters, and the median time to resolve.
func TestOutcomesReport(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		b := newTenant(t, db, sidB, bizB)
		hour := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
		c1 := a.receive(t, text{from: alice, body: "hi", at: hour(0)}).Conversation
		c2 := a.receive(t, text{from: bob, body: "hello", at: hour(1)}).Conversation
		other := b.receive(t, text{from: alice, body: "elsewhere", at: hour(0)}).Conversation
		resolve := func(tn *tenant, id parley.ID, at time.Time) {
			if _, err := db.ChangeStatus(ctx, conversations.StatusChange{AccountID: tn.account.ID, ConversationID: id,
				Actor: tn.admin, Action: conversations.ActionResolve, At: at}); err != nil {
				t.Fatal(err)
			}
		}
		resolve(a, c1.ID, hour(2)) // 2 h after it began
		resolve(a, c2.ID, hour(5)) // 4 h
		a.receive(t, text{from: alice, body: "again", at: hour(10)})
		resolve(a, c1.ID, hour(11)) // 1 h after it reopened
		resolve(b, other.ID, hour(3))

		acc := a.account.ID
		inv := insertReportRecord(t, db, acc, outcomes.RecordInvoice, "INV-1", 550, "EUR")
		week2 := t0.AddDate(0, 0, 14)
		camp := int64(77)
		for _, o := range []reportOutcome{
			{conv: c1.ID, typ: outcomes.InvoicePaid, at: hour(1), units: unitsOf(1000), cur: "USD", inbox: 1, channel: 10},
			{conv: c1.ID, typ: outcomes.InvoicePaid, at: hour(25), record: &inv, inbox: 1, channel: 10},
			{conv: c2.ID, typ: outcomes.InvoicePaid, at: week2, units: unitsOf(10), cur: "USD", inbox: 2, channel: 20},
			{conv: c2.ID, typ: outcomes.InvoicePaid, at: week2.Add(time.Hour), units: unitsOf(20), cur: "USD", inbox: 2, channel: 20},
			{conv: c2.ID, typ: outcomes.InvoicePaid, at: week2, units: unitsOf(99900), cur: "USD", deleted: true, inbox: 2, channel: 20},
			{conv: c1.ID, typ: outcomes.InvoiceSent, at: hour(0), inbox: 1, channel: 10},
			{conv: c1.ID, typ: outcomes.InvoiceSent, at: hour(0), inbox: 1, channel: 10},
			{conv: c1.ID, typ: outcomes.QuoteSent, at: hour(0), inbox: 1, channel: 10},
			{conv: c2.ID, typ: outcomes.QuoteSent, at: week2, inbox: 2, channel: 20, origin: "campaign", campaign: &camp},
			{conv: c2.ID, typ: outcomes.QuoteAccepted, at: week2, inbox: 2, channel: 20, origin: "campaign", campaign: &camp},
			{conv: c2.ID, typ: outcomes.ProjectCreated, at: week2, inbox: 2, channel: 20, origin: "campaign", campaign: &camp},
			{conv: c1.ID, typ: outcomes.ProjectCreated, at: hour(3), inbox: 1, channel: 10},
			{conv: c1.ID, typ: outcomes.IssueResolved, at: hour(3), inbox: 1, channel: 10},
			{conv: c1.ID, typ: outcomes.QuoteSent, at: t0.AddDate(0, 0, 30), inbox: 1, channel: 10}, // after the range
		} {
			insertReportOutcome(t, db, acc, o)
		}
		insertReportOutcome(t, db, b.account.ID, reportOutcome{conv: other.ID, typ: outcomes.InvoicePaid, at: hour(1), units: unitsOf(5), cur: "USD"})

		from := t0.Truncate(24 * time.Hour)
		f := reports.OutcomesFilter{AccountID: acc, From: from, To: from.AddDate(0, 0, 21), Interval: reports.Week}
		rep, err := db.OutcomesReport(ctx, f)
		if err != nil {
			t.Fatalf("OutcomesReport: %v", err)
		}
		wantRevenue := []reports.CurrencyTotal{{Currency: "EUR", Units: 550, Count: 1}, {Currency: "USD", Units: 1030, Count: 3}}
		if !sameCurrencyTotals(rep.Revenue, wantRevenue) {
			t.Errorf("revenue = %+v; want %+v (per currency, deleted left out, record's amount when none given)", rep.Revenue, wantRevenue)
		}
		if rep.QuotesSent != 2 || rep.QuotesAccepted != 1 || rep.ConversionRate == nil || *rep.ConversionRate != 0.5 {
			t.Errorf("quotes = %d/%d rate %v; want 1 of 2 accepted", rep.QuotesAccepted, rep.QuotesSent, rep.ConversionRate)
		}
		if rep.InvoicesSent != 2 || rep.InvoicesPaid != 4 {
			t.Errorf("invoices = %d sent, %d paid; want 2 and 4", rep.InvoicesSent, rep.InvoicesPaid)
		}
		if rep.Projects != 2 || len(rep.ProjectSources) != 2 {
			t.Fatalf("projects = %d from %+v; want 2 from two sources", rep.Projects, rep.ProjectSources)
		}
		var fromCampaign *reports.ProjectSource
		for i, p := range rep.ProjectSources {
			if p.Source == reports.OriginCampaign {
				fromCampaign = &rep.ProjectSources[i]
			}
		}
		if fromCampaign == nil || fromCampaign.CampaignID == nil || *fromCampaign.CampaignID != 77 || fromCampaign.InboxID != 2 || fromCampaign.ChannelID != 20 {
			t.Errorf("project sources = %+v; want one from campaign 77 in inbox 2, channel 20", rep.ProjectSources)
		}
		if rep.IssueResolved != 1 || rep.Resolved != 2 || rep.MedianTimeToResolve == nil || *rep.MedianTimeToResolve != 2*time.Hour {
			t.Errorf("resolution = %d outcomes, %d conversations, median %v; want 1, 2, 2h", rep.IssueResolved, rep.Resolved, rep.MedianTimeToResolve)
		}
		if len(rep.Series) != 3 {
			t.Fatalf("series = %d buckets; want 3 weeks", len(rep.Series))
		}
		if got := rep.Series[0]; !got.Start.Equal(from) || got.Counts[outcomes.InvoicePaid] != 2 || !sameCurrencyTotals(got.Revenue, []reports.CurrencyTotal{{Currency: "EUR", Units: 550, Count: 1}, {Currency: "USD", Units: 1000, Count: 1}}) {
			t.Errorf("week 1 = %+v", got)
		}
		if got := rep.Series[1]; len(got.Counts) != 0 || len(got.Revenue) != 0 {
			t.Errorf("week 2 = %+v; want empty", got)
		}
		if got := rep.Series[2]; got.Counts[outcomes.QuoteAccepted] != 1 || !sameCurrencyTotals(got.Revenue, []reports.CurrencyTotal{{Currency: "USD", Units: 30, Count: 2}}) {
			t.Errorf("week 3 = %+v", got)
		}

		t.Run("filters", func(t *testing.T) {
			inbox2, ch10 := parley.ID(2), parley.ID(10)
			campaign := parley.ID(77)
			g := f
			g.InboxID = &inbox2
			r, err := db.OutcomesReport(ctx, g)
			if err != nil {
				t.Fatal(err)
			}
			if !sameCurrencyTotals(r.Revenue, []reports.CurrencyTotal{{Currency: "USD", Units: 30, Count: 2}}) || r.QuotesSent != 1 || r.InvoicesSent != 0 {
				t.Errorf("inbox 2: revenue %+v, quotes %d, invoices %d", r.Revenue, r.QuotesSent, r.InvoicesSent)
			}
			g = f
			g.ChannelID = &ch10
			if r, _ = db.OutcomesReport(ctx, g); r.InvoicesSent != 2 || r.Projects != 1 {
				t.Errorf("channel 10: %d invoices sent, %d projects; want 2, 1", r.InvoicesSent, r.Projects)
			}
			g = f
			g.CampaignID = &campaign
			if r, _ = db.OutcomesReport(ctx, g); r.QuotesSent != 1 || r.QuotesAccepted != 1 || len(r.Revenue) != 0 {
				t.Errorf("campaign: %d/%d quotes, revenue %+v", r.QuotesAccepted, r.QuotesSent, r.Revenue)
			}
		})
		t.Run("empty range", func(t *testing.T) {
			g := f
			g.From, g.To, g.Interval = from.AddDate(1, 0, 0), from.AddDate(1, 0, 3), reports.Day
			r, err := db.OutcomesReport(ctx, g)
			if err != nil {
				t.Fatal(err)
			}
			if r.ConversionRate != nil || r.PaidRate != nil || r.MedianTimeToResolve != nil || len(r.Series) != 3 {
				t.Errorf("empty report = %+v; want undefined rates and three empty days", r)
			}
		})
		t.Run("export rows", func(t *testing.T) {
			n, err := db.CountOutcomeRows(ctx, f, 1000)
			if err != nil || n != 12 {
				t.Fatalf("count = %d, %v; want the 12 live outcomes in range", n, err)
			}
			if n, _ := db.CountOutcomeRows(ctx, f, 5); n != 6 {
				t.Errorf("count capped at 5 = %d; want 6 (over the limit)", n)
			}
			var rows []reports.OutcomeRow
			if err := db.EachOutcomeRow(ctx, f, func(r reports.OutcomeRow) error { rows = append(rows, r); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(rows) != 12 {
				t.Fatalf("rows = %d; want 12", len(rows))
			}
			for i := 1; i < len(rows); i++ {
				if rows[i].Outcome.CreatedAt.Before(rows[i-1].Outcome.CreatedAt) {
					t.Fatalf("row %d recorded before the one above it", i)
				}
			}
			var byRecord *reports.OutcomeRow
			for i := range rows {
				if rows[i].Outcome.Record != nil {
					byRecord = &rows[i]
				}
			}
			if byRecord == nil || byRecord.Outcome.ReportAmount().String() != "5.50" || byRecord.ContactPhone != alice || *byRecord.InboxID != 1 {
				t.Errorf("row with a record = %+v; want EUR 5.50 from the record, alice's", byRecord)
			}
		})
	})
}

// TestEachOutcomeRowPages: an export longer than a keyset page, with
// outcomes recorded at the same millisecond, lists each exactly once,
// and none recorded after it began.
func TestEachOutcomeRowPages(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		a := newTenant(t, db, sidA, bizA)
		c := a.receive(t, text{from: alice, body: "hi", at: t0}).Conversation
		const n = 2500
		tx, err := db.SQL().BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			at := t0.Add(time.Duration(i/3) * time.Millisecond)
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO outcomes (account_id, conversation_id, type, source, created_at) VALUES (?, ?, 'quote_sent', 'api', ?)`),
				a.account.ID, c.ID, at.UnixMilli()); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		f := reports.OutcomesFilter{AccountID: a.account.ID, From: t0, To: t0.Add(time.Hour), Interval: reports.Day}
		seen := map[parley.ID]bool{}
		err = db.EachOutcomeRow(ctx, f, func(r reports.OutcomeRow) error {
			if len(seen) == 0 {
				// Recorded while the export runs, after the rows it reads
				// next: the export is of the moment it began.
				if _, err := db.SQL().ExecContext(ctx, db.SQL().Rebind(`INSERT INTO outcomes (account_id, conversation_id, type, source, created_at) VALUES (?, ?, 'quote_sent', 'api', ?)`),
					a.account.ID, c.ID, t0.Add(time.Minute).UnixMilli()); err != nil {
					t.Fatal(err)
				}
			}
			if seen[r.Outcome.ID] {
				t.Fatalf("outcome %d listed twice", r.Outcome.ID)
			}
			seen[r.Outcome.ID] = true
			return nil
		})
		if err != nil || len(seen) != n {
			t.Fatalf("listed %d, %v; want %d", len(seen), err, n)
		}
	})
}

func sameCurrencyTotals(a, b []reports.CurrencyTotal) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
