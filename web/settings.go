package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/optout"
)

// The admin settings: the account's conversation settings, its users,
// inboxes and channels. Each page calls the domain as the JSON API's
// handlers in gateway/admin.go do. Lists are panes, so a form sent in the
// background refreshes them.

func (s *Server) settingsRoutes(r *mux.Router) {
	r.Handle("/settings", s.adminPage(s.settingsPage)).Methods(http.MethodGet)
	r.Handle("/settings", s.adminPage(s.saveSettings)).Methods(http.MethodPost)
	r.Handle("/settings/users", s.adminPage(s.usersPage)).Methods(http.MethodGet)
	r.Handle("/settings/users", s.adminPage(s.inviteUser)).Methods(http.MethodPost)
	r.Handle("/settings/users/{id:[0-9]+}", s.adminPage(s.changeUser(userEdit))).Methods(http.MethodPost)
	r.Handle("/settings/users/{id:[0-9]+}/active", s.adminPage(s.changeUser(userActive))).Methods(http.MethodPost)
	r.Handle("/settings/users/{id:[0-9]+}/password-link", s.adminPage(s.newPasswordLink)).Methods(http.MethodPost)
	r.Handle("/settings/inboxes", s.adminPage(s.inboxesPage)).Methods(http.MethodGet)
	r.Handle("/settings/inboxes", s.adminPage(s.createInbox)).Methods(http.MethodPost)
	r.Handle("/settings/channels", s.adminPage(s.channelsPage)).Methods(http.MethodGet)
	r.Handle("/settings/channels", s.adminPage(s.connectChannel)).Methods(http.MethodPost)
	r.Handle("/settings/channels/{id:[0-9]+}/token", s.adminPage(s.rotateChannelToken)).Methods(http.MethodPost)
	r.Handle("/settings/channels/{id:[0-9]+}/disconnect", s.adminPage(s.disconnectChannel)).Methods(http.MethodPost)
}

// adminPage wraps a page only admins may see or post to: anyone else
// gets a 403 page.
func (s *Server) adminPage(h handlerFunc) http.Handler {
	return s.page(func(w http.ResponseWriter, r *http.Request) error {
		if !me(r).IsAdmin() {
			return parley.Errorf(parley.EFORBIDDEN, "only admins can see and change the settings")
		}
		return h(w, r)
	})
}

// settingsPageSize is how many users, inboxes or channels a page lists;
// ?cursor= goes on.
var settingsPageSize = conversations.Page{Limit: conversations.MaxPageLimit}

func settingsList(r *http.Request) conversations.Page {
	p := settingsPageSize
	p.Cursor = r.URL.Query().Get("cursor")
	return p
}

// ticked reports whether a checkbox was ticked.
func ticked(r *http.Request, name string) bool { return r.PostFormValue(name) != "" }

// ---- conversation settings -------------------------------------------

type settingsData struct {
	Settings conversations.Settings
	// Keywords are the lists as typed: comma-separated.
	OptOutWords, OptInWords, HelpWords string
	// Spanish are the Spanish pack's lists as typed.
	Spanish keywordsTyped
	Quiet   conversations.QuietHours
}

// keywordsTyped are keyword lists as typed in a form: comma-separated.
type keywordsTyped struct{ OptOut, OptIn, Help string }

func typedKeywords(k optout.Keywords) keywordsTyped {
	return keywordsTyped{strings.Join(k.OptOut, ", "), strings.Join(k.OptIn, ", "), strings.Join(k.Help, ", ")}
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request) error {
	st, err := s.d.Store.GetSettings(r.Context(), me(r).AccountID)
	if err != nil {
		return err
	}
	d := settingsData{Settings: st, OptOutWords: strings.Join(st.Keywords.OptOut, ", "),
		OptInWords: strings.Join(st.Keywords.OptIn, ", "), HelpWords: strings.Join(st.Keywords.Help, ", "),
		Spanish: typedKeywords(st.Languages.Spanish.Keywords)}
	if st.QuietHours != nil {
		d.Quiet = *st.QuietHours
	}
	return s.render(w, r, "settings", "Settings", d)
}

