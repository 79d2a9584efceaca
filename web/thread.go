package web

import "github.com/gorilla/mux"

// threadData is the thread and details panes of an open conversation.
type threadData struct{}

func (s *Server) threadRoutes(r *mux.Router) {}
