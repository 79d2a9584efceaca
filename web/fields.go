package web

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The domain names the fields of a refusal as the JSON API does
// ("quiet_hours.timezone", "entries[2].user_ids"), and some messages
// speak of other API fields ("unless media_urls are given"). The pages
// say the same in the words of their forms; the API keeps its own.

// fieldLabels name fields as the pages label them.
var fieldLabels = map[string]string{
	"body":                          "Message",
	"to":                            "Recipients",
	"contact_ids":                   "Contacts",
	"channel_id":                    "Channel",
	"inbox_id":                      "Inbox",
	"media_urls":                    "Pictures",
	"help_text":                     "Help reply",
	"opt_out_reply":                 "Opt-out reply",
	"opt_in_reply":                  "Opt-in reply",
	"keywords":                      "Keywords",
	"keywords.opt_out":              "Opt-out keywords",
	"keywords.opt_in":               "Opt-in keywords",
	"keywords.help":                 "Help keywords",
	"languages.es.help_text":        "Help reply in Spanish",
	"languages.es.opt_out_reply":    "Opt-out reply in Spanish",
	"languages.es.opt_in_reply":     "Opt-in reply in Spanish",
	"languages.es.keywords":         "Spanish keywords",
	"languages.es.keywords.opt_out": "Spanish opt-out keywords",
	"languages.es.keywords.opt_in":  "Spanish opt-in keywords",
	"languages.es.keywords.help":    "Spanish help keywords",
	"quiet_hours":                   "Quiet hours",
	"quiet_hours.start":             "Quiet hours' start (From)",
	"quiet_hours.end":               "Quiet hours' end (Until)",
	"quiet_hours.timezone":          "Time zone",
	"active":                        "Active",
	"view_all_conversations":        "Sees every conversation",
	"messages_per_second":           "Messages per second",
	"phone_number":                  "Phone number",
	"account_id":                    "Carrier account",
	"account_sid":                   "Account SID",
	"messaging_service_sid":         "Messaging service SID",
	"until":                         "Snooze until",
	"record_id":                     "Record",
	"from":                          "From",
}

// fieldSentences replace a field's whole message where the API's words
// name its own fields.
var fieldSentences = map[string]string{
	"body\x00is required unless media_urls are given":                               "Write a message first.",
	"to\x00name at least one phone number in to or contact in contact_ids":          "Choose at least one contact or type a phone number.",
	"active\x00you cannot deactivate or reactivate yourself; another admin can":     "You cannot deactivate or reactivate yourself: another admin can.",
	"messaging_service_sid\x00is required unless phone_number is given":             "Give a phone number or a messaging service SID.",
	"phone_number\x00is required unless messaging_service_sid is given":             "Give a phone number or a messaging service SID.",
	"media_urls\x00must be http(s) URLs":                                            "Pictures must be web addresses (http or https).",
	"to\x00at most 100 recipients; use a campaign for more":                         "At most 100 recipients: use a campaign for more.",
	"entries\x00at least one entry is required":                                     "Add at least one entry.",
	"until\x00is required (RFC 3339)":                                               "Choose when the snooze ends.",
	"confirm\x00must be ticked to disconnect the channel":                           "Tick the box to disconnect the channel.",
	"keywords\x00are invalid":                                                       "The keywords are invalid.",
	"quiet_hours\x00must be {start, end, timezone} or null":                         "Quiet hours need a start, an end and a time zone.",
	"languages.es.keywords\x00are invalid":                                          "The Spanish keywords are invalid.",
	"contact_ids\x00name at least one phone number in to or contact in contact_ids": "Choose at least one contact or type a phone number.",
	// The reports' ranges: the form's Through is the API's "to", a day on.
	"from\x00must be a date":                     "From must be a date.",
	"to\x00must be a date":                       "Through must be a date.",
	"to\x00must be after from":                   "Through must not be before From.",
	"to\x00must be at most two years after from": "The range must be at most two years long: move From or Through.",
}

// entryName is a routing entry as routing names it: "entries[2]".
var entryName = regexp.MustCompile(`entries\[(\d{1,3})\]`)

// entryWords says "Entry 3" where routing says "entries[2]".
func entryWords(s string) string {
	return entryName.ReplaceAllStringFunc(s, func(m string) string {
		n, _ := strconv.Atoi(entryName.FindStringSubmatch(m)[1])
		return fmt.Sprintf("Entry %d", n+1)
	})
}

// humanField is a field's name as a person reads it: the form's label,
// "Entry 3: pool" for a routing entry's field, else the name in words.
func humanField(field string) string {
	if l, ok := fieldLabels[field]; ok {
		return l
	}
	if option, ok := strings.CutPrefix(field, "options."); ok { // a carrier's own setting
		field = option
	}
	if m := entryField.FindStringSubmatch(field); m != nil {
		return entryWords("entries["+m[1]+"]") + ": " + strings.ToLower(fieldLabel(m[2]))
	}
	if entryName.MatchString(field) && entryName.FindString(field) == field {
		return entryWords(field)
	}
	s := strings.NewReplacer("_", " ", ".", " ").Replace(field)
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// fieldProblem is one field's refusal as a sentence: the page's words
// for the API's, the field's label before its message.
func fieldProblem(field, msg string) string {
	if s, ok := fieldSentences[field+"\x00"+msg]; ok {
		return s
	}
	return humanField(field) + " " + apiWords.Replace(entryWords(msg))
}

// apiWords are the API's field names that messages mention, in words.
var apiWords = strings.NewReplacer("account_sid", "account SID", "messaging_service_sid", "messaging service SID",
	"media_urls", "pictures", "contact_ids", "contacts", "phone_number", "phone number", "auth_token", "auth token")
