package web

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// ---- channels ----------------------------------------------------------

// carrierForm is one carrier's part of the Connect a channel form: its
// fields in its own words, and where its console takes a channel's
// webhook URLs. The page renders the carrier's fieldset from it and
// connectChannel reads the post by it, so the two cannot disagree.
type carrierForm struct {
	Name  string // as the API and the registry name the carrier
	Title string // as people write it
	// Fields are its inputs, in the order its console shows them.
	Fields []carrierField
	// Paste says where in the carrier's console a channel's webhook URLs
	// go.
	Paste string
}

// carrierField is one input of a carrier's fieldset.
type carrierField struct {
	// Key is the channel field it fills, named as the API names it and as
	// the carrier's adapter names it in its errors: account_id,
	// auth_token, webhook_secret, messaging_service_sid or options.NAME.
	Key         string
	Label, Hint string
	Placeholder string
	Required    bool
	// Secret fields are password inputs, never shown back.
	Secret bool
	// Choices make it a select of these; the first is the default.
	Choices []fieldChoice
	// id is the input's id when it is not ch-<carrier>-<key>: Twilio's
	// keep the ids of the Twilio-only form that came first.
	id string
}

// fieldChoice is one option of a carrier field's select.
type fieldChoice struct{ Value, Label string }

// carrierForms are the carriers the form knows, in the order its select
// offers them; each is offered once the verifier has its adapter.
var carrierForms = []carrierForm{
	{Name: conversations.CarrierTwilio, Title: "Twilio",
		Paste: "in the Console, open Phone Numbers → Active numbers → the number → Messaging (or the messaging service's Integration) and set \"A message comes in\" to the incoming URL, HTTP POST. Parley asks for each text's receipts at the status URL itself.",
		Fields: []carrierField{
			{Key: "account_id", id: "ch-account", Label: "Account SID", Placeholder: "AC…", Required: true,
				Hint: "On the Twilio Console's home page, under Account Info."},
			{Key: "auth_token", id: "ch-token", Label: "Auth token", Secret: true, Required: true,
				Hint: "Beside the Account SID under Account Info (click Show)."},
			{Key: "messaging_service_sid", id: "ch-service", Label: "Messaging service SID", Placeholder: "MG…",
				Hint: "Messaging → Services in the Console. Leave it empty to send from the number alone."},
		}},
	{Name: conversations.CarrierTelnyx, Title: "Telnyx",
		Paste: "in the Mission Control Portal, open Messaging → the messaging profile and set its inbound webhook URL to the incoming URL. Parley asks for each text's receipts at the status URL itself.",
		Fields: []carrierField{
			{Key: "account_id", Label: "Messaging profile ID", Placeholder: "4001767e-ce0f-4cae-9d5f-0d5e636e7809", Required: true,
				Hint: "Messaging → Messaging Profiles in the Mission Control Portal: the profile the number is assigned to."},
			{Key: "auth_token", Label: "API key", Placeholder: "KEY…", Secret: true, Required: true,
				Hint: "Account Settings → Keys & Credentials → API Keys."},
			{Key: "webhook_secret", Label: "Public key", Required: true,
				Hint: "Account Settings → Keys & Credentials → Public Key: the base64 key Telnyx signs its webhooks with."},
		}},
	{Name: conversations.CarrierPlivo, Title: "Plivo",
		Paste: "in the console, open Messaging → Applications → the number's application and set its Message URL to the incoming URL, method POST. Parley asks for each text's receipts at the status URL itself.",
		Fields: []carrierField{
			{Key: "account_id", Label: "Auth ID", Placeholder: "MA… or SA…", Required: true,
				Hint: "On the Plivo console's overview page, under Account Info (a subaccount's on the Subaccounts page)."},
			{Key: "auth_token", Label: "Auth token", Secret: true, Required: true,
				Hint: "Beside the Auth ID on the overview page: Plivo signs its webhooks with it too."},
		}},
	{Name: conversations.CarrierVonage, Title: "Vonage",
		Paste: "in the API Dashboard, open API Settings → SMS settings and set the inbound SMS webhook to the incoming URL and the delivery receipts webhook to the status URL, both POST.",
		Fields: []carrierField{
			{Key: "account_id", Label: "API key", Required: true,
				Hint: "At the top of the Vonage API Dashboard's home page."},
			{Key: "auth_token", Label: "API secret", Secret: true, Required: true,
				Hint: "Beside the API key on the Dashboard's home page, or under API Settings."},
			{Key: "webhook_secret", Label: "Signature secret", Secret: true, Required: true,
				Hint: "API Settings → Signed webhooks in the Dashboard (Vonage support turns signing of inbound SMS on)."},
			{Key: "options.signature_method", Label: "Signature method", Required: true,
				Hint: "The method chosen beside the signature secret in API Settings.",
				Choices: []fieldChoice{{"md5hash", "MD5 hash (Vonage's default)"}, {"md5", "HMAC MD5"}, {"sha1", "HMAC SHA-1"},
					{"sha256", "HMAC SHA-256"}, {"sha512", "HMAC SHA-512"}}},
		}},
	{Name: conversations.CarrierBandwidth, Title: "Bandwidth",
		Paste: "in the Bandwidth App, open Applications → the messaging application and set its inbound and status callback URLs to the incoming and status URLs, with the callback user name and password given here.",
		Fields: []carrierField{
			{Key: "account_id", Label: "Account ID", Placeholder: "9900001", Required: true,
				Hint: "The number at the top of the Bandwidth App, beside the account's name."},
			{Key: "options.api_username", Label: "API user name", Required: true,
				Hint: "An API user with the Messaging role: Account → Users in the Bandwidth App."},
			{Key: "auth_token", Label: "API password", Secret: true, Required: true,
				Hint: "That API user's password."},
			{Key: "options.application_id", Label: "Application ID", Required: true,
				Hint: "Applications in the Bandwidth App: the messaging application of the number's location."},
			{Key: "options.webhook_username", Label: "Callback user name", Placeholder: "parley",
				Hint: "The user name of the application's callback credentials; parley when left empty."},
			{Key: "webhook_secret", Label: "Callback password", Secret: true, Required: true,
				Hint: "The password of the application's callback credentials, at least 16 characters: Bandwidth sends it with each callback."},
		}},
	{Name: conversations.CarrierBird, Title: "Bird",
		Paste: "in Bird, open Developer → Webhooks and subscribe the SMS channel's sms.inbound event to the incoming URL and its sms.outbound event to the status URL.",
		Fields: []carrierField{
			{Key: "account_id", Label: "Channel ID", Placeholder: "61424f5c-…", Required: true,
				Hint: "Channels in Bird: open the SMS channel; its ID is in its details and in the page's address."},
			{Key: "auth_token", Label: "Access key", Secret: true, Required: true,
				Hint: "Settings → Security → Access keys in the workspace."},
			{Key: "webhook_secret", Label: "Signing key", Secret: true, Required: true,
				Hint: "The signing key of the webhook subscription, at least 16 characters, set when the subscription is made (Developer → Webhooks)."},
			{Key: "options.workspace_id", Label: "Workspace ID", Required: true,
				Hint: "Settings → Workspace in Bird, or the ID after /workspaces/ in the dashboard's address."},
		}},
}

