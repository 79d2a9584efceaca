package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
)

type campaignRow struct {
	ID            int64  `db:"id"`
	AccountID     int64  `db:"account_id"`
	Name          string `db:"name"`
	ChannelID     int64  `db:"channel_id"`
	Body          string `db:"body"`
	Audience      string `db:"audience"`
	OriginType    string `db:"origin_type"`
	Status        string `db:"status"`
	SendAt        *int64 `db:"send_at"`
	Schedule      string `db:"schedule"`
	RatePerSecond int    `db:"rate_per_second"`
	CreatedBy     int64  `db:"created_by"`
	ExpandStage   int    `db:"expand_stage"`
	ExpandCursor  int64  `db:"expand_cursor"`
	NextBatchAt   int64  `db:"next_batch_at"`
	ParentID      *int64 `db:"parent_id"`
	NextRunAt     *int64 `db:"next_run_at"`
	CreatedAt     int64  `db:"created_at"`
	UpdatedAt     int64  `db:"updated_at"`
	countColumns
}

// countColumns are a campaign's counts as last folded
// (campaign_counts.go).
type countColumns struct {
	Recipients int `db:"count_recipients"`
	Queued     int `db:"count_queued"`
	Sent       int `db:"count_sent"`
	Delivered  int `db:"count_delivered"`
	Failed     int `db:"count_failed"`
	Skipped    int `db:"count_skipped"`
	Cancelled  int `db:"count_cancelled"`
}

const campaignColumns = `id, account_id, name, channel_id, body, audience, origin_type, status, send_at, schedule,
rate_per_second, created_by, expand_stage, expand_cursor, next_batch_at, parent_id, next_run_at, created_at, updated_at,
count_recipients, count_queued, count_sent, count_delivered, count_failed, count_skipped, count_cancelled`

func (r campaignRow) campaign() (campaigns.Campaign, error) {
	c := campaigns.Campaign{ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), Name: r.Name, ChannelID: parley.ID(r.ChannelID),
		Body: r.Body, OriginType: r.OriginType, Status: campaigns.Status(r.Status), SendAt: fromMSPtr(r.SendAt), Schedule: r.Schedule,
		RatePerSecond: r.RatePerSecond, CreatedBy: parley.ID(r.CreatedBy), ParentID: idPtr(r.ParentID), NextRunAt: fromMSPtr(r.NextRunAt),
		CreatedAt: fromMS(r.CreatedAt), UpdatedAt: fromMS(r.UpdatedAt), Counts: r.counts()}
	err := json.Unmarshal([]byte(r.Audience), &c.Audience)
	return c, err
}

// CreateCampaign stores a draft.
func (db *DB) CreateCampaign(ctx context.Context, c campaigns.Campaign) (campaigns.Campaign, error) {
	var row campaignRow
	err := db.inTx(ctx, func(tx *Tx) error {
		var connected []bool
		if err := tx.SelectContext(ctx, &connected, tx.Rebind(`SELECT disconnected_at IS NULL FROM channels WHERE account_id = ? AND id = ?`), c.AccountID, c.ChannelID); err != nil {
			return err
		}
		switch {
		case len(connected) == 0:
			return parley.Invalid(map[string]string{"channel_id": "no such channel"})
		case !connected[0]:
			return conversations.ChannelDisconnected()
		}
		if err := checkAudienceContacts(ctx, tx, c.AccountID, c.Audience.ContactIDs); err != nil {
			return err
		}
		c.Status = campaigns.StatusDraft
		var err error
		row, err = insertCampaign(ctx, tx, c)
		return err
	})
	if err != nil {
		return c, err
	}
	return row.campaign()
}

