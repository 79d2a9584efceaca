package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley/conversations"
)

// The inbox is one page of three panes: the list (this file), the thread
// and its details (thread.go). /inbox shows the list alone;
// /inbox/conversations/{id} shows all three. Both keep the list's filters
// in the query string, and ?pane=list|thread|details renders one pane.

func (s *Server) inboxRoutes(r *mux.Router) {
	r.Handle("/inbox", s.page(s.inbox)).Methods(http.MethodGet)
	s.threadRoutes(r)
}

// inboxData is the inbox page's data: the list, and the open thread when
// one is open.
type inboxData struct {
	List   listData
	Thread *threadData
}

// listData is the conversation list pane.
type listData struct {
	Conversations []conversations.Conversation
}

// loadList reads the list pane for the request's filters.
func (s *Server) loadList(r *http.Request) (listData, error) {
	u := me(r)
	f := conversations.ConversationFilter{AccountID: u.AccountID, Page: conversations.Page{}.Normalize()}
	if !u.CanViewAll() {
		f.AssigneeID = u.ID
	}
	convs, _, err := s.d.Store.FindConversations(r.Context(), f)
	if err != nil {
		return listData{}, err
	}
	return listData{Conversations: convs}, nil
}

func (s *Server) inbox(w http.ResponseWriter, r *http.Request) error {
	list, err := s.loadList(r)
	if err != nil {
		return err
	}
	return s.render(w, r, "inbox", "Inbox", inboxData{List: list})
}
