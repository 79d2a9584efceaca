package twiliotest

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// accountBook is who may call the fake and what each account owns: its
// phone numbers and Messaging Services. Tests and the control API add to
// it while the carrier runs.
type accountBook struct {
	mu     sync.RWMutex
	tokens map[string]string // AccountSid → AuthToken
	owner  map[string]string // number or MG… SID → AccountSid
	lists  map[string]bool   // AccountSids that own a listed number or service
}

func newAccountBook(tokens map[string]string, owns map[string][]string) *accountBook {
	b := &accountBook{tokens: map[string]string{}, owner: map[string]string{}, lists: map[string]bool{}}
	for sid, token := range tokens {
		b.add(sid, token)
	}
	for sid, list := range owns {
		b.add(sid, "", list...)
	}
	return b
}

// add registers an account (a token "" keeps the known one) and what it
// owns; a number or service moves to its new owner.
func (b *accountBook) add(sid, token string, owns ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if token != "" {
		b.tokens[sid] = token
	}
	for _, n := range owns {
		b.owner[n] = sid
		b.lists[sid] = true
	}
}

func (b *accountBook) token(sid string) (string, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	t, ok := b.tokens[sid]
	return t, ok
}

// owns reports whether the account owns the number or service. One that
// no account lists belongs to every account that lists none, so a demo or
// test that never said which numbers it has keeps working.
func (b *accountBook) owns(sid, numberOrService string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if owner, listed := b.owner[numberOrService]; listed {
		return owner == sid
	}
	return !b.lists[sid]
}

// sole returns the only account's SID, or "" when there are more or none.
func (b *accountBook) sole() string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if len(b.tokens) != 1 {
		return ""
	}
	for sid := range b.tokens {
		return sid
	}
	return ""
}

// checkBasicAuth returns the account whose credentials r carries.
func (b *accountBook) checkBasicAuth(r *http.Request) (string, bool) {
	user, pass, ok := r.BasicAuth()
	token, known := b.token(user)
	if !ok || !known {
		return "", false
	}
	return user, subtle.ConstantTimeCompare([]byte(token), []byte(pass)) == 1
}

// AddAccount registers an account while the carrier runs: its REST calls
// are accepted and its webhooks signed with token, and it owns the given
// phone numbers and Messaging Service SIDs (taken from any other owner).
// A token "" adds numbers to a known account.
func (c *Carrier) AddAccount(sid, token string, owns ...string) {
	c.accounts.add(sid, token, owns...)
}

// incomingNumber is the part of Twilio's IncomingPhoneNumber resource
// Parley reads.
type incomingNumber struct {
	Sid         string `json:"sid"`
	AccountSid  string `json:"account_sid"`
	PhoneNumber string `json:"phone_number"`
	APIVersion  string `json:"api_version"`
}

// handleListIncomingNumbers answers the account's IncomingPhoneNumbers
// filtered by PhoneNumber, as Twilio does when a channel is connected.
// The fake knows no numbers it was not asked about: the list holds the
// asked number when the account owns it, else nothing.
func (c *Carrier) handleListIncomingNumbers(w http.ResponseWriter, r *http.Request, account string) {
	numbers := []incomingNumber{}
	if n := r.URL.Query().Get("PhoneNumber"); n != "" && c.accounts.owns(account, n) {
		numbers = append(numbers, incomingNumber{Sid: "PN" + strings.Repeat("0", 32), AccountSid: account, PhoneNumber: n, APIVersion: apiVersion})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"incoming_phone_numbers": numbers, "page": 0, "page_size": len(numbers), "start": 0, "end": max(0, len(numbers)-1),
		"first_page_uri": r.URL.RequestURI(), "next_page_uri": nil, "previous_page_uri": nil, "uri": r.URL.RequestURI(),
	})
}

// handleFetchService answers Twilio Messaging's GET /v1/Services/{Sid}:
// 200 for a service of the authenticated account, else 404.
func (c *Carrier) handleFetchService(w http.ResponseWriter, r *http.Request) {
	if !sleep(r.Context(), c.latency) {
		return
	}
	account, ok := c.accounts.checkBasicAuth(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeAPIError(w, http.StatusUnauthorized, codeAuthenticate, errorMessage(codeAuthenticate))
		return
	}
	service := r.PathValue("Sid")
	if !strings.HasPrefix(service, "MG") || !c.accounts.owns(account, service) {
		writeAPIError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("The requested resource /Services/%s was not found", service))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sid": service, "account_sid": account, "friendly_name": "Fake service " + service,
		"url": "https://messaging.twilio.com/v1/Services/" + service})
}
