package twiliotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Twilio error codes the fake answers with.
const (
	codeInvalidParameter = 20001
	codeAuthenticate     = 20003
	codeNotFound         = 20404
	codeTooManyRequests  = 20429
	codeInvalidTo        = 21211
	codeBodyRequired     = 21602
	codeFromRequired     = 21603
	codeToRequired       = 21604
	codeUnsubscribed     = 21610
	codeBodyTooLong      = 21617
)

// errorMessages are Twilio's messages for the codes tests are likely to
// configure, so error_message and TwilioRestError.Message read like Twilio's.
var errorMessages = map[int]string{
	codeAuthenticate:    "Authenticate",
	codeTooManyRequests: "Too Many Requests",
	codeInvalidTo:       "The 'To' number is not a valid phone number.",
	codeBodyRequired:    "Message body is required.",
	codeFromRequired:    "A 'From' phone number is required.",
	codeToRequired:      "A 'To' phone number is required.",
	codeUnsubscribed:    "Attempt to send to unsubscribed recipient",
	codeBodyTooLong:     "The concatenated message body exceeds the 1600 character limit.",
	21408:               "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
	21612:               "The 'To' phone number is not currently reachable via SMS.",
	21614:               "'To' number is not a valid mobile number",
	30003:               "Unreachable destination handset",
	30005:               "Unknown destination handset",
	30006:               "Landline or unreachable carrier",
	30007:               "Message filtered",
	30008:               "Unknown error",
}

func errorMessage(code int) string {
	if m, ok := errorMessages[code]; ok {
		return m
	}
	return fmt.Sprintf("Error %d", code)
}

// e164 is the shape Twilio requires of a To number.
var e164 = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)

const (
	apiVersion   = "2010-04-01"
	maxBodyChars = 1600
	maxFormBytes = 1 << 20
	// twilioTime is the RFC 2822 layout of Twilio's date_* fields.
	twilioTime = "Mon, 02 Jan 2006 15:04:05 +0000"
)

// restHandler serves a REST call for the authenticated account.
type restHandler func(w http.ResponseWriter, r *http.Request, account string)

// restAPI adds what every REST call shares: Latency, then Basic auth whose
// user must be the AccountSid in the path, as Twilio checks it.
func (c *Carrier) restAPI(h restHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !sleep(r.Context(), c.latency) {
			return // the client gave up
		}
		account, ok := c.authenticate(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
			writeAPIError(w, http.StatusUnauthorized, codeAuthenticate, errorMessage(codeAuthenticate))
			return
		}
		h(w, r, account)
	})
}

func (c *Carrier) authenticate(r *http.Request) (string, bool) {
	account, ok := c.accounts.checkBasicAuth(r)
	return account, ok && account == r.PathValue("AccountSid")
}

// apiError is the body of every Twilio REST error; twilio-go decodes it into
// a *client.TwilioRestError.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func writeAPIError(w http.ResponseWriter, status, code int, message string) {
	writeJSON(w, status, apiError{
		Code:     code,
		Message:  message,
		MoreInfo: fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
		Status:   status,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // URIs keep their "&" readable for people using curl
	enc.Encode(v)            // the status is sent; a failed write has no one to tell
}

func handleNotFound(w http.ResponseWriter, r *http.Request) {
	writeAPIError(w, http.StatusNotFound, codeNotFound,
		fmt.Sprintf("The requested resource %s was not found", r.URL.Path))
}

func (c *Carrier) handleCreateMessage(w http.ResponseWriter, r *http.Request, account string) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeAPIError(w, http.StatusBadRequest, codeInvalidParameter, "Invalid form body")
		return
	}
	if c.limitEvery > 0 && c.creates.Add(1)%c.limitEvery == 0 {
		writeAPIError(w, http.StatusTooManyRequests, codeTooManyRequests, errorMessage(codeTooManyRequests))
		return
	}
	rec, code, message := c.newRecord(r, account)
	if code != 0 {
		writeAPIError(w, http.StatusBadRequest, code, message)
		return
	}
	c.store.add(rec)
	c.log.Info().Str("sid", rec.sid.String()).
		Msgf("text to %s from %s: %s", rec.to.Value(), sender(&rec), rec.body)
	if c.callbacks && rec.callback.Value() != "" {
		c.scheduleStatuses(rec.sid, c.undeliver[rec.to.Value()])
	}
	res := resource(&rec)
	if rec.service.Value() != "" {
		// Twilio picks a sender from the service after answering, so the
		// create response has no sender and counts no segments yet.
		res.From, res.NumSegments = nil, "0"
	}
	writeJSON(w, http.StatusCreated, res)
}

