package web

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// The form posts of an open conversation. Each goes through the domain
// calls the JSON API's handlers make (gateway/staff.go), so the two
// cannot disagree on what is allowed; the store re-checks each rule in
// the action's transaction. Success returns to the form's "next" (the
// thread, or the next conversation for "resolve and next").

func (s *Server) actionRoutes(r *mux.Router) {
	post := func(action string, h handlerFunc) {
		r.Handle("/inbox/conversations/{id}/"+action, s.page(h)).Methods(http.MethodPost)
	}
	post("reply", s.reply)
	post("note", s.note)
	post("assign", s.assign)
	post("priority", s.priority)
	post("record-opt-out", s.answerRevocation(conversations.RevocationOptedOut))
	post("dismiss-revocation", s.answerRevocation(conversations.RevocationDismissed))
	for _, a := range []conversations.Action{conversations.ActionResolve, conversations.ActionReopen,
		conversations.ActionClose, conversations.ActionPending, conversations.ActionSnooze} {
		post(string(a), s.statusAction(a))
	}
}

// answerRevocation answers the thread's revocation flag as the API's
// record-opt-out and dismiss-revocation do.
func (s *Server) answerRevocation(a conversations.RevocationAnswer) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		u := me(r)
		if _, err := s.d.Revocations.AnswerRevocation(r.Context(), u.AccountID, id, u, a, s.d.Clock.Now()); err != nil {
			return err
		}
		return done(w, r, r.PostFormValue("next"))
	}
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u := me(r)
	reply := conversations.Reply{AccountID: u.AccountID, ConversationID: id, Author: u, Body: r.PostFormValue("body"), At: s.d.Clock.Now()}
	if err := reply.Validate(); err != nil {
		return err
	}
	if _, err := s.d.Staff.QueueReply(r.Context(), reply); err != nil {
		return err
	}
	return done(w, r, r.PostFormValue("next"))
}

func (s *Server) note(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u := me(r)
	n := conversations.Note{AccountID: u.AccountID, ConversationID: id, Author: u, Body: r.PostFormValue("body"), At: s.d.Clock.Now()}
	if err := n.Validate(); err != nil {
		return err
	}
	if _, err := s.d.Staff.AddNote(r.Context(), n); err != nil {
		return err
	}
	return done(w, r, r.PostFormValue("next"))
}

// assign sets the assignee_id field's user; an empty one unassigns.
func (s *Server) assign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u := me(r)
	a := conversations.Assignment{AccountID: u.AccountID, ConversationID: id, Actor: u, At: s.d.Clock.Now()}
	if raw := r.PostFormValue("assignee_id"); raw != "" {
		to, err := parley.ParseID(raw)
		if err != nil {
			return parley.Invalid(map[string]string{"assignee": "must be one of the account's users"})
		}
		a.AssigneeID = &to
	}
	if _, err := s.d.Staff.Assign(r.Context(), a); err != nil {
		return err
	}
	return done(w, r, r.PostFormValue("next"))
}

func (s *Server) priority(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p := conversations.Priority(r.PostFormValue("priority"))
	if !p.Valid() {
		return parley.Invalid(map[string]string{"priority": "must be one of none, low, medium, high, urgent"})
	}
	u := me(r)
	if _, err := s.d.Staff.SetPriority(r.Context(), conversations.PriorityChange{AccountID: u.AccountID, ConversationID: id,
		Actor: u, Priority: p, At: s.d.Clock.Now()}); err != nil {
		return err
	}
	return done(w, r, r.PostFormValue("next"))
}

// statusAction resolves, reopens, closes, sets pending or snoozes. A
// snooze's "until" comes from a datetime-local field, read in the zone
// the script puts in "tz" (the browser's), or in UTC without script, as
// the form then says.
func (s *Server) statusAction(action conversations.Action) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		u := me(r)
		c := conversations.StatusChange{AccountID: u.AccountID, ConversationID: id, Actor: u, Action: action, At: s.d.Clock.Now()}
		if action == conversations.ActionSnooze {
			if raw := r.PostFormValue("until"); raw != "" {
				zone, err := formZone(r.PostFormValue("tz"))
				if err != nil {
					return err
				}
				until, err := conversations.ParseSnoozeUntil(raw, zone)
				if err != nil {
					return err
				}
				c.Until = &until
			}
		}
		if action == conversations.ActionResolve || action == conversations.ActionClose {
			if err := s.closingTag(r, &c); err != nil {
				return err
			}
		}
		if err := c.Validate(); err != nil {
			return err
		}
		if _, err := s.d.Staff.ChangeStatus(r.Context(), c); err != nil {
			return err
		}
		return done(w, r, r.PostFormValue("next"))
	}
}

// formZone is the time zone a form's local times are in: the IANA name
// the script sends, UTC when there is none.
func formZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	zone, err := time.LoadLocation(name)
	if err != nil {
		return nil, parley.Invalid(map[string]string{"tz": "must be a time zone such as Europe/Paris"})
	}
	return zone, nil
}

// closingTag reads a resolve or close form's tag_id, the tag to close
// with, into c, and refuses leaving without a tag when the account
// requires one (the store checks again in the change's transaction).
func (s *Server) closingTag(r *http.Request, c *conversations.StatusChange) error {
	if raw := r.PostFormValue("tag_id"); raw != "" {
		id, err := parley.ParseID(raw)
		if err != nil {
			return parley.Invalid(map[string]string{"tag_id": "must be one of the account's tags"})
		}
		c.TagID = &id
		return nil
	}
	target, _ := c.Action.Target()
	return s.closingTagRefusal(r, target)
}
