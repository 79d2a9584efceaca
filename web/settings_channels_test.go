package web

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store/storetest"
)

// channelVerifier is a carrier registry in miniature: it names its
// carriers, refuses what check says, and notes each channel it is asked
// to verify, refusing it with refuse when set.
type channelVerifier struct {
	names    []string
	check    map[string]string
	refuse   error
	verified []conversations.Channel
}

func (v *channelVerifier) Names() []string { return v.names }

func (v *channelVerifier) CheckChannel(c *conversations.Channel) map[string]string {
	if !slices.Contains(v.names, c.Carrier) {
		return map[string]string{"carrier": "must be one of " + strings.Join(v.names, ", ")}
	}
	return v.check
}

func (v *channelVerifier) VerifyChannel(_ context.Context, c conversations.Channel) error {
	v.verified = append(v.verified, c)
	return v.refuse
}

// channelsServer is a web server on a fresh SQLite database with one
// account and one inbox; it returns the server, its admin and the inbox.
func channelsServer(t *testing.T, v *channelVerifier) (*Server, conversations.User, conversations.Inbox) {
	t.Helper()
	ctx := context.Background()
	db := storetest.MustOpen(t, "sqlite")
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	_, admin, err := db.CreateAccount(ctx, "Acme", conversations.NewUser{Email: "ada@example.com", Name: "Ada", Role: conversations.RoleAdmin},
		conversations.NewTokenSecret(), at)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := db.CreateInbox(ctx, conversations.Inbox{AccountID: admin.AccountID, Name: "Support", Kind: conversations.InboxSupport, CreatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Deps{Store: db, Clock: &parley.FixedClock{T: at}, Carrier: v, PublicURL: "https://parley.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return s, admin, inbox
}

// signedInAs signs r in as u.
func signedInAs(r *http.Request, u conversations.User) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), authKey{}, auth{user: u, csrf: "csrf"}))
}

func renderChannels(t *testing.T, s *Server, admin conversations.User) string {
	t.Helper()
	w := httptest.NewRecorder()
	if err := s.channelsPage(w, signedInAs(httptest.NewRequest(http.MethodGet, "/settings/channels", nil), admin)); err != nil {
		t.Fatal(err)
	}
	return w.Body.String()
}

func postChannel(t *testing.T, s *Server, admin conversations.User, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/settings/channels", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	if err := s.connectChannel(w, signedInAs(r, admin)); err != nil {
		t.Fatalf("connectChannel: %v", err)
	}
	return w
}

var (
	fieldsetRE = regexp.MustCompile(`(?s)<fieldset class="carrier-fields" data-carrier="([a-z]+)".*?</fieldset>`)
	controlRE  = regexp.MustCompile(`<(input|select) [^>]*id="([^"]+)"[^>]*>`)
	optionRE   = regexp.MustCompile(`<option value="([a-z]+)"[^>]*>`)
)

// The form has one fieldset per carrier the verifier has, in the form's
// order, each input labelled and described by its hint; the carrier
// select offers the same carriers, and no other.
func TestConnectFormRendersEachCarrier(t *testing.T) {
	all := []string{"bandwidth", "bird", "plivo", "telnyx", "twilio", "vonage"}
	for _, names := range [][]string{all, {"plivo", "telnyx", "twilio"}} {
		s, admin, _ := channelsServer(t, &channelVerifier{names: names})
		page := renderChannels(t, s, admin)
		var got []string
		for _, m := range fieldsetRE.FindAllStringSubmatch(page, -1) {
			set, carrier := m[0], m[1]
			got = append(got, carrier)
			cf, _ := carrierFormOf(carrier)
			if !strings.Contains(set, "<legend>"+cf.Title+" account</legend>") {
				t.Errorf("the %s fieldset has no legend", carrier)
			}
			controls := controlRE.FindAllStringSubmatch(set, -1)
			if len(controls) != len(cf.Fields) {
				t.Errorf("the %s fieldset has %d inputs, want %d", carrier, len(controls), len(cf.Fields))
			}
			for i, c := range controls {
				id, tag := c[2], c[0]
				if !strings.Contains(set, `<label for="`+id+`">`+cf.Fields[i].Label) {
					t.Errorf("%s's input %s has no label %q", carrier, id, cf.Fields[i].Label)
				}
				if !strings.Contains(tag, `aria-describedby="`+id+`-hint"`) || !strings.Contains(set, `id="`+id+`-hint"`) {
					t.Errorf("%s's input %s is not described by its hint: %s", carrier, id, tag)
				}
				if !strings.Contains(tag, `name="`+carrier+".") {
					t.Errorf("%s's input %s is not named for its carrier: %s", carrier, id, tag)
				}
				// Without the script every fieldset is sent: none may block.
				if strings.Contains(tag, " required") {
					t.Errorf("%s's input %s is required without the script: %s", carrier, id, tag)
				}
			}
		}
		want := slices.DeleteFunc(slices.Clone([]string{"twilio", "telnyx", "plivo", "vonage", "bandwidth", "bird"}),
			func(n string) bool { return !slices.Contains(names, n) })
		if !slices.Equal(got, want) {
			t.Errorf("with %v registered, fieldsets for %v; want %v", names, got, want)
		}
		carrierSelect := page[strings.Index(page, `id="ch-carrier"`):]
		carrierSelect = carrierSelect[:strings.Index(carrierSelect, "</select>")]
		var offered []string
		for _, m := range optionRE.FindAllStringSubmatch(carrierSelect, -1) {
			offered = append(offered, m[1])
		}
		if !slices.Equal(offered, want) || !strings.Contains(carrierSelect, `<option value="twilio" selected>`) {
			t.Errorf("the carrier select offers %v (Twilio chosen: %v); want %v", offered, strings.Contains(carrierSelect, `"twilio" selected`), want)
		}
	}
	// Twilio keeps the ids of the Twilio-only form.
	s, admin, _ := channelsServer(t, &channelVerifier{names: []string{"twilio"}})
	page := renderChannels(t, s, admin)
	for _, id := range []string{"ch-account", "ch-token", "ch-service", "ch-number", "ch-mps"} {
		if !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("no #%s", id)
		}
	}
}

