package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/reports"
)

// Exports (reports.ExportStore): every export counts its rows and then
// reads them inside one read-only snapshot, so the file is one moment of
// the data however long the client takes to read it. The outbound audit
// and the messages are one ordered statement each, streamed row by row:
// joined set-wise (hash joins and a sort on PostgreSQL) they read 1M rows
// about ten times faster than keyset pages joined row by row
// (docs/PERFORMANCE.md). Conversations and outcomes are read in
// keyset pages; as in outboundAuditSQL, the key's first condition
// (at >= ?) is what the walk of the index starts at. Memory stays at a
// page or a row.

var _ reports.ExportStore = (*DB)(nil)

// exporter is one export's rows: counted is "table alias WHERE …" for the
// count, each reads every row in order.
type exporter struct {
	counted string
	args    []any
	each    func(ctx context.Context, tx *Tx, row func([]any) error) error
}

// ExportRows reads x's rows inside one read-only snapshot: more than limit
// is refused before begin is called.
func (db *DB) ExportRows(ctx context.Context, x reports.Export, limit int, begin func() error, row func([]any) error) error {
	e, err := db.exporterOf(ctx, x)
	if err != nil {
		return err
	}
	stx, err := db.readSnapshot(ctx)
	if err != nil {
		return err
	}
	defer stx.Rollback()
	tx := &Tx{Tx: stx}
	n, err := countCapped(ctx, tx, e.counted, e.args, limit)
	if err != nil {
		return err
	}
	if n > limit {
		return reports.TooManyRows(limit)
	}
	if err := begin(); err != nil {
		return err
	}
	return e.each(ctx, tx, func(values []any) error {
		// A cancelled request stops between rows too, not only when the
		// next page is asked for.
		if err := ctx.Err(); err != nil {
			return err
		}
		return row(values)
	})
}

func (db *DB) exporterOf(ctx context.Context, x reports.Export) (exporter, error) {
	switch x := x.(type) {
	case reports.OutboundFilter:
		return db.dialect.outboundExporter(x), nil
	case reports.OutcomesFilter:
		return outcomesExporter(x), nil
	case reports.ConversationsExport:
		return db.conversationsExporter(ctx, x)
	case reports.MessagesExport:
		return messagesExporter(x), nil
	}
	return exporter{}, fmt.Errorf("store: no export of %T", x)
}

// countCapped counts the rows of counted, stopping at limit+1: more than
// limit is refused whatever the exact number.
func countCapped(ctx context.Context, qr sqlx.QueryerContext, counted string, args []any, limit int) (int, error) {
	q := `SELECT COUNT(*) FROM (SELECT 1 FROM ` + counted + ` LIMIT ?) capped`
	var n int
	err := qr.QueryRowxContext(ctx, rebind(qr, q), append(append([]any{}, args...), limit+1)...).Scan(&n)
	return n, translate(err)
}

// eachPage reads pages from the start until one comes back short; page
// returns how many rows it read and the key of its last.
func eachPage(page func(after keyset) (n int, last keyset, err error)) error {
	after := keyset{at: keysetStart}
	for {
		n, last, err := page(after)
		if err != nil || n < reportExportPage {
			return err
		}
		after = last
	}
}

// The outbound_audit export is the audit's rows in one ordered statement.
func (d dialect) outboundExporter(f reports.OutboundFilter) exporter {
	q := d.outboundQuery(f)
	return exporter{counted: "sends s WHERE " + q.where, args: q.args,
		each: func(ctx context.Context, tx *Tx, row func([]any) error) error {
			rows, err := tx.QueryContext(ctx, tx.Rebind(outboundAuditRowsSQL(q)+` ORDER BY s.sent_at, s.message_id`), q.args...)
			if err != nil {
				return translate(err)
			}
			defer rows.Close()
			for rows.Next() {
				r, err := scanAuditRow(rows)
				if err != nil {
					return translate(err)
				}
				if err := row(r.Values()); err != nil {
					return err
				}
			}
			return translate(rows.Err())
		}}
}

// The outcomes export is the outcomes report's live outcomes.
func outcomesExporter(f reports.OutcomesFilter) exporter {
	counted, args := outcomeRowsCounted(f)
	return exporter{counted: counted, args: args,
		each: func(ctx context.Context, tx *Tx, row func([]any) error) error {
			return eachOutcomeRow(ctx, tx, f, func(r reports.OutcomeRow) error { return row(r.Values()) })
		}}
}