// saveSettings applies one section's form as PATCH /v1/settings/conversations
// would apply the same fields.
func (s *Server) saveSettings(w http.ResponseWriter, r *http.Request) error {
	var p conversations.SettingsPatch
	switch r.PostFormValue("section") {
	case "assignment":
		on := ticked(r, "allow_auto_assignment")
		p.AllowAutoAssignment = &on
	case "replies":
		help, out, in := r.PostFormValue("help_text"), r.PostFormValue("opt_out_reply"), r.PostFormValue("opt_in_reply")
		p.HelpText, p.OptOutReply, p.OptInReply = &help, &out, &in
	case "keywords":
		out, in, help := keywordList(r.PostFormValue("opt_out")), keywordList(r.PostFormValue("opt_in")), keywordList(r.PostFormValue("help"))
		p.Keywords = &conversations.KeywordsPatch{OptOut: &out, OptIn: &in, Help: &help}
	case "spanish":
		p.Languages = &conversations.LanguagesPatch{Spanish: spanishPatch(r)}
	case "quiet_hours":
		var q *conversations.QuietHours
		if ticked(r, "quiet") {
			q = &conversations.QuietHours{Start: r.PostFormValue("start"), End: r.PostFormValue("end"),
				Timezone: strings.TrimSpace(r.PostFormValue("timezone"))}
		}
		p.QuietHours = &q
	case "closing_tag":
		on := ticked(r, "require_closing_tag")
		p.RequireClosingTag = &on
	default:
		return parley.Errorf(parley.EINVALID, "this form names no settings")
	}
	if _, err := s.d.Store.UpdateSettings(r.Context(), me(r).AccountID, p.Apply, s.d.Clock.Now()); err != nil {
		return err
	}
	if p.RequireClosingTag != nil { // saved from Settings → Tags
		return done(w, r, "/settings/tags")
	}
	return done(w, r, "/settings")
}

// spanishPatch is the Spanish section's form: the switch, the replies and
// the keyword lists, all sent.
func spanishPatch(r *http.Request) *conversations.LanguagePackPatch {
	on := ticked(r, "spanish")
	help, out, in := r.PostFormValue("es_help_text"), r.PostFormValue("es_opt_out_reply"), r.PostFormValue("es_opt_in_reply")
	outWords, inWords, helpWords := keywordList(r.PostFormValue("es_opt_out")), keywordList(r.PostFormValue("es_opt_in")), keywordList(r.PostFormValue("es_help"))
	return &conversations.LanguagePackPatch{Enabled: &on, HelpText: &help, OptOutReply: &out, OptInReply: &in,
		Keywords: &conversations.KeywordsPatch{OptOut: &outWords, OptIn: &inWords, Help: &helpWords}}
}

