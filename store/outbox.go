package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/optout"
)

// outboundDraft is an outbound text to store and queue.
type outboundDraft struct {
	AccountID      parley.ID
	ConversationID parley.ID
	ChannelID      parley.ID
	To             string
	Body           string
	MediaURLs      []string
	AuthorID       *parley.ID
	CampaignID     *parley.ID
	Purpose        string
	Segments       int
	Encoding       string
	// AvailableAt delays the send; zero: at once. Campaign batches spread
	// their texts across the second instead of handing them over at once.
	AvailableAt time.Time
}

// Outbox priorities: lower is claimed first, so a staff reply or a consent
// confirmation never waits behind a campaign.
var outboxPriority = map[string]int{
	campaigns.PurposeOptOutConfirmation: 0,
	campaigns.PurposeAutoReply:          0,
	campaigns.PurposeReply:              1,
	campaigns.PurposeQuickMessage:       1,
}

const bulkPriority = 10

// priorityOf is the outbox priority of a text sent for purpose.
func priorityOf(purpose string) int {
	if p, ok := outboxPriority[purpose]; ok {
		return p
	}
	return bulkPriority
}

// enqueueText stores an outbound message as queued and puts it in the
// outbox, in the caller's transaction: the text is durable before anyone is
// told it was accepted. The text's words join the thread's search
// document in the same UPDATE as its activity, as a campaign text's do
// (migration 00054).
//
// On PostgreSQL the message, its outbox item and the thread's activity
// are one statement, the outbox item taking the message's id from its
// insert's RETURNING row; SQLite inserts the message first.
func enqueueText(ctx context.Context, tx *Tx, d outboundDraft, at time.Time) (conversations.Message, error) {
	media, err := json.Marshal(nonNil(d.MediaURLs))
	if err != nil {
		return conversations.Message{}, err
	}
	available := at
	if d.AvailableAt.After(at) {
		available = d.AvailableAt
	}
	inserted := statement{query: `INSERT INTO messages (account_id, conversation_id, channel_id, direction, kind, body, media_urls, status,
    author_id, campaign_id, segments, encoding, created_at, updated_at)
VALUES (?, ?, ?, 'outbound', 'text', ?, ?, 'queued', ?, ?, ?, ?, ?, ?) RETURNING ` + messageColumns,
		args: []any{d.AccountID, d.ConversationID, d.ChannelID, d.Body, string(media), d.AuthorID, d.CampaignID, d.Segments, d.Encoding, ms(at), ms(at)},
		name: "queued_text"}
	// The outbox item's columns after its message's id.
	const item = `?, ?, ?, ?, ?, 'queued', ?, ?, ?`
	itemArgs := []any{d.ChannelID, d.CampaignID, d.To, d.Purpose, priorityOf(d.Purpose), ms(available), ms(at), ms(at)}
	const intoOutbox = `INSERT INTO outbox (account_id, message_id, channel_id, campaign_id, to_phone, purpose, priority, state, available_at, created_at, updated_at) `
	touched := batchStatement(touchConversationsQuery(dialectOf(tx)), [][]any{{d.ConversationID, d.Body}}, ms(at), ms(at), ms(at))
	var row messageRow
	if dialectOf(tx).writesInWith() {
		queued := statement{query: intoOutbox + `SELECT account_id, id, ` + item + ` FROM queued_text`, args: itemArgs}
		var rows []messageRow
		if err := selectTogether(ctx, tx, &rows, statement{query: `SELECT * FROM queued_text`}, inserted, queued, touched); err != nil {
			return conversations.Message{}, err
		}
		if len(rows) != 1 {
			return conversations.Message{}, fmt.Errorf("queueing a text returned %d messages", len(rows))
		}
		row = rows[0]
	} else {
		if err := tx.GetContext(ctx, &row, tx.Rebind(inserted.query), inserted.args...); err != nil {
			return conversations.Message{}, err
		}
		queued := statement{query: intoOutbox + `VALUES (?, ?, ` + item + `)`, args: append([]any{d.AccountID, row.ID}, itemArgs...)}
		if err := execTogether(ctx, tx, queued, touched); err != nil {
			return conversations.Message{}, err
		}
	}
	m, err := row.message()
	if err != nil {
		return conversations.Message{}, err
	}
	actor := conversations.ActorSystem
	if d.AuthorID != nil {
		actor = conversations.ActorUser
	}
	tx.recordMessage(events.MessageCreated, m, actor, d.AuthorID, at)
	return m, nil
}

