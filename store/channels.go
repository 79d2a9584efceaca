package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
)

type inboxRow struct {
	ID        int64  `db:"id"`
	AccountID int64  `db:"account_id"`
	Name      string `db:"name"`
	Kind      string `db:"kind"`
	CreatedAt int64  `db:"created_at"`
}

func (r inboxRow) inbox() conversations.Inbox {
	return conversations.Inbox{ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), Name: r.Name,
		Kind: conversations.InboxKind(r.Kind), CreatedAt: fromMS(r.CreatedAt)}
}

// CreateInbox creates an inbox.
func (db *DB) CreateInbox(ctx context.Context, i conversations.Inbox) (conversations.Inbox, error) {
	const q = `INSERT INTO inboxes (account_id, name, kind, created_at) VALUES (?, ?, ?, ?) RETURNING id`
	var id int64
	err := db.inTx(ctx, func(tx *Tx) error {
		return tx.GetContext(ctx, &id, tx.Rebind(q), i.AccountID, i.Name, string(i.Kind), ms(i.CreatedAt))
	})
	i.ID = parley.ID(id)
	return i, err
}

// ListInboxes lists a page of the account's inboxes by id.
func (db *DB) ListInboxes(ctx context.Context, accountID parley.ID, page parley.Page) ([]conversations.Inbox, string, error) {
	cond, args, limit, err := idPage(page, "id")
	if err != nil {
		return nil, "", err
	}
	var rows []inboxRow
	q := `SELECT id, account_id, name, kind, created_at FROM inboxes WHERE account_id = ? AND ` + cond + ` ORDER BY id LIMIT ?`
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q), append(append([]any{accountID}, args...), limit)...); err != nil {
		return nil, "", translate(err)
	}
	rows, next := idCursor(rows, page, func(r inboxRow) int64 { return r.ID })
	out := make([]conversations.Inbox, len(rows))
	for i, r := range rows {
		out[i] = r.inbox()
	}
	return out, next, nil
}

type channelRow struct {
	ID                   int64   `db:"id"`
	AccountID            int64   `db:"account_id"`
	InboxID              int64   `db:"inbox_id"`
	Carrier              string  `db:"carrier"`
	PhoneNumber          string  `db:"phone_number"`
	MessagingServiceSID  string  `db:"messaging_service_sid"`
	CarrierAccountID     string  `db:"carrier_account_id"`
	AuthToken            string  `db:"auth_token"`
	CarrierHandlesOptOut bool    `db:"carrier_handles_optout"`
	MessagesPerSecond    float64 `db:"messages_per_second"`
	CreatedAt            int64   `db:"created_at"`
	DisconnectedAt       *int64  `db:"disconnected_at"`
	WebhookSecret        string  `db:"webhook_secret"`
	CarrierOptions       string  `db:"carrier_options"`
}

const channelColumns = `id, account_id, inbox_id, carrier, phone_number, messaging_service_sid, carrier_account_id, auth_token,
carrier_handles_optout, messages_per_second, created_at, disconnected_at, webhook_secret, carrier_options`

func (r channelRow) channel() conversations.Channel {
	return conversations.Channel{
		ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), InboxID: parley.ID(r.InboxID), Carrier: r.Carrier,
		PhoneNumber: r.PhoneNumber, MessagingServiceSID: r.MessagingServiceSID, CarrierAccountID: r.CarrierAccountID,
		AuthToken: r.AuthToken, CarrierHandlesOptOut: r.CarrierHandlesOptOut, MessagesPerSecond: r.MessagesPerSecond,
		CreatedAt: fromMS(r.CreatedAt), DisconnectedAt: fromMSPtr(r.DisconnectedAt),
		WebhookSecret: r.WebhookSecret, Options: carrierOptions(r.CarrierOptions),
	}
}

// webhookKey is the SQL for what a channel's webhooks are checked with:
// its webhook secret where it has one (Telnyx's public key, …), else its
// auth token (Twilio, Plivo), with its carrier options, which hold what
// else a request must carry (Bandwidth's URL token and user name).
func webhookKey(alias string) string {
	return "COALESCE(NULLIF(" + alias + ".webhook_secret, ''), " + alias + ".auth_token) || '|' || " + alias + ".carrier_options"
}

// textWebhookKey is webhookKey of the channel a text was sent from.
func textWebhookKey(t campaigns.OutboundText) string {
	secret := t.WebhookSecret
	if secret == "" {
		secret = t.AuthToken
	}
	return secret + "|" + encodeOptions(t.Options)
}

