package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// Notifications: the signed-in user's list, unread first, kept live from
// the stream (notification.created), each marked read with a form.

func (s *Server) notificationRoutes(r *mux.Router) {
	r.Handle("/notifications", s.page(s.notifications)).Methods(http.MethodGet)
	r.Handle("/notifications/unread", s.page(s.unreadPane)).Methods(http.MethodGet)
	r.Handle("/notifications/{id:[0-9]+}/read", s.page(s.readNotification)).Methods(http.MethodPost)
}

// notificationsData is one page of the user's notifications, with what
// they point at.
type notificationsData struct {
	Notifications []conversations.Notification
	Next          string
	Cursor        string
	Unread        int
	// Conversations are the ones the notifications name that the user
	// may still see; Users names the actors.
	Conversations map[parley.ID]conversations.Conversation
	Users         map[parley.ID]string
}

// What says what a notification is about, in words.
func (d notificationsData) What(n conversations.Notification) string {
	actor := "Someone"
	if n.ActorID != nil && d.Users[*n.ActorID] != "" {
		actor = d.Users[*n.ActorID]
	}
	switch n.Kind {
	case conversations.NotifyAssigned:
		if n.ActorID == nil {
			return "A conversation was assigned to you"
		}
		return actor + " assigned a conversation to you"
	case conversations.NotifyInbound:
		return "New text in your conversation"
	case conversations.NotifyOutcomeSuggested:
		return "Outcome suggested in your conversation"
	case conversations.NotifyWebhookDisabled:
		return "A webhook endpoint was disabled after failing"
	case conversations.NotifyRevocationUnanswered:
		return "A contact may want no more texts: unanswered for a day"
	}
	return string(n.Kind)
}

// Conversation is the conversation n is about, when the user may see it.
func (d notificationsData) Conversation(n conversations.Notification) *conversations.Conversation {
	if c, ok := d.Conversations[n.ConversationID]; ok {
		return &c
	}
	return nil
}

func (s *Server) notifications(w http.ResponseWriter, r *http.Request) error {
	ctx, u := r.Context(), me(r)
	cursor := r.URL.Query().Get("cursor")
	ns, next, err := s.d.Staff.ListNotifications(ctx, u.AccountID, u.ID, conversations.Page{Cursor: cursor}.Normalize())
	if err != nil {
		return err
	}
	d := notificationsData{Notifications: ns, Next: next, Cursor: cursor, Conversations: map[parley.ID]conversations.Conversation{}}
	looked := map[parley.ID]bool{}
	for _, n := range ns {
		if n.ReadAt == nil {
			d.Unread++
		}
		if n.ConversationID == 0 || looked[n.ConversationID] {
			continue
		}
		looked[n.ConversationID] = true
		c, err := s.d.Store.GetConversation(ctx, u.AccountID, n.ConversationID)
		if parley.IsKind(err, parley.ENOTFOUND) {
			continue
		} else if err != nil {
			return err
		}
		if conversations.CanSee(u, c) {
			d.Conversations[c.ID] = c
		}
	}
	if d.Users, err = s.accountUserNames(ctx, u.AccountID); err != nil {
		return err
	}
	return s.render(w, r, "notifications", "Notifications", d)
}

// unreadCounted is how many unread notifications the menu's badge counts
// before it says "99+".
const unreadCounted = 99

// unreadBadge is the menu's count of u's unread notifications: they are
// listed unread first, so one page holds them all up to the limit.
func (s *Server) unreadBadge(ctx context.Context, u conversations.User) (string, error) {
	ns, _, err := s.d.Staff.ListNotifications(ctx, u.AccountID, u.ID, conversations.Page{Limit: unreadCounted + 1}.Normalize())
	if err != nil {
		return "", err
	}
	n := 0
	for _, x := range ns {
		if x.ReadAt == nil {
			n++
		}
	}
	switch {
	case n == 0:
		return "", nil
	case n > unreadCounted:
		return strconv.Itoa(unreadCounted) + "+", nil
	}
	return strconv.Itoa(n), nil
}

// unreadPane is the menu's badge alone (the layout's pane:unread), which
// the script re-fetches when a notification arrives or is read.
func (s *Server) unreadPane(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	q.Set("pane", "unread")
	r.URL.RawQuery = q.Encode()
	return s.render(w, r, "notifications", "Notifications", nil)
}

func (s *Server) readNotification(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u := me(r)
	if _, err := s.d.Staff.MarkNotificationRead(r.Context(), u.AccountID, u.ID, id, s.d.Clock.Now()); err != nil {
		return err
	}
	return done(w, r, "")
}