// newRecord validates a create as Twilio does and returns the text to
// store, or the Twilio error code and message to answer with.
func (c *Carrier) newRecord(r *http.Request, account string) (record, int, string) {
	to, from, service := r.Form.Get("To"), r.Form.Get("From"), r.Form.Get("MessagingServiceSid")
	body, media := r.Form.Get("Body"), r.Form["MediaUrl"]
	switch {
	case to == "":
		return record{}, codeToRequired, errorMessage(codeToRequired)
	case !e164.MatchString(to):
		return record{}, codeInvalidTo, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to)
	case from == "" && service == "":
		return record{}, codeFromRequired, errorMessage(codeFromRequired)
	case body == "" && len(media) == 0:
		return record{}, codeBodyRequired, errorMessage(codeBodyRequired)
	case utf8.RuneCountInString(body) > maxBodyChars:
		return record{}, codeBodyTooLong, errorMessage(codeBodyTooLong)
	}
	if code, ok := c.fail[to]; ok {
		return record{}, code, errorMessage(code)
	}
	status := "queued"
	if service != "" {
		status = "accepted" // Twilio's first status for texts sent through a Messaging Service
	}
	now := time.Now().UnixNano()
	return record{
		sid:         newSid(),
		created:     now,
		updated:     now,
		account:     intern(account),
		from:        intern(from),
		service:     intern(service),
		to:          intern(to),
		callback:    intern(r.Form.Get("StatusCallback")),
		body:        strings.Clone(body), // a value without escapes is a slice of the whole form
		media:       cloneAll(media),
		status:      status,
		numSegments: uint16(countSegments(body)),
	}, 0, ""
}

func cloneAll(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.Clone(s)
	}
	return out
}

// sender names who a text is from, for logs.
func sender(r *record) string {
	if from := r.from.Value(); from != "" {
		return from
	}
	return r.service.Value()
}

// apiMessage is Twilio's Message resource as twilio-go decodes it
// (rest/api/v2010/model_api_v2010_message.go). Fields Twilio sends as null
// are pointers so they encode as null rather than disappear.
type apiMessage struct {
	AccountSid          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            string            `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSid *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	Sid                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

func resource(r *record) apiMessage {
	sid, account := r.sid.String(), r.account.Value()
	uri := fmt.Sprintf("/%s/Accounts/%s/Messages/%s", apiVersion, account, sid)
	m := apiMessage{
		AccountSid:          account,
		APIVersion:          apiVersion,
		Body:                r.body,
		DateCreated:         twilioDate(r.created),
		DateSent:            twilioDate(r.created), // the fake hands texts to the phone at once
		DateUpdated:         twilioDate(r.updated),
		Direction:           "outbound-api",
		From:                nullable(r.from.Value()),
		MessagingServiceSid: nullable(r.service.Value()),
		NumMedia:            strconv.Itoa(len(r.media)),
		NumSegments:         strconv.Itoa(int(r.numSegments)),
		PriceUnit:           "USD",
		Sid:                 sid,
		Status:              r.status,
		SubresourceURIs:     map[string]string{"media": uri + "/Media.json"},
		To:                  r.to.Value(),
		URI:                 uri + ".json",
	}
	if r.errorCode != 0 {
		code, message := int(r.errorCode), errorMessage(int(r.errorCode))
		m.ErrorCode, m.ErrorMessage = &code, &message
	}
	return m
}

func twilioDate(unixNano int64) string {
	return time.Unix(0, unixNano).UTC().Format(twilioTime)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (c *Carrier) handleFetchMessage(w http.ResponseWriter, r *http.Request, account string) {
	name, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	var id sid
	if ok {
		id, ok = parseSid(name)
	}
	var rec record
	if ok {
		rec, ok = c.store.get(id)
	}
	if !ok || rec.account.Value() != account {
		handleNotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, resource(&rec))
}
