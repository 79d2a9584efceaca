package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
)

type userRow struct {
	ID                   int64  `db:"id"`
	AccountID            int64  `db:"account_id"`
	Email                string `db:"email"`
	Name                 string `db:"name"`
	Role                 string `db:"role"`
	ViewAllConversations bool   `db:"view_all_conversations"`
	Available            bool   `db:"available"`
	Active               bool   `db:"active"`
	CreatedAt            int64  `db:"created_at"`
	UpdatedAt            int64  `db:"updated_at"`
}

const userColumns = `id, account_id, email, name, role, view_all_conversations, available, active, created_at, updated_at`

func (r userRow) user() conversations.User {
	return conversations.User{
		ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), Email: r.Email, Name: r.Name,
		Role: conversations.Role(r.Role), ViewAllConversations: r.ViewAllConversations, Available: r.Available,
		Active: r.Active, CreatedAt: fromMS(r.CreatedAt), UpdatedAt: fromMS(r.UpdatedAt),
	}
}

const insertUser = `INSERT INTO users (account_id, email, name, role, view_all_conversations, available, active, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, TRUE, TRUE, ?, ?) RETURNING ` + userColumns

// CreateUser creates a user with a first API token.
func (db *DB) CreateUser(ctx context.Context, accountID parley.ID, u conversations.NewUser, secret conversations.TokenSecret, at time.Time) (conversations.User, conversations.Token, error) {
	var user conversations.User
	var tok conversations.Token
	err := db.inTx(ctx, func(tx *Tx) error {
		var err error
		user, tok, err = createUser(ctx, tx, accountID, u, secret, at)
		return err
	})
	return user, tok, emailTaken(err)
}

// InviteUser creates a user, their first API token when token is not
// nil, and their set-password link in one transaction.
func (db *DB) InviteUser(ctx context.Context, accountID parley.ID, u conversations.NewUser, token *conversations.TokenSecret, linkHash string, at, expires time.Time) (conversations.User, conversations.Token, error) {
	var user conversations.User
	var tok conversations.Token
	err := db.inTx(ctx, func(tx *Tx) error {
		var err error
		if user, err = insertNewUser(ctx, tx, accountID, u, at); err != nil {
			return err
		}
		if token != nil {
			if tok, err = createToken(ctx, tx, accountID, user.ID, *token, at); err != nil {
				return err
			}
		}
		return insertPasswordLink(ctx, tx, accountID, user.ID, linkHash, at, expires)
	})
	return user, tok, emailTaken(err)
}

// emailTaken says what a conflict creating a user means.
func emailTaken(err error) error {
	if parley.IsKind(err, parley.ECONFLICT) {
		return &parley.Error{Kind: parley.ECONFLICT, Code: "email_taken", Message: "a user with this email already exists"}
	}
	return err
}

func createUser(ctx context.Context, tx *Tx, accountID parley.ID, u conversations.NewUser, secret conversations.TokenSecret, at time.Time) (conversations.User, conversations.Token, error) {
	user, err := insertNewUser(ctx, tx, accountID, u, at)
	if err != nil {
		return conversations.User{}, conversations.Token{}, err
	}
	tok, err := createToken(ctx, tx, accountID, user.ID, secret, at)
	return user, tok, err
}

func insertNewUser(ctx context.Context, tx *Tx, accountID parley.ID, u conversations.NewUser, at time.Time) (conversations.User, error) {
	var row userRow
	err := tx.GetContext(ctx, &row, tx.Rebind(insertUser), accountID, u.Email, u.Name, string(u.Role), u.ViewAllConversations, ms(at), ms(at))
	return row.user(), err
}

const selectUser = `SELECT ` + userColumns + ` FROM users WHERE account_id = ? AND id = ?`

// GetUser returns a user of the account.
func (db *DB) GetUser(ctx context.Context, accountID, userID parley.ID) (conversations.User, error) {
	var row userRow
	err := db.db.GetContext(ctx, &row, db.rebind(selectUser), accountID, userID)
	return row.user(), translate(err)
}

