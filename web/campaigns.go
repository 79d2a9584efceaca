package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/campaigns"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/routing"
)

// Campaigns: the list (/campaigns), the form that creates one
// (/campaigns/new) and a campaign's page (/campaigns/{id}) with its live
// counts, the buttons that start, pause, resume and cancel it, and its
// recipients by status. Everyone sees them; only those campaigns.CheckRunner
// allows create and run them.

func (s *Server) campaignRoutes(r *mux.Router) {
	r.Handle("/campaigns", s.page(s.campaignList)).Methods(http.MethodGet)
	r.Handle("/campaigns/new", s.page(s.campaignNew)).Methods(http.MethodGet)
	r.Handle("/campaigns/new", s.page(s.campaignNewPost)).Methods(http.MethodPost)
	r.Handle("/campaigns/{id:[0-9]+}", s.page(s.campaignShow)).Methods(http.MethodGet)
	r.Handle("/campaigns/{id:[0-9]+}/{action:start|pause|resume|cancel}", s.page(s.campaignAct)).Methods(http.MethodPost)
}

// campaignListData is the campaigns page.
type campaignListData struct {
	Campaigns []campaigns.Campaign
	// Live lists the ids shown, space-separated: their texts' receipts
	// change their counts (data-live-campaign).
	Live   string
	Next   string
	CanRun bool
}

func (s *Server) campaignList(w http.ResponseWriter, r *http.Request) error {
	u := me(r)
	page := parley.Page{Cursor: r.URL.Query().Get("cursor")}.Normalize()
	cs, next, err := s.d.Campaigns.ListCampaigns(r.Context(), u.AccountID, nil, page)
	if err != nil {
		return err
	}
	return s.render(w, r, "campaigns", "Campaigns", campaignListData{
		Campaigns: cs, Live: campaignIDs(cs), Next: next, CanRun: campaigns.CheckRunner(u) == nil})
}

func campaignIDs(cs []campaigns.Campaign) string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID.String()
	}
	return strings.Join(ids, " ")
}

// recipientStatuses are the recipient list's tabs: the counts the page
// shows, each listing whom its count holds (campaigns.RecipientStatusesOf).
var recipientStatuses = campaigns.CountNames

// campaignData is a campaign's page.
type campaignData struct {
	Campaign campaigns.Campaign
	Channel  string
	CanRun   bool
	// Actions are the buttons the campaign's status allows.
	Actions []campaigns.Action
	// Runs are a recurring campaign's runs, newest first.
	Runs []campaigns.Campaign
	// Done is how many recipients are settled (not queued any more).
	Done       int
	Status     string
	Statuses   []string
	Recipients []campaigns.CampaignRecipient
	// Src is the recipients pane's own URL; NextPage its next page.
	Src      string
	NextPage string
}

func (s *Server) campaignShow(w http.ResponseWriter, r *http.Request) error {
	u := me(r)
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.d.Campaigns.GetCampaign(r.Context(), u.AccountID, id)
	if err != nil {
		return err
	}
	d := campaignData{Campaign: c, CanRun: campaigns.CheckRunner(u) == nil, Statuses: recipientStatuses,
		Done: c.Counts.Recipients - c.Counts.Queued}
	for _, a := range []campaigns.Action{campaigns.ActionStart, campaigns.ActionPause, campaigns.ActionResume, campaigns.ActionCancel} {
		if _, ok := a.Next(c.Status, false); ok {
			d.Actions = append(d.Actions, a)
		}
	}
	if ch, err := s.d.Store.GetChannel(r.Context(), u.AccountID, c.ChannelID); err == nil {
		d.Channel = channelLabel(ch)
	} else if !parley.IsKind(err, parley.ENOTFOUND) {
		return err
	}
	if c.Recurring() {
		if d.Runs, _, err = s.d.Campaigns.ListCampaigns(r.Context(), u.AccountID, &c.ID, parley.Page{Limit: 20}); err != nil {
			return err
		}
	}
	q := r.URL.Query()
	d.Status = q.Get("status")
	page := parley.Page{Cursor: q.Get("cursor")}.Normalize()
	var next string
	if d.Recipients, next, err = s.d.Campaigns.ListRecipients(r.Context(), u.AccountID, id, campaigns.RecipientStatusesOf(d.Status), page); err != nil {
		return err
	}
	base := "/campaigns/" + id.String()
	d.Src = base + "?" + campaignQuery(d.Status, page.Cursor, "recipients")
	if next != "" {
		d.NextPage = base + "?" + campaignQuery(d.Status, next, "")
	}
	return s.render(w, r, "campaign", c.Name, d)
}