// insertCampaign writes a new campaign row as c says.
func insertCampaign(ctx context.Context, tx *Tx, c campaigns.Campaign) (campaignRow, error) {
	var row campaignRow
	audience, err := json.Marshal(c.Audience)
	if err != nil {
		return row, err
	}
	q := `INSERT INTO campaigns (account_id, name, channel_id, body, audience, origin_type, status, send_at, schedule,
    rate_per_second, created_by, parent_id, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ` + campaignColumns
	err = tx.GetContext(ctx, &row, tx.Rebind(q), c.AccountID, c.Name, c.ChannelID, c.Body, string(audience), c.OriginType,
		string(c.Status), msPtr(c.SendAt), c.Schedule, c.RatePerSecond, c.CreatedBy, c.ParentID, ms(c.CreatedAt), ms(c.UpdatedAt))
	if err == nil {
		tx.recordCampaign(c.AccountID, parley.ID(row.ID), string(c.Status), c.CreatedAt)
	}
	return row, err
}

// GetCampaign returns a campaign with its live counts.
func (db *DB) GetCampaign(ctx context.Context, accountID, id parley.ID) (campaigns.Campaign, error) {
	out, err := db.readCampaigns(ctx, `account_id = ? AND id = ?`, []any{accountID, id}, "")
	if err != nil {
		return campaigns.Campaign{}, err
	}
	if len(out) == 0 {
		return campaigns.Campaign{}, parley.Errorf(parley.ENOTFOUND, "not found")
	}
	return out[0], nil
}

// ListCampaigns lists a page of the account's campaigns, newest first, or
// of one recurring campaign's runs.
func (db *DB) ListCampaigns(ctx context.Context, accountID parley.ID, parent *parley.ID, page parley.Page) ([]campaigns.Campaign, string, error) {
	page = page.Normalize()
	where, args := "account_id = ?", []any{accountID}
	if parent != nil {
		where, args = where+" AND parent_id = ?", append(args, *parent)
	}
	if page.Cursor != "" {
		key, err := decodeCursor(page.Cursor, 1)
		if err != nil {
			return nil, "", err
		}
		where, args = where+" AND id < ?", append(args, key[0])
	}
	out, err := db.readCampaigns(ctx, where, append(args, page.Limit+1), " ORDER BY id DESC LIMIT ?")
	if err != nil {
		return nil, "", err
	}
	out, next := idCursor(out, page, func(c campaigns.Campaign) int64 { return int64(c.ID) })
	return out, next, nil
}