// carrierFormOf is the named carrier's part of the form.
func carrierFormOf(name string) (carrierForm, bool) {
	for _, c := range carrierForms {
		if c.Name == name {
			return c, true
		}
	}
	return carrierForm{}, false
}

// carrierTitle is a carrier's name as people write it.
func carrierTitle(name string) string {
	if c, ok := carrierFormOf(name); ok {
		return c.Title
	}
	return name
}

// inputName is a field's name in the post: each carrier's fields are its
// own, so a browser without the script, which sends every fieldset,
// sends nothing one carrier's field could be mistaken for.
func (c carrierForm) inputName(f carrierField) string { return c.Name + "." + f.Key }

func (c carrierForm) inputID(f carrierField) string {
	if f.id != "" {
		return f.id
	}
	return "ch-" + c.Name + "-" + strings.NewReplacer(".", "-", "_", "-").Replace(f.Key)
}

// fill sets ch's carrier fields from the post (get reads it) and returns
// what the form itself refuses: a value none of a select's. An empty
// option is left out, for the adapter's default.
func (c carrierForm) fill(ch *conversations.Channel, get func(string) string) map[string]string {
	bad := map[string]string{}
	for _, f := range c.Fields {
		v := strings.TrimSpace(get(c.inputName(f)))
		if v != "" && len(f.Choices) > 0 && !slices.ContainsFunc(f.Choices, func(o fieldChoice) bool { return o.Value == v }) {
			values := make([]string, len(f.Choices))
			for i, o := range f.Choices {
				values[i] = o.Value
			}
			bad[f.Key] = "must be one of " + strings.Join(values, ", ")
			continue
		}
		if name, ok := strings.CutPrefix(f.Key, "options."); ok {
			if v != "" {
				if ch.Options == nil {
					ch.Options = map[string]string{}
				}
				ch.Options[name] = v
			}
			continue
		}
		switch f.Key {
		case "account_id":
			ch.CarrierAccountID = v
		case "auth_token":
			ch.AuthToken = v
		case "webhook_secret":
			ch.WebhookSecret = v
		case "messaging_service_sid":
			ch.MessagingServiceSID = v
		}
	}
	return bad
}