// The conversations export is the inbox list's filter over a range of
// creation times, walked through conversations_created.
func (db *DB) conversationsExporter(ctx context.Context, x reports.ConversationsExport) (exporter, error) {
	f := x.Filter
	f.Query = "" // not exported (reports.ParseExport refuses it)
	w, err := db.conversationFilterWhere(ctx, f, conversations.Page{})
	if err != nil {
		return exporter{}, err
	}
	conds, args := w.filter()
	conds = append(conds, "cv.created_at >= ?", "cv.created_at < ?")
	args = append(args, ms(x.From), ms(x.To))
	if x.ChannelID != nil {
		conds, args = append(conds, "cv.channel_id = ?"), append(args, *x.ChannelID)
	}
	where := strings.Join(conds, " AND ")
	page := selectConversation + ` WHERE ` + where + ` AND cv.created_at >= ? AND (cv.created_at > ? OR (cv.created_at = ? AND cv.id > ?))
ORDER BY cv.created_at, cv.id LIMIT ?`
	return exporter{counted: "conversations cv WHERE " + where, args: args,
		each: func(ctx context.Context, tx *Tx, row func([]any) error) error {
			return eachPage(func(after keyset) (int, keyset, error) {
				var rows []conversationRow
				pargs := append(append([]any{}, args...), after.at, after.at, after.at, after.id, reportExportPage)
				if err := tx.SelectContext(ctx, &rows, tx.Rebind(page), pargs...); err != nil || len(rows) == 0 {
					return 0, after, translate(err)
				}
				convs, err := conversationsWithTags(ctx, tx, rows)
				if err != nil {
					return 0, after, err
				}
				for i, c := range convs {
					if err := row(conversationExportRow(c, rows[i]).Values()); err != nil {
						return 0, after, err
					}
				}
				last := rows[len(rows)-1]
				return len(rows), keyset{at: last.CreatedAt, id: last.ID}, nil
			})
		}}, nil
}

func conversationExportRow(c conversations.Conversation, r conversationRow) reports.ConversationRow {
	out := reports.ConversationRow{Conversation: c, CreatedAt: fromMS(r.CreatedAt), Tags: []string{}}
	for _, t := range c.Tags {
		out.Tags = append(out.Tags, t.Name)
	}
	if c.FinalTag != nil {
		out.FinalTag = c.FinalTag.Name
	}
	return out
}

// exportMessageColumns are messageColumns of messages m, with the
// conversation's contact phone.
const exportMessageColumns = `m.id, m.account_id, m.conversation_id, m.channel_id, m.direction, m.kind, m.body, m.media_urls,
m.status, m.error_code, m.error_reason, m.carrier_message_id, m.author_id, m.campaign_id, m.segments, m.encoding,
m.created_at, m.updated_at, cv.contact_phone`

type exportMessageRow struct {
	messageRow
	ContactPhone string `db:"contact_phone"`
}

// The messages export: every message, note and event row of the range,
// walked through messages_created.
func messagesExporter(x reports.MessagesExport) exporter {
	conds := []string{"m.account_id = ?", "m.created_at >= ?", "m.created_at < ?"}
	args := []any{x.AccountID, ms(x.From), ms(x.To)}
	add := func(cond string, arg any) { conds, args = append(conds, cond), append(args, arg) }
	if x.ChannelID != nil {
		add("m.channel_id = ?", *x.ChannelID)
	}
	if x.InboxID != nil {
		// The conversation's inbox, as the conversations export reads it;
		// a semi-join, so that the count reads messages alone.
		add("m.conversation_id IN (SELECT ic.id FROM conversations ic WHERE ic.account_id = m.account_id AND ic.inbox_id = ?)", *x.InboxID)
	}
	if x.CampaignID != nil {
		add("m.campaign_id = ?", *x.CampaignID)
	}
	if x.ConversationID != nil {
		add("m.conversation_id = ?", *x.ConversationID)
	}
	if x.Direction != "" {
		add("m.direction = ?", string(x.Direction))
	}
	where := strings.Join(conds, " AND ")
	return exporter{counted: "messages m WHERE " + where, args: args,
		each: func(ctx context.Context, tx *Tx, row func([]any) error) error {
			rows, err := tx.QueryxContext(ctx, tx.Rebind(`SELECT `+exportMessageColumns+`
FROM messages m JOIN conversations cv ON cv.id = m.conversation_id WHERE `+where+`
ORDER BY m.created_at, m.id`), args...)
			if err != nil {
				return translate(err)
			}
			defer rows.Close()
			for rows.Next() {
				var r exportMessageRow
				if err := rows.StructScan(&r); err != nil {
					return translate(err)
				}
				m, err := r.message()
				if err != nil {
					return err
				}
				if err := row(reports.MessageRow{Message: m, ContactPhone: r.ContactPhone}.Values()); err != nil {
					return err
				}
			}
			return translate(rows.Err())
		}}
}