// keywordList splits a typed keyword list at commas and line ends.
func keywordList(s string) []string {
	out := []string{}
	for _, w := range strings.FieldsFunc(s, func(c rune) bool { return c == ',' || c == '\n' || c == '\r' }) {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// ---- users -------------------------------------------------------------

type usersData struct {
	Users []conversations.User
	Next  string
	// Link is a set-password link just made for LinkUser: shown once.
	Link     string
	LinkUser conversations.User
	// Invite is the invite form as typed when it was refused, and Error
	// what to fix.
	Invite conversations.NewUser
	Error  string
}

func (s *Server) loadUsers(r *http.Request) (usersData, error) {
	users, next, err := s.d.Store.ListUsers(r.Context(), me(r).AccountID, settingsList(r))
	return usersData{Users: users, Next: next}, err
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request) error {
	d, err := s.loadUsers(r)
	if err != nil {
		return err
	}
	return s.render(w, r, "settings_users", "Users · Settings", d)
}

// showPasswordLink answers a post with the users page and the new link
// on it: the link's secret is never stored, so it is shown this once.
func (s *Server) showPasswordLink(w http.ResponseWriter, r *http.Request, u conversations.User, link string) error {
	d, err := s.loadUsers(r)
	if err != nil {
		return err
	}
	d.Link, d.LinkUser = link, u
	return s.render(w, r, "settings_users", "Users · Settings", d)
}

// inviteUser creates a user as POST /v1/users does, without the API
// token (nobody would hold it), and shows a link for them to choose a
// password. A refused invite comes back as typed, with what to fix.
func (s *Server) inviteUser(w http.ResponseWriter, r *http.Request) error {
	nu := conversations.NewUser{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"),
		Role: conversations.Role(r.PostFormValue("role")), ViewAllConversations: ticked(r, "view_all_conversations")}
	inv, err := conversations.InviteUser(r.Context(), s.d.Sessions, s.d.PublicURL, me(r).AccountID, nu, false, s.d.Clock.Now())
	if err != nil && !parley.IsKind(err, parley.EINVALID) && !parley.IsKind(err, parley.ECONFLICT) {
		return err
	}
	if err == nil {
		return s.showPasswordLink(w, r, inv.User, inv.Link.URL)
	}
	d, lerr := s.loadUsers(r)
	if lerr != nil {
		return lerr
	}
	d.Invite, d.Error = nu, errorText(err)
	return s.renderStatus(w, r, errorStatus(err), "settings_users", "Users · Settings", d)
}

// newPasswordLink makes another set-password link for a user (a lost
// first one, a forgotten password).
func (s *Server) newPasswordLink(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u, err := s.d.Store.GetUser(r.Context(), me(r).AccountID, id)
	if err != nil {
		return err
	}
	if err := u.CheckActive(); err != nil {
		return parley.Errorf(parley.EINVALID, "%s is deactivated: reactivate them first", u.Name)
	}
	link, err := s.issuePasswordLink(r.Context(), u)
	if err != nil {
		return err
	}
	return s.showPasswordLink(w, r, u, link)
}

// issuePasswordLink stores a one-time set-password link for u and returns
// its address.
func (s *Server) issuePasswordLink(ctx context.Context, u conversations.User) (string, error) {
	link, err := conversations.NewPasswordLink(ctx, s.d.Sessions, s.d.PublicURL, u, s.d.Clock.Now())
	return link.URL, err
}

// changeUser is a post that changes the {id} user as PATCH /v1/users/{id}
// does, with the patch its form gives.
func (s *Server) changeUser(patch func(r *http.Request) conversations.UserPatch) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if _, err := conversations.ChangeUser(r.Context(), s.d.Store, me(r), id, patch(r), s.d.Clock.Now()); err != nil {
			return err
		}
		return done(w, r, "/settings/users")
	}
}

// userEdit is a user row's form: role, view-all and availability.
func userEdit(r *http.Request) conversations.UserPatch {
	role := conversations.Role(r.PostFormValue("role"))
	viewAll, available := ticked(r, "view_all_conversations"), ticked(r, "available")
	return conversations.UserPatch{Role: &role, ViewAllConversations: &viewAll, Available: &available}
}

// userActive deactivates or reactivates; the domain refuses it for oneself.
func userActive(r *http.Request) conversations.UserPatch {
	active := r.PostFormValue("active") == "true"
	return conversations.UserPatch{Active: &active}
}

// ---- inboxes -----------------------------------------------------------

type inboxesData struct {
	Inboxes []conversations.Inbox
	Next    string
	Kinds   []conversations.InboxKind
}

var inboxKinds = []conversations.InboxKind{conversations.InboxGeneral, conversations.InboxSupport, conversations.InboxSales, conversations.InboxSuccess}

func (s *Server) inboxesPage(w http.ResponseWriter, r *http.Request) error {
	inboxes, next, err := s.d.Store.ListInboxes(r.Context(), me(r).AccountID, settingsList(r))
	if err != nil {
		return err
	}
	return s.render(w, r, "settings_inboxes", "Inboxes · Settings", inboxesData{Inboxes: inboxes, Next: next, Kinds: inboxKinds})
}

func (s *Server) createInbox(w http.ResponseWriter, r *http.Request) error {
	i := conversations.Inbox{AccountID: me(r).AccountID, Name: r.PostFormValue("name"),
		Kind: conversations.InboxKind(r.PostFormValue("kind")), CreatedAt: s.d.Clock.Now()}
	if err := i.Validate(); err != nil {
		return err
	}
	if _, err := s.d.Store.CreateInbox(r.Context(), i); err != nil {
		return err
	}
	return done(w, r, "/settings/inboxes")
}
