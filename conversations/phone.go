package conversations

import (
	"strings"
	"sync"
	"unicode"

	"github.com/nyaruka/phonenumbers"

	"github.com/parleyhq/parley"
)

// DefaultRegion is the region assumed for numbers written without a country
// code ("(415) 555-0100"). Parley's first carrier and market is the US.
const DefaultRegion = "US"

// NormalizePhone returns raw as an E.164 number ("+14155550100") or an
// EINVALID error. It accepts the common human and carrier spellings: spaces,
// dashes, dots, parentheses, a leading "00" or no "+" before a country code
// the carrier left out (Vonage, Plivo and Sinch do), and national numbers of
// DefaultRegion. Short codes, alphanumeric senders and "whatsapp:" addresses
// are not phone numbers and are rejected, and so are numbers with an
// extension: a text cannot reach an extension, and dropping it silently
// would change the number the user meant. The result is a fixed point:
// NormalizePhone(out) == out.
func NormalizePhone(raw string) (string, error) {
	if knownE164.has(raw) {
		return raw, nil
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", invalidPhone(raw, "is empty")
	}
	if len(s) > 64 {
		return "", invalidPhone(raw, "is too long to be a phone number")
	}
	// libphonenumber skips a leading "whatsapp:" or "tel:", reads "ext 5" as
	// an extension and spells out vanity numbers (1-800-FLOWERS); none of
	// them is a number Parley can text as written.
	if strings.IndexFunc(s, unicode.IsLetter) >= 0 {
		return "", invalidPhone(raw, "contains letters, so it is not a phone number")
	}
	// "00" is the international prefix almost everywhere outside North
	// America, where no number starts with 0.
	if rest, ok := strings.CutPrefix(s, "00"); ok {
		s = "+" + rest
	}
	num, ok := parseValidPhone(s)
	if !ok && !strings.HasPrefix(s, "+") {
		// Carriers that drop the "+" send the full international number,
		// which is rarely also a valid national number of DefaultRegion.
		num, ok = parseValidPhone("+" + s)
	}
	if !ok {
		return "", invalidPhone(raw, "is not a valid phone number")
	}
	if num.GetExtension() != "" {
		return "", invalidPhone(raw, "has an extension, which a text cannot reach")
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	// libphonenumber's metadata allows some German numbers a digit or two
	// beyond E.164's limit; no carrier takes them.
	if len(e164) > 1+15 {
		return "", invalidPhone(raw, "has more than the 15 digits E.164 allows")
	}
	if e164 == raw {
		knownE164.add(raw)
	}
	return e164, nil
}

// knownE164 remembers the numbers NormalizePhone found valid as written in
// E.164, as carriers send them. libphonenumber's parse and validity check
// run its metadata's regular expressions, and every inbound webhook
// normalises the business number and the contact's (a measurable share of
// the gateway's CPU: docs/PERFORMANCE.md); the business number is the same
// on every text and most contacts text more than once.
// At max numbers it starts over, so any stream of numbers is held in
// bounded memory.
var knownE164 = numberSet{max: 1 << 14}

type numberSet struct {
	mu  sync.RWMutex
	m   map[string]struct{}
	max int
}

func (s *numberSet) has(n string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.m[n]
	return ok
}

func (s *numberSet) add(n string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil || len(s.m) >= s.max {
		s.m = make(map[string]struct{})
	}
	s.m[n] = struct{}{}
}

// parseValidPhone parses s in DefaultRegion and reports whether it is a
// valid, dialable number. Validity, not just a clean parse, decides between
// the national and the international reading of a number without "+".
func parseValidPhone(s string) (*phonenumbers.PhoneNumber, bool) {
	num, err := phonenumbers.Parse(s, DefaultRegion)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return nil, false
	}
	return num, true
}

func invalidPhone(raw, why string) error {
	e := parley.Errorf(parley.EINVALID, "%q %s", raw, why)
	e.Code = "invalid_phone_number"
	return e
}

// NormalizeSender returns the address an inbound text came from: a phone
// number in E.164 (NormalizePhone), or one of the senders that are not
// phone numbers (CARRIERS.md §9), kept as their own kinds of address so
// that their texts are not lost: a short code (3 to 8 digits, written
// without "+") or an alphanumeric sender ID (up to 11 letters, digits and
// spaces, at least one letter: "ACMEBANK"). A "whatsapp:" address is
// neither, and is refused.
func NormalizeSender(raw string) (string, error) {
	n, err := NormalizePhone(raw)
	if err == nil {
		return n, nil
	}
	s := strings.TrimSpace(raw)
	switch {
	case isShortCode(s):
		return s, nil
	case isSenderID(s):
		return s, nil
	}
	return "", err
}

// NormalizeIntlSender is NormalizeSender for the carriers that write a
// sender's international number without its "+" (Vonage, Plivo): digits
// longer than a short code are read as that number, never as a national
// number of DefaultRegion (6592345678 is Singapore's +65 9234 5678, not
// an Alabama number).
func NormalizeIntlSender(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if len(s) > 8 && allDigits(s) {
		return NormalizePhone("+" + s)
	}
	return NormalizeSender(raw)
}

// Textable reports whether Parley can text an address back: a phone
// number. A sender ID only sends, and carriers do not route a number's
// texts to a short code (Twilio refuses it with 21211).
func Textable(addr string) bool { return strings.HasPrefix(addr, "+") }

func isShortCode(s string) bool { return len(s) >= 3 && len(s) <= 8 && allDigits(s) }

func allDigits(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

func isSenderID(s string) bool {
	if len(s) == 0 || len(s) > 11 || strings.TrimSpace(s) != s {
		return false
	}
	letter := false
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
			letter = true
		case r >= '0' && r <= '9', r == ' ':
		default:
			return false
		}
	}
	return letter
}
