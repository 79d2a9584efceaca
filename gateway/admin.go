package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/optout"
)

type userJSON struct {
	ID                   parley.ID `json:"id"`
	Email                string    `json:"email"`
	Name                 string    `json:"name"`
	Role                 string    `json:"role"`
	ViewAllConversations bool      `json:"view_all_conversations"`
	Available            bool      `json:"available"`
	Active               bool      `json:"active"`
	CreatedAt            time.Time `json:"created_at"`
	UpdatedAt            time.Time `json:"updated_at"`
}

func toUserJSON(u conversations.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role), ViewAllConversations: u.ViewAllConversations,
		Available: u.Available, Active: u.Active, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

func handleGetMe(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, toUserJSON(currentUser(r)))
		return nil
	}
}

func handlePatchMe(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			Available *bool `json:"available"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		me := currentUser(r)
		u, err := d.Store.UpdateUser(r.Context(), me.AccountID, me.ID, conversations.UserPatch{Available: in.Available}, d.Clock.Now())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toUserJSON(u))
		return nil
	}
}

type settingsJSON struct {
	AllowAutoAssignment bool                      `json:"allow_auto_assignment"`
	HelpText            string                    `json:"help_text"`
	OptOutReply         string                    `json:"opt_out_reply"`
	OptInReply          string                    `json:"opt_in_reply"`
	Keywords            optout.Keywords           `json:"keywords"`
	Languages           conversations.Languages   `json:"languages"`
	QuietHours          *conversations.QuietHours `json:"quiet_hours"`
	RequireClosingTag   bool                      `json:"require_closing_tag"`
}

func handleGetSettings(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		s, err := d.Store.GetSettings(r.Context(), currentUser(r).AccountID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, settingsJSON(s))
		return nil
	}
}

func handlePatchSettings(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		var in struct {
			AllowAutoAssignment *bool                         `json:"allow_auto_assignment"`
			HelpText            *string                       `json:"help_text"`
			OptOutReply         *string                       `json:"opt_out_reply"`
			OptInReply          *string                       `json:"opt_in_reply"`
			Keywords            *conversations.KeywordsPatch  `json:"keywords"`
			Languages           *conversations.LanguagesPatch `json:"languages"`
			QuietHours          json.RawMessage               `json:"quiet_hours"`
			RequireClosingTag   *bool                         `json:"require_closing_tag"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		patch := conversations.SettingsPatch{AllowAutoAssignment: in.AllowAutoAssignment, HelpText: in.HelpText,
			OptOutReply: in.OptOutReply, OptInReply: in.OptInReply, Keywords: in.Keywords, Languages: in.Languages, RequireClosingTag: in.RequireClosingTag}
		if len(in.QuietHours) > 0 {
			var q *conversations.QuietHours
			if err := decodeBody(in.QuietHours, &q); err != nil {
				return parley.Invalid(map[string]string{"quiet_hours": "must be {start, end, timezone} or null"})
			}
			patch.QuietHours = &q
		}
		s, err := d.Store.UpdateSettings(r.Context(), currentUser(r).AccountID, patch.Apply, d.Clock.Now())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, settingsJSON(s))
		return nil
	}
}

func handleListUsers(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		users, next, err := d.Store.ListUsers(r.Context(), currentUser(r).AccountID, page)
		if err != nil {
			return err
		}
		writePage(w, users, next, toUserJSON)
		return nil
	}
}

func handleGetUser(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		u, err := d.Store.GetUser(r.Context(), currentUser(r).AccountID, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toUserJSON(u))
		return nil
	}
}

type tokenJSON struct {
	ID        parley.ID `json:"id"`
	UserID    parley.ID `json:"user_id"`
	Prefix    string    `json:"prefix"`
	Token     string    `json:"token"`
	CreatedAt time.Time `json:"created_at"`
}

func handleCreateUser(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		var in struct {
			Email                string `json:"email"`
			Name                 string `json:"name"`
			Role                 string `json:"role"`
			ViewAllConversations bool   `json:"view_all_conversations"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		nu := conversations.NewUser{Email: in.Email, Name: in.Name, Role: conversations.Role(in.Role), ViewAllConversations: in.ViewAllConversations}
		inv, err := conversations.InviteUser(r.Context(), d.PasswordLinks, d.PublicURL, currentUser(r).AccountID, nu, true, d.Clock.Now())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, map[string]any{"user": toUserJSON(inv.User), "token": inv.TokenSecret, "token_id": inv.Token.ID,
			"set_password_url": inv.Link.URL})
		return nil
	}
}

func handlePatchUser(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var in struct {
			Name                 *string `json:"name"`
			Role                 *string `json:"role"`
			ViewAllConversations *bool   `json:"view_all_conversations"`
			Available            *bool   `json:"available"`
			Active               *bool   `json:"active"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		p := conversations.UserPatch{Name: in.Name, ViewAllConversations: in.ViewAllConversations, Available: in.Available, Active: in.Active}
		if in.Role != nil {
			role := conversations.Role(*in.Role)
			p.Role = &role
		}
		u, err := conversations.ChangeUser(r.Context(), d.Store, currentUser(r), id, p, d.Clock.Now())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toUserJSON(u))
		return nil
	}
}