// Every field of the table fills a field of the channel.
func TestCarrierFormsFillTheChannel(t *testing.T) {
	for _, cf := range carrierForms {
		for _, f := range cf.Fields {
			var c conversations.Channel
			value := "v"
			if len(f.Choices) > 0 {
				value = f.Choices[len(f.Choices)-1].Value
			}
			cf.fill(&c, func(name string) string {
				if name == cf.inputName(f) {
					return value
				}
				return ""
			})
			if reflect.DeepEqual(c, conversations.Channel{}) {
				t.Errorf("%s's %s fills nothing", cf.Name, f.Key)
			}
		}
	}
}

// A post of one carrier's fieldset builds that carrier's channel: its
// account, secrets and options; what the other fieldsets hold (a browser
// without the script sends them all) is not read.
func TestConnectChannelBuildsTheCarriersChannel(t *testing.T) {
	const profile, number = "4001767e-ce0f-4cae-9d5f-0d5e636e7809", "+14155550100"
	others := url.Values{"twilio.account_id": {"ACnot"}, "twilio.auth_token": {"not"}, "plivo.account_id": {"MAnot"},
		"bird.options.workspace_id": {"not"}, "vonage.options.signature_method": {"md5hash"}}
	tests := []struct {
		name string
		form url.Values
		want conversations.Channel
	}{
		{"telnyx", url.Values{"telnyx.account_id": {" " + profile + " "}, "telnyx.auth_token": {"KEY0001"}, "telnyx.webhook_secret": {"cHVibGlj"}},
			conversations.Channel{Carrier: "telnyx", CarrierAccountID: profile, AuthToken: "KEY0001", WebhookSecret: "cHVibGlj"}},
		{"plivo", url.Values{"plivo.account_id": {"MAE2E000000000000001"}, "plivo.auth_token": {"plivo-token"}},
			conversations.Channel{Carrier: "plivo", CarrierAccountID: "MAE2E000000000000001", AuthToken: "plivo-token"}},
		{"vonage", url.Values{"vonage.account_id": {"a1b2c3d4"}, "vonage.auth_token": {"vonage-secret"}, "vonage.webhook_secret": {"sig-secret"},
			"vonage.options.signature_method": {"sha256"}},
			conversations.Channel{Carrier: "vonage", CarrierAccountID: "a1b2c3d4", AuthToken: "vonage-secret", WebhookSecret: "sig-secret",
				Options: map[string]string{"signature_method": "sha256"}}},
		// The callback user name left empty is left to the adapter.
		{"bandwidth", url.Values{"bandwidth.account_id": {"9900001"}, "bandwidth.auth_token": {"api-password"}, "bandwidth.webhook_secret": {"callback-password-0001"},
			"bandwidth.options.api_username": {"parley-api"}, "bandwidth.options.application_id": {"93de2206-9669-4e07-948d-329f4b722ee2"},
			"bandwidth.options.webhook_username": {""}},
			conversations.Channel{Carrier: "bandwidth", CarrierAccountID: "9900001", AuthToken: "api-password", WebhookSecret: "callback-password-0001",
				Options: map[string]string{"api_username": "parley-api", "application_id": "93de2206-9669-4e07-948d-329f4b722ee2"}}},
		{"bird", url.Values{"bird.account_id": {"61424f5c-0000-4000-8000-000000000001"}, "bird.auth_token": {"access-key"}, "bird.webhook_secret": {"signing-key"},
			"bird.options.workspace_id": {"5a1b2c3d-0000-4000-8000-000000000002"}},
			conversations.Channel{Carrier: "bird", CarrierAccountID: "61424f5c-0000-4000-8000-000000000001", AuthToken: "access-key", WebhookSecret: "signing-key",
				Options: map[string]string{"workspace_id": "5a1b2c3d-0000-4000-8000-000000000002"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &channelVerifier{names: []string{"bandwidth", "bird", "plivo", "telnyx", "twilio", "vonage"}}
			s, admin, inbox := channelsServer(t, v)
			form := url.Values{"carrier": {tt.name}, "inbox_id": {inbox.ID.String()}, "phone_number": {number}, "messages_per_second": {"2.5"},
				"carrier_handles_optout": {"true"}}
			maps.Copy(form, others)
			maps.Copy(form, tt.form)
			if w := postChannel(t, s, admin, form); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/settings/channels" {
				t.Fatalf("post: %d to %q: %s", w.Code, w.Header().Get("Location"), w.Body)
			}
			if len(v.verified) != 1 {
				t.Fatalf("the carrier was asked about %d channels", len(v.verified))
			}
			got, want := v.verified[0], tt.want
			want.AccountID, want.InboxID, want.PhoneNumber, want.MessagesPerSecond, want.CarrierHandlesOptOut, want.CreatedAt =
				admin.AccountID, inbox.ID, number, 2.5, true, got.CreatedAt
			if !reflect.DeepEqual(got, want) {
				t.Errorf("channel\n got %+v\nwant %+v", got, want)
			}
			page := renderChannels(t, s, admin)
			if !strings.Contains(page, "webhooks/"+tt.name+"/") || !strings.Contains(page, "<dd>"+carrierTitle(tt.name)+"</dd>") {
				t.Errorf("the connected %s channel is not listed with its carrier and webhook URLs", tt.name)
			}
		})
	}
}