// TransitionCampaign starts, pauses, resumes or cancels a campaign.
func (db *DB) TransitionCampaign(ctx context.Context, accountID, id parley.ID, action campaigns.Action, at time.Time) (campaigns.Campaign, error) {
	sending := false
	err := db.inTx(ctx, func(tx *Tx) error {
		var row campaignRow
		q := `SELECT ` + campaignColumns + ` FROM campaigns WHERE account_id = ? AND id = ?` + db.dialect.forUpdate()
		if err := tx.GetContext(ctx, &row, tx.Rebind(q), accountID, id); err != nil {
			return err
		}
		c, err := row.campaign()
		if err != nil {
			return err
		}
		from := c.Status
		target, ok := action.Next(from, c.Recurring() || (c.SendAt != nil && c.SendAt.After(at)))
		if !ok {
			return parley.Conflict("campaign_state", "cannot %s a %s campaign", action, from)
		}
		if action.Sends() {
			if err := requireConnected(ctx, tx, c.ChannelID); err != nil {
				return err
			}
		}
		// A recurring campaign waits for its next fire time while it is
		// scheduled; paused or cancelled, it has none.
		var nextRun *int64
		if c.Recurring() && target == campaigns.StatusScheduled {
			next, err := c.NextRun(at)
			if err != nil {
				return err
			}
			nextRun = msPtr(&next)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE campaigns SET status = ?, next_batch_at = 0, next_run_at = ?, updated_at = ? WHERE id = ?`),
			string(target), nextRun, ms(at), id); err != nil {
			return err
		}
		tx.recordCampaign(accountID, id, string(target), at)
		if target == campaigns.StatusCancelled {
			return cancelCampaign(ctx, tx, id, at)
		}
		sending = target == campaigns.StatusSending
		return nil
	})
	if err != nil {
		return campaigns.Campaign{}, err
	}
	if sending {
		// The audience now, its first startChunks chunks, not at the next
		// tick: the answer, and a GET right after it, count its
		// recipients (all of any but a large audience), whatever the
		// machine's load. A failure is the tick's to retry and report.
		for range startChunks {
			if done, err := db.expandChunk(ctx, id, at, 0); done || err != nil {
				break
			}
		}
	}
	return db.GetCampaign(ctx, accountID, id)
}

// cancelStrandedCampaign cancels a campaign whose channel is disconnected.
func cancelStrandedCampaign(ctx context.Context, tx *Tx, accountID, id parley.ID, at time.Time) error {
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE campaigns SET status = 'cancelled', next_batch_at = 0, next_run_at = NULL, updated_at = ? WHERE id = ?`),
		ms(at), id); err != nil {
		return err
	}
	tx.recordCampaign(accountID, id, string(campaigns.StatusCancelled), at)
	return cancelCampaign(ctx, tx, id, at)
}

// cancelCampaign drops what has not gone: pending recipients, and queued
// texts still waiting in the outbox. A text a dispatcher holds is dropped
// by the dispatcher itself, which checks the campaign just before sending.
func cancelCampaign(ctx context.Context, tx *Tx, id parley.ID, at time.Time) error {
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE campaign_recipients SET status = 'cancelled', updated_at = ? WHERE campaign_id = ? AND status = 'pending'`),
		ms(at), id); err != nil {
		return err
	}
	var msgIDs []int64
	if err := tx.SelectContext(ctx, &msgIDs, tx.Rebind(`SELECT message_id FROM outbox WHERE campaign_id = ? AND state = 'queued'`), id); err != nil || len(msgIDs) == 0 {
		return err
	}
	for _, mid := range msgIDs {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM outbox WHERE message_id = ? AND state = 'queued'`), mid); err != nil {
			return err
		}
		var m struct {
			AccountID      int64 `db:"account_id"`
			ConversationID int64 `db:"conversation_id"`
		}
		if err := tx.GetContext(ctx, &m, tx.Rebind(`UPDATE messages SET status = 'failed', updated_at = ? WHERE id = ? RETURNING account_id, conversation_id`), ms(at), mid); err != nil {
			return err
		}
		tx.recordMessageStatus(parley.ID(m.AccountID), parley.ID(m.ConversationID), parley.ID(mid), string(conversations.MessageFailed), at)
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE campaign_recipients SET status = 'cancelled', updated_at = ? WHERE message_id = ?`), ms(at), mid); err != nil {
			return err
		}
	}
	return nil
}

// ListRecipients lists a campaign's recipients by id, optionally of some
// statuses (pending, skipped_opted_out, cancelled, or a message status).
func (db *DB) ListRecipients(ctx context.Context, accountID, campaignID parley.ID, statuses []string, page parley.Page) ([]campaigns.CampaignRecipient, string, error) {
	var one int
	if err := db.db.GetContext(ctx, &one, db.rebind(`SELECT 1 FROM campaigns WHERE account_id = ? AND id = ?`), accountID, campaignID); err != nil {
		return nil, "", translate(err)
	}
	cond, args, limit, err := idPage(page, "r.id")
	if err != nil {
		return nil, "", err
	}
	q := `SELECT r.id, r.contact_id, r.phone, CASE WHEN r.status = 'queued' THEN m.status ELSE r.status END AS status,
    r.message_id, r.conversation_id, r.updated_at
FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id
WHERE r.campaign_id = ? AND ` + cond
	qargs := append([]any{campaignID}, args...)
	if len(statuses) > 0 {
		q += ` AND (CASE WHEN r.status = 'queued' THEN m.status ELSE r.status END) IN (` + placeholders(len(statuses)) + `)`
		for _, s := range statuses {
			qargs = append(qargs, s)
		}
	}
	var rows []struct {
		ID             int64  `db:"id"`
		ContactID      *int64 `db:"contact_id"`
		Phone          string `db:"phone"`
		Status         string `db:"status"`
		MessageID      *int64 `db:"message_id"`
		ConversationID *int64 `db:"conversation_id"`
		UpdatedAt      int64  `db:"updated_at"`
	}
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q+` ORDER BY r.id LIMIT ?`), append(qargs, limit)...); err != nil {
		return nil, "", translate(err)
	}
	next := ""
	if len(rows) > page.Normalize().Limit {
		rows = rows[:page.Normalize().Limit]
		next = encodeCursor(rows[len(rows)-1].ID)
	}
	out := make([]campaigns.CampaignRecipient, len(rows))
	for i, r := range rows {
		out[i] = campaigns.CampaignRecipient{ID: parley.ID(r.ID), ContactID: idPtr(r.ContactID), Phone: r.Phone, Status: r.Status,
			MessageID: idPtr(r.MessageID), ConversationID: idPtr(r.ConversationID), UpdatedAt: fromMS(r.UpdatedAt)}
	}
	return out, next, nil
}

// AdvanceCampaigns does one tick of campaign work (see CampaignStore).
func (db *DB) AdvanceCampaigns(ctx context.Context, now time.Time, tick time.Duration) (int, error) {
	if err := db.startDueRuns(ctx, now); err != nil {
		return 0, fmt.Errorf("starting recurring runs: %w", err)
	}
	var due []int64
	if err := db.db.SelectContext(ctx, &due, db.rebind(`SELECT id FROM campaigns
WHERE status IN ('scheduled', 'sending') AND next_batch_at <= ? AND schedule = '' ORDER BY next_batch_at, id LIMIT 100`),
		ms(campaigns.DueBy(now, tick))); err != nil {
		return 0, translate(err)
	}
	queued, announced := 0, map[parley.ID]bool{}
	for _, id := range due {
		n, told, err := db.advanceCampaign(ctx, parley.ID(id), now, tick)
		if err != nil {
			return queued, fmt.Errorf("campaign %d: %w", id, err)
		}
		queued += n
		announced[parley.ID(id)] = told
	}
	if err := db.foldCampaignCounts(ctx, now, announced); err != nil {
		return queued, fmt.Errorf("folding campaign counts: %w", err)
	}
	return queued, nil
}

// startDueRuns starts a run of every recurring campaign whose schedule
// has fired. The parent's row lock and its moved next_run_at make each
// fire start one run however many instances tick; a fire missed while no
// instance ran starts one run, not one per missed fire.
func (db *DB) startDueRuns(ctx context.Context, now time.Time) error {
	var due []int64
	if err := db.db.SelectContext(ctx, &due, db.rebind(`SELECT id FROM campaigns
WHERE status = 'scheduled' AND next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at, id LIMIT 100`), ms(now)); err != nil {
		return translate(err)
	}
	for _, id := range due {
		err := db.inTx(ctx, func(tx *Tx) error {
			var row campaignRow
			q := `SELECT ` + campaignColumns + ` FROM campaigns WHERE id = ? AND status = 'scheduled' AND next_run_at <= ?` + db.dialect.skipLocked()
			err := tx.GetContext(ctx, &row, tx.Rebind(q), id, ms(now))
			if parley.IsKind(translate(err), parley.ENOTFOUND) {
				return nil // another instance started it, or it changed
			} else if err != nil {
				return err
			}
			parent, err := row.campaign()
			if err != nil {
				return err
			}
			if _, err := insertCampaign(ctx, tx, parent.Run(now)); err != nil {
				return err
			}
			next, err := parent.NextRun(now)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE campaigns SET next_run_at = ?, updated_at = ? WHERE id = ?`), ms(next), ms(now), id)
			return err
		})
		if err != nil {
			return fmt.Errorf("campaign %d: %w", id, err)
		}
	}
	return nil
}

