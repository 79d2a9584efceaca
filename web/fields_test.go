package web

import (
	"testing"

	"github.com/parleyhq/parley"
)

// TestErrorTextInTheFormsWords: refusals name fields as the forms label
// them, never as the API does.
func TestErrorTextInTheFormsWords(t *testing.T) {
	for _, c := range []struct {
		name   string
		fields map[string]string
		want   string
	}{
		{"empty reply", map[string]string{"body": "is required unless media_urls are given"}, "Write a message first."},
		{"quick message to nobody", map[string]string{"to": "name at least one phone number in to or contact in contact_ids"},
			"Choose at least one contact or type a phone number."},
		{"keywords", map[string]string{"keywords.opt_in": "must list at least one keyword"}, "Please check: Opt-in keywords must list at least one keyword."},
		{"quiet hours", map[string]string{"quiet_hours.timezone": "must be an IANA time zone, e.g. America/New_York"},
			"Please check: Time zone must be an IANA time zone, e.g. America/New_York."},
		{"oneself", map[string]string{"active": "you cannot deactivate or reactivate yourself; another admin can"},
			"You cannot deactivate or reactivate yourself: another admin can."},
		{"a routing entry", map[string]string{"entries[0].user_ids": "must name at least one user", "entries[2]": "repeats entries[0]"},
			"Please check: Entry 1: pool must name at least one user; Entry 3 repeats Entry 1."},
		{"a report's range", map[string]string{"to": "must be after from"}, "Through must not be before From."},
		{"a carrier's words", map[string]string{"auth_token": "is not accepted by the carrier for this account_sid"},
			"Please check: Auth token is not accepted by the carrier for this account SID."},
		{"a carrier option", map[string]string{"options.signature_method": "must be one of md5, sha1"},
			"Please check: Signature method must be one of md5, sha1."},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := errorText(parley.Invalid(c.fields)); got != c.want {
				t.Errorf("errorText = %q, want %q", got, c.want)
			}
		})
	}
}
