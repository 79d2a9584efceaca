package campaigns

import (
	"testing"

	"github.com/parleyhq/parley/optout"
)

func TestKeywordReplyPurpose(t *testing.T) {
	for intent, want := range map[optout.Intent]string{
		optout.IntentOptOut: PurposeOptOutConfirmation, // reaches the phone that just opted out
		optout.IntentOptIn:  PurposeAutoReply,
		optout.IntentHelp:   PurposeAutoReply,
	} {
		if got := KeywordReplyPurpose(intent); got != want {
			t.Errorf("KeywordReplyPurpose(%s) = %q, want %q", intent, got, want)
		}
	}
}
