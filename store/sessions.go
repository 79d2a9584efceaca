package store

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// Passwords, set-password links and web sessions
// (conversations.SessionStore).

// UsersByEmail returns the active users with this email and their
// password hashes.
func (db *DB) UsersByEmail(ctx context.Context, email string) ([]conversations.UserPassword, error) {
	const q = `SELECT ` + userColumns + `, COALESCE(password_hash, '') AS password_hash
FROM users WHERE email = ? AND active ORDER BY id`
	var rows []struct {
		userRow
		PasswordHash string `db:"password_hash"`
	}
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q), email); err != nil {
		return nil, translate(err)
	}
	out := make([]conversations.UserPassword, len(rows))
	for i, r := range rows {
		out[i] = conversations.UserPassword{User: r.user(), PasswordHash: r.PasswordHash}
	}
	return out, nil
}

// SetPassword stores a user's new password hash and signs them out
// everywhere.
func (db *DB) SetPassword(ctx context.Context, accountID, userID parley.ID, hash string, at time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		return setPassword(ctx, tx, accountID, userID, hash, at)
	})
}

func setPassword(ctx context.Context, tx *Tx, accountID, userID parley.ID, hash string, at time.Time) error {
	const q = `UPDATE users SET password_hash = ?, updated_at = ? WHERE account_id = ? AND id = ?`
	res, err := tx.ExecContext(ctx, tx.Rebind(q), hash, ms(at), accountID, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return parley.Errorf(parley.ENOTFOUND, "user not found")
	}
	return revokeSessions(ctx, tx, userID, at)
}

// revokeSessions ends every live session of the user.
func revokeSessions(ctx context.Context, tx *Tx, userID parley.ID, at time.Time) error {
	const q = `UPDATE web_sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`
	_, err := tx.ExecContext(ctx, tx.Rebind(q), ms(at), userID)
	return err
}

// CreatePasswordLink stores a one-time set-password link's hash; the
// user's earlier links stop working (the new one replaces a lost one).
func (db *DB) CreatePasswordLink(ctx context.Context, accountID, userID parley.ID, linkHash string, at, expires time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		const spend = `UPDATE password_links SET used_at = ? WHERE account_id = ? AND user_id = ? AND used_at IS NULL`
		if _, err := tx.ExecContext(ctx, tx.Rebind(spend), ms(at), accountID, userID); err != nil {
			return err
		}
		return insertPasswordLink(ctx, tx, accountID, userID, linkHash, at, expires)
	})
}

func insertPasswordLink(ctx context.Context, tx *Tx, accountID, userID parley.ID, linkHash string, at, expires time.Time) error {
	const q = `INSERT INTO password_links (account_id, user_id, link_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`
	_, err := tx.ExecContext(ctx, tx.Rebind(q), accountID, userID, linkHash, ms(at), ms(expires))
	return err
}

const selectLinkUser = `SELECT u.id, u.account_id, u.email, u.name, u.role, u.view_all_conversations, u.available, u.active, u.created_at, u.updated_at
FROM password_links l JOIN users u ON u.id = l.user_id
WHERE l.link_hash = ? AND u.active`

// liveLink narrows selectLinkUser to a link still usable at a time.
const liveLink = ` AND l.used_at IS NULL AND l.expires_at > ?`

// PasswordLinkUser is the user an unspent link is for.
func (db *DB) PasswordLinkUser(ctx context.Context, linkHash string, at time.Time) (conversations.User, error) {
	var row userRow
	if err := db.db.GetContext(ctx, &row, db.rebind(selectLinkUser+liveLink), linkHash, ms(at)); err != nil {
		return conversations.User{}, linkError(translate(err))
	}
	return row.user(), nil
}

