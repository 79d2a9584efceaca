package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
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
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
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
	if err := db.db.SelectContext(ctx, &rows, db.db.Rebind(q), append(append([]any{accountID}, args...), limit)...); err != nil {
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
}

const channelColumns = `id, account_id, inbox_id, carrier, phone_number, messaging_service_sid, carrier_account_id, auth_token,
carrier_handles_optout, messages_per_second, created_at`

func (r channelRow) channel() conversations.Channel {
	return conversations.Channel{
		ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), InboxID: parley.ID(r.InboxID), Carrier: r.Carrier,
		PhoneNumber: r.PhoneNumber, MessagingServiceSID: r.MessagingServiceSID, CarrierAccountID: r.CarrierAccountID,
		AuthToken: r.AuthToken, CarrierHandlesOptOut: r.CarrierHandlesOptOut, MessagesPerSecond: r.MessagesPerSecond,
		CreatedAt: fromMS(r.CreatedAt),
	}
}

// CreateChannel connects a channel to an inbox of the account.
func (db *DB) CreateChannel(ctx context.Context, c conversations.Channel) (conversations.Channel, error) {
	const q = `INSERT INTO channels (account_id, inbox_id, carrier, phone_number, messaging_service_sid, carrier_account_id, auth_token,
    carrier_handles_optout, messages_per_second, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var inbox int64
		if err := tx.GetContext(ctx, &inbox, tx.Rebind(`SELECT id FROM inboxes WHERE account_id = ? AND id = ?`), c.AccountID, c.InboxID); err != nil {
			if parley.IsKind(translate(err), parley.ENOTFOUND) {
				return parley.Invalid(map[string]string{"inbox_id": "no such inbox"})
			}
			return err
		}
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(q), c.AccountID, c.InboxID, c.Carrier, c.PhoneNumber, c.MessagingServiceSID,
			c.CarrierAccountID, c.AuthToken, c.CarrierHandlesOptOut, c.MessagesPerSecond, ms(c.CreatedAt)); err != nil {
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

// ListChannels lists a page of the account's channels by id.
func (db *DB) ListChannels(ctx context.Context, accountID parley.ID, page parley.Page) ([]conversations.Channel, string, error) {
	cond, args, limit, err := idPage(page, "id")
	if err != nil {
		return nil, "", err
	}
	var rows []channelRow
	q := `SELECT ` + channelColumns + ` FROM channels WHERE account_id = ? AND ` + cond + ` ORDER BY id LIMIT ?`
	if err := db.db.SelectContext(ctx, &rows, db.db.Rebind(q), append(append([]any{accountID}, args...), limit)...); err != nil {
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
	// Cross-account by design: the carrier's ids are what identify the
	// account here. The unique indexes on channels make the match unique.
	const q = `SELECT c.id, c.account_id, c.inbox_id, c.carrier, c.phone_number, c.messaging_service_sid, c.carrier_account_id,
       c.auth_token, c.carrier_handles_optout, c.messages_per_second, c.created_at, a.settings
FROM channels c JOIN accounts a ON a.id = c.account_id
WHERE c.carrier = ? AND c.carrier_account_id = ?
  AND ((c.messaging_service_sid <> '' AND c.messaging_service_sid = ?) OR (c.messaging_service_sid = '' AND c.phone_number = ?))
ORDER BY c.messaging_service_sid DESC
LIMIT 1`
	var row struct {
		channelRow
		Settings string `db:"settings"`
	}
	if err := db.db.GetContext(ctx, &row, db.db.Rebind(q), carrier, carrierAccountID, serviceSID, to); err != nil {
		return conversations.InboundRoute{}, translate(err)
	}
	s, err := decodeSettings(row.Settings)
	return conversations.InboundRoute{Channel: row.channel(), Settings: s}, err
}

// FindStatusRoute finds a channel of the carrier account.
func (db *DB) FindStatusRoute(ctx context.Context, carrier, carrierAccountID string) (conversations.Channel, error) {
	return cachedRead(&db.routes, &db.routes.status, statusRouteKey{carrier, carrierAccountID}, nil, func() (conversations.Channel, error) {
		return db.findStatusRoute(ctx, carrier, carrierAccountID)
	})
}

func (db *DB) findStatusRoute(ctx context.Context, carrier, carrierAccountID string) (conversations.Channel, error) {
	var row channelRow
	const q = `SELECT ` + channelColumns + ` FROM channels WHERE carrier = ? AND carrier_account_id = ? ORDER BY id LIMIT 1`
	err := db.db.GetContext(ctx, &row, db.db.Rebind(q), carrier, carrierAccountID)
	return row.channel(), translate(err)
}

// BookTurn books a paced channel's next turn in the shared next_turn_us:
// the turn is the later of now and the next free turn, and the next free
// turn moves on by 1/mps. A turn further off than within is not booked.
func (db *DB) BookTurn(ctx context.Context, channelID parley.ID, mps float64, now time.Time, within time.Duration) (time.Time, bool, error) {
	interval := max(int64(1), int64(1e6/mps))
	nowUS := now.UnixMicro()
	var next int64
	booked := true
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
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