// carrierLister is a verifier that says which carriers it has an adapter
// for, as carrier.Registry does.
type carrierLister interface{ Names() []string }

// offeredCarriers are the carriers of carrierForms the verifier has an
// adapter for (all of them when it cannot say), in carrierForms' order.
func (s *Server) offeredCarriers() []carrierForm {
	l, ok := s.d.Carrier.(carrierLister)
	if !ok {
		return carrierForms
	}
	have := l.Names()
	var out []carrierForm
	for _, c := range carrierForms {
		if slices.Contains(have, c.Name) {
			out = append(out, c)
		}
	}
	return out
}

type channelsData struct {
	Channels []channelRow
	Next     string
	Inboxes  []conversations.Inbox
	// Connect is the Connect a channel form, as typed when it was refused.
	Connect connectForm
}

// connectForm is the Connect a channel form: the fields every carrier
// has, as typed, one fieldset per offered carrier, and a refusal.
type connectForm struct {
	Carrier                                 string // the chosen carrier
	InboxID, PhoneNumber, MessagesPerSecond string
	CarrierHandlesOptOut                    bool
	Carriers                                []carrierFieldset
	// Refusal says why the channel was not connected; Errors are its
	// messages about the shared fields (carrier, inbox_id, phone_number,
	// messages_per_second), and Others those about fields no input shows.
	// Each carrier input has its own.
	Refusal string
	Errors  map[string]string
	Others  []string
	// Retype says which secrets typed in the refused form must be typed
	// again: they are never sent back to the browser.
	Retype string
}

// carrierFieldset is a carrier's fieldset as rendered.
type carrierFieldset struct {
	carrierForm
	Chosen bool
	Inputs []carrierInput
}

// carrierInput is a carrier field as rendered: its id and name, what was
// typed in it (never a secret) and what the refusal says of it.
type carrierInput struct {
	carrierField
	ID, Name, Value, Error string
}

// sharedFields are the form's fields that are not a carrier's.
var sharedFields = []string{"carrier", "inbox_id", "phone_number", "messages_per_second"}

// channel is the channel the form asks for: the shared fields and the
// chosen carrier's, read by its carrierForm (get reads the post). What
// the form itself cannot read is refused here; AddChannel checks the rest.
func (f connectForm) channel(accountID parley.ID, get func(string) string, now time.Time) (conversations.Channel, error) {
	bad := map[string]string{}
	c := conversations.Channel{AccountID: accountID, Carrier: f.Carrier, PhoneNumber: strings.TrimSpace(f.PhoneNumber),
		CarrierHandlesOptOut: f.CarrierHandlesOptOut, CreatedAt: now}
	var err error
	if c.InboxID, err = parley.ParseID(f.InboxID); err != nil {
		bad["inbox_id"] = "is required"
	}
	if v := strings.TrimSpace(f.MessagesPerSecond); v != "" {
		if c.MessagesPerSecond, err = strconv.ParseFloat(v, 64); err != nil {
			bad["messages_per_second"] = "must be a number"
		}
	}
	if cf, ok := carrierFormOf(f.Carrier); ok {
		maps.Copy(bad, cf.fill(&c, get))
	}
	if len(bad) > 0 {
		return c, parley.Invalid(bad)
	}
	return c, nil
}

