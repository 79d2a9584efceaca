package gateway

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/optout"
)

type consentJSON struct {
	Phone     string     `json:"phone"`
	OptedOut  bool       `json:"opted_out"`
	ChangedAt *time.Time `json:"changed_at"`
	Keyword   *string    `json:"keyword"`
}

func toConsentJSON(c optout.Consent) consentJSON {
	out := consentJSON{Phone: c.Phone, OptedOut: c.OptedOut, ChangedAt: c.ChangedAt}
	if c.Keyword != "" {
		out.Keyword = &c.Keyword
	}
	return out
}

type consentEventJSON struct {
	ID        parley.ID  `json:"id"`
	Phone     string     `json:"phone"`
	Action    string     `json:"action"`
	Source    string     `json:"source"`
	Keyword   string     `json:"keyword,omitempty"`
	MessageID *parley.ID `json:"message_id"`
	UserID    *parley.ID `json:"user_id"`
	Detail    string     `json:"detail,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

func toConsentEventJSON(e optout.Event) consentEventJSON {
	return consentEventJSON{ID: e.ID, Phone: e.Phone, Action: string(e.Action), Source: string(e.Source), Keyword: e.Keyword,
		MessageID: e.MessageID, UserID: e.UserID, Detail: e.Detail, CreatedAt: e.CreatedAt}
}

func handleGetOptOut(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		phone, err := phoneParam(r, "phone")
		if err != nil {
			return err
		}
		if phone == "" {
			return parley.Invalid(map[string]string{"phone": "is required"})
		}
		c, err := d.Consent.GetConsent(r.Context(), currentUser(r).AccountID, phone)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toConsentJSON(c))
		return nil
	}
}

func handleOptOutEvents(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		phone, err := conversations.NormalizePhone(mux.Vars(r)["phone"])
		if err != nil {
			return parley.Invalid(map[string]string{"phone": "must be a phone number"})
		}
		page, err := pageFrom(r)
		if err != nil {
			return err
		}
		events, next, err := d.Consent.ListConsentEvents(r.Context(), currentUser(r).AccountID, phone, page)
		if err != nil {
			return err
		}
		writePage(w, events, next, toConsentEventJSON)
		return nil
	}
}

// handleCreateOptOut lets staff record an opt-out (a customer asked by
// phone, say). There is deliberately no way for staff to opt a phone back
// in: only the contact can, by texting START.
func handleCreateOptOut(d *Deps) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			Phone string `json:"phone"`
		}
		if err := decode(w, r, &in); err != nil {
			return err
		}
		phone, err := conversations.NormalizePhone(in.Phone)
		if err != nil {
			return parley.Invalid(map[string]string{"phone": "must be a phone number"})
		}
		me := currentUser(r)
		if _, err := d.Consent.RecordConsent(r.Context(), optout.Change{AccountID: me.AccountID, Phone: phone, Action: optout.ActionOptOut,
			Source: optout.SourceStaff, UserID: &me.ID, At: d.Clock.Now()}); err != nil {
			return err
		}
		c, err := d.Consent.GetConsent(r.Context(), me.AccountID, phone)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, toConsentJSON(c))
		return nil
	}
}
