package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/reports"
)

// RecordMessageUpdates writes n message.updated events of one account in
// one transaction, as a late campaign tick queueing thousands of texts
// does.
func (db *DB) RecordMessageUpdates(ctx context.Context, accountID parley.ID, n int, at time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		for i := range n {
			tx.recordMessageStatus(accountID, 0, parley.ID(i+1), "sent", at)
		}
		return nil
	})
}

// PlanSearchesWithoutStatistics makes db plan its searches as before any
// ANALYZE, so that a test reaches the plans the statistics would skip,
// until ForgetSearchStatistics.
func (db *DB) PlanSearchesWithoutStatistics() {
	db.terms.mu.Lock()
	defer db.terms.mu.Unlock()
	db.terms.v = noTermStats()
	db.terms.at = time.Now().Add(24 * time.Hour)
}

// ForgetSearchStatistics makes the next search read the statistics again.
func (db *DB) ForgetSearchStatistics() { db.terms.forget() }

// KeepRoutesFor sets how long db keeps the channels webhooks resolve to,
// so that a test sees another handle's change without waiting routeTTL.
func (db *DB) KeepRoutesFor(d time.Duration) {
	db.routes.mu.Lock()
	defer db.routes.mu.Unlock()
	db.routes.ttl = d
}

// RoutesKept counts the inbound routes db keeps now.
func (db *DB) RoutesKept() int {
	db.routes.mu.Lock()
	defer db.routes.mu.Unlock()
	return len(db.routes.inbound)
}

// UndoMigrationsAfter rolls every migration newer than version back, so
// that a test can apply them again over data.
func (db *DB) UndoMigrationsAfter(ctx context.Context, version int64) error {
	p, err := db.provider()
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, version)
	return err
}

// SQL is the connection pool, for tests that read or write rows the
// methods do not show.
func (db *DB) SQL() *sqlx.DB { return db.db }

// OutboundReportSorted is OutboundReport with every send's first-of flags
// taken from the sort by contact, never from the sends' links to their
// previous ones: what the links must agree with.
func (db *DB) OutboundReportSorted(ctx context.Context, f reports.OutboundFilter) (reports.OutboundReport, error) {
	q := db.dialect.outboundQuery(f)
	q.firstContact, q.firstOrigin, q.firstCampaign = "", "", ""
	return db.outboundReport(ctx, q)
}

// CountOutcomeRows counts the export's rows, stopping at limit+1: more
// than limit is refused whatever the exact number.
func (db *DB) CountOutcomeRows(ctx context.Context, f reports.OutcomesFilter, limit int) (int, error) {
	counted, args := outcomeRowsCounted(f)
	return countCapped(ctx, db.db, counted, args, limit)
}