// A refusal comes back as the form typed, less its secrets, with each
// message beside the input it is about, the carrier's own word above,
// and what no input shows listed there.
func TestConnectChannelShowsTheRefusal(t *testing.T) {
	const profile = "4001767e-ce0f-4cae-9d5f-0d5e636e7809"
	v := &channelVerifier{names: []string{"telnyx", "twilio"},
		refuse: conversations.CredentialsRejectedBecause("Telnyx refused this API key", "is not an API key Telnyx accepts")}
	s, admin, inbox := channelsServer(t, v)
	form := url.Values{"carrier": {"telnyx"}, "inbox_id": {inbox.ID.String()}, "phone_number": {"+14155550100"},
		"telnyx.account_id": {profile}, "telnyx.auth_token": {"KEYwrong-and-secret"}, "telnyx.webhook_secret": {"cHVibGlj"}}
	w := postChannel(t, s, admin, form)
	page := w.Body.String()
	if w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("a refused key: %d, want 422", w.Code)
	}
	for _, want := range []string{
		`id="connect-error"`, "The channel was not connected: Telnyx refused this API key.",
		`<p class="error" id="ch-telnyx-auth-token-error">API key is not an API key Telnyx accepts</p>`,
		`aria-describedby="ch-telnyx-auth-token-hint ch-telnyx-auth-token-error" aria-invalid="true" aria-errormessage="ch-telnyx-auth-token-error"`,
		`value="` + profile + `"`, `<option value="telnyx" selected>`, `value="&#43;14155550100"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the refused form lacks %s", want)
		}
	}
	if strings.Contains(page, "KEYwrong-and-secret") {
		t.Error("the refused form shows the API key back")
	}

	// The adapter's check: Twilio names its account account_sid; a field
	// no input shows is listed at the top.
	v.refuse = nil
	v.check = map[string]string{"account_sid": "must be a Twilio Account SID", "options": "are not used by Twilio", "phone_number": "is required"}
	w = postChannel(t, s, admin, url.Values{"carrier": {"twilio"}, "inbox_id": {inbox.ID.String()}, "twilio.account_id": {"AC1"}})
	page = w.Body.String()
	for _, want := range []string{
		"please check what is marked", `<li>Options are not used by Twilio</li>`,
		`<p class="error" id="ch-account-error">Account SID must be a Twilio Account SID</p>`,
		`<p class="error" id="ch-number-error">Phone number is required</p>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the checked form lacks %s", want)
		}
	}
	if w.Code != http.StatusUnprocessableEntity || len(v.verified) != 1 {
		t.Errorf("a form the check refuses: %d, %d verified; want 422 and none asked", w.Code, len(v.verified)-1)
	}

	// A signature method none of the select's is refused by the form.
	f := connectForm{Carrier: "vonage", InboxID: inbox.ID.String()}
	_, err := f.channel(admin.AccountID, url.Values{"vonage.options.signature_method": {"crc32"}}.Get, time.Now())
	if !parley.IsKind(err, parley.EINVALID) || !strings.Contains(errorText(err), "Signature method must be one of md5hash, md5, sha1, sha256, sha512") {
		t.Errorf("an unknown signature method: %v", errorText(err))
	}
}
