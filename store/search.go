package store

import (
	"strings"
	"unicode"

	"github.com/parleyhq/parley/conversations"
)

// maxSearchTerms bounds a search: more terms only slow the query down.
const maxSearchTerms = 8

// searchTerms splits a search into lower-case words of letters and digits;
// everything else separates words. The words are safe to put in a
// full-text query of either dialect.
func searchTerms(q string) []string {
	terms := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(terms) > maxSearchTerms {
		terms = terms[:maxSearchTerms]
	}
	return terms
}

// textMatch returns the dialect's full-text query for terms: every term
// must match, the last one as a prefix so that results come while typing.
func (d dialect) textMatch(terms []string) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		switch {
		case d.name == "postgres" && i == len(terms)-1:
			parts[i] = t + ":*"
		case d.name == "postgres":
			parts[i] = t
		case i == len(terms)-1:
			parts[i] = `"` + t + `"*`
		default:
			parts[i] = `"` + t + `"`
		}
	}
	if d.name == "postgres" {
		return strings.Join(parts, " & ")
	}
	return strings.Join(parts, " ")
}

// Full-text subqueries of SQLite: conversations whose messages, and
// contacts whose names, match, through the FTS5 tables; account_id narrows
// after the index lookup. (PostgreSQL searches conversations.search_tsv.)
func (d dialect) messagesMatching() string {
	return `SELECT m.conversation_id FROM messages_fts f JOIN messages m ON m.id = f.rowid
WHERE messages_fts MATCH ? AND m.account_id = ?`
}

func (d dialect) contactsMatching() string {
	return `SELECT c.id FROM contacts_fts f JOIN contacts c ON c.id = f.rowid
WHERE contacts_fts MATCH ? AND c.account_id = ?`
}

// searchCond is a conversation list's q as SQL.
type searchCond struct {
	cond string
	args []any
	// fullPhone: q is a whole phone number.
	fullPhone bool
}

// conversationSearch is the WHERE condition for a conversation list's q:
// the contact's phone (a full number in any spelling, or its first or last
// digits), or a full-text match on message bodies or the contact's name.
func (d dialect) conversationSearch(q string, accountID any) searchCond {
	var conds []string
	var out searchCond
	if phone, err := conversations.NormalizePhone(q); err == nil {
		conds, out.args, out.fullPhone = append(conds, "cv.contact_phone = ?"), append(out.args, phone), true
	} else if digits, ok := phoneDigits(q); ok {
		// Ranges, not LIKE '%…%': each uses an index. The digits may start
		// the number (with or without the default country code) or end it.
		conds = append(conds, "(cv.contact_phone >= ? AND cv.contact_phone < ?)",
			"(cv.contact_phone >= ? AND cv.contact_phone < ?)", "(cv.contact_phone_rev >= ? AND cv.contact_phone_rev < ?)")
		rev := reversedDigits(digits)
		out.args = append(out.args, "+"+digits, "+"+digits+"\x7f", "+1"+digits, "+1"+digits+"\x7f", rev, rev+"\x7f")
	}
	if terms := searchTerms(q); len(terms) > 0 {
		match := d.textMatch(terms)
		if d.name == "postgres" {
			// The conversation's own search document (migration 00005).
			conds, out.args = append(conds, "cv.search_tsv @@ to_tsquery('simple', ?)"), append(out.args, match)
		} else {
			conds = append(conds, "cv.id IN ("+d.messagesMatching()+")", "cv.contact_id IN ("+d.contactsMatching()+")")
			out.args = append(out.args, match, accountID, match, accountID)
		}
	}
	if len(conds) == 0 {
		return searchCond{cond: "1 = 0"}
	}
	out.cond = "(" + strings.Join(conds, " OR ") + ")"
	return out
}

// phoneDigits reads "+1415", "0333" or "(415) 555" as a piece of a phone
// number and returns its digits; it needs at least three to be selective.
func phoneDigits(q string) (string, bool) {
	var b strings.Builder
	digits := 0
	for _, r := range strings.TrimSpace(q) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			digits++
		case r == '+' && digits == 0, r == ' ', r == '-', r == '(', r == ')', r == '.':
		default:
			return "", false
		}
	}
	return b.String(), digits >= 3
}
