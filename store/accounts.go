package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
	"github.com/parleyhq/parley/optout"
)

// settingsJSON is the stored form of an account's settings.
type settingsJSON struct {
	AllowAutoAssignment bool                      `json:"allow_auto_assignment"`
	HelpText            string                    `json:"help_text"`
	OptOutReply         string                    `json:"opt_out_reply"`
	OptInReply          string                    `json:"opt_in_reply"`
	Keywords            optout.Keywords           `json:"keywords"`
	Languages           conversations.Languages   `json:"languages"`
	QuietHours          *conversations.QuietHours `json:"quiet_hours,omitempty"`
	RequireClosingTag   bool                      `json:"require_closing_tag,omitempty"`
}

func encodeSettings(s conversations.Settings) string {
	b, _ := json.Marshal(settingsJSON(s)) // plain strings and bools cannot fail
	return string(b)
}

func decodeSettings(raw string) (conversations.Settings, error) {
	var s settingsJSON
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return conversations.Settings{}, fmt.Errorf("store: decode account settings: %w", err)
	}
	return conversations.Settings(s), nil
}

// CountAccounts reports how many accounts exist.
func (db *DB) CountAccounts(ctx context.Context) (int, error) {
	var n int
	err := db.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM accounts`)
	return n, translate(err)
}

const insertAccount = `INSERT INTO accounts (name, settings, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id`

// CreateAccount creates a tenant with its first admin and API token.
func (db *DB) CreateAccount(ctx context.Context, name string, admin conversations.NewUser, secret conversations.TokenSecret, at time.Time) (conversations.Account, conversations.User, error) {
	acc := conversations.Account{Name: name, Settings: conversations.DefaultSettings(name), CreatedAt: at}
	var user conversations.User
	err := db.inTx(ctx, func(tx *Tx) error {
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(insertAccount), name, encodeSettings(acc.Settings), ms(at), ms(at)); err != nil {
			return err
		}
		acc.ID = parley.ID(id)
		var err error
		user, _, err = createUser(ctx, tx, acc.ID, admin, secret, at)
		return err
	})
	return acc, user, err
}

// settingsRow is an account's stored settings and its name: settings
// saved before a language pack existed get the pack's defaults, whose
// help text names the account.
type settingsRow struct {
	Name     string `db:"name"`
	Settings string `db:"settings"`
}

func (r settingsRow) decode() (conversations.Settings, error) {
	s, err := decodeSettings(r.Settings)
	return s.WithLanguageDefaults(r.Name), err
}

// GetSettings returns an account's settings.
func (db *DB) GetSettings(ctx context.Context, accountID parley.ID) (conversations.Settings, error) {
	var row settingsRow
	if err := db.db.GetContext(ctx, &row, db.rebind(`SELECT name, settings FROM accounts WHERE id = ?`), accountID); err != nil {
		return conversations.Settings{}, translate(err)
	}
	return row.decode()
}

// UpdateSettings changes an account's settings atomically.
func (db *DB) UpdateSettings(ctx context.Context, accountID parley.ID, fn func(conversations.Settings) (conversations.Settings, error), at time.Time) (conversations.Settings, error) {
	var out conversations.Settings
	err := db.inTx(ctx, func(tx *Tx) error {
		var row settingsRow
		if err := tx.GetContext(ctx, &row, tx.Rebind(`SELECT name, settings FROM accounts WHERE id = ?`+db.dialect.forUpdate()), accountID); err != nil {
			return err
		}
		cur, err := row.decode()
		if err != nil {
			return err
		}
		if out, err = fn(cur); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE accounts SET settings = ?, auto_assign = ?, updated_at = ? WHERE id = ?`),
			encodeSettings(out), out.AllowAutoAssignment, ms(at), accountID)
		if err != nil {
			return err
		}
		tx.recordAdmin(accountID, events.SettingsUpdated, 0, at)
		return announceRouteChange(ctx, tx)
	})
	db.routes.forget() // an inbound route holds its account's settings
	return out, err
}

// AutoAssignAllowed reports whether the account has auto-assignment on.
func (db *DB) AutoAssignAllowed(ctx context.Context, accountID parley.ID) (bool, error) {
	var on bool
	err := db.db.GetContext(ctx, &on, db.rebind(`SELECT auto_assign FROM accounts WHERE id = ?`), accountID)
	return on, translate(err)
}
