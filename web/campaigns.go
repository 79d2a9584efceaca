package web

import "github.com/gorilla/mux"

func (s *Server) campaignRoutes(r *mux.Router) {}