// carrierOptions decodes a channel's carrier_options, which Parley wrote
// as a JSON object of strings; nil when there are none.
func carrierOptions(raw string) map[string]string {
	var opts map[string]string
	if json.Unmarshal([]byte(raw), &opts) != nil || len(opts) == 0 {
		return nil
	}
	return opts
}

// encodeOptions is carrierOptions' inverse.
func encodeOptions(opts map[string]string) string {
	if len(opts) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(opts)
	return string(b)
}

// CreateChannel connects a channel to an inbox of the account.
func (db *DB) CreateChannel(ctx context.Context, c conversations.Channel) (conversations.Channel, error) {
	const q = `INSERT INTO channels (account_id, inbox_id, carrier, phone_number, messaging_service_sid, carrier_account_id, auth_token,
    carrier_handles_optout, messages_per_second, created_at, webhook_secret, carrier_options)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	err := db.inTx(ctx, func(tx *Tx) error {
		if err := checkInbox(ctx, tx, c.AccountID, c.InboxID); err != nil {
			return err
		}
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(q), c.AccountID, c.InboxID, c.Carrier, c.PhoneNumber, c.MessagingServiceSID,
			c.CarrierAccountID, c.AuthToken, c.CarrierHandlesOptOut, c.MessagesPerSecond, ms(c.CreatedAt),
			c.WebhookSecret, encodeOptions(c.Options)); err != nil {
			return err
		}
		c.ID = parley.ID(id)
		return announceRouteChange(ctx, tx)
	})
	// A messaging service's channel wins over a number's (FindInboundRoute).
	db.routes.forget()
	if parley.IsKind(err, parley.ECONFLICT) {
		err = &parley.Error{Kind: parley.ECONFLICT, Code: "channel_exists", Message: "this number or messaging service is already connected"}
	}
	return c, err
}

// ChannelHolding returns the connected channel, of any account, that
// holds c's number or messaging service on c's carrier account: the one
// CreateChannel's channel_exists is about.
func (db *DB) ChannelHolding(ctx context.Context, c conversations.Channel) (conversations.Channel, error) {
	const q = `SELECT ` + channelColumns + ` FROM channels
WHERE carrier = ? AND carrier_account_id = ? AND disconnected_at IS NULL
  AND ((? <> '' AND messaging_service_sid = ?) OR (? = '' AND messaging_service_sid = '' AND phone_number = ?))`
	var row channelRow
	err := db.db.GetContext(ctx, &row, db.rebind(q), c.Carrier, c.CarrierAccountID,
		c.MessagingServiceSID, c.MessagingServiceSID, c.MessagingServiceSID, c.PhoneNumber)
	return row.channel(), translate(err)
}

// ListChannels lists a page of the account's channels by id.
func (db *DB) ListChannels(ctx context.Context, accountID parley.ID, page parley.Page) ([]conversations.Channel, string, error) {
	cond, args, limit, err := idPage(page, "id")
	if err != nil {
		return nil, "", err
	}
	var rows []channelRow
	q := `SELECT ` + channelColumns + ` FROM channels WHERE account_id = ? AND ` + cond + ` ORDER BY id LIMIT ?`
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q), append(append([]any{accountID}, args...), limit)...); err != nil {
		return nil, "", translate(err)
	}
	rows, next := idCursor(rows, page, func(r channelRow) int64 { return r.ID })
	out := make([]conversations.Channel, len(rows))
	for i, r := range rows {
		out[i] = r.channel()
	}
	return out, next, nil
}

// FindInboundRoute finds the channel an inbound text was sent to. A
// messaging service channel wins over a single-number channel, because the
// service is what the carrier says routed the text.
func (db *DB) FindInboundRoute(ctx context.Context, carrier, carrierAccountID, to, serviceSID string) (conversations.InboundRoute, error) {
	// A text naming a service that has no channel goes to its number's
	// channel, until the service's is connected: that answer is not kept.
	keep := func(r conversations.InboundRoute) bool {
		return serviceSID == "" || r.Channel.MessagingServiceSID != ""
	}
	return cachedRead(&db.routes, &db.routes.inbound, inboundRouteKey{carrier, carrierAccountID, to, serviceSID}, keep, func() (conversations.InboundRoute, error) {
		return db.findInboundRoute(ctx, carrier, carrierAccountID, to, serviceSID)
	})
}

func (db *DB) findInboundRoute(ctx context.Context, carrier, carrierAccountID, to, serviceSID string) (conversations.InboundRoute, error) {
	// A webhook naming neither number nor service (Bird's, whose account
	// id is one channel) finds the account's channel by its id alone.
	// Cross-account by design: the carrier's ids are what identify the
	// account here. The unique indexes on channels make the match unique.
	const q = `SELECT c.id, c.account_id, c.inbox_id, c.carrier, c.phone_number, c.messaging_service_sid, c.carrier_account_id,
       c.auth_token, c.carrier_handles_optout, c.messages_per_second, c.created_at, c.webhook_secret, c.carrier_options, a.settings
FROM channels c JOIN accounts a ON a.id = c.account_id
WHERE c.carrier = ? AND c.carrier_account_id = ? AND c.disconnected_at IS NULL
  AND ((c.messaging_service_sid <> '' AND c.messaging_service_sid = ?) OR (c.messaging_service_sid = '' AND (c.phone_number = ? OR ? = '')))
ORDER BY c.messaging_service_sid DESC
LIMIT 1`
	var row struct {
		channelRow
		Settings string `db:"settings"`
	}
	if err := db.db.GetContext(ctx, &row, db.rebind(q), carrier, carrierAccountID, serviceSID, to, to); err != nil {
		return conversations.InboundRoute{}, translate(err)
	}
	s, err := decodeSettings(row.Settings)
	return conversations.InboundRoute{Channel: row.channel(), Settings: s}, err
}

// StatusRoutes finds the connected channels of the carrier account, one
// for each set of credentials they hold (the oldest): a status callback
// is signed with, or carries, one of them. Which channel sent the text is ApplyStatus's to check.
func (db *DB) StatusRoutes(ctx context.Context, carrier, carrierAccountID string) ([]conversations.Channel, error) {
	return cachedRead(&db.routes, &db.routes.status, statusRouteKey{carrier, carrierAccountID}, nil, func() ([]conversations.Channel, error) {
		return db.statusRoutes(ctx, carrier, carrierAccountID)
	})
}

func (db *DB) statusRoutes(ctx context.Context, carrier, carrierAccountID string) ([]conversations.Channel, error) {
	var rows []channelRow
	q := `SELECT ` + channelColumns + ` FROM channels WHERE id IN (
    SELECT MIN(id) FROM channels WHERE carrier = ? AND carrier_account_id = ? AND disconnected_at IS NULL GROUP BY auth_token, webhook_secret, carrier_options)
ORDER BY id`
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q), carrier, carrierAccountID); err != nil {
		return nil, translate(err)
	}
	if len(rows) == 0 {
		return nil, parley.Errorf(parley.ENOTFOUND, "no channel is connected for this carrier account")
	}
	out := make([]conversations.Channel, len(rows))
	for i, r := range rows {
		out[i] = r.channel()
	}
	return out, nil
}

// GetChannel returns a channel of the account, connected or not.
func (db *DB) GetChannel(ctx context.Context, accountID, id parley.ID) (conversations.Channel, error) {
	var row channelRow
	err := db.db.GetContext(ctx, &row, db.rebind(`SELECT `+channelColumns+` FROM channels WHERE account_id = ? AND id = ?`), accountID, id)
	return row.channel(), translate(err)
}

// UpdateChannel applies p to a connected channel of the account. A new
// token or webhook secret goes to every connected channel of the account
// on the same carrier account too: the carrier signs all their webhooks
// with the account's current credentials. Every instance drops its routes: a webhook
// must be checked with the new token at once.
func (db *DB) UpdateChannel(ctx context.Context, accountID, id parley.ID, p conversations.ChannelPatch) (conversations.Channel, error) {
	const q = `UPDATE channels SET inbox_id = COALESCE(?, inbox_id),
    messages_per_second = COALESCE(?, messages_per_second), carrier_handles_optout = COALESCE(?, carrier_handles_optout)
WHERE account_id = ? AND id = ?`
	const rotate = `UPDATE channels SET auth_token = ?
WHERE account_id = ? AND carrier = ? AND carrier_account_id = ? AND disconnected_at IS NULL`
	// A webhook secret is the carrier account's (Telnyx) or an
	// application's (Bandwidth): it changes on the channels that shared
	// the old one.
	const rotateSecret = `UPDATE channels SET webhook_secret = ?
WHERE account_id = ? AND carrier = ? AND carrier_account_id = ? AND disconnected_at IS NULL AND webhook_secret = ?`
	var out conversations.Channel
	err := db.inTx(ctx, func(tx *Tx) error {
		c, err := lockChannel(ctx, tx, db.dialect, accountID, id)
		if err != nil {
			return err
		}
		if !c.Connected() {
			return conversations.ChannelDisconnected()
		}
		if p.InboxID != nil {
			if err := checkInbox(ctx, tx, accountID, *p.InboxID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), p.InboxID, p.MessagesPerSecond, p.CarrierHandlesOptOut, accountID, id); err != nil {
			return err
		}
		if p.AuthToken != nil {
			if _, err := tx.ExecContext(ctx, tx.Rebind(rotate), *p.AuthToken, accountID, c.Carrier, c.CarrierAccountID); err != nil {
				return err
			}
		}
		if p.WebhookSecret != nil {
			if _, err := tx.ExecContext(ctx, tx.Rebind(rotateSecret), *p.WebhookSecret, accountID, c.Carrier, c.CarrierAccountID, c.WebhookSecret); err != nil {
				return err
			}
		}
		if out, err = lockChannel(ctx, tx, db.dialect, accountID, id); err != nil {
			return err
		}
		return announceRouteChange(ctx, tx)
	})
	db.routes.forget()
	return out, err
}

// DisconnectChannel disconnects a channel of the account: its webhooks
// find no channel from then on, the texts still queued on it fail with
// channel_disconnected, and its campaigns still to send are cancelled. A
// text already handed to the dispatcher finishes its attempt.
// Disconnecting twice is a no-op.
func (db *DB) DisconnectChannel(ctx context.Context, accountID, id parley.ID, at time.Time) error {
	err := db.inTx(ctx, func(tx *Tx) error {
		c, err := lockChannel(ctx, tx, db.dialect, accountID, id)
		if err != nil || !c.Connected() {
			return err
		}
		return disconnect(ctx, tx, id, at)
	})
	db.routes.forget()
	return err
}

// ReleaseClaimedChannel disconnects c, another tenant's channel whose
// credentials the carrier refused, as DisconnectChannel does; it does
// nothing when c's token changed since it was checked.
func (db *DB) ReleaseClaimedChannel(ctx context.Context, c conversations.Channel, at time.Time) error {
	err := db.inTx(ctx, func(tx *Tx) error {
		now, err := lockChannel(ctx, tx, db.dialect, c.AccountID, c.ID)
		if err != nil || !now.Connected() || now.AuthToken != c.AuthToken {
			return err
		}
		return disconnect(ctx, tx, c.ID, at)
	})
	db.routes.forget()
	return err
}

// disconnect marks a locked, connected channel disconnected, cancels its
// campaigns and fails its queued texts, in a few statements however many
// there are.
func disconnect(ctx context.Context, tx *Tx, id parley.ID, at time.Time) error {
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE channels SET disconnected_at = ? WHERE id = ?`), ms(at), id); err != nil {
		return err
	}
	if err := cancelChannelCampaigns(ctx, tx, id, at); err != nil {
		return err
	}
	if err := failQueuedOnChannel(ctx, tx, id, at); err != nil {
		return err
	}
	return announceRouteChange(ctx, tx)
}