// lockUser reads a user of the account for an action that assigns them a
// conversation and, on PostgreSQL, holds the row shared until commit. A
// deactivation locks the row for update first, so either it waits for the
// assignment to commit and then releases that conversation too, or the
// assignment waits and sees the user inactive. Taken before any
// conversation lock, in the order deactivation takes them.
func (db *DB) lockUser(ctx context.Context, tx *Tx, accountID, userID parley.ID) (conversations.User, error) {
	var row userRow
	err := tx.GetContext(ctx, &row, tx.Rebind(selectUser+db.dialect.forShare()), accountID, userID)
	return row.user(), translate(err)
}

// ListUsers lists a page of the account's users by id.
func (db *DB) ListUsers(ctx context.Context, accountID parley.ID, page parley.Page) ([]conversations.User, string, error) {
	cond, args, limit, err := idPage(page, "id")
	if err != nil {
		return nil, "", err
	}
	var rows []userRow
	q := `SELECT ` + userColumns + ` FROM users WHERE account_id = ? AND ` + cond + ` ORDER BY id LIMIT ?`
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q), append(append([]any{accountID}, args...), limit)...); err != nil {
		return nil, "", translate(err)
	}
	rows, next := idCursor(rows, page, func(r userRow) int64 { return r.ID })
	users := make([]conversations.User, len(rows))
	for i, r := range rows {
		users[i] = r.user()
	}
	return users, next, nil
}

const updateUser = `UPDATE users SET name = ?, role = ?, view_all_conversations = ?, available = ?, active = ?, updated_at = ?
WHERE account_id = ? AND id = ? RETURNING ` + userColumns

// UpdateUser applies a patch to a user. Deactivating one puts their
// conversations back in the queue in the same transaction.
func (db *DB) UpdateUser(ctx context.Context, accountID, userID parley.ID, p conversations.UserPatch, at time.Time) (conversations.User, error) {
	var out userRow
	err := db.inTx(ctx, func(tx *Tx) error {
		// Locked first: an assignment to the user holds the row shared
		// (lockUser), so none commits after releaseConversations ran.
		var row userRow
		if err := tx.GetContext(ctx, &row, tx.Rebind(selectUser+db.dialect.forUpdate()), accountID, userID); err != nil {
			return err
		}
		if p.Name != nil {
			row.Name = *p.Name
		}
		demoted := p.Role != nil && *p.Role != conversations.RoleAdmin
		if row.Role == string(conversations.RoleAdmin) && row.Active && (demoted || p.Deactivates(row.user())) {
			if err := keepAnAdmin(ctx, tx, db.dialect, accountID, userID); err != nil {
				return err
			}
		}
		if p.Role != nil {
			row.Role = string(*p.Role)
		}
		if p.ViewAllConversations != nil {
			row.ViewAllConversations = *p.ViewAllConversations
		}
		if p.Available != nil {
			row.Available = *p.Available
		}
		if p.Deactivates(row.user()) {
			// Taken with auto-assignment's lock, no decision picks the
			// user between this and the commit.
			if err := db.dialect.lockAssignments(ctx, tx, accountID); err != nil {
				return err
			}
			if err := releaseConversations(ctx, tx, accountID, userID, at); err != nil {
				return err
			}
			if err := revokeSessions(ctx, tx, userID, at); err != nil {
				return err
			}
		}
		if p.Active != nil {
			row.Active = *p.Active
		}
		tx.recordAdmin(accountID, events.UserUpdated, userID, at)
		return tx.GetContext(ctx, &out, tx.Rebind(updateUser), row.Name, row.Role, row.ViewAllConversations, row.Available, row.Active,
			ms(at), accountID, userID)
	})
	return out.user(), err
}