type outboxRow struct {
	ID        int64  `db:"id"`
	AccountID int64  `db:"account_id"`
	MessageID int64  `db:"message_id"`
	Purpose   string `db:"purpose"`
	Attempts  int    `db:"attempts"`
	ToPhone   string `db:"to_phone"`
	Body      string `db:"body"`
	MediaURLs string `db:"media_urls"`
	// The campaign of a campaign text, and its rate, for pacing.
	CampaignID   int64   `db:"campaign_id"`
	CampaignRate float64 `db:"campaign_rate"`
	channelRow
}

// claimedItemsQuery reads a batch of claimed items (their ids) with their
// texts, channels and campaigns, each row looked up by its key
// (lookupJoin): joined as the planner chose, a claim hashed every message
// while the table was young.
func claimedItemsQuery(d dialect) string {
	return `WITH ` + d.batchRows("v", "id BIGINT") + `
SELECT o.id, o.account_id, o.message_id, o.purpose, o.attempts, o.to_phone, m.body, m.media_urls,
       c.id, c.account_id, c.inbox_id, c.carrier, c.phone_number, c.messaging_service_sid, c.carrier_account_id,
       c.auth_token, c.carrier_handles_optout, c.messages_per_second, c.created_at, c.disconnected_at,
       c.webhook_secret, c.carrier_options, COALESCE(m.campaign_id, 0), COALESCE(cp.rate_per_second, 0)
FROM v` + d.lookupJoin("outbox", "o", "o.id = v.id") + d.lookupJoin("messages", "m", "m.id = o.message_id") +
		d.lookupJoin("channels", "c", "c.id = o.channel_id") + d.lookupLeftJoin("campaigns", "cp", "cp.id = m.campaign_id") + `
ORDER BY o.priority, o.id`
}