// campaignQuery is a campaign page's query: recipients of a status, from a
// cursor, one pane.
func campaignQuery(status, cursor, pane string) string {
	v := url.Values{}
	for k, x := range map[string]string{"status": status, "cursor": cursor, "pane": pane} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v.Encode()
}

// channelLabel names a channel for a person: its number or messaging
// service, and whether it is disconnected. Pages show it as {{channel .}}.
func channelLabel(ch conversations.Channel) string {
	label := ch.PhoneNumber
	if label == "" {
		label = "Messaging service " + ch.MessagingServiceSID
	}
	if !ch.Connected() {
		label += " (disconnected)"
	}
	return label
}

func (s *Server) campaignAct(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	id, err := parley.ParseID(v["id"])
	if err != nil {
		return err
	}
	if _, err := campaigns.Act(r.Context(), s.d.Campaigns, me(r), id, campaigns.Action(v["action"]), s.d.Clock.Now()); err != nil {
		return err
	}
	return done(w, r, r.PostFormValue("next"))
}

// campaignForm is the new-campaign form: what was typed (kept as typed
// across Find, Preview and a refused Create), the choices it offers, and
// the preview.
type campaignForm struct {
	CanRun bool

	Name, ChannelID, Body, Phones, ContactType, Attributes, SendAt, Schedule, Rate, Query string
	// Checked are the chosen contacts; Contacts the ones offered (the
	// chosen ones first, then those found).
	Checked  map[parley.ID]bool
	Contacts []conversations.Contact

	Channels     []conversations.Channel
	ContactTypes []routing.ContactType
	Quiet        *conversations.QuietHours
	// Zone is the time zone send_at is read in: the quiet hours' zone, or
	// UTC.
	Zone               string
	DefaultRPS, MaxRPS int

	Preview *campaignPreview
	// Errors are a refused form's messages by field ("" for the form).
	Errors map[string]string
}

// campaignPreview is the text one recipient would receive.
type campaignPreview struct {
	To        string
	Fallbacks bool // no recipient to fill the fields: the fallbacks show
	Text      string
	Seg       conversations.Segmentation
}

func (s *Server) campaignNew(w http.ResponseWriter, r *http.Request) error {
	f := campaignForm{Checked: map[parley.ID]bool{}}
	ids, err := pickedContacts(r.URL.Query()["contact_id"])
	if err != nil {
		return err
	}
	for _, id := range ids {
		f.Checked[id] = true
	}
	return s.renderCampaignForm(w, r, f, http.StatusOK)
}