// checkTokenOwner lets admins manage anyone's tokens and users their own
// (the store call that follows finds the user, 404 when not the
// account's): 403 for a colleague's, 404 for a user of another account.
func checkTokenOwner(r *http.Request, d *Deps, userID parley.ID) error {
	me := currentUser(r)
	if me.ManagesTokensOf(userID) {
		return nil
	}
	if _, err := d.Store.GetUser(r.Context(), me.AccountID, userID); err != nil {
		return err
	}
	return forbidden("only admins manage other users' tokens")
}

// handleCreateToken issues another token: admins for anyone, users for themselves.
func handleCreateToken(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathIDWithoutBody(w, r)
		if err != nil {
			return err
		}
		me := currentUser(r)
		if err := checkTokenOwner(r, d, id); err != nil {
			return err
		}
		secret := conversations.NewTokenSecret()
		tok, err := d.Store.CreateToken(r.Context(), me.AccountID, id, secret, d.Clock.Now())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, tokenJSON{ID: tok.ID, UserID: tok.UserID, Prefix: tok.Prefix, Token: secret.Secret, CreatedAt: tok.CreatedAt})
		return nil
	}
}

// listedTokenJSON is a token as listed: never its secret.
type listedTokenJSON struct {
	ID         parley.ID  `json:"id"`
	UserID     parley.ID  `json:"user_id"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func toListedTokenJSON(t conversations.Token) listedTokenJSON {
	return listedTokenJSON{ID: t.ID, UserID: t.UserID, Prefix: t.Prefix, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt}
}

// handleListTokens lists a user's unrevoked tokens: admins anyone's,
// users their own.
func handleListTokens(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		if err := checkTokenOwner(r, d, id); err != nil {
			return err
		}
		me := currentUser(r)
		tokens, next, err := d.Store.ListTokens(r.Context(), me.AccountID, id, page)
		if err != nil {
			return err
		}
		writePage(w, tokens, next, toListedTokenJSON)
		return nil
	}
}

// handleRevokeToken revokes a token: admins anyone's, users their own.
func handleRevokeToken(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if err := d.Store.RevokeToken(r.Context(), currentUser(r), id, d.Clock.Now()); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// adminDelete is an admin's DELETE of the account's {id}: 204 once del
// did it.
func adminDelete(del func(ctx context.Context, accountID, id parley.ID) error) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if err := del(r.Context(), currentUser(r).AccountID, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

type inboxJSON struct {
	ID        parley.ID `json:"id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
}

func toInboxJSON(i conversations.Inbox) inboxJSON {
	return inboxJSON{ID: i.ID, Name: i.Name, Kind: string(i.Kind), CreatedAt: i.CreatedAt}
}

