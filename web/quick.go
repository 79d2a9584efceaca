package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
)

// Quick message: one text to several numbers and contacts, as POST
// /v1/quick-messages sends it. The form posts plainly (no background
// send) and is answered with a redirect to the result page, which says
// what was queued and what was skipped and why: reloading it sends
// nothing again.

func (s *Server) quickRoutes(r *mux.Router) {
	r.Handle("/quick", s.page(s.quick)).Methods(http.MethodGet)
	r.Handle("/quick", s.page(s.sendQuick)).Methods(http.MethodPost)
	r.Handle("/quick/sent", s.page(s.quickSent)).Methods(http.MethodGet)
}

// maxQuickResult bounds the entries a result address may name.
const maxQuickResult = 1000

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

// sendQuick sends the form as POST /v1/quick-messages does and redirects
// to the result's own address (quickSent), so a reload sends nothing
// again. A form the domain finds invalid comes back as typed,
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
		d.Error = quickErrorText(err)
		return s.renderStatus(w, r, http.StatusUnprocessableEntity, "quick", "Quick message", d)
	}
	if err != nil {
		return err
	}
	return done(w, r, quickResultPath(res))
}

// quickResultPath is the result page's address: the conversations texted
// (by id) and the recipients skipped, each as its reason code and what
// was typed or found ("opted_out:+14155550602").
func quickResultPath(res campaigns.QuickResult) string {
	q := url.Values{}
	for _, m := range res.Messages {
		q.Add("c", m.ConversationID.String())
	}
	for _, sk := range res.Skipped {
		q.Add("s", sk.Reason+":"+sk.To)
	}
	return "/quick/sent?" + q.Encode()
}

// quickSkipReasons are the reason codes a result address may carry.
var quickSkipReasons = map[string]bool{campaigns.SkipOptedOut: true, campaigns.SkipInvalidNumber: true,
	campaigns.SkipNoPhone: true, campaigns.SkipAssigned: true, campaigns.SkipNotAssigned: true}

// quickSent shows a quick message's result from its address. The
// conversations are read again, each only if the person may see it;
// entries that are not ids or known reasons are left out.
func (s *Server) quickSent(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	res := &campaigns.QuickResult{}
	for i, raw := range q["c"] {
		if i == maxQuickResult {
			break
		}
		id, err := parley.ParseID(raw)
		if err != nil {
			continue
		}
		c, err := conversations.Visible(r.Context(), s.d.Store, me(r), id)
		if parley.IsKind(err, parley.ENOTFOUND) || parley.IsKind(err, parley.EFORBIDDEN) {
			continue
		} else if err != nil {
			return err
		}
		res.Messages = append(res.Messages, campaigns.QuickSent{To: c.ContactPhone, ConversationID: c.ID})
	}
	for i, raw := range q["s"] {
		if i == maxQuickResult {
			break
		}
		reason, to, ok := strings.Cut(raw, ":")
		if !ok || !quickSkipReasons[reason] {
			continue
		}
		res.Skipped = append(res.Skipped, campaigns.QuickSkip{To: to, Reason: reason})
	}
	return s.render(w, r, "quick", "Quick message sent", quickData{Result: res})
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
			if sentence, ok := fieldSentences[k+"\x00"+msg]; ok { // the API's words name its fields
				msg = strings.TrimSuffix(sentence, ".")
			}
			parts = append(parts, labels[k]+": "+msg)
		}
	}
	if len(parts) == 0 {
		return errorText(err)
	}
	return strings.Join(parts, ". ") + "."
}