func (s *Server) campaignNewPost(w http.ResponseWriter, r *http.Request) error {
	u := me(r)
	if err := campaigns.CheckRunner(u); err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return parley.Errorf(parley.EINVALID, "the form could not be read")
	}
	f := campaignForm{Checked: map[parley.ID]bool{}}
	for _, k := range []struct {
		to   *string
		name string
	}{{&f.Name, "name"}, {&f.ChannelID, "channel_id"}, {&f.Body, "body"}, {&f.Phones, "phones"}, {&f.ContactType, "contact_type"},
		{&f.Attributes, "attributes"}, {&f.SendAt, "send_at"}, {&f.Schedule, "schedule"}, {&f.Rate, "rate_per_second"}, {&f.Query, "q"}} {
		*k.to = r.PostFormValue(k.name)
	}
	ids, err := pickedContacts(r.PostForm["contact_id"])
	if err != nil {
		return err
	}
	for _, id := range ids {
		f.Checked[id] = true
	}
	settings, err := s.d.Store.GetSettings(r.Context(), u.AccountID)
	if err != nil {
		return err
	}
	zone := sendAtZone(settings.QuietHours)
	do := r.PostFormValue("do")
	if do == "enter" { // Enter in a field: find when a search is typed, else preview
		do = "preview"
		if strings.TrimSpace(f.Query) != "" {
			do = "find"
		}
	}
	switch do {
	case "find":
		return s.renderCampaignForm(w, r, f, http.StatusOK)
	case "create":
		draft, err := f.draft(zone)
		var c campaigns.Campaign
		if err == nil {
			c, err = draft.Campaign(u, s.d.Clock.Now())
		}
		if err == nil {
			c, err = s.d.Campaigns.CreateCampaign(r.Context(), c)
		}
		if err != nil {
			return s.refusedCampaignForm(w, r, f, err)
		}
		return done(w, r, "/campaigns/"+c.ID.String())
	default: // "preview"
		draft, err := f.draft(zone)
		if err == nil {
			f.Preview, err = s.preview(r, draft)
		}
		if err != nil {
			return s.refusedCampaignForm(w, r, f, err)
		}
		return s.renderCampaignForm(w, r, f, http.StatusOK)
	}
}

// refusedCampaignForm shows the form again with why it was refused, when
// it is the person's to fix; other errors answer as usual.
func (s *Server) refusedCampaignForm(w http.ResponseWriter, r *http.Request, f campaignForm, err error) error {
	var pe *parley.Error
	if !errors.As(err, &pe) || (pe.Kind != parley.EINVALID && pe.Kind != parley.ECONFLICT && pe.Kind != parley.ENOTFOUND) {
		return err
	}
	f.Errors = map[string]string{"": errorText(err)}
	if len(pe.Fields) > 0 {
		f.Errors[""] = "Please check the fields marked below."
	}
	for k, v := range pe.Fields {
		f.Errors[k] = v
	}
	if v, ok := pe.Fields["audience.phones"]; ok {
		f.Errors["phones"] = v
	}
	if _, ok := pe.Fields["audience"]; ok {
		f.Errors["audience"] = "needs someone: choose contacts, type phone numbers or set a filter"
	}
	return s.renderCampaignForm(w, r, f, http.StatusUnprocessableEntity)
}

// renderCampaignForm fills the form's choices and renders it.
func (s *Server) renderCampaignForm(w http.ResponseWriter, r *http.Request, f campaignForm, status int) error {
	u := me(r)
	f.CanRun = campaigns.CheckRunner(u) == nil
	if f.CanRun {
		ctx := r.Context()
		settings, err := s.d.Store.GetSettings(ctx, u.AccountID)
		if err != nil {
			return err
		}
		f.Quiet, f.Zone, f.DefaultRPS, f.MaxRPS = settings.QuietHours, sendAtZone(settings.QuietHours).String(), campaigns.DefaultRatePerSecond, campaigns.MaxRatePerSecond
		if f.Channels, err = s.connectedChannels(ctx, u.AccountID); err != nil {
			return err
		}
		if f.ContactTypes, err = routing.ContactTypes(ctx, s.d.Routing, u.AccountID); err != nil {
			return err
		}
		seen := map[parley.ID]bool{}
		for id := range f.Checked {
			c, err := s.d.Store.GetContact(ctx, u.AccountID, id)
			if parley.IsKind(err, parley.ENOTFOUND) {
				delete(f.Checked, id)
				continue
			} else if err != nil {
				return err
			}
			f.Contacts, seen[id] = append(f.Contacts, c), true
		}
		found, _, err := s.d.Store.FindContacts(ctx, conversations.ContactFilter{AccountID: u.AccountID, Query: strings.TrimSpace(f.Query), Page: parley.Page{Limit: 20}})
		if err != nil {
			return err
		}
		for _, c := range found {
			if !seen[c.ID] {
				f.Contacts = append(f.Contacts, c)
			}
		}
	}
	return s.renderStatus(w, r, status, "campaign_new", "New campaign", f)
}