func handleCreateInbox(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		var in struct {
			Name string `json:"name"`
			Kind string `json:"kind"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		i := conversations.Inbox{AccountID: currentUser(r).AccountID, Name: in.Name, Kind: conversations.InboxKind(in.Kind), CreatedAt: d.Clock.Now()}
		if err := i.Validate(); err != nil {
			return err
		}
		i, err := d.Store.CreateInbox(r.Context(), i)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, toInboxJSON(i))
		return nil
	}
}

func handleListInboxes(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		inboxes, next, err := d.Store.ListInboxes(r.Context(), currentUser(r).AccountID, page)
		if err != nil {
			return err
		}
		writePage(w, inboxes, next, toInboxJSON)
		return nil
	}
}

type channelJSON struct {
	ID                  parley.ID `json:"id"`
	Carrier             string    `json:"carrier"`
	PhoneNumber         string    `json:"phone_number"`
	MessagingServiceSID string    `json:"messaging_service_sid,omitempty"`
	InboxID             parley.ID `json:"inbox_id"`
	AccountSID          string    `json:"account_sid"`
	// AccountID is AccountSID under the name every carrier shares.
	AccountID            string            `json:"account_id"`
	Options              map[string]string `json:"options,omitempty"`
	CarrierHandlesOptOut bool              `json:"carrier_handles_optout"`
	MessagesPerSecond    float64           `json:"messages_per_second"`
	InboundWebhookURL    string            `json:"inbound_webhook_url"`
	StatusWebhookURL     string            `json:"status_webhook_url"`
	// WebhookAuthentication says how the carrier's webhooks are checked:
	// "signature", or for a carrier that signs nothing (Bandwidth)
	// "basic_auth_and_url_token", which is weaker.
	WebhookAuthentication string    `json:"webhook_authentication"`
	CreatedAt             time.Time `json:"created_at"`
	// Status is connected or disconnected; a disconnected channel stays
	// listed, as its conversations and history do.
	Status         string     `json:"status"`
	DisconnectedAt *time.Time `json:"disconnected_at"`
}

// toChannelJSON never includes the auth token.
func (d *Deps) toChannelJSON(c conversations.Channel) channelJSON {
	inbound, status := c.WebhookURLs(d.PublicURL)
	out := channelJSON{ID: c.ID, Carrier: c.Carrier, PhoneNumber: c.PhoneNumber, MessagingServiceSID: c.MessagingServiceSID,
		InboxID: c.InboxID, AccountSID: c.CarrierAccountID, AccountID: c.CarrierAccountID, Options: c.Options, CarrierHandlesOptOut: c.CarrierHandlesOptOut, MessagesPerSecond: c.MessagesPerSecond,
		InboundWebhookURL: inbound, StatusWebhookURL: status, CreatedAt: c.CreatedAt, WebhookAuthentication: "signature",
		Status: "connected", DisconnectedAt: c.DisconnectedAt}
	if !c.Connected() {
		out.Status = "disconnected"
	}
	if c.WeakWebhookAuth() {
		out.WebhookAuthentication = "basic_auth_and_url_token"
	}
	return out
}

func handleCreateChannel(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		var in struct {
			Carrier              string            `json:"carrier"`
			PhoneNumber          string            `json:"phone_number"`
			InboxID              parley.ID         `json:"inbox_id"`
			AccountSID           string            `json:"account_sid"`
			AccountID            string            `json:"account_id"`
			AuthToken            string            `json:"auth_token"`
			WebhookSecret        string            `json:"webhook_secret"`
			Options              map[string]string `json:"options"`
			MessagingServiceSID  string            `json:"messaging_service_sid"`
			CarrierHandlesOptOut bool              `json:"carrier_handles_optout"`
			MessagesPerSecond    float64           `json:"messages_per_second"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		account := in.AccountSID
		switch {
		case account == "":
			account = in.AccountID
		case in.AccountID != "" && in.AccountID != account:
			return parley.Invalid(map[string]string{"account_id": "differs from account_sid: give one of them"})
		}
		c := conversations.Channel{AccountID: currentUser(r).AccountID, InboxID: in.InboxID, Carrier: in.Carrier,
			PhoneNumber: in.PhoneNumber, MessagingServiceSID: in.MessagingServiceSID, CarrierAccountID: account,
			WebhookSecret: in.WebhookSecret, Options: in.Options,
			AuthToken: in.AuthToken, CarrierHandlesOptOut: in.CarrierHandlesOptOut, MessagesPerSecond: in.MessagesPerSecond, CreatedAt: d.Clock.Now()}
		c, err := conversations.AddChannel(r.Context(), d.Store, d.Carrier, c, d.Clock.Now())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, d.toChannelJSON(c))
		return nil
	}
}

func handleListChannels(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		chans, next, err := d.Store.ListChannels(r.Context(), currentUser(r).AccountID, page)
		if err != nil {
			return err
		}
		writePage(w, chans, next, d.toChannelJSON)
		return nil
	}
}

// handlePatchChannel changes a channel (conversations.ChangeChannel).
func handlePatchChannel(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := requireAdmin(r); err != nil {
			return err
		}
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var in struct {
			AuthToken            *string    `json:"auth_token"`
			WebhookSecret        *string    `json:"webhook_secret"`
			InboxID              *parley.ID `json:"inbox_id"`
			MessagesPerSecond    *float64   `json:"messages_per_second"`
			CarrierHandlesOptOut *bool      `json:"carrier_handles_optout"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		p := conversations.ChannelPatch{AuthToken: in.AuthToken, WebhookSecret: in.WebhookSecret, InboxID: in.InboxID, MessagesPerSecond: in.MessagesPerSecond,
			CarrierHandlesOptOut: in.CarrierHandlesOptOut}
		c, err := conversations.ChangeChannel(r.Context(), d.Store, d.Carrier, currentUser(r).AccountID, id, p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, d.toChannelJSON(c))
		return nil
	}
}

// handleDeleteChannel disconnects a channel; its history stays.
func handleDeleteChannel(d *Deps) apiFunc {
	return adminDelete(func(ctx context.Context, accountID, id parley.ID) error {
		return d.Store.DisconnectChannel(ctx, accountID, id, d.Clock.Now())
	})
}
