package conversations

import (
	"strings"

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
// are not phone numbers and are rejected.
func NormalizePhone(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", invalidPhone(raw, "is empty")
	}
	if len(s) > 64 {
		return "", invalidPhone(raw, "is too long to be a phone number")
	}
	num, err := phonenumbers.Parse(s, DefaultRegion)
	if err != nil && !strings.HasPrefix(s, "+") {
		// Carriers that drop the "+" send the full international number.
		num, err = phonenumbers.Parse("+"+s, DefaultRegion)
	}
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", invalidPhone(raw, "is not a valid phone number")
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

func invalidPhone(raw, why string) error {
	e := parley.Errorf(parley.EINVALID, "%q %s", raw, why)
	e.Code = "invalid_phone_number"
	return e
}
