package web

import "github.com/gorilla/mux"

func (s *Server) notificationRoutes(r *mux.Router) {}