// UsePasswordLink sets the password of the link's user and spends it.
func (db *DB) UsePasswordLink(ctx context.Context, linkHash, passwordHash string, at time.Time) (conversations.User, error) {
	var row userRow
	err := db.inTx(ctx, func(tx *Tx) error {
		const spend = `UPDATE password_links SET used_at = ? WHERE link_hash = ? AND used_at IS NULL AND expires_at > ?`
		res, err := tx.ExecContext(ctx, tx.Rebind(spend), ms(at), linkHash, ms(at))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "not found")
		}
		if err := tx.GetContext(ctx, &row, tx.Rebind(selectLinkUser), linkHash); err != nil {
			return err
		}
		// The user's other links die with it: a link reissued because
		// the first went astray must not leave that one working.
		const spendOthers = `UPDATE password_links SET used_at = ? WHERE user_id = ? AND used_at IS NULL`
		if _, err := tx.ExecContext(ctx, tx.Rebind(spendOthers), ms(at), row.ID); err != nil {
			return err
		}
		return setPassword(ctx, tx, parley.ID(row.AccountID), parley.ID(row.ID), passwordHash, at)
	})
	if err != nil {
		return conversations.User{}, linkError(err)
	}
	return row.user(), nil
}

func linkError(err error) error {
	if parley.IsKind(err, parley.ENOTFOUND) {
		return parley.Errorf(parley.ENOTFOUND, "this set-password link is unknown, used or expired: ask an admin for a new one")
	}
	return err
}

// CreateSession starts a web session for the user.
func (db *DB) CreateSession(ctx context.Context, user conversations.User, secretHash string, at time.Time) (conversations.Session, error) {
	const q = `INSERT INTO web_sessions (account_id, user_id, secret_hash, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?) RETURNING id`
	var id int64
	if err := db.db.GetContext(ctx, &id, db.rebind(q), user.AccountID, user.ID, secretHash, ms(at), ms(at)); err != nil {
		return conversations.Session{}, translate(err)
	}
	return conversations.Session{ID: parley.ID(id), AccountID: user.AccountID, UserID: user.ID, CreatedAt: at,
		ExpiresAt: at.Add(conversations.SessionLifetime)}, nil
}

// AuthenticateSession finds the active user of a live session.
func (db *DB) AuthenticateSession(ctx context.Context, secretHash string, at time.Time) (conversations.User, error) {
	const q = `SELECT u.id, u.account_id, u.email, u.name, u.role, u.view_all_conversations, u.available, u.active, u.created_at, u.updated_at,
s.id AS session_id, s.created_at AS session_created_at, s.last_seen_at
FROM web_sessions s JOIN users u ON u.id = s.user_id
WHERE s.secret_hash = ? AND s.revoked_at IS NULL`
	var row struct {
		userRow
		SessionID        int64 `db:"session_id"`
		SessionCreatedAt int64 `db:"session_created_at"`
		LastSeenAt       int64 `db:"last_seen_at"`
	}
	if err := db.db.GetContext(ctx, &row, db.rebind(q), secretHash); err != nil {
		if parley.IsKind(translate(err), parley.ENOTFOUND) {
			return conversations.User{}, parley.Errorf(parley.EUNAUTHENTICATED, "not signed in, or the session ended")
		}
		return conversations.User{}, translate(err)
	}
	if !conversations.SessionUsable(fromMS(row.SessionCreatedAt), fromMS(row.LastSeenAt), at) {
		return conversations.User{}, parley.Errorf(parley.EUNAUTHENTICATED, "the session expired: sign in again")
	}
	user := row.user()
	if err := user.CheckActive(); err != nil {
		return conversations.User{}, err
	}
	seen := fromMS(row.LastSeenAt)
	if conversations.TokenUseDue(&seen, at) {
		const touch = `UPDATE web_sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?`
		if _, err := db.db.ExecContext(ctx, db.rebind(touch), ms(at), row.SessionID, ms(at)); err != nil {
			return conversations.User{}, translate(err)
		}
	}
	return user, nil
}

// EndSession revokes a session.
func (db *DB) EndSession(ctx context.Context, secretHash string, at time.Time) error {
	const q = `UPDATE web_sessions SET revoked_at = ? WHERE secret_hash = ? AND revoked_at IS NULL`
	_, err := db.db.ExecContext(ctx, db.rebind(q), ms(at), secretHash)
	return translate(err)
}
