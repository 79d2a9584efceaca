package web

import "github.com/gorilla/mux"

func (s *Server) settingsRoutes(r *mux.Router) {}
