package web

import "github.com/gorilla/mux"

// settingsRoutingRoutes: routing tables, contact types and outbound
// webhooks, the admin settings that shape where texts and events go.
func (s *Server) settingsRoutingRoutes(r *mux.Router) {}