// cancelChannelCampaigns cancels the channel's campaigns that would still
// send (recurring ones too, which then start no more runs); their pending
// recipients are cancelled, and failQueuedOnChannel drops their queued texts.
func cancelChannelCampaigns(ctx context.Context, tx *Tx, channelID parley.ID, at time.Time) error {
	const live = `SELECT id FROM campaigns WHERE channel_id = ? AND status IN ('scheduled', 'sending', 'paused')`
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE campaign_recipients SET status = 'cancelled', updated_at = ?
WHERE status = 'pending' AND campaign_id IN (`+live+`)`), ms(at), channelID); err != nil {
		return err
	}
	var cancelled []struct {
		ID        int64 `db:"id"`
		AccountID int64 `db:"account_id"`
	}
	if err := tx.SelectContext(ctx, &cancelled, tx.Rebind(`UPDATE campaigns SET status = 'cancelled', next_batch_at = 0, next_run_at = NULL, updated_at = ?
WHERE id IN (`+live+`) RETURNING id, account_id`), ms(at), channelID); err != nil {
		return err
	}
	for _, c := range cancelled {
		tx.recordCampaign(parley.ID(c.AccountID), parley.ID(c.ID), "cancelled", at)
	}
	return nil
}

// failQueuedOnChannel fails the texts still queued on a disconnected
// channel with channel_disconnected and removes them from the outbox; a
// campaign text's recipient is cancelled, as a cancel would have it.
func failQueuedOnChannel(ctx context.Context, tx *Tx, channelID parley.ID, at time.Time) error {
	const queued = `SELECT message_id FROM outbox WHERE channel_id = ? AND state = 'queued'`
	var failed []struct {
		ID             int64 `db:"id"`
		AccountID      int64 `db:"account_id"`
		ConversationID int64 `db:"conversation_id"`
	}
	if err := tx.SelectContext(ctx, &failed, tx.Rebind(`UPDATE messages SET status = 'failed', error_code = NULL, error_reason = ?, updated_at = ?
WHERE id IN (`+queued+`) RETURNING id, account_id, conversation_id`), conversations.CodeChannelDisconnected, ms(at), channelID); err != nil {
		return err
	}
	for _, m := range failed {
		tx.recordMessageStatus(parley.ID(m.AccountID), parley.ID(m.ConversationID), parley.ID(m.ID), string(conversations.MessageFailed), at)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE campaign_recipients SET status = 'cancelled', updated_at = ?
WHERE status = 'queued' AND message_id IN (`+queued+`)`), ms(at), channelID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM outbox WHERE channel_id = ? AND state = 'queued'`), channelID)
	return err
}

// setErrorReason says why a text failed when no carrier code does.
func setErrorReason(ctx context.Context, tx *Tx, msgID parley.ID, reason string) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE messages SET error_reason = ? WHERE id = ?`), reason, msgID)
	return err
}