// EachOutcomeRow calls fn for every live outcome of the filter in created
// order, reading keyset pages inside one read-only transaction: the
// export is one snapshot however long the client takes to read it.
func (db *DB) EachOutcomeRow(ctx context.Context, f reports.OutcomesFilter, fn func(reports.OutcomeRow) error) error {
	tx, err := db.readSnapshot(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return eachOutcomeRow(ctx, &Tx{Tx: tx}, f, fn)
}

// CampaignCountsOfRecipients counts a campaign's recipients where API.md
// says each is, straight from the recipients and their texts: what the
// counts kept in the campaign's row must equal.
func (db *DB) CampaignCountsOfRecipients(ctx context.Context, campaignID parley.ID) (campaigns.Counts, error) {
	var c campaigns.Counts
	const query = `SELECT COUNT(*),
    COALESCE(SUM(CASE WHEN r.status = 'pending' OR (r.status = 'queued' AND m.status = 'queued') THEN 1 ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN r.status = 'queued' AND m.status IN ('sending', 'sent', 'unknown') THEN 1 ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN r.status = 'queued' AND m.status = 'delivered' THEN 1 ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN r.status = 'queued' AND m.status IN ('failed', 'undelivered') THEN 1 ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN r.status = 'skipped_opted_out' THEN 1 ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN r.status = 'cancelled' THEN 1 ELSE 0 END), 0)
FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id WHERE r.campaign_id = ?`
	err := db.db.QueryRowxContext(ctx, db.rebind(query), campaignID).Scan(&c.Recipients, &c.Queued, &c.Sent, &c.Delivered,
		&c.Failed, &c.SkippedOptedOut, &c.Cancelled)
	return c, err
}

// CampaignCountChangesLeft is how many recorded count changes wait to be
// folded into their campaigns' rows.
func (db *DB) CampaignCountChangesLeft(ctx context.Context) (int, error) {
	var n int
	err := db.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM campaign_count_changes`)
	return n, err
}

// PreparedKept lists the statements kept prepared for transactions, as
// run (rebound), once none is being prepared in the background.
func (db *DB) PreparedKept() []string {
	for range 500 {
		busy := false
		db.stmts.preparing.Range(func(any, any) bool { busy = true; return false })
		if !busy {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	if db.stmts.m == nil {
		return nil
	}
	return db.stmts.m.Keys()
}

// ScanInTx runs query, written with "?" placeholders, in a write
// transaction and scans its one row into dest.
func (db *DB) ScanInTx(ctx context.Context, dest any, query string, args ...any) error {
	return db.inTx(ctx, func(tx *Tx) error { return tx.GetContext(ctx, dest, tx.Rebind(query), args...) })
}

// SelectBatch reads rows back through batchRows, in a transaction.
func (db *DB) SelectBatch(ctx context.Context, dest any, rows [][]any, cols ...string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		return selectBatch(ctx, tx, dest, `WITH `+dialectOf(tx).batchRows("v", cols...)+` SELECT * FROM v`, rows)
	})
}

// SelectIn runs a query with IN (?) lists, in a transaction.
func SelectIn[T any](ctx context.Context, db *DB, query string, args ...any) (rows []T, err error) {
	err = db.inTx(ctx, func(tx *Tx) error {
		rows, err = selectIn[T](ctx, tx, query, args...)
		return err
	})
	return rows, err
}

// HoldsReadTogether reads the items' holds as one batch of calls made
// one text at a time (what holdReads gathers).
func (db *DB) HoldsReadTogether(ctx context.Context, items []campaigns.OutboxItem) ([]campaigns.Hold, []error) {
	batch := make([]*holdsCall, len(items))
	for i, it := range items {
		batch[i] = &holdsCall{ctx: ctx, item: it, done: make(chan struct{})}
	}
	db.readHoldsBatch(batch)
	holds, errs := make([]campaigns.Hold, len(items)), make([]error, len(items))
	for i, c := range batch {
		holds[i], errs[i] = c.hold, c.err
	}
	return holds, errs
}

// MaxPrepared is how many statements the store keeps prepared at most.
const MaxPrepared = maxPrepared

// KeyedStatements are the PostgreSQL statements of the send and receipt
// paths that find a batch's rows by their keys, by what they do.
func KeyedStatements() map[string]string {
	d := dialect{postgresSQL{}}
	qs := keyedStatements(d)
	qs["contacts found or created"] = findOrCreateContactsQuery(d) // PostgreSQL's alone
	// An ingest batch's update and read-back, as one statement.
	qs["inbound threads updated and read back"], _ = togetherQuery(statement{query: conversationsByIDQuery(d, true)},
		statement{query: updateOnInboundQuery(d) + ` RETURNING conversations.*`, name: updatedThreads})
	for k, q := range qs {
		qs[k] = sqlx.Rebind(sqlx.DOLLAR, q)
	}
	return qs
}

// keyedStatements are the statements that look a batch's rows up by key.
func keyedStatements(d dialect) map[string]string {
	return map[string]string{
		"receipts find their texts":  receiptTargetsQuery(d),
		"receipts move statuses":     moveStatusesQuery(d),
		"acceptances":                updateSentMessagesQuery(d),
		"status checks booked":       statusChecksQuery(d),
		"contacts' first sends":      contactsFirstSentQuery(d),
		"queued texts' words":        touchConversationsQuery(d),
		"recipients' consents":       optedOutAmongQuery(d),
		"recipients' contacts":       contactsOfPhonesQuery(d),
		"recipients' threads":        conversationsOfPhonesQuery(d),
		"inbound texts seen before":  messagesByCarrierIDQuery(d),
		"inbound texts' threads":     conversationsByIDQuery(d, false),
		"sends' replies and closes":  sinceSentQuery(d),
		"recipients marked queued":   markRecipientsQueuedQuery(d),
		"claimed items":              claimedItemsQuery(d),
		"inbound threads locked":     lockConversationsQuery(d, false),
		"a keyword's threads locked": lockConversationsQuery(d, true),
		"inbound threads updated":    updateOnInboundQuery(d),
		"inbound sends replied":      repliedSendsQuery(d),
	}
}

// AnalyzeTablesEvery sets how often Housekeep may analyze a table other
// than the queues (0, the default: the server's autovacuum_naptime).
func (db *DB) AnalyzeTablesEvery(d time.Duration) { db.analyzePace = d }