// releaseBatch bounds the conversations one statement unassigns: their
// events are one insert, within every driver's limit on parameters.
const releaseBatch = 500

// releaseConversations unassigns a deactivated user's conversations that
// could come back to them (conversations.ReleasedOnDeactivation), each
// with an event saying why. The waiting_since triggers queue the new and
// open ones for auto-assignment.
func releaseConversations(ctx context.Context, tx *Tx, accountID, userID parley.ID, at time.Time) error {
	// assignee_id is checked again outside the subquery: PostgreSQL
	// re-checks only those conditions on a row a concurrent change held.
	query, args, err := sqlx.In(`UPDATE conversations SET assignee_id = NULL, updated_at = ?
WHERE assignee_id = ? AND id IN (SELECT id FROM conversations WHERE account_id = ? AND assignee_id = ? AND status IN (?) LIMIT ?)
RETURNING id`, ms(at), userID, accountID, userID, conversations.ReleasedOnDeactivation, releaseBatch)
	if err != nil {
		return err
	}
	for {
		var ids []int64
		if err := tx.SelectContext(ctx, &ids, tx.Rebind(query), args...); err != nil {
			return err
		}
		events := make([]event, len(ids))
		for i, id := range ids {
			events[i] = event{conversationID: parley.ID(id), typ: conversations.EventAssigneeChanged, actor: conversations.ActorSystem,
				data: map[string]any{"from": userID, "to": nil, "reason": conversations.ReasonUserDeactivated}, at: at}
		}
		if err := insertEvents(ctx, tx, accountID, events); err != nil {
			return err
		}
		if len(ids) < releaseBatch {
			return nil
		}
	}
}

// Authenticate finds the active user of an unrevoked token and notes the
// token's use, at most once a conversations.TokenUseResolution.
func (db *DB) Authenticate(ctx context.Context, tokenHash string, at time.Time) (conversations.User, error) {
	const q = `SELECT u.id, u.account_id, u.email, u.name, u.role, u.view_all_conversations, u.available, u.active, u.created_at, u.updated_at,
t.id AS token_id, t.last_used_at
FROM api_tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = ? AND t.revoked_at IS NULL`
	var row struct {
		userRow
		TokenID    int64  `db:"token_id"`
		LastUsedAt *int64 `db:"last_used_at"`
	}
	err := db.db.GetContext(ctx, &row, db.rebind(q), tokenHash)
	if err != nil {
		if parley.IsKind(translate(err), parley.ENOTFOUND) {
			return conversations.User{}, parley.Errorf(parley.EUNAUTHENTICATED, "invalid or revoked API token")
		}
		return conversations.User{}, translate(err)
	}
	user := row.user()
	if err := user.CheckActive(); err != nil {
		return conversations.User{}, err
	}
	if conversations.TokenUseDue(fromMSPtr(row.LastUsedAt), at) {
		// Never backwards: another instance may have noted a later use.
		const touch = `UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`
		if _, err := db.db.ExecContext(ctx, db.rebind(touch), ms(at), row.TokenID, ms(at)); err != nil {
			return conversations.User{}, translate(err)
		}
	}
	return user, nil
}

type tokenRow struct {
	ID         int64  `db:"id"`
	AccountID  int64  `db:"account_id"`
	UserID     int64  `db:"user_id"`
	Prefix     string `db:"prefix"`
	CreatedAt  int64  `db:"created_at"`
	LastUsedAt *int64 `db:"last_used_at"`
}

func (r tokenRow) token() conversations.Token {
	return conversations.Token{ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), UserID: parley.ID(r.UserID), Prefix: r.Prefix,
		CreatedAt: fromMS(r.CreatedAt), LastUsedAt: fromMSPtr(r.LastUsedAt)}
}

