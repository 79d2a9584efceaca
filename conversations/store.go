package conversations

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

// Store is the persistence the conversations domain needs. Every method is
// one transaction and every query is scoped by account. Methods return
// parley errors: ENOTFOUND for a missing row (including another account's),
// ECONFLICT for a uniqueness clash, EINVALID for input a constraint rejects.
type Store interface {
	IngestStore
	ThreadReader

	// CountAccounts reports how many accounts exist (bootstrap on empty).
	CountAccounts(ctx context.Context) (int, error)
	// CreateAccount creates a tenant with its first admin and API token.
	CreateAccount(ctx context.Context, name string, admin NewUser, secret TokenSecret, at time.Time) (Account, User, error)
	// Authenticate finds the user of an unrevoked token by its hash and
	// notes the token's use at `at` (written at most once a
	// TokenUseResolution); EUNAUTHENTICATED when there is none or the user
	// was deactivated (User.CheckActive).
	Authenticate(ctx context.Context, tokenHash string, at time.Time) (User, error)

	GetSettings(ctx context.Context, accountID parley.ID) (Settings, error)
	// UpdateSettings reads, changes with fn and writes the settings atomically.
	UpdateSettings(ctx context.Context, accountID parley.ID, fn func(Settings) (Settings, error), at time.Time) (Settings, error)

	CreateUser(ctx context.Context, accountID parley.ID, u NewUser, secret TokenSecret, at time.Time) (User, Token, error)
	GetUser(ctx context.Context, accountID, userID parley.ID) (User, error)
	ListUsers(ctx context.Context, accountID parley.ID, page Page) (users []User, nextCursor string, err error)
	// UpdateUser applies a patch; one that deactivates the user also
	// unassigns their conversations (ReleasedOnDeactivation), logging
	// ReasonUserDeactivated. ECONFLICT (last_admin) when it would leave the
	// account without an active admin.
	UpdateUser(ctx context.Context, accountID, userID parley.ID, p UserPatch, at time.Time) (User, error)
	// ListTokens lists a user's unrevoked tokens; ENOTFOUND when the user
	// is not the account's.
	ListTokens(ctx context.Context, accountID, userID parley.ID, page Page) (tokens []Token, nextCursor string, err error)
	CreateToken(ctx context.Context, accountID, userID parley.ID, secret TokenSecret, at time.Time) (Token, error)
	// RevokeToken revokes a token of by's account that by manages
	// (User.ManagesTokensOf); revoking twice is fine. ENOTFOUND for any
	// other token, so that a colleague's tokens are not even seen.
	RevokeToken(ctx context.Context, by User, tokenID parley.ID, at time.Time) error

	CreateInbox(ctx context.Context, i Inbox) (Inbox, error)
	ListInboxes(ctx context.Context, accountID parley.ID, page Page) (inboxes []Inbox, nextCursor string, err error)
	CreateChannel(ctx context.Context, c Channel) (Channel, error)
	ListChannels(ctx context.Context, accountID parley.ID, page Page) (channels []Channel, nextCursor string, err error)
	GetChannel(ctx context.Context, accountID, channelID parley.ID) (Channel, error)
	// UpdateChannel applies a validated patch to a connected channel;
	// ECONFLICT (channel_disconnected) for a disconnected one.
	UpdateChannel(ctx context.Context, accountID, channelID parley.ID, p ChannelPatch) (Channel, error)
	// DisconnectChannel disconnects a channel, fails the texts still
	// queued on it and cancels its campaigns; disconnecting twice is a
	// no-op.
	DisconnectChannel(ctx context.Context, accountID, channelID parley.ID, at time.Time) error
	ChannelConnector

	// CreateContact creates a contact; ECONFLICT (code phone_taken) when a
	// phone already belongs to another contact of the account.
	CreateContact(ctx context.Context, c Contact) (Contact, error)
	GetContact(ctx context.Context, accountID, contactID parley.ID) (Contact, error)
	FindContacts(ctx context.Context, f ContactFilter) (contacts []Contact, nextCursor string, err error)

	// FindConversations lists conversations by last activity, newest first.
	FindConversations(ctx context.Context, f ConversationFilter) (convs []Conversation, nextCursor string, err error)
	GetConversation(ctx context.Context, accountID, conversationID parley.ID) (Conversation, error)
	// ListMessages lists a conversation's messages oldest first.
	ListMessages(ctx context.Context, accountID, conversationID parley.ID, page Page) (msgs []Message, nextCursor string, err error)

	GlanceStore
}