// withFieldsets renders f for the offered carriers: the chosen one's
// fieldset (the first's when the chosen is not offered) with err's
// messages beside the inputs they are about, and what was typed (get
// reads the post; nil for a fresh form), never a secret.
func (s *Server) withFieldsets(f connectForm, get func(string) string, err error) connectForm {
	offered := s.offeredCarriers()
	if len(offered) > 0 && !slices.ContainsFunc(offered, func(c carrierForm) bool { return c.Name == f.Carrier }) {
		f.Carrier = offered[0].Name
	}
	fields := map[string]string{}
	var pe *parley.Error
	if errors.As(err, &pe) {
		for k, v := range pe.Fields {
			if k == "account_sid" { // Twilio's name for account_id
				k = "account_id"
			}
			fields[k] = v
		}
	}
	var secrets []string
	for _, cf := range offered {
		set := carrierFieldset{carrierForm: cf, Chosen: cf.Name == f.Carrier}
		for _, fld := range cf.Fields {
			in := carrierInput{carrierField: fld, ID: cf.inputID(fld), Name: cf.inputName(fld)}
			if set.Chosen && fld.Secret && get != nil && strings.TrimSpace(get(in.Name)) != "" {
				secrets = append(secrets, inSentence(fld.Label))
			}
			if get != nil && !fld.Secret {
				in.Value = strings.TrimSpace(get(in.Name))
			}
			if in.Value == "" && len(fld.Choices) > 0 {
				in.Value = fld.Choices[0].Value
			}
			if set.Chosen {
				in.Error = fields[fld.Key]
				delete(fields, fld.Key)
			}
			set.Inputs = append(set.Inputs, in)
		}
		f.Carriers = append(f.Carriers, set)
	}
	if err == nil {
		return f
	}
	if len(secrets) > 0 {
		f.Retype = "For safety, secrets are never shown again: type the " + strings.Join(secrets, " and the ") + " again."
	}
	f.Errors = map[string]string{}
	for _, k := range sharedFields {
		if v, ok := fields[k]; ok {
			f.Errors[k] = v
			delete(fields, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		f.Others = append(f.Others, fieldProblem(k, fields[k]))
	}
	switch {
	case pe == nil:
		f.Refusal = errorText(err)
	case pe.Code == conversations.CodeCarrierUnavailable:
		f.Refusal = carrierTitle(f.Carrier) + " could not be asked just now: please try again in a minute."
	case pe.Code == parley.Invalid(nil).Code:
		f.Refusal = "The channel was not connected: please check what is marked."
	default:
		f.Refusal = "The channel was not connected: " + strings.TrimSuffix(pe.Message, ".") + "."
	}
	return f
}

// channelRow is a channel as listed: never its auth token.
type channelRow struct {
	ID              parley.ID
	Number, Service string
	// Carrier is the carrier's name as people write it; WeakAuth says its
	// webhooks carry credentials and a URL token, not a signature.
	Carrier               string
	WeakAuth              bool
	AccountSID            string
	Inbox                 string
	MessagesPerSecond     float64
	CarrierHandlesOptOut  bool
	Connected             bool
	InboundURL, StatusURL string
	// Paste says where the carrier takes the URLs; TokenLabel is what it
	// calls the auth token, as a sentence has it ("API key").
	Paste, TokenLabel string
}

func (s *Server) loadChannels(r *http.Request) (channelsData, error) {
	accountID := me(r).AccountID
	chans, next, err := s.d.Store.ListChannels(r.Context(), accountID, settingsList(r))
	if err != nil {
		return channelsData{}, err
	}
	inboxes, err := s.allInboxes(r.Context(), accountID)
	if err != nil {
		return channelsData{}, err
	}
	names := map[parley.ID]string{}
	for _, i := range inboxes {
		names[i.ID] = i.Name
	}
	d := channelsData{Next: next, Inboxes: inboxes}
	for _, c := range chans {
		row := channelRow{ID: c.ID, Number: c.PhoneNumber, Service: c.MessagingServiceSID, AccountSID: c.CarrierAccountID,
			Carrier: carrierTitle(c.Carrier), WeakAuth: c.WeakWebhookAuth(), TokenLabel: "auth token",
			Inbox: names[c.InboxID], MessagesPerSecond: c.MessagesPerSecond, CarrierHandlesOptOut: c.CarrierHandlesOptOut, Connected: c.Connected()}
		if cf, ok := carrierFormOf(c.Carrier); ok {
			row.Paste = cf.Paste
			for _, f := range cf.Fields {
				if f.Key == "auth_token" {
					row.TokenLabel = inSentence(f.Label)
				}
			}
		}
		if row.Inbox == "" {
			row.Inbox = "inbox " + c.InboxID.String()
		}
		row.InboundURL, row.StatusURL = c.WebhookURLs(s.d.PublicURL)
		d.Channels = append(d.Channels, row)
	}
	return d, nil
}

// errorCode is err's code; "" for an error that is not Parley's.
func errorCode(err error) string {
	var pe *parley.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// inSentence is a label as a sentence has it: "Auth token" becomes "auth
// token", "API key" stays.
func inSentence(label string) string {
	if len(label) < 2 || unicode.IsUpper(rune(label[1])) {
		return label
	}
	return strings.ToLower(label[:1]) + label[1:]
}

func (s *Server) channelsPage(w http.ResponseWriter, r *http.Request) error {
	d, err := s.loadChannels(r)
	if err != nil {
		return err
	}
	d.Connect = s.withFieldsets(connectForm{MessagesPerSecond: "0"}, nil, nil)
	return s.render(w, r, "settings_channels", "Channels · Settings", d)
}

// connectChannel connects a channel as POST /v1/channels does: the
// carrier must vouch for its credentials first. A refused form comes
// back as typed (less its secrets), each message beside its input.
func (s *Server) connectChannel(w http.ResponseWriter, r *http.Request) error {
	f := connectForm{Carrier: r.PostFormValue("carrier"), InboxID: r.PostFormValue("inbox_id"), PhoneNumber: r.PostFormValue("phone_number"),
		MessagesPerSecond: r.PostFormValue("messages_per_second"), CarrierHandlesOptOut: ticked(r, "carrier_handles_optout")}
	c, err := f.channel(me(r).AccountID, r.PostFormValue, s.d.Clock.Now())
	if err == nil {
		_, err = conversations.AddChannel(r.Context(), s.d.Store, s.d.Carrier, c, s.d.Clock.Now())
	}
	if err == nil {
		return done(w, r, "/settings/channels")
	}
	if isBackground(r) || !(isShown(err) || errorCode(err) == conversations.CodeCarrierUnavailable) {
		return err
	}
	d, lerr := s.loadChannels(r)
	if lerr != nil {
		return lerr
	}
	d.Connect = s.withFieldsets(f, r.PostFormValue, err)
	return s.renderStatus(w, r, errorStatus(err), "settings_channels", "Channels · Settings", d)
}

// rotateChannelToken replaces a channel's auth token once the carrier
// accepts the new one.
func (s *Server) rotateChannelToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	token := strings.TrimSpace(r.PostFormValue("auth_token"))
	if _, err := conversations.ChangeChannel(r.Context(), s.d.Store, s.d.Carrier, me(r).AccountID, id, conversations.ChannelPatch{AuthToken: &token}); err != nil {
		return err
	}
	return done(w, r, "/settings/channels")
}

// disconnectChannel disconnects a channel once the form's box says the
// admin means it (no script needed to confirm).
func (s *Server) disconnectChannel(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if !ticked(r, "confirm") {
		return parley.Invalid(map[string]string{"confirm": "must be ticked to disconnect the channel"})
	}
	if err := s.d.Store.DisconnectChannel(r.Context(), me(r).AccountID, id, s.d.Clock.Now()); err != nil {
		return err
	}
	return done(w, r, "/settings/channels")
}
