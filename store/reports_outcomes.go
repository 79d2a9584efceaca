package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/outcomes"
	"github.com/parleyhq/parley/reports"
)

// The outcomes report (reports.Store). Its figures read the outcomes'
// snapshot columns through the covering index outcomes_report, grouped by
// UTC day in SQL and folded into the filter's buckets in Go, so that
// weeks and months are the same on both databases.

const reportDayMS = 24 * 60 * 60 * 1000

var _ reports.Store = (*DB)(nil)

// reportOutcomeWhere is the filter's condition on outcomes o (live ones only).
func reportOutcomeWhere(f reports.OutcomesFilter) (string, []any) {
	conds := []string{"o.account_id = ?", "o.created_at >= ?", "o.created_at < ?", "o.deleted_at IS NULL"}
	args := []any{f.AccountID, ms(f.From), ms(f.To)}
	for _, c := range []struct {
		col string
		id  *parley.ID
	}{{"o.inbox_id", f.InboxID}, {"o.channel_id", f.ChannelID}, {"o.origin_campaign_id", f.CampaignID}} {
		if c.id != nil {
			conds = append(conds, c.col+" = ?")
			args = append(args, *c.id)
		}
	}
	return strings.Join(conds, " AND "), args
}

// OutcomesReport computes the outcomes report over live outcomes.
func (db *DB) OutcomesReport(ctx context.Context, f reports.OutcomesFilter) (reports.OutcomesReport, error) {
	var rep reports.OutcomesReport
	series := reports.NewSeries(f)
	tx, err := db.readSnapshot(ctx)
	if err != nil {
		return rep, err
	}
	defer tx.Rollback()
	if err := reportOutcomeCounts(ctx, tx, f, &rep, series); err != nil {
		return rep, translate(err)
	}
	if err := reportOutcomeRevenue(ctx, tx, f, &rep, series); err != nil {
		return rep, translate(err)
	}
	if err := reportProjectSources(ctx, tx, f, &rep); err != nil {
		return rep, translate(err)
	}
	if err := reportResolutions(ctx, tx, f, &rep); err != nil {
		return rep, translate(err)
	}
	rep.ConversionRate = reports.Rate(rep.QuotesAccepted, rep.QuotesSent)
	rep.PaidRate = reports.Rate(rep.InvoicesPaid, rep.InvoicesSent)
	rep.Series = series.Buckets()
	return rep, nil
}