// lockChannel reads a channel of the account for update.
func lockChannel(ctx context.Context, tx *Tx, d dialect, accountID, id parley.ID) (conversations.Channel, error) {
	var row channelRow
	err := tx.GetContext(ctx, &row, tx.Rebind(`SELECT `+channelColumns+` FROM channels WHERE account_id = ? AND id = ?`+d.forUpdate()), accountID, id)
	return row.channel(), translate(err)
}

// requireConnected refuses a new text on a disconnected channel.
func requireConnected(ctx context.Context, tx *Tx, channelID parley.ID) error {
	var disconnected *int64
	if err := tx.GetContext(ctx, &disconnected, tx.Rebind(`SELECT disconnected_at FROM channels WHERE id = ?`), channelID); err != nil {
		return err
	}
	if disconnected != nil {
		return conversations.ChannelDisconnected()
	}
	return nil
}

func checkInbox(ctx context.Context, tx *Tx, accountID, inboxID parley.ID) error {
	var inbox int64
	err := tx.GetContext(ctx, &inbox, tx.Rebind(`SELECT id FROM inboxes WHERE account_id = ? AND id = ?`), accountID, inboxID)
	if parley.IsKind(translate(err), parley.ENOTFOUND) {
		return parley.Invalid(map[string]string{"inbox_id": "no such inbox"})
	}
	return err
}

