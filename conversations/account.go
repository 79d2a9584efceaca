package conversations

import (
	"context"
	"net/mail"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/optout"
)

// Account is a tenant. Every other row belongs to exactly one account.
type Account struct {
	ID        parley.ID
	Name      string
	Settings  Settings
	CreatedAt time.Time
}

// Settings are an account's conversation settings.
type Settings struct {
	AllowAutoAssignment bool
	HelpText            string
	OptOutReply         string
	OptInReply          string
	Keywords            optout.Keywords
	// Languages are the keyword packs besides English (HelpText to
	// Keywords above), which is always on.
	Languages Languages
	// QuietHours holds campaign texts inside a local-time window; nil: none.
	QuietHours *QuietHours
	// RequireClosingTag refuses a resolve or close that leaves the episode
	// without a final tag (ClosingTagRequired).
	RequireClosingTag bool
}

// DefaultSettings are a new account's settings: carrier-style confirmation
// texts, the CTIA-required HELP content and the standard keyword lists.
func DefaultSettings(accountName string) Settings {
	return Settings{
		HelpText: accountName + ": reply STOP to unsubscribe. Msg&data rates may apply. " +
			"For help contact us at the number you texted.",
		OptOutReply: "You have been unsubscribed and will receive no more messages. Reply START to resubscribe.",
		OptInReply:  "You have been resubscribed. Reply STOP to unsubscribe, HELP for help.",
		Keywords:    optout.DefaultKeywords(),
		Languages:   Languages{Spanish: DefaultSpanish(accountName)},
	}
}

// SettingsPatch changes some settings; nil fields are left alone.
type SettingsPatch struct {
	AllowAutoAssignment *bool
	HelpText            *string
	OptOutReply         *string
	OptInReply          *string
	Keywords            *KeywordsPatch
	Languages           *LanguagesPatch
	// QuietHours: nil leaves them, a nil *QuietHours removes them.
	QuietHours        **QuietHours
	RequireClosingTag *bool
}

// KeywordsPatch replaces some of the keyword lists; a list left out keeps
// its keywords, so changing the opt-out words never switches HELP off.
type KeywordsPatch struct {
	OptOut *[]string `json:"opt_out"`
	OptIn  *[]string `json:"opt_in"`
	Help   *[]string `json:"help"`
}

// apply merges the patch into k, naming its lists "<name>.<list>". Every
// list must keep at least one keyword: carriers require STOP, START and
// HELP to work on every number. Settings.validateKeywords checks the
// result.
func (p KeywordsPatch) apply(k optout.Keywords, name string, fields map[string]string) optout.Keywords {
	for _, l := range []struct {
		name string
		src  *[]string
		dst  *[]string
	}{{"opt_out", p.OptOut, &k.OptOut}, {"opt_in", p.OptIn, &k.OptIn}, {"help", p.Help, &k.Help}} {
		if l.src == nil {
			continue
		}
		if len(*l.src) == 0 {
			fields[name+"."+l.name] = "must list at least one keyword"
			continue
		}
		*l.dst = *l.src
	}
	return k
}

// Apply returns s with the patch applied, or an EINVALID error.
func (p SettingsPatch) Apply(s Settings) (Settings, error) {
	fields := map[string]string{}
	setText := func(dst *string, v *string, name string) {
		if v == nil {
			return
		}
		if strings.TrimSpace(*v) == "" {
			fields[name] = "must not be empty"
			return
		}
		if len(*v) > maxAutoReply {
			fields[name] = "must be at most 1600 bytes"
			return
		}
		*dst = *v
	}
	if p.AllowAutoAssignment != nil {
		s.AllowAutoAssignment = *p.AllowAutoAssignment
	}
	setText(&s.HelpText, p.HelpText, "help_text")
	setText(&s.OptOutReply, p.OptOutReply, "opt_out_reply")
	setText(&s.OptInReply, p.OptInReply, "opt_in_reply")
	if p.Keywords != nil {
		s.Keywords = p.Keywords.apply(s.Keywords, "keywords", fields)
	}
	if p.Languages != nil {
		s.Languages = p.Languages.apply(s.Languages, fields, setText)
	}
	if p.Keywords != nil || p.Languages != nil {
		s.validateKeywords(p.Languages != nil && p.Languages.Spanish != nil && p.Languages.Spanish.Keywords != nil, fields)
	}
	if p.QuietHours != nil {
		if q := *p.QuietHours; q != nil {
			if err := q.Validate(); err != nil {
				for k, v := range err.(*parley.Error).Fields {
					fields[k] = v
				}
			}
		}
		s.QuietHours = *p.QuietHours
	}
	if p.RequireClosingTag != nil {
		s.RequireClosingTag = *p.RequireClosingTag
	}
	if len(fields) > 0 {
		return s, parley.Invalid(fields)
	}
	return s, nil
}

// maxAutoReply is Twilio's body limit: an auto-reply must fit in one send.
const maxAutoReply = 1600

// Role is a user's role.
type Role string

// Roles.
const (
	RoleAdmin Role = "admin"
	RoleAgent Role = "agent"
)

