package conversations

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/parleyhq/parley"
)

// Web sessions: staff sign in to the web inbox with an email and a
// password. A session is a random secret in a cookie; only its hash is
// stored, as for API tokens, and it dies with the user's deactivation.

// SessionLifetime is how long a session lasts from sign-in; SessionIdle is
// how long it lasts unused.
const (
	SessionLifetime = 30 * 24 * time.Hour
	SessionIdle     = 7 * 24 * time.Hour
)

// PasswordLinkLifetime is how long a set-password link stays usable.
const PasswordLinkLifetime = 72 * time.Hour

// Password length bounds: bcrypt reads at most 72 bytes, so a longer
// password would be silently cut; a short one is guessed.
const (
	MinPasswordLength = 10
	MaxPasswordBytes  = 72
)

// PasswordCost is bcrypt's work factor. Tests lower it: each sign-in
// costs about a quarter of a second of CPU at the default.
var PasswordCost = bcrypt.DefaultCost

// CheckPassword says why a new password is refused; EINVALID naming the
// field "password".
func CheckPassword(password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return parley.Invalid(map[string]string{"password": "must be at least 10 characters"})
	case len(password) > MaxPasswordBytes:
		return parley.Invalid(map[string]string{"password": "must be at most 72 bytes"})
	}
	return nil
}