// sendAtZone is the zone a typed send-at time is read in.
func sendAtZone(q *conversations.QuietHours) *time.Location {
	if q != nil {
		if loc, err := time.LoadLocation(q.Timezone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// draft reads the form as the domain's draft; EINVALID for what the form
// itself cannot say (a time, a number, an attribute line), the domain
// checks the rest (campaigns.Draft.Campaign).
func (f campaignForm) draft(zone *time.Location) (campaigns.Draft, error) {
	d := campaigns.Draft{Name: f.Name, Body: f.Body, Schedule: strings.TrimSpace(f.Schedule)}
	bad := map[string]string{}
	if f.ChannelID != "" {
		id, err := parley.ParseID(f.ChannelID)
		if err != nil {
			bad["channel_id"] = "is not a channel of this account"
		}
		d.ChannelID = id
	}
	for id := range f.Checked {
		d.Audience.ContactIDs = append(d.Audience.ContactIDs, id)
	}
	slices.Sort(d.Audience.ContactIDs)
	d.Audience.Phones = splitEntries(f.Phones)
	attrs, err := parseAttributes(f.Attributes)
	if err != nil {
		bad["attributes"] = err.Error()
	}
	if f.ContactType != "" || len(attrs) > 0 {
		d.Audience.Filter = &campaigns.AudienceFilter{ContactType: f.ContactType, Attributes: attrs}
	}
	if raw := strings.TrimSpace(f.SendAt); raw != "" {
		at, err := time.ParseInLocation("2006-01-02T15:04", raw, zone)
		if err != nil {
			bad["send_at"] = "must be a date and time"
		}
		d.SendAt = &at
	}
	if raw := strings.TrimSpace(f.Rate); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			bad["rate_per_second"] = "must be a whole number"
		}
		d.RatePerSecond = &n
	}
	if len(bad) > 0 {
		return d, parley.Invalid(bad)
	}
	return d, nil
}

// preview renders the draft's text for its first recipient: the first
// chosen contact, else the first phone (its contact's fields when it has
// one); a filter alone shows the fallbacks.
func (s *Server) preview(r *http.Request, d campaigns.Draft) (*campaignPreview, error) {
	u := me(r)
	var rcpt campaigns.Recipient
	p := &campaignPreview{}
	switch {
	case len(d.Audience.ContactIDs) > 0:
		c, err := s.d.Store.GetContact(r.Context(), u.AccountID, d.Audience.ContactIDs[0])
		if err != nil {
			return nil, err
		}
		rcpt = campaigns.Recipient{Name: c.Name, Attributes: c.Attributes}
		if len(c.Phones) > 0 {
			rcpt.Phone = c.Phones[0]
		}
		p.To = strings.TrimSpace(c.Name + " " + rcpt.Phone)
	case len(d.Audience.Phones) > 0:
		phone, err := conversations.NormalizePhone(d.Audience.Phones[0])
		if err != nil {
			return nil, parley.Invalid(map[string]string{"phones": "\"" + d.Audience.Phones[0] + "\" is not a phone number"})
		}
		rcpt.Phone, p.To = phone, phone
		found, _, err := s.d.Store.FindContacts(r.Context(), conversations.ContactFilter{AccountID: u.AccountID, Phone: phone, Page: parley.Page{Limit: 1}})
		if err != nil {
			return nil, err
		}
		if len(found) == 1 {
			rcpt.Name, rcpt.Attributes = found[0].Name, found[0].Attributes
			p.To = strings.TrimSpace(found[0].Name + " " + phone)
		}
	default:
		p.Fallbacks = true
	}
	text, seg, err := campaigns.Preview(d.Body, rcpt)
	if err != nil {
		return nil, err
	}
	p.Text, p.Seg = text, seg
	return p, nil
}
