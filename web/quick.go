package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
)

// Quick message: one text to several numbers and contacts, as POST
// /v1/quick-messages sends it. The form posts plainly (no background
// send): the answer is the result page, which says what was queued and
// what was skipped and why.

func (s *Server) quickRoutes(r *mux.Router) {
	r.Handle("/quick", s.page(s.quick)).Methods(http.MethodGet)
	r.Handle("/quick", s.page(s.sendQuick)).Methods(http.MethodPost)
}

// maxPickedContacts bounds the contacts a form or link may pick one by
// one (each is read on its own): more is refused, not cut.
const maxPickedContacts = 50

// pickedContacts reads the contact_id values of a form or link: the ids,
// once each, those that name nothing left out. More than
// maxPickedContacts is EINVALID.
func pickedContacts(raw []string) ([]parley.ID, error) {
	var ids []parley.ID
	seen := map[parley.ID]bool{}
	for _, v := range raw {
		id, err := parley.ParseID(v)
		if err != nil || seen[id] {
			continue
		}
		if len(ids) == maxPickedContacts {
			return nil, parley.Errorf(parley.EINVALID, "at most %d contacts can be picked one by one; for more, type their numbers or use a campaign's filter", maxPickedContacts)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	return ids, nil
}

// quickData is the quick message page: the form (as typed) and, after a
// send, its result.
type quickData struct {
	Channels  []conversations.Channel
	ChannelID parley.ID
	Body      string
	To        string
	// Picked are the contacts chosen (checked); Found those a search
	// offers besides.
	Picked []conversations.Contact
	Found  []conversations.Contact
	Search string
	Error  string
	Result *campaigns.QuickResult
}

// Reason says in words why a recipient was skipped.
func (quickData) Reason(reason string) string {
	switch reason {
	case campaigns.SkipOptedOut:
		return "Opted out: this number asked not to be texted"
	case campaigns.SkipInvalidNumber:
		return "Not a valid phone number"
	case campaigns.SkipNoPhone:
		return "The contact has no phone number"
	case campaigns.SkipAssigned:
		return "Its conversation is assigned to someone else"
	case campaigns.SkipNotAssigned:
		return "Its conversation is not assigned to you"
	}
	return strings.ReplaceAll(reason, "_", " ")
}

// quickForm loads what the form offers: the connected channels, the
// contacts picked (ids) and those a search found.
func (s *Server) quickForm(r *http.Request, picked []string, search string) (quickData, error) {
	ctx, u := r.Context(), me(r)
	d := quickData{Search: search}
	var err error
	if d.Channels, err = s.connectedChannels(ctx, u.AccountID); err != nil {
		return d, err
	}
	if len(d.Channels) == 1 {
		d.ChannelID = d.Channels[0].ID
	}
	ids, err := pickedContacts(picked)
	if err != nil {
		return d, err
	}
	seen := map[parley.ID]bool{}
	for _, id := range ids {
		c, err := s.d.Store.GetContact(ctx, u.AccountID, id)
		if parley.IsKind(err, parley.ENOTFOUND) {
			continue
		} else if err != nil {
			return d, err
		}
		seen[id] = true
		d.Picked = append(d.Picked, c)
	}
	if search != "" {
		f := conversations.ContactFilter{AccountID: u.AccountID, Query: search, Page: conversations.Page{Limit: 20}}
		if err := f.Validate(); err != nil {
			return d, err
		}
		found, _, err := s.d.Store.FindContacts(ctx, f)
		if err != nil {
			return d, err
		}
		for _, c := range found {
			if !seen[c.ID] {
				d.Found = append(d.Found, c)
			}
		}
	}
	return d, nil
}

func (s *Server) quick(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	d, err := s.quickForm(r, q["contact_id"], strings.TrimSpace(q.Get("q")))
	if err != nil {
		return err
	}
	d.To = q.Get("to")
	return s.render(w, r, "quick", "Quick message", d)
}

// sendQuick sends the form as POST /v1/quick-messages does and answers
// with the result. A form the domain finds invalid comes back as typed,
// with what to fix.
func (s *Server) sendQuick(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return parley.Errorf(parley.EINVALID, "the form could not be read")
	}
	u := me(r)
	d, err := s.quickForm(r, r.PostForm["contact_id"], "")
	if err != nil {
		return err
	}
	d.Body, d.To = r.PostFormValue("body"), r.PostFormValue("to")
	d.ChannelID, _ = parley.ParseID(r.PostFormValue("channel_id"))
	q := campaigns.QuickMessage{AccountID: u.AccountID, Sender: u, ChannelID: d.ChannelID, Body: d.Body,
		To: splitEntries(d.To), At: s.d.Clock.Now()}
	for _, c := range d.Picked {
		q.ContactIDs = append(q.ContactIDs, c.ID)
	}
	res, err := q.Send(r.Context(), s.d.Quick)
	if parley.IsKind(err, parley.EINVALID) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		d.Error = quickErrorText(err)
		return s.render(w, r, "quick", "Quick message", d)
	}
	if err != nil {
		return err
	}
	d.Result = &res
	return s.render(w, r, "quick", "Quick message sent", d)
}

// quickErrorText says what to fix in the form's words.
func quickErrorText(err error) string {
	var e *parley.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return errorText(err)
	}
	labels := map[string]string{"channel_id": "Channel", "body": "Message", "to": "Recipients", "contact_ids": "Contacts"}
	var parts []string
	for _, k := range []string{"channel_id", "body", "to", "contact_ids"} {
		if msg, ok := e.Fields[k]; ok {
			parts = append(parts, labels[k]+": "+msg)
		}
	}
	if len(parts) == 0 {
		return errorText(err)
	}
	return strings.Join(parts, ". ") + "."
}
