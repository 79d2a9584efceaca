package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

type userRow struct {
	ID                   int64  `db:"id"`
	AccountID            int64  `db:"account_id"`
	Email                string `db:"email"`
	Name                 string `db:"name"`
	Role                 string `db:"role"`
	ViewAllConversations bool   `db:"view_all_conversations"`
	Available            bool   `db:"available"`
	CreatedAt            int64  `db:"created_at"`
	UpdatedAt            int64  `db:"updated_at"`
}

const userColumns = `id, account_id, email, name, role, view_all_conversations, available, created_at, updated_at`

func (r userRow) user() conversations.User {
	return conversations.User{
		ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), Email: r.Email, Name: r.Name,
		Role: conversations.Role(r.Role), ViewAllConversations: r.ViewAllConversations, Available: r.Available,
		CreatedAt: fromMS(r.CreatedAt), UpdatedAt: fromMS(r.UpdatedAt),
	}
}

const insertUser = `INSERT INTO users (account_id, email, name, role, view_all_conversations, available, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, TRUE, ?, ?) RETURNING ` + userColumns

// CreateUser creates a user with a first API token.
func (db *DB) CreateUser(ctx context.Context, accountID parley.ID, u conversations.NewUser, secret conversations.TokenSecret, at time.Time) (conversations.User, conversations.Token, error) {
	var user conversations.User
	var tok conversations.Token
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		user, tok, err = createUser(ctx, tx, accountID, u, secret, at)
		return err
	})
	if parley.IsKind(err, parley.ECONFLICT) {
		err = &parley.Error{Kind: parley.ECONFLICT, Code: "email_taken", Message: "a user with this email already exists"}
	}
	return user, tok, err
}

func createUser(ctx context.Context, tx *sqlx.Tx, accountID parley.ID, u conversations.NewUser, secret conversations.TokenSecret, at time.Time) (conversations.User, conversations.Token, error) {
	var row userRow
	if err := tx.GetContext(ctx, &row, tx.Rebind(insertUser), accountID, u.Email, u.Name, string(u.Role), u.ViewAllConversations, ms(at), ms(at)); err != nil {
		return conversations.User{}, conversations.Token{}, err
	}
	tok, err := createToken(ctx, tx, accountID, parley.ID(row.ID), secret, at)
	return row.user(), tok, err
}

const selectUser = `SELECT ` + userColumns + ` FROM users WHERE account_id = ? AND id = ?`

// GetUser returns a user of the account.
func (db *DB) GetUser(ctx context.Context, accountID, userID parley.ID) (conversations.User, error) {
	var row userRow
	err := db.db.GetContext(ctx, &row, db.db.Rebind(selectUser), accountID, userID)
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
	if err := db.db.SelectContext(ctx, &rows, db.db.Rebind(q), append(append([]any{accountID}, args...), limit)...); err != nil {
		return nil, "", translate(err)
	}
	rows, next := idCursor(rows, page, func(r userRow) int64 { return r.ID })
	users := make([]conversations.User, len(rows))
	for i, r := range rows {
		users[i] = r.user()
	}
	return users, next, nil
}

const updateUser = `UPDATE users SET name = ?, role = ?, view_all_conversations = ?, available = ?, updated_at = ?
WHERE account_id = ? AND id = ? RETURNING ` + userColumns

// UpdateUser applies a patch to a user.
func (db *DB) UpdateUser(ctx context.Context, accountID, userID parley.ID, p conversations.UserPatch, at time.Time) (conversations.User, error) {
	var out userRow
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var row userRow
		if err := tx.GetContext(ctx, &row, tx.Rebind(selectUser), accountID, userID); err != nil {
			return err
		}
		if p.Name != nil {
			row.Name = *p.Name
		}
		if p.Role != nil && row.Role == string(conversations.RoleAdmin) && *p.Role != conversations.RoleAdmin {
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
		return tx.GetContext(ctx, &out, tx.Rebind(updateUser), row.Name, row.Role, row.ViewAllConversations, row.Available, ms(at), accountID, userID)
	})
	return out.user(), err
}

// Authenticate finds the user of an unrevoked token.
func (db *DB) Authenticate(ctx context.Context, tokenHash string) (conversations.User, error) {
	const q = `SELECT u.id, u.account_id, u.email, u.name, u.role, u.view_all_conversations, u.available, u.created_at, u.updated_at
FROM api_tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = ? AND t.revoked_at IS NULL`
	var row userRow
	err := db.db.GetContext(ctx, &row, db.db.Rebind(q), tokenHash)
	if err != nil {
		if parley.IsKind(translate(err), parley.ENOTFOUND) {
			return conversations.User{}, parley.Errorf(parley.EUNAUTHENTICATED, "invalid or revoked API token")
		}
		return conversations.User{}, translate(err)
	}
	return row.user(), nil
}

// CreateToken creates another API token for a user of the account.
func (db *DB) CreateToken(ctx context.Context, accountID, userID parley.ID, secret conversations.TokenSecret, at time.Time) (conversations.Token, error) {
	var tok conversations.Token
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
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

func createToken(ctx context.Context, tx *sqlx.Tx, accountID, userID parley.ID, secret conversations.TokenSecret, at time.Time) (conversations.Token, error) {
	const q = `INSERT INTO api_tokens (account_id, user_id, prefix, token_hash, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`
	var id int64
	if err := tx.GetContext(ctx, &id, tx.Rebind(q), accountID, userID, secret.Prefix, secret.Hash, ms(at)); err != nil {
		return conversations.Token{}, err
	}
	return conversations.Token{ID: parley.ID(id), AccountID: accountID, UserID: userID, Prefix: secret.Prefix, CreatedAt: at}, nil
}

// RevokeToken revokes a token of the account.
func (db *DB) RevokeToken(ctx context.Context, accountID, tokenID parley.ID, at time.Time) error {
	return db.inTx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		const q = `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE account_id = ? AND id = ? RETURNING id`
		return tx.GetContext(ctx, &id, tx.Rebind(q), ms(at), accountID, tokenID)
	})
}

// keepAnAdmin refuses to demote the account's last admin: nobody could
// manage the account afterwards. The account row is locked so that two
// admins demoting each other at once cannot both succeed.
func keepAnAdmin(ctx context.Context, tx *sqlx.Tx, d dialect, accountID, userID parley.ID) error {
	var id int64
	if err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM accounts WHERE id = ?`+d.forUpdate()), accountID); err != nil {
		return err
	}
	var others int
	const q = `SELECT COUNT(*) FROM users WHERE account_id = ? AND role = 'admin' AND id <> ?`
	if err := tx.GetContext(ctx, &others, tx.Rebind(q), accountID, userID); err != nil {
		return err
	}
	if others == 0 {
		return parley.Conflict("last_admin", "the account's last admin cannot be demoted; promote another user first")
	}
	return nil
}
