package web

import "github.com/gorilla/mux"

func (s *Server) quickRoutes(r *mux.Router) {}