// readSnapshot is a read-only transaction whose queries all see one
// snapshot: a report, an export, a thread with its conversation.
func (db *DB) readSnapshot(ctx context.Context) (*sqlx.Tx, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.dialect.name() == "postgres" {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.db.BeginTxx(ctx, opts)
	return tx, translate(err)
}

func reportOutcomeCounts(ctx context.Context, tx *sqlx.Tx, f reports.OutcomesFilter, rep *reports.OutcomesReport, s *reports.Series) error {
	where, args := reportOutcomeWhere(f)
	q := `SELECT o.created_at / ` + strconv.FormatInt(reportDayMS, 10) + ` AS created_day, o.type, COUNT(*) AS n FROM outcomes o WHERE ` + where + ` GROUP BY 1, 2`
	rows, err := tx.QueryContext(ctx, tx.Rebind(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var day, n int64
		var typ string
		if err := rows.Scan(&day, &typ, &n); err != nil {
			return err
		}
		t := outcomes.Type(typ)
		s.AddCount(fromMS(day*reportDayMS), t, n)
		switch t {
		case outcomes.QuoteSent:
			rep.QuotesSent += n
		case outcomes.QuoteAccepted:
			rep.QuotesAccepted += n
		case outcomes.InvoiceSent:
			rep.InvoicesSent += n
		case outcomes.InvoicePaid:
			rep.InvoicesPaid += n
		case outcomes.ProjectCreated:
			rep.Projects += n
		case outcomes.IssueResolved:
			rep.IssueResolved += n
		}
	}
	return rows.Err()
}

// reportOutcomeRevenue sums invoice_paid amounts per day and currency: the
// outcome's own amount (from its metadata), else its record's.
func reportOutcomeRevenue(ctx context.Context, tx *sqlx.Tx, f reports.OutcomesFilter, rep *reports.OutcomesReport, s *reports.Series) error {
	where, args := reportOutcomeWhere(f)
	q := `SELECT paid_day, currency, SUM(units), COUNT(*) FROM (
  SELECT o.created_at / ` + strconv.FormatInt(reportDayMS, 10) + ` AS paid_day,
         CASE WHEN o.amount_units IS NOT NULL THEN o.currency ELSE r.currency END AS currency,
         COALESCE(o.amount_units, r.amount_units) AS units
  FROM outcomes o LEFT JOIN records r ON r.id = o.record_id
  WHERE ` + where + ` AND o.type = 'invoice_paid') paid
WHERE units IS NOT NULL AND currency IS NOT NULL GROUP BY paid_day, currency`
	rows, err := tx.QueryContext(ctx, tx.Rebind(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var day, units, n int64
		var cur string
		if err := rows.Scan(&day, &cur, &units, &n); err != nil {
			return err
		}
		s.AddRevenue(fromMS(day*reportDayMS), cur, units, n)
		rep.Revenue = reports.AddTotal(rep.Revenue, cur, units, n)
	}
	return rows.Err()
}

func reportProjectSources(ctx context.Context, tx *sqlx.Tx, f reports.OutcomesFilter, rep *reports.OutcomesReport) error {
	where, args := reportOutcomeWhere(f)
	q := `SELECT o.origin, o.origin_campaign_id, COALESCE(o.inbox_id, 0), COALESCE(o.channel_id, 0), COUNT(*)
FROM outcomes o WHERE ` + where + ` AND o.type = 'project_created'
GROUP BY o.origin, o.origin_campaign_id, o.inbox_id, o.channel_id
ORDER BY COUNT(*) DESC, o.origin, o.inbox_id, o.channel_id, o.origin_campaign_id`
	rows, err := tx.QueryContext(ctx, tx.Rebind(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var p reports.ProjectSource
		var origin string
		var campaign *int64
		if err := rows.Scan(&origin, &campaign, &p.InboxID, &p.ChannelID, &p.Count); err != nil {
			return err
		}
		p.Source, p.CampaignID = reports.Origin(origin), idPtr(campaign)
		rep.ProjectSources = append(rep.ProjectSources, p)
	}
	return rows.Err()
}

// reportResolutions counts the conversations that became resolved in
// the range and the median time from their opening (the conversation's
// creation, or its last reopening from resolved or closed) to that. The
// inbox and channel filters are the conversation's; the campaign filter
// keeps conversations the campaign texted.
func reportResolutions(ctx context.Context, tx *sqlx.Tx, f reports.OutcomesFilter, rep *reports.OutcomesReport) error {
	conds := []string{"e.account_id = ?", "e.type = 'status_changed'", "e.created_at >= ?", "e.created_at < ?", "e.data->>'to' = 'resolved'"}
	args := []any{f.AccountID, ms(f.From), ms(f.To)}
	if f.InboxID != nil {
		conds, args = append(conds, "cv.inbox_id = ?"), append(args, *f.InboxID)
	}
	if f.ChannelID != nil {
		conds, args = append(conds, "cv.channel_id = ?"), append(args, *f.ChannelID)
	}
	if f.CampaignID != nil {
		conds = append(conds, "EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = cv.id AND m.campaign_id = ?)")
		args = append(args, *f.CampaignID)
	}
	q := `SELECT e.conversation_id, e.created_at - COALESCE((SELECT MAX(p.created_at) FROM conversation_events p
    WHERE p.conversation_id = e.conversation_id AND p.type = 'status_changed' AND p.id < e.id
      AND p.data->>'from' IN ('resolved', 'closed') AND p.data->>'to' NOT IN ('resolved', 'closed')), cv.created_at)
FROM conversation_events e JOIN conversations cv ON cv.id = e.conversation_id
WHERE ` + strings.Join(conds, " AND ")
	rows, err := tx.QueryContext(ctx, tx.Rebind(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	seen := map[int64]bool{}
	var took []time.Duration
	for rows.Next() {
		var conv, d int64
		if err := rows.Scan(&conv, &d); err != nil {
			return err
		}
		seen[conv] = true
		took = append(took, time.Duration(max(d, 0))*time.Millisecond)
	}
	rep.Resolved = int64(len(seen))
	rep.MedianTimeToResolve = reports.Median(took)
	return rows.Err()
}

// outcomeRowsCounted is the export's rows for countCapped.
func outcomeRowsCounted(f reports.OutcomesFilter) (string, []any) {
	where, args := reportOutcomeWhere(f)
	return "outcomes o WHERE " + where, args
}

// reportExportPage is how many rows one keyset step of an export reads.
const reportExportPage = 1000

const reportOutcomeRowColumns = `o.id, o.conversation_id, o.type, o.notes, o.metadata, o.amount_units, o.currency, o.source,
       o.suggestion_id, o.idempotency_key, o.created_by, o.created_at,
       o.inbox_id, o.channel_id, o.origin, o.origin_campaign_id, cv.contact_phone, COALESCE(ct.name, ''),
       r.id, r.type, r.external_id, r.title, r.status, r.amount_units, r.currency, r.url`

// eachOutcomeRow calls fn for every live outcome of the filter in created
// order, reading keyset pages inside the caller's snapshot (the outcomes
// export's, see ExportRows).
func eachOutcomeRow(ctx context.Context, tx *Tx, f reports.OutcomesFilter, fn func(reports.OutcomeRow) error) error {
	where, args := reportOutcomeWhere(f)
	q := tx.Rebind(`SELECT ` + reportOutcomeRowColumns + `
FROM outcomes o
JOIN conversations cv ON cv.id = o.conversation_id
LEFT JOIN contacts ct ON ct.id = cv.contact_id
LEFT JOIN records r ON r.id = o.record_id
WHERE ` + where + ` AND o.created_at >= ? AND (o.created_at > ? OR (o.created_at = ? AND o.id > ?))
ORDER BY o.created_at, o.id LIMIT ?`)
	var afterAt, afterID int64 = -1 << 62, 0
	for {
		page, err := reportOutcomeRowsPage(ctx, tx, q, append(args, afterAt, afterAt, afterAt, afterID, reportExportPage))
		if err != nil {
			return translate(err)
		}
		for _, row := range page {
			if err := fn(row); err != nil {
				return err
			}
		}
		if len(page) < reportExportPage {
			return nil
		}
		last := page[len(page)-1].Outcome
		afterAt, afterID = ms(last.CreatedAt), int64(last.ID)
	}
}

func reportOutcomeRowsPage(ctx context.Context, tx *Tx, q string, args []any) ([]reports.OutcomeRow, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []reports.OutcomeRow
	for rows.Next() {
		row, err := scanReportOutcomeRow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func scanReportOutcomeRow(rows *sql.Rows) (reports.OutcomeRow, error) {
	var (
		o                                outcomes.Outcome
		id, conv, createdAt              int64
		typ, notes, meta, source, origin string
		units, suggestion, by            *int64
		cur, key                         *string
		inbox, channel, campaign         *int64
		phone, name                      string
		recID, recUnits                  *int64
		recType, recExt, recTitle, recSt *string
		recCur, recURL                   *string
	)
	err := rows.Scan(&id, &conv, &typ, &notes, &meta, &units, &cur, &source, &suggestion, &key, &by, &createdAt,
		&inbox, &channel, &origin, &campaign, &phone, &name,
		&recID, &recType, &recExt, &recTitle, &recSt, &recUnits, &recCur, &recURL)
	if err != nil {
		return reports.OutcomeRow{}, err
	}
	o = outcomes.Outcome{ID: parley.ID(id), ConversationID: parley.ID(conv), Type: outcomes.Type(typ), Notes: notes,
		Metadata: []byte(meta), Amount: reportMoney(units, cur), Source: outcomes.Source(source), SuggestionID: idPtr(suggestion),
		IdempotencyKey: reportText(key), CreatedBy: idPtr(by), CreatedAt: fromMS(createdAt)}
	if recID != nil {
		o.Record = &outcomes.Record{ID: parley.ID(*recID), Type: outcomes.RecordType(reportText(recType)), ExternalID: reportText(recExt),
			Title: reportText(recTitle), Status: reportText(recSt), Amount: reportMoney(recUnits, recCur), URL: reportText(recURL)}
	}
	return reports.OutcomeRow{Outcome: o, InboxID: idPtr(inbox), ChannelID: idPtr(channel), Origin: reports.Origin(origin),
		CampaignID: idPtr(campaign), ContactPhone: phone, ContactName: name}, nil
}

func reportMoney(units *int64, cur *string) *outcomes.Money {
	if units == nil || cur == nil {
		return nil
	}
	return &outcomes.Money{Units: *units, Currency: *cur}
}

func reportText(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
