package store

import (
	"context"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
)

// A campaign's counts are kept in its row (migration 00032): triggers
// record every change of a recipient's or its text's status as a row of
// campaign_count_changes, in the transaction of the change; the campaign
// tick folds them into the campaign's row once a second, and a read adds
// those not folded yet. A GET so reads one row and a second's changes,
// whatever the audience's size, and no hot counter row serialises the
// batches that send one campaign's texts.

func (r countColumns) counts() campaigns.Counts {
	return campaigns.Counts{Recipients: r.Recipients, Queued: r.Queued, Sent: r.Sent, Delivered: r.Delivered,
		Failed: r.Failed, SkippedOptedOut: r.Skipped, Cancelled: r.Cancelled}
}

// countChange is a row of campaign_count_changes, or a sum of them.
type countChange struct {
	CampaignID    int64  `db:"campaign_id"`
	Moved         int    `db:"moved"`
	FromRecipient string `db:"from_recipient"`
	FromMessage   string `db:"from_message"`
	ToRecipient   string `db:"to_recipient"`
	ToMessage     string `db:"to_message"`
}

func (c countChange) move() campaigns.Move {
	return campaigns.Move{
		From: campaigns.RecipientState{Recipient: campaigns.RecipientStatus(c.FromRecipient), Message: conversations.MessageStatus(c.FromMessage)},
		To:   campaigns.RecipientState{Recipient: campaigns.RecipientStatus(c.ToRecipient), Message: conversations.MessageStatus(c.ToMessage)},
		N:    c.Moved,
	}
}

// countsMoved sums changes per campaign.
func countsMoved(changes []countChange) map[int64]*campaigns.Counts {
	out := map[int64]*campaigns.Counts{}
	for _, ch := range changes {
		c := out[ch.CampaignID]
		if c == nil {
			c = &campaigns.Counts{}
			out[ch.CampaignID] = c
		}
		c.Apply(ch.move())
	}
	return out
}

// readCampaigns reads the campaigns where a condition holds (the tail
// orders and limits them; newest first) with their counts, folded and
// not, in one statement: one snapshot, so a fold committing meanwhile is
// counted once, and one round trip. Each campaign's row comes beside each
// kind of its changes not folded yet, or beside none.
func (db *DB) readCampaigns(ctx context.Context, where string, args []any, tail string) ([]campaigns.Campaign, error) {
	var rows []struct {
		campaignRow
		countChange
	}
	q := `SELECT ` + prefixed("c.", campaignColumns) + `, COALESCE(ch.campaign_id, 0) AS campaign_id,
    COALESCE(ch.moved, 0) AS moved, COALESCE(ch.from_recipient, '') AS from_recipient, COALESCE(ch.from_message, '') AS from_message,
    COALESCE(ch.to_recipient, '') AS to_recipient, COALESCE(ch.to_message, '') AS to_message
FROM (SELECT ` + campaignColumns + ` FROM campaigns WHERE ` + where + tail + `) c LEFT JOIN (
    SELECT campaign_id, SUM(moved) AS moved, from_recipient, from_message, to_recipient, to_message
    FROM campaign_count_changes WHERE campaign_id IN (SELECT id FROM campaigns WHERE ` + where + tail + `)
    GROUP BY campaign_id, from_recipient, from_message, to_recipient, to_message) ch ON ch.campaign_id = c.id
ORDER BY c.id DESC`
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q), append(append([]any{}, args...), args...)...); err != nil {
		return nil, translate(err)
	}
	var out []campaigns.Campaign
	for _, r := range rows {
		if len(out) == 0 || int64(out[len(out)-1].ID) != r.ID {
			c, err := r.campaign()
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		if r.CampaignID != 0 {
			out[len(out)-1].Counts.Apply(r.move())
		}
	}
	return out, nil
}

// foldCampaignCounts moves the recorded changes into their campaigns'
// rows and records campaign.updated for each campaign whose counts
// changed, but those in announced (their tick has just recorded it).
// Instances fold one at a time; changes committed while a fold runs wait
// for the next (DELETE takes only those its snapshot sees).
func (db *DB) foldCampaignCounts(ctx context.Context, now time.Time, announced map[parley.ID]bool) error {
	// Most seconds nothing changed: no write transaction (on SQLite, the
	// one writer's lock) for them.
	var waiting bool
	if err := db.db.GetContext(ctx, &waiting, `SELECT EXISTS (SELECT 1 FROM campaign_count_changes)`); err != nil || !waiting {
		return err
	}
	return db.inTx(ctx, func(tx *Tx) error {
		if err := db.dialect.lockKey(ctx, tx, "campaign-counts"); err != nil {
			return err
		}
		var changes []countChange
		if err := tx.SelectContext(ctx, &changes, `DELETE FROM campaign_count_changes
RETURNING campaign_id, moved, from_recipient, from_message, to_recipient, to_message`); err != nil {
			return err
		}
		moved := countsMoved(changes)
		args := make([]any, 0, 8*len(moved))
		for id, c := range moved {
			if *c != (campaigns.Counts{}) {
				args = append(args, id, c.Recipients, c.Queued, c.Sent, c.Delivered, c.Failed, c.SkippedOptedOut, c.Cancelled)
			}
		}
		if len(args) == 0 {
			return nil
		}
		var folded []struct {
			ID        int64  `db:"id"`
			AccountID int64  `db:"account_id"`
			Status    string `db:"status"`
		}
		const num = `CAST(? AS BIGINT)`
		q := valuesRows(`WITH v (id, recipients, queued, sent, delivered, failed, skipped, cancelled) AS (VALUES `,
			`(`+num+`, `+num+`, `+num+`, `+num+`, `+num+`, `+num+`, `+num+`, `+num+`)`, len(args)/8) +
			`) UPDATE campaigns SET count_recipients = count_recipients + v.recipients, count_queued = count_queued + v.queued,
    count_sent = count_sent + v.sent, count_delivered = count_delivered + v.delivered, count_failed = count_failed + v.failed,
    count_skipped = count_skipped + v.skipped, count_cancelled = count_cancelled + v.cancelled
FROM v WHERE campaigns.id = v.id RETURNING campaigns.id, campaigns.account_id, campaigns.status`
		if err := tx.SelectContext(ctx, &folded, tx.Rebind(q), args...); err != nil {
			return err
		}
		for _, f := range folded {
			if !announced[parley.ID(f.ID)] {
				tx.recordCampaign(parley.ID(f.AccountID), parley.ID(f.ID), f.Status, now)
			}
		}
		return nil
	})
}

// prefixed qualifies each column of a list with a table alias.
func prefixed(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}