// advanceCampaign takes one campaign one tick further: more of its
// audience becomes recipients, then a batch of texts is queued.
func (db *DB) advanceCampaign(ctx context.Context, id parley.ID, now time.Time, tick time.Duration) (queued int, announced bool, err error) {
	// Expansion and queueing share the tick's work budget (wall clock):
	// queueing has what expansion left (campaigns.QueueDeadline).
	began := time.Now()
	if err := db.expandCampaign(ctx, id, now, tick); err != nil {
		return 0, false, fmt.Errorf("expanding the audience: %w", err)
	}
	err = db.inTx(ctx, func(tx *Tx) error {
		row, c, ok, err := db.lockDueCampaign(ctx, tx, id, now, tick)
		if err != nil || !ok {
			return err
		}
		if err := requireConnected(ctx, tx, c.ChannelID); err != nil {
			if parley.IsKind(err, parley.ECONFLICT) {
				// Disconnected before its campaigns were cancelled with it.
				return cancelStrandedCampaign(ctx, tx, c.AccountID, id, now)
			}
			return err
		}
		from := c.Status
		c.Status = campaigns.StatusSending
		due := campaigns.TicksDue(row.lastBatchDue(), now, tick)
		waiting, err := campaignWaiting(ctx, tx, id, now)
		if err != nil {
			return err
		}
		// Texts held back by backpressure leave the tick's time to the audience.
		n := campaigns.BatchSize(row.RatePerSecond, tick, due, waiting)
		stop := campaigns.QueueDeadline(began, time.Now())
		if queued, err = queueRecipients(ctx, tx, c, n, now, tick*time.Duration(due), stop); err != nil {
			return err
		}
		status, err := campaigns.TickStatus(row.ExpandStage == stageExpanded, queued, func() (bool, error) {
			return campaignLeft(ctx, tx, id)
		})
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE campaigns SET status = ?, next_batch_at = ?, updated_at = ? WHERE id = ?`),
			string(status), ms(campaigns.NextBatch(row.lastBatchDue(), due, now, tick)), ms(now), id)
		// A tick that queued texts or moved the campaign on changed what a
		// GET shows: at most one event a tick (a second) per campaign.
		if announced = queued > 0 || status != from; announced {
			tx.recordCampaign(c.AccountID, id, string(status), now)
		}
		return err
	})
	return queued, announced, err
}

// campaignWaiting counts the campaign's texts overdue in the outbox: due
// already and not sent, the sign that sending lags (texts spread over the
// coming tick are not). A short scan: the outbox holds only texts not yet
// sent, a few ticks' worth.
func campaignWaiting(ctx context.Context, tx *Tx, id parley.ID, now time.Time) (int, error) {
	var n int
	err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM outbox WHERE campaign_id = ? AND available_at <= ?`), id, ms(now))
	return n, err
}

// campaignLeft reports whether a campaign has recipients pending or
// texts still in the outbox (which holds only texts not yet sent, so the
// scan is short).
func campaignLeft(ctx context.Context, tx *Tx, id parley.ID) (bool, error) {
	var left []int
	err := tx.SelectContext(ctx, &left, tx.Rebind(`SELECT 1 FROM campaign_recipients WHERE campaign_id = ? AND status = 'pending'
UNION ALL SELECT 1 FROM outbox WHERE campaign_id = ? LIMIT 1`), id, id)
	return len(left) > 0, err
}

// lockDueCampaign reads a campaign whose batch is due under a lock that
// makes other instances skip it, so the rate holds however many run. ok
// is false when another instance has it, it changed, or its send_at is
// still ahead.
func (db *DB) lockDueCampaign(ctx context.Context, tx *Tx, id parley.ID, now time.Time, tick time.Duration) (campaignRow, campaigns.Campaign, bool, error) {
	var row campaignRow
	q := `SELECT ` + campaignColumns + ` FROM campaigns WHERE id = ? AND status IN ('scheduled', 'sending') AND next_batch_at <= ?` +
		db.dialect.skipLocked()
	err := tx.GetContext(ctx, &row, tx.Rebind(q), id, ms(campaigns.DueBy(now, tick)))
	if parley.IsKind(translate(err), parley.ENOTFOUND) {
		return row, campaigns.Campaign{}, false, nil
	} else if err != nil {
		return row, campaigns.Campaign{}, false, err
	}
	c, err := row.campaign()
	if err != nil {
		return row, c, false, err
	}
	if c.Waits(now) {
		return row, c, false, nil
	}
	return row, c, true, nil
}

// lastBatchDue is when the campaign's last batch was due; zero before
// its first.
func (r campaignRow) lastBatchDue() time.Time {
	if r.NextBatchAt <= 0 {
		return time.Time{}
	}
	return fromMS(r.NextBatchAt)
}
