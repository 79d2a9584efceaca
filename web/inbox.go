package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley/conversations"
)

func (s *Server) inboxRoutes(r *mux.Router) {
	r.Handle("/inbox", s.page(s.inbox)).Methods(http.MethodGet)
}

type inboxData struct {
	Conversations []conversations.Conversation
}

func (s *Server) inbox(w http.ResponseWriter, r *http.Request) error {
	u := me(r)
	f := conversations.ConversationFilter{AccountID: u.AccountID, Page: conversations.Page{}.Normalize()}
	if !u.CanViewAll() {
		f.AssigneeID = u.ID
	}
	convs, _, err := s.d.Store.FindConversations(r.Context(), f)
	if err != nil {
		return err
	}
	return s.render(w, r, "inbox", "Inbox", inboxData{Conversations: convs})
}
