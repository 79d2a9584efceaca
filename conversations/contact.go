package conversations

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// Contact is a person or organisation the account texts with. A contact may
// have several phones; each (channel, phone) pair has its own conversation.
type Contact struct {
	ID         parley.ID
	AccountID  parley.ID
	Name       string
	Type       string
	Attributes map[string]any
	Phones     []string // E.164, in the order they were added
	// Relationships maps a relationship ("counselor") to the user routing
	// chose for the contact; routing prefers them next time.
	Relationships map[string]parley.ID
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// maxPhonesPerContact bounds a contact's phone list; a larger list is a
// data-entry mistake, not a person.
const maxPhonesPerContact = 20

// Validate normalises and checks a contact before it is written.
func (c *Contact) Validate() error { return c.ValidateKeeping(nil) }

// ValidateKeeping is Validate for a contact that held the phones kept: one
// of them stays as it is, so a short code or sender ID that texted in
// (NormalizeSender) survives an edit of the contact's other fields, while
// staff can only type phone numbers.
func (c *Contact) ValidateKeeping(kept []string) error {
	fields := map[string]string{}
	c.Name = strings.TrimSpace(c.Name)
	c.Type = strings.TrimSpace(c.Type)
	if len(c.Name) > 200 || !isText(c.Name) {
		fields["name"] = "must be text of at most 200 bytes"
	}
	if len(c.Type) > 100 || !isText(c.Type) {
		fields["type"] = "must be text of at most 100 bytes"
	}
	if c.Attributes == nil {
		c.Attributes = map[string]any{}
	}
	if b, err := json.Marshal(c.Attributes); err != nil || len(b) > 16<<10 || strings.Contains(string(b), `\u0000`) {
		fields["attributes"] = "must be a JSON object of at most 16 KiB, without NUL characters"
	}
	if len(c.Phones) > maxPhonesPerContact {
		fields["phones"] = "at most 20 phones"
	}
	seen := map[string]bool{}
	phones := make([]string, 0, len(c.Phones))
	for _, raw := range c.Phones {
		p, err := NormalizePhone(raw)
		if err != nil && slices.Contains(kept, raw) {
			p, err = raw, nil
		}
		if err != nil {
			fields["phones"] = "\"" + raw + "\" is not a valid phone number"
			continue
		}
		if !seen[p] {
			seen[p] = true
			phones = append(phones, p)
		}
	}
	c.Phones = phones
	if len(fields) > 0 {
		return parley.Invalid(fields)
	}
	return nil
}

// ValidateNew is Validate for a contact staff or a client create: it has
// a name or a phone. A contact known by name alone can be given a phone
// later, and one an inbound text made has a phone alone; one with neither
// is nobody.
func (c *Contact) ValidateNew() error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.Name == "" && len(c.Phones) == 0 {
		return parley.Invalid(map[string]string{"name": "give a name or a phone number", "phones": "give a phone number or a name"})
	}
	return nil
}

// ContactFilter selects contacts.
type ContactFilter struct {
	AccountID parley.ID
	Phone     string // exact E.164 match on any of the contact's phones
	Query     string // substring of name or phone
	Page      Page
}

// Validate checks the filter's search text.
func (f ContactFilter) Validate() error {
	if !isText(f.Query) {
		return parley.Invalid(map[string]string{"q": "must be text"})
	}
	return nil
}

// ContactConversations selects the conversations of a contact that u may
// see: all of them for admins and view-all users, an agent's own.
func ContactConversations(u User, contactID parley.ID, page Page) ConversationFilter {
	f := ConversationFilter{AccountID: u.AccountID, ContactID: contactID, Page: page}
	if !u.CanViewAll() {
		f.AssigneeID = u.ID
	}
	return f
}

// isText reports whether s is valid UTF-8 without NUL: what both databases
// store in a text column (PostgreSQL refuses NUL outright).
func isText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
