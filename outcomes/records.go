package outcomes

import (
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// RecordType is the kind of business record.
type RecordType string

// Record types (API.md, "Records, links and outcomes").
const (
	RecordContact RecordType = "contact"
	RecordAccount RecordType = "account"
	RecordTicket  RecordType = "ticket"
	RecordDeal    RecordType = "deal"
	RecordQuote   RecordType = "quote"
	RecordInvoice RecordType = "invoice"
	RecordProject RecordType = "project"
)

// withArticle is the type as a sentence names one: "a quote", "an invoice".
func (r RecordType) withArticle() string {
	if r != "" && strings.IndexByte("aeiou", r[0]) >= 0 {
		return "an " + string(r)
	}
	return "a " + string(r)
}

// RecordTypes lists them in API.md's order.
var RecordTypes = []RecordType{RecordContact, RecordAccount, RecordTicket, RecordDeal, RecordQuote, RecordInvoice, RecordProject}

// Valid reports whether t is a record type.
func (t RecordType) Valid() bool {
	for _, r := range RecordTypes {
		if r == t {
			return true
		}
	}
	return false
}

// Record statuses that raise suggestions on the conversations a record is
// linked to. Other statuses are the integration's own words, kept as sent.
const (
	StatusAccepted = "accepted" // a quote
	StatusPaid     = "paid"     // an invoice
)

// Record is a business record an integration keeps in Parley: identified
// by (type, external_id) within the account.
type Record struct {
	ID         parley.ID
	AccountID  parley.ID
	Type       RecordType
	ExternalID string
	Title      string
	Status     string
	Amount     *Money
	URL        string
	ContactID  *parley.ID
	OccurredAt *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// RecordInput is PUT /v1/records/{type}/{external_id}: the record as the
// integration writes it, and the conversation to link it to, if any.
type RecordInput struct {
	Type           RecordType
	ExternalID     string
	Title          string
	Status         string
	Amount         string // decimal string; with Currency or neither
	Currency       string
	URL            string
	ContactID      *parley.ID
	OccurredAt     *time.Time
	ConversationID *parley.ID
}

// Bounds of a record's text fields.
const (
	maxExternalID = 200
	maxTitle      = 500
	maxStatus     = 100
	maxURL        = 2000
)

// Validate checks the input and returns the record it writes (without
// ids or times). Errors name the field.
func (in RecordInput) Validate(accountID parley.ID) (Record, error) {
	fields := map[string]string{}
	if !in.Type.Valid() {
		fields["type"] = "must be one of contact, account, ticket, deal, quote, invoice, project"
	}
	in.ExternalID = strings.TrimSpace(in.ExternalID)
	if in.ExternalID == "" || len(in.ExternalID) > maxExternalID || !printable(in.ExternalID) {
		fields["external_id"] = "is required, at most 200 bytes of text"
	}
	in.Title = strings.TrimSpace(in.Title)
	if in.Title == "" || len(in.Title) > maxTitle || !printable(in.Title) {
		fields["title"] = "is required, at most 500 bytes of text"
	}
	in.Status = strings.ToLower(strings.TrimSpace(in.Status))
	if len(in.Status) > maxStatus || !printable(in.Status) {
		fields["status"] = "must be at most 100 bytes of text"
	}
	money, bad := ParseMoney(in.Amount, in.Currency)
	for k, v := range bad {
		fields[k] = v
	}
	if in.URL != "" {
		u, err := url.Parse(in.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(in.URL) > maxURL {
			fields["url"] = "must be an http or https URL of at most 2000 bytes"
		}
	}
	if len(fields) > 0 {
		return Record{}, parley.Invalid(fields)
	}
	return Record{AccountID: accountID, Type: in.Type, ExternalID: in.ExternalID, Title: in.Title, Status: in.Status,
		Amount: money, URL: in.URL, ContactID: in.ContactID, OccurredAt: in.OccurredAt}, nil
}

func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// RecordFilter is GET /v1/records: by type, by a search of title and
// external id, by contact; keyset pages by id.
type RecordFilter struct {
	AccountID parley.ID
	Type      RecordType // "" for any
	Types     []RecordType
	Query     string
	ContactID parley.ID
	Page      parley.Page
}

// Link ties a record to a conversation.
type Link struct {
	ConversationID parley.ID
	Record         Record
	CreatedBy      *parley.ID
	CreatedAt      time.Time
}