// ListTokens lists a page of a user's unrevoked tokens by id; ENOTFOUND
// when the user is not the account's.
func (db *DB) ListTokens(ctx context.Context, accountID, userID parley.ID, page parley.Page) ([]conversations.Token, string, error) {
	if _, err := db.GetUser(ctx, accountID, userID); err != nil {
		return nil, "", err
	}
	cond, args, limit, err := idPage(page, "id")
	if err != nil {
		return nil, "", err
	}
	var rows []tokenRow
	q := `SELECT id, account_id, user_id, prefix, created_at, last_used_at FROM api_tokens
WHERE account_id = ? AND user_id = ? AND revoked_at IS NULL AND ` + cond + ` ORDER BY id LIMIT ?`
	if err := db.db.SelectContext(ctx, &rows, db.rebind(q), append(append([]any{accountID, userID}, args...), limit)...); err != nil {
		return nil, "", translate(err)
	}
	rows, next := idCursor(rows, page, func(r tokenRow) int64 { return r.ID })
	tokens := make([]conversations.Token, len(rows))
	for i, r := range rows {
		tokens[i] = r.token()
	}
	return tokens, next, nil
}

// CreateToken creates another API token for a user of the account.
func (db *DB) CreateToken(ctx context.Context, accountID, userID parley.ID, secret conversations.TokenSecret, at time.Time) (conversations.Token, error) {
	var tok conversations.Token
	err := db.inTx(ctx, func(tx *Tx) error {
		var exists int
		if err := tx.GetContext(ctx, &exists, tx.Rebind(`SELECT 1 FROM users WHERE account_id = ? AND id = ?`), accountID, userID); err != nil {
			return err
		}
		var err error
		tok, err = createToken(ctx, tx, accountID, userID, secret, at)
		return err
	})
	return tok, err
}

func createToken(ctx context.Context, tx *Tx, accountID, userID parley.ID, secret conversations.TokenSecret, at time.Time) (conversations.Token, error) {
	const q = `INSERT INTO api_tokens (account_id, user_id, prefix, token_hash, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`
	var id int64
	if err := tx.GetContext(ctx, &id, tx.Rebind(q), accountID, userID, secret.Prefix, secret.Hash, ms(at)); err != nil {
		return conversations.Token{}, err
	}
	return conversations.Token{ID: parley.ID(id), AccountID: accountID, UserID: userID, Prefix: secret.Prefix, CreatedAt: at}, nil
}

// RevokeToken revokes a token of by's account that by manages; ENOTFOUND
// for another's, as for one that does not exist.
func (db *DB) RevokeToken(ctx context.Context, by conversations.User, tokenID parley.ID, at time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		var owner int64
		if err := tx.GetContext(ctx, &owner, tx.Rebind(`SELECT user_id FROM api_tokens WHERE account_id = ? AND id = ?`), by.AccountID, tokenID); err != nil {
			return err
		}
		if !by.ManagesTokensOf(parley.ID(owner)) {
			return parley.Errorf(parley.ENOTFOUND, "not found")
		}
		const q = `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), ms(at), tokenID); err != nil {
			return err
		}
		// Their access changed: a stream open with the token ends now.
		tx.recordAdmin(by.AccountID, events.UserUpdated, parley.ID(owner), at)
		return nil
	})
}

// keepAnAdmin refuses to demote or deactivate the account's last active
// admin: nobody could manage the account afterwards. The account row is
// locked so that two admins demoting each other at once cannot both
// succeed.
func keepAnAdmin(ctx context.Context, tx *Tx, d dialect, accountID, userID parley.ID) error {
	var id int64
	if err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM accounts WHERE id = ?`+d.forUpdate()), accountID); err != nil {
		return err
	}
	var others int
	const q = `SELECT COUNT(*) FROM users WHERE account_id = ? AND role = 'admin' AND active AND id <> ?`
	if err := tx.GetContext(ctx, &others, tx.Rebind(q), accountID, userID); err != nil {
		return err
	}
	if others == 0 {
		return parley.Conflict("last_admin", "the account's last admin cannot be demoted; promote another user first")
	}
	return nil
}