// User is a member of an account's staff.
type User struct {
	ID                   parley.ID
	AccountID            parley.ID
	Email                string
	Name                 string
	Role                 Role
	ViewAllConversations bool
	Available            bool
	// Active is false once an admin deactivated the user (offboarding).
	Active    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CheckActive is asked by every way of authenticating (API tokens, web
// sessions) once it has found its user: a deactivated user is cut off at
// once, whatever credentials they still hold. EUNAUTHENTICATED when so.
func (u User) CheckActive() error {
	if !u.Active {
		return parley.Errorf(parley.EUNAUTHENTICATED, "this user has been deactivated")
	}
	return nil
}

// IsAdmin reports whether u administers its account.
func (u User) IsAdmin() bool { return u.Role == RoleAdmin }

// CanViewAll reports whether u sees every conversation of the account.
func (u User) CanViewAll() bool { return u.IsAdmin() || u.ViewAllConversations }

// ManagesTokensOf reports whether u may list, issue and revoke the API
// tokens of user owner: admins anyone's in the account, others their own.
func (u User) ManagesTokensOf(owner parley.ID) bool { return u.IsAdmin() || u.ID == owner }

// NewUser is the input for creating a user.
type NewUser struct {
	Email                string
	Name                 string
	Role                 Role
	ViewAllConversations bool
}

// Validate normalises and checks a new user.
func (n *NewUser) Validate() error {
	fields := map[string]string{}
	n.Email = strings.TrimSpace(n.Email)
	n.Name = strings.TrimSpace(n.Name)
	if a, err := mail.ParseAddress(n.Email); err != nil || a.Address != n.Email {
		fields["email"] = "must be an email address"
	} else {
		n.Email = strings.ToLower(n.Email)
	}
	if n.Name == "" {
		fields["name"] = "is required"
	} else if len(n.Name) > 200 {
		fields["name"] = "must be at most 200 bytes"
	}
	if n.Role == "" {
		n.Role = RoleAgent
	}
	if n.Role != RoleAdmin && n.Role != RoleAgent {
		fields["role"] = `must be "admin" or "agent"`
	}
	if len(fields) > 0 {
		return parley.Invalid(fields)
	}
	return nil
}

// UserPatch changes some of a user's attributes; nil fields are left alone.
type UserPatch struct {
	Name                 *string
	Role                 *Role
	ViewAllConversations *bool
	Available            *bool
	// Active false deactivates the user: their tokens stop working and
	// their conversations go back to the queue. True reactivates them,
	// and their unrevoked tokens work again.
	Active *bool
}

// Authorize checks that actor, an admin (only admins change users), may
// apply the patch to user userID: never deactivating or reactivating
// themself (the account would lose the admin doing it, and with the last
// one, every admin).
func (p UserPatch) Authorize(actor User, userID parley.ID) error {
	if p.Active == nil {
		return nil
	}
	if userID == actor.ID {
		return parley.Invalid(map[string]string{"active": "you cannot deactivate or reactivate yourself; another admin can"})
	}
	return nil
}

// Deactivates reports whether the patch turns an active user u inactive.
func (p UserPatch) Deactivates(u User) bool { return p.Active != nil && !*p.Active && u.Active }

// Validate checks the patch.
func (p UserPatch) Validate() error {
	fields := map[string]string{}
	if p.Role != nil && *p.Role != RoleAdmin && *p.Role != RoleAgent {
		fields["role"] = `must be "admin" or "agent"`
	}
	if p.Name != nil && strings.TrimSpace(*p.Name) == "" {
		fields["name"] = "must not be empty"
	}
	if len(fields) > 0 {
		return parley.Invalid(fields)
	}
	return nil
}

// Token is an API token's public face. Only its SHA-256 hash is stored;
// the secret is shown once, when it is created.
type Token struct {
	ID        parley.ID
	AccountID parley.ID
	UserID    parley.ID
	Prefix    string
	CreatedAt time.Time
	RevokedAt *time.Time
	// LastUsedAt is when it last authenticated, to TokenUseResolution.
	LastUsedAt *time.Time
}

// ReasonUserDeactivated is the reason of the assignee change that puts a
// deactivated user's conversation back in the queue.
const ReasonUserDeactivated = "user_deactivated"

// ReleasedOnDeactivation are the statuses of the conversations a
// deactivated user gives up: every one that could come back to its
// assignee. A closed one starts afresh, unassigned, when the contact
// texts again, so it keeps who handled it.
var ReleasedOnDeactivation = []Status{StatusNew, StatusOpen, StatusPending, StatusSnoozed, StatusResolved}

// UserUpdater is what ChangeUser needs of the store.
type UserUpdater interface {
	UpdateUser(ctx context.Context, accountID, userID parley.ID, p UserPatch, at time.Time) (User, error)
}

// ChangeUser applies admin actor's patch to user userID of the actor's
// account once it is valid and allowed (never deactivating oneself).
func ChangeUser(ctx context.Context, s UserUpdater, actor User, userID parley.ID, p UserPatch, at time.Time) (User, error) {
	if err := p.Validate(); err != nil {
		return User{}, err
	}
	if err := p.Authorize(actor, userID); err != nil {
		return User{}, err
	}
	return s.UpdateUser(ctx, actor.AccountID, userID, p, at)
}