// HashPassword checks a new password and returns its bcrypt hash.
func HashPassword(password string) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), PasswordCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// PasswordMatches reports whether password is the one hash was made from.
func PasswordMatches(hash, password string) bool {
	return hash != "" && bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// Session is a signed-in browser.
type Session struct {
	ID        parley.ID
	AccountID parley.ID
	UserID    parley.ID
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SessionSecret is a new session's cookie value and what is stored of it.
type SessionSecret struct {
	Secret string
	Hash   string
}

// NewSessionSecret generates a 160-bit random session secret.
func NewSessionSecret() SessionSecret {
	t := NewTokenSecret()
	return SessionSecret{Secret: t.Secret, Hash: t.Hash}
}

// CSRFToken is the anti-forgery token of the session whose secret is
// given: forms carry it, and a page of another site cannot compute it
// because it cannot read the HttpOnly cookie.
func CSRFToken(sessionSecret string) string {
	m := hmac.New(sha256.New, []byte(sessionSecret))
	m.Write([]byte("parley csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CSRFMatches compares a presented token with the session's in constant time.
func CSRFMatches(sessionSecret, presented string) bool {
	return presented != "" && hmac.Equal([]byte(CSRFToken(sessionSecret)), []byte(presented))
}

// SessionUsable reports whether a session created at created and last seen
// at seen is still alive at now.
func SessionUsable(created, seen, now time.Time) bool {
	return now.Before(created.Add(SessionLifetime)) && now.Before(seen.Add(SessionIdle))
}

// NormalEmail is an email as sign-in looks it up: users' emails are
// stored lowercased (NewUser.Validate).
func NormalEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// ErrBadCredentials is the one answer to a failed sign-in: it does not
// say whether the email exists.
var ErrBadCredentials = parley.Errorf(parley.EUNAUTHENTICATED, "the email or the password is wrong")

// IsBadCredentials reports whether err is a failed sign-in.
func IsBadCredentials(err error) bool { return errors.Is(err, ErrBadCredentials) }

// SetPasswordPath is where a set-password link leads, before its secret.
const SetPasswordPath = "/set-password/"

// PasswordLink is a set-password link just issued: its URL holds the
// secret and is shown once.
type PasswordLink struct {
	URL       string
	ExpiresAt time.Time
}

// PasswordLinkStore keeps set-password links.
type PasswordLinkStore interface {
	// CreatePasswordLink stores a one-time link's hash for the user,
	// usable until expires; the user's earlier links stop working.
	CreatePasswordLink(ctx context.Context, accountID, userID parley.ID, linkHash string, at, expires time.Time) error
	// InviteUser creates a user, with a first API token when token is
	// not nil, and their set-password link (linkHash, usable until
	// expires) in one transaction: none of them exists unless all do.
	// ECONFLICT (code email_taken) when the email is in use.
	InviteUser(ctx context.Context, accountID parley.ID, u NewUser, token *TokenSecret, linkHash string, at, expires time.Time) (User, Token, error)
}

// Invitation is a user just invited: their set-password link, shown once,
// and, when one was asked for, their first API token and its secret.
type Invitation struct {
	User        User
	Link        PasswordLink
	Token       Token
	TokenSecret string
}

// InviteUser creates a user of the account and a set-password link for
// them, as one change. withToken also gives them a first API token (POST
// /v1/users answers with it); the web invite asks for none, so no token
// exists that nobody holds.
func InviteUser(ctx context.Context, s PasswordLinkStore, publicURL string, accountID parley.ID, nu NewUser, withToken bool, now time.Time) (Invitation, error) {
	if err := nu.Validate(); err != nil {
		return Invitation{}, err
	}
	var token *TokenSecret
	if withToken {
		t := NewTokenSecret()
		token = &t
	}
	secret, link := newPasswordLink(publicURL, now)
	u, tok, err := s.InviteUser(ctx, accountID, nu, token, secret.Hash, now, link.ExpiresAt)
	if err != nil {
		return Invitation{}, err
	}
	inv := Invitation{User: u, Link: link}
	if token != nil {
		inv.Token, inv.TokenSecret = tok, token.Secret
	}
	return inv, nil
}

// NewPasswordLink issues a one-time link, under publicURL (Parley's
// PARLEY_PUBLIC_URL), where the user chooses a password: it works for
// PasswordLinkLifetime, and only its hash is stored. Issuing another, or
// using one, ends the user's earlier links.
func NewPasswordLink(ctx context.Context, s PasswordLinkStore, publicURL string, u User, now time.Time) (PasswordLink, error) {
	secret, link := newPasswordLink(publicURL, now)
	if err := s.CreatePasswordLink(ctx, u.AccountID, u.ID, secret.Hash, now, link.ExpiresAt); err != nil {
		return PasswordLink{}, err
	}
	return link, nil
}

// newPasswordLink makes a link's secret (only its hash is stored) and
// its address, usable for PasswordLinkLifetime from now.
func newPasswordLink(publicURL string, now time.Time) (TokenSecret, PasswordLink) {
	secret := NewTokenSecret()
	return secret, PasswordLink{URL: strings.TrimRight(publicURL, "/") + SetPasswordPath + secret.Secret, ExpiresAt: now.Add(PasswordLinkLifetime)}
}

// SessionStore keeps passwords, set-password links and web sessions.
type SessionStore interface {
	PasswordLinkStore
	// UsersByEmail returns the active users with this email (one per
	// account at most) and their password hashes ("" when none is set).
	UsersByEmail(ctx context.Context, email string) ([]UserPassword, error)
	// SetPassword stores a new password hash for the user and revokes
	// every session of theirs; ENOTFOUND when there is no such user.
	SetPassword(ctx context.Context, accountID, userID parley.ID, hash string, at time.Time) error
	// UsePasswordLink sets the password of the link's user and spends the
	// link and the user's other links, in one transaction; ENOTFOUND when the link is unknown, spent,
	// expired or its user deactivated.
	UsePasswordLink(ctx context.Context, linkHash, passwordHash string, at time.Time) (User, error)
	// PasswordLinkUser is the user an unspent, unexpired link is for;
	// ENOTFOUND otherwise.
	PasswordLinkUser(ctx context.Context, linkHash string, at time.Time) (User, error)
	// CreateSession starts a session for the user.
	CreateSession(ctx context.Context, user User, secretHash string, at time.Time) (Session, error)
	// AuthenticateSession finds the active user of a live session and
	// notes its use (at most once a TokenUseResolution);
	// EUNAUTHENTICATED when there is none, it expired or the user was
	// deactivated.
	AuthenticateSession(ctx context.Context, secretHash string, at time.Time) (User, error)
	// EndSession revokes the session; ending an unknown one is no error.
	EndSession(ctx context.Context, secretHash string, at time.Time) error
}

// UserPassword is a user and their password hash.
type UserPassword struct {
	User
	PasswordHash string
}