// BookTurn books a paced channel's next turn in the shared next_turn_us:
// the turn is the later of now and the next free turn, and the next free
// turn moves on by 1/mps. A turn further off than within is not booked.
func (db *DB) BookTurn(ctx context.Context, channelID parley.ID, mps float64, now time.Time, within time.Duration) (time.Time, bool, error) {
	interval := max(int64(1), int64(1e6/mps))
	nowUS := now.UnixMicro()
	var next int64
	booked := true
	err := db.inTx(ctx, func(tx *Tx) error {
		err := tx.GetContext(ctx, &next, tx.Rebind(`UPDATE channels
SET next_turn_us = (CASE WHEN next_turn_us > ? THEN next_turn_us ELSE ? END) + ?
WHERE id = ? AND next_turn_us <= ? RETURNING next_turn_us`), nowUS, nowUS, interval, channelID, nowUS+within.Microseconds())
		if errors.Is(err, sql.ErrNoRows) {
			booked = false
			return tx.GetContext(ctx, &next, tx.Rebind(`SELECT next_turn_us FROM channels WHERE id = ?`), channelID)
		}
		return err
	})
	if err != nil {
		return time.Time{}, false, err
	}
	if booked {
		return time.UnixMicro(next - interval).UTC(), true, nil
	}
	return time.UnixMicro(next).UTC(), false, nil
}