// ClaimOutbox leases due items: queued ones whose time has come and
// sending ones whose lease expired, which come back Reclaimed with the
// start of the claim that expired. Every claim stamps claimed_at.
// PostgreSQL skips rows other claimers hold (FOR UPDATE SKIP LOCKED);
// SQLite's immediate transaction is the only writer, so its claim cannot
// overlap another.
func (db *DB) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]campaigns.OutboxItem, error) {
	// The rows are read before they are updated: RETURNING would give the
	// new state and claim time, and the old ones say whether this is a
	// reclaim and since when the text may be at the carrier. A row claimed
	// by a binary older than claimed_at has none; its updated_at is that
	// claim's time.
	pick := `SELECT id, state, COALESCE(claimed_at, updated_at) AS claimed_at FROM outbox
WHERE (state = 'queued' AND available_at <= ?) OR (state = 'sending' AND lease_expires_at <= ?)
ORDER BY priority, available_at, id
LIMIT ` + db.dialect.varyingLimit() + db.dialect.skipLocked()
	const claim = `UPDATE outbox SET state = 'sending', lease_expires_at = ?, claimed_at = ?, updated_at = ? WHERE id IN (?)`
	load := claimedItemsQuery(db.dialect)
	var items, stranded []campaigns.OutboxItem
	err := db.inTx(ctx, func(tx *Tx) error {
		items, stranded = nil, nil
		var due []struct {
			ID        int64  `db:"id"`
			State     string `db:"state"`
			ClaimedAt int64  `db:"claimed_at"`
		}
		if err := tx.SelectContext(ctx, &due, tx.Rebind(pick), ms(now), ms(now), limit); err != nil || len(due) == 0 {
			return err
		}
		ids := make([]int64, len(due))
		reclaimed := make(map[int64]time.Time)
		for i, r := range due {
			ids[i] = r.ID
			if r.State == "sending" {
				reclaimed[r.ID] = fromMS(r.ClaimedAt)
			}
		}
		if err := execIn(ctx, tx, claim, ms(now.Add(lease)), ms(now), ms(now), ids); err != nil {
			return err
		}
		st := batchStatement(load, columnRows(ids))
		if st.err != nil {
			return st.err
		}
		rows, err := tx.QueryContext(ctx, tx.Rebind(st.query), st.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r outboxRow
			c := &r.channelRow
			if err := rows.Scan(&r.ID, &r.AccountID, &r.MessageID, &r.Purpose, &r.Attempts, &r.ToPhone, &r.Body, &r.MediaURLs,
				&c.ID, &c.AccountID, &c.InboxID, &c.Carrier, &c.PhoneNumber, &c.MessagingServiceSID, &c.CarrierAccountID,
				&c.AuthToken, &c.CarrierHandlesOptOut, &c.MessagesPerSecond, &c.CreatedAt, &c.DisconnectedAt,
				&c.WebhookSecret, &c.CarrierOptions, &r.CampaignID, &r.CampaignRate); err != nil {
				return err
			}
			item, err := r.item()
			if err != nil {
				return err
			}
			item.ClaimedAt, item.Reclaimed = reclaimed[r.ID]
			item.ChannelDisconnected = c.DisconnectedAt != nil
			item.LeasedAt, item.LeaseUntil = fromMS(ms(now)), fromMS(ms(now.Add(lease)))
			items = append(items, item)
			if c.DisconnectedAt != nil && !item.Reclaimed {
				stranded = append(stranded, item)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		return db.failStranded(ctx, tx, &items, stranded, now)
	})
	return items, err
}

// failStranded fails, instead of handing to the dispatcher, the claimed
// texts of channels disconnected since they were queued (a retry put
// back, a campaign text queued in the meantime). A reclaimed text may be
// at the carrier already and is left to the dispatcher to look up.
func (db *DB) failStranded(ctx context.Context, tx *Tx, items *[]campaigns.OutboxItem, stranded []campaigns.OutboxItem, now time.Time) error {
	if len(stranded) == 0 {
		return nil
	}
	drop := map[parley.ID]bool{}
	for _, it := range stranded {
		if err := skipText(ctx, tx, it, campaigns.HoldChannelDisconnected, now); err != nil {
			return err
		}
		drop[it.ID] = true
	}
	*items = slices.DeleteFunc(*items, func(it campaigns.OutboxItem) bool { return drop[it.ID] })
	return nil
}

func (r outboxRow) item() (campaigns.OutboxItem, error) {
	var media []string
	if err := json.Unmarshal([]byte(r.MediaURLs), &media); err != nil {
		return campaigns.OutboxItem{}, err
	}
	return campaigns.OutboxItem{
		ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), MessageID: parley.ID(r.MessageID), Purpose: r.Purpose, Attempts: r.Attempts,
		ChannelID: parley.ID(r.channelRow.ID), ChannelMPS: r.MessagesPerSecond,
		CampaignID: parley.ID(r.CampaignID), CampaignRate: r.CampaignRate,
		Text: campaigns.OutboundText{
			Carrier: r.Carrier, Options: carrierOptions(r.CarrierOptions), CarrierAccountID: r.CarrierAccountID, WebhookSecret: r.WebhookSecret, AuthToken: r.AuthToken, From: r.PhoneNumber,
			MessagingServiceSID: r.MessagingServiceSID, To: r.ToPhone, Body: r.Body, MediaURLs: media,
		},
	}, nil
}

// OptedOut reports whether the phone opted out of the account.
func (db *DB) OptedOut(ctx context.Context, accountID parley.ID, phone string) (bool, error) {
	c, err := db.GetConsent(ctx, accountID, phone)
	return c.OptedOut, err
}

// RenewLease extends the lease of the claim made at item.LeasedAt; the
// claim time, stored in claimed_at, tells this claim from a later one.
func (db *DB) RenewLease(ctx context.Context, item campaigns.OutboxItem, until time.Time) (bool, error) {
	res, err := db.db.ExecContext(ctx, db.rebind(`UPDATE outbox SET lease_expires_at = ?
WHERE id = ? AND state = 'sending' AND claimed_at = ?`), ms(until), item.ID, ms(item.LeasedAt))
	if err != nil {
		return false, translate(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Holds reads the items' phones' consent and their campaigns in one
// query. A text checked alone (a paced text, after its wait) joins the
// checks other workers make at the same moment (holdReads): one query
// for all of them instead of a round trip each.
func (db *DB) Holds(ctx context.Context, items []campaigns.OutboxItem) ([]campaigns.Hold, error) {
	if len(items) != 1 {
		return db.readHolds(ctx, items)
	}
	call := &holdsCall{ctx: ctx, item: items[0], done: make(chan struct{})}
	alone := func() { db.readHoldsBatch([]*holdsCall{call}) }
	if err := db.holdReads.run(ctx, call, call.done, alone); err != nil {
		return nil, err
	}
	return []campaigns.Hold{call.hold}, call.err
}

func (db *DB) readHolds(ctx context.Context, items []campaigns.OutboxItem) ([]campaigns.Hold, error) {
	rows := make([][]any, len(items))
	for i, it := range items {
		var campaign *parley.ID
		if it.CampaignID != 0 {
			campaign = &it.CampaignID
		}
		rows[i] = []any{i, it.AccountID, it.Text.To, campaign}
	}
	st := batchStatement(`WITH `+db.dialect.batchRows("v", "i INTEGER", "account_id BIGINT", "phone TEXT", "campaign_id BIGINT")+`
SELECT v.i,
    COALESCE((SELECT opted_out FROM consents c WHERE c.account_id = v.account_id AND c.phone = v.phone), FALSE) AS opted_out,
    COALESCE((SELECT status = 'cancelled' FROM campaigns WHERE id = v.campaign_id), FALSE) AS cancelled
FROM v`, rows)
	if st.err != nil {
		return nil, st.err
	}
	var found []struct {
		I         int  `db:"i"`
		OptedOut  bool `db:"opted_out"`
		Cancelled bool `db:"cancelled"`
	}
	err := db.withPrepared(ctx, st.query, func(stmt *sqlx.Stmt) error { return stmt.SelectContext(ctx, &found, st.args...) })
	if err != nil {
		return nil, translate(err)
	}
	holds := make([]campaigns.Hold, len(items))
	for _, h := range found {
		switch {
		case h.OptedOut && !items[h.I].ExemptFromConsent():
			holds[h.I] = campaigns.HoldOptedOut
		case h.Cancelled:
			holds[h.I] = campaigns.HoldCampaignCancelled
		}
	}
	return holds, nil
}

// MarkSent records the carrier's acceptance and removes the item: with
// group commit (on unless a PostgreSQL URL turns it off), in one
// transaction with the acceptances recorded beside it (see commitGroup),
// else in a transaction of its own.
func (db *DB) MarkSent(ctx context.Context, item campaigns.OutboxItem, s campaigns.Sent, at time.Time) error {
	if db.sents != nil {
		return db.groupMarkSent(ctx, item, s, at)
	}
	return db.markSentAlone(ctx, item, s, at)
}

// markSentAlone records one acceptance in a transaction of its own, as a
// batch of one.
func (db *DB) markSentAlone(ctx context.Context, item campaigns.OutboxItem, s campaigns.Sent, at time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		return db.markSentTogether(ctx, tx, []*sentCall{{item: item, sent: s, at: at}})
	})
}

// markSentTogether records acceptances (a batch sorted by carrier id, or
// one) in a handful of statements whatever their number: the locks, the messages'
// update, the receipts that came early, the status checks, the sends and
// the outbox rows set-wise.
func (db *DB) markSentTogether(ctx context.Context, tx *Tx, batch []*sentCall) error {
	carrierIDs := make([]string, len(batch))
	for i, c := range batch {
		carrierIDs[i] = c.sent.CarrierMessageID
	}
	if err := db.dialect.lockCarrierID(ctx, tx, carrierIDs...); err != nil {
		return err
	}
	if err := updateSentMessages(ctx, tx, batch); err != nil {
		return err
	}
	for _, c := range batch {
		tx.recordMessageStatus(c.item.AccountID, 0, c.item.MessageID, string(c.sent.Status), c.at)
		if c.sent.Unsubscribed {
			if err := optOutAtCarrier(ctx, tx, c.item.AccountID, c.item.Text.To, c.sent.ErrorCode, c.at); err != nil {
				return err
			}
		}
	}
	if err := applyEarlyStatusesTogether(ctx, tx, batch, carrierIDs); err != nil {
		return err
	}
	if err := scheduleStatusChecks(ctx, tx, batch); err != nil {
		return err
	}
	var sends []acceptedSend
	for _, c := range batch {
		if send, ok := acceptedSendOf(c.item, c.sent, c.at); ok {
			sends = append(sends, send)
		}
	}
	if err := recordSends(ctx, tx, sends); err != nil {
		return err
	}
	ids := make([]any, len(batch))
	for i, c := range batch {
		ids[i] = c.item.ID
	}
	return execIn(ctx, tx, `DELETE FROM outbox WHERE id IN (?)`, ids)
}

// updateSentMessagesQuery records a batch of the carrier's acceptances.
func updateSentMessagesQuery(d dialect) string {
	return `WITH ` + d.batchRows("v", "id BIGINT", "carrier_id TEXT", "status TEXT", "segments INTEGER", "error_code INTEGER", "at BIGINT") +
		` UPDATE messages SET carrier_message_id = v.carrier_id, status = v.status,
    segments = CASE WHEN v.segments > 0 THEN v.segments ELSE messages.segments END,
    error_code = COALESCE(v.error_code, messages.error_code), updated_at = v.at
FROM v WHERE messages.id = v.id`
}

// updateSentMessages gives each text its carrier id and status (its
// segments and error code when the carrier said).
func updateSentMessages(ctx context.Context, tx *Tx, batch []*sentCall) error {
	q := updateSentMessagesQuery(dialectOf(tx))
	rows := make([][]any, len(batch))
	for i, c := range batch {
		rows[i] = []any{c.item.MessageID, c.sent.CarrierMessageID, c.sent.Status, c.sent.Segments, codeOrNull(c.sent.ErrorCode), ms(c.at)}
	}
	return execBatch(ctx, tx, q, rows)
}

func deleteOutbox(ctx context.Context, tx *Tx, id parley.ID) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM outbox WHERE id = ?`), id)
	return err
}

// MarkRetry releases the item for another attempt. A reclaimed item is
// not queued but stays sending, leased until retryAt with the unresolved
// attempt's claim time: its next claim is a reclaim again, so it is looked
// up at the carrier before any send.
func (db *DB) MarkRetry(ctx context.Context, item campaigns.OutboxItem, retryAt time.Time, reason string, at time.Time) error {
	return db.release(ctx, item, retryAt, 1, reason, at)
}

// Defer puts the item back until its turn, not counting an attempt.
func (db *DB) Defer(ctx context.Context, item campaigns.OutboxItem, until time.Time, at time.Time) error {
	return db.release(ctx, item, until, 0, "", at)
}

// release makes the item due again at retryAt. A reclaimed item stays
// sending, leased until then, keeping the unresolved attempt's claimed_at.
func (db *DB) release(ctx context.Context, item campaigns.OutboxItem, retryAt time.Time, attempt int, reason string, at time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		// A text claimed while its channel was disconnected missed the
		// disconnect's sweep of queued texts: it fails now rather than
		// wait in the queue for its turn. The shared lock orders this
		// with a disconnect in progress.
		var disconnected *int64
		if err := tx.GetContext(ctx, &disconnected, tx.Rebind(`SELECT disconnected_at FROM channels WHERE id = ?`+db.dialect.forShare()), item.ChannelID); err != nil {
			return err
		}
		if disconnected != nil && !item.Reclaimed {
			return skipText(ctx, tx, item, campaigns.HoldChannelDisconnected, at)
		}
		if item.Reclaimed {
			const q = `UPDATE outbox SET state = 'sending', attempts = attempts + ?, available_at = ?, lease_expires_at = ?,
    claimed_at = ?, last_error = CASE WHEN ? = '' THEN last_error ELSE ? END, updated_at = ? WHERE id = ?`
			_, err := tx.ExecContext(ctx, tx.Rebind(q), attempt, ms(retryAt), ms(retryAt), ms(item.ClaimedAt), reason, reason, ms(at), item.ID)
			return err
		}
		const q = `UPDATE outbox SET state = 'queued', attempts = attempts + ?, available_at = ?, lease_expires_at = NULL,
    last_error = CASE WHEN ? = '' THEN last_error ELSE ? END, updated_at = ? WHERE id = ?`
		_, err := tx.ExecContext(ctx, tx.Rebind(q), attempt, ms(retryAt), reason, reason, ms(at), item.ID)
		return err
	})
}

// MarkFailed fails the message with the carrier's code and removes the
// item; an "unsubscribed" refusal also records an opt-out.
func (db *DB) MarkFailed(ctx context.Context, item campaigns.OutboxItem, code int, reason string, unsubscribed bool, at time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if err := failMessage(ctx, tx, item.AccountID, item.MessageID, code, at); err != nil {
			return err
		}
		if unsubscribed {
			if err := recordCarrierOptOut(ctx, tx, item.AccountID, item.Text.To, reason, at); err != nil {
				return err
			}
		}
		return deleteOutbox(ctx, tx, item.ID)
	})
}

// recordCarrierOptOut records that the carrier failed a text to phone
// because its owner unsubscribed at the carrier.
func recordCarrierOptOut(ctx context.Context, tx *Tx, accountID parley.ID, phone, detail string, at time.Time) error {
	_, err := recordConsent(ctx, tx, optout.Change{AccountID: accountID, Phone: phone,
		Action: optout.ActionOptOut, Source: optout.SourceCarrierError, Detail: detail, At: at})
	return err
}

// optOutAtCarrier is recordCarrierOptOut for a failure found at the
// carrier after the send (reconciliation, a status lookup): the carrier's
// code is all the detail there is.
func optOutAtCarrier(ctx context.Context, tx *Tx, accountID parley.ID, phone string, code int, at time.Time) error {
	return recordCarrierOptOut(ctx, tx, accountID, phone, fmt.Sprintf("the carrier failed a text with code %d", code), at)
}

// codeOptedOut is the error code a skipped text carries: Twilio's
// "recipient unsubscribed", which is what sending would have produced.
const codeOptedOut = 21610

// MarkSkipped fails the message without sending, for the hold's reason.
func (db *DB) MarkSkipped(ctx context.Context, item campaigns.OutboxItem, hold campaigns.Hold, at time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		return skipText(ctx, tx, item, hold, at)
	})
}

// skipText fails a text that will not be sent, says why on the message
// and on its campaign recipient, and takes it off the outbox.
func skipText(ctx context.Context, tx *Tx, item campaigns.OutboxItem, hold campaigns.Hold, at time.Time) error {
	code, recipient := 0, campaigns.RecipientCancelled
	if hold == campaigns.HoldOptedOut {
		code, recipient = codeOptedOut, campaigns.RecipientSkippedOptedOut
	}
	if err := failMessage(ctx, tx, item.AccountID, item.MessageID, code, at); err != nil {
		return err
	}
	if hold == campaigns.HoldChannelDisconnected {
		if err := setErrorReason(ctx, tx, item.MessageID, conversations.CodeChannelDisconnected); err != nil {
			return err
		}
	}
	if item.CampaignID != 0 {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE campaign_recipients SET status = ?, updated_at = ? WHERE message_id = ?`),
			string(recipient), ms(at), item.MessageID); err != nil {
			return err
		}
	}
	return deleteOutbox(ctx, tx, item.ID)
}

func failMessage(ctx context.Context, tx *Tx, accountID, msgID parley.ID, code int, at time.Time) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE messages SET status = 'failed', error_code = ?, updated_at = ? WHERE id = ?`), codeOrNull(code), ms(at), msgID)
	tx.recordMessageStatus(accountID, 0, msgID, string(conversations.MessageFailed), at)
	return err
}

// codeOrNull stores a carrier error code, NULL for none (0).
func codeOrNull(code int) *int {
	if code == 0 {
		return nil
	}
	return &code
}

// earlyStatusTTL bounds how long a receipt for an unknown id is kept: a
// text Parley never sent must not fill the table.
const earlyStatusTTL = 24 * time.Hour

// ApplyStatus moves an outbound message's status forward, when the
// receipt was verified with the token of the channel that sent it
// (EFORBIDDEN otherwise). A receipt for an id not (yet) recorded is parked
// in early_statuses with the channel that verified it, and ENOTFOUND
// returned. With group commit, receipts arriving together share a
// transaction (see commitGroup).
func (db *DB) ApplyStatus(ctx context.Context, u conversations.StatusUpdate) (conversations.Message, error) {
	if db.statuses != nil {
		return db.groupApplyStatus(ctx, u)
	}
	return db.applyStatusAlone(ctx, u)
}

// applyStatusAlone applies one receipt in a transaction of its own, as a
// batch of one.
func (db *DB) applyStatusAlone(ctx context.Context, u conversations.StatusUpdate) (conversations.Message, error) {
	call := &statusCall{update: u}
	if err := db.inTx(ctx, func(tx *Tx) error { return db.applyStatusesTogether(ctx, tx, []*statusCall{call}) }); err != nil {
		return conversations.Message{}, err
	}
	return call.msg, call.err
}

// advanceStatus sets a message's status unless it ranks lower than the
// current one: receipts arrive out of order, and delivered never goes back.
func advanceStatus(ctx context.Context, tx *Tx, msgID parley.ID, status conversations.MessageStatus, code *int, at time.Time) error {
	var cur struct {
		Status         string `db:"status"`
		AccountID      int64  `db:"account_id"`
		ConversationID int64  `db:"conversation_id"`
	}
	if err := tx.GetContext(ctx, &cur, tx.Rebind(`SELECT status, account_id, conversation_id FROM messages WHERE id = ?`), msgID); err != nil {
		return err
	}
	if status.Rank() <= conversations.MessageStatus(cur.Status).Rank() {
		return nil
	}
	const up = `UPDATE messages SET status = ?, error_code = COALESCE(?, error_code), updated_at = ? WHERE id = ?`
	if _, err := tx.ExecContext(ctx, tx.Rebind(up), string(status), code, ms(at), msgID); err != nil {
		return err
	}
	tx.recordMessageStatus(parley.ID(cur.AccountID), parley.ID(cur.ConversationID), msgID, string(status), at)
	return settleStatusCheck(ctx, tx, msgID, status)
}

func parkStatus(ctx context.Context, tx *Tx, u conversations.StatusUpdate) error {
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM early_statuses WHERE received_at < ?`), ms(u.At.Add(-earlyStatusTTL))); err != nil {
		return err
	}
	const q = `INSERT INTO early_statuses (carrier, carrier_account_id, carrier_message_id, status, error_code, received_at, channel_id, unsubscribed)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	_, err := tx.ExecContext(ctx, tx.Rebind(q), u.Carrier, u.CarrierAccountID, u.CarrierMessageID, string(u.Status), u.ErrorCode, ms(u.At), u.ChannelID, u.Unsubscribed)
	return err
}

// lockCarrierID serialises the transactions that record a carrier id and
// that apply a receipt for it. Under PostgreSQL's READ COMMITTED, a receipt
// parked while the id is being recorded would otherwise be seen by neither
// transaction. SQLite's single writer already serialises them.
func (d dialect) lockCarrierID(ctx context.Context, tx *Tx, carrierIDs ...string) error {
	keys := make([]string, len(carrierIDs))
	for i, id := range carrierIDs {
		keys[i] = "carrier-id:" + id
	}
	return d.lockKey(ctx, tx, keys...)
}

// OutboxDepth counts the outbox's texts by state (for /metrics).
func (db *DB) OutboxDepth(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		State string `db:"state"`
		N     int    `db:"n"`
	}
	if err := db.db.SelectContext(ctx, &rows, `SELECT state, COUNT(*) AS n FROM outbox GROUP BY state`); err != nil {
		return nil, translate(err)
	}
	depth := make(map[string]int, len(rows))
	for _, r := range rows {
		depth[r.State] = r.N
	}
	return depth, nil
}
