package web

import (
	"testing"

	"github.com/parleyhq/parley/conversations"
)

// Every notification kind reads as words, not as its API name.
func TestNotificationsSayWhatHappened(t *testing.T) {
	d := notificationsData{}
	for _, k := range []conversations.NotificationKind{conversations.NotifyAssigned, conversations.NotifyInbound,
		conversations.NotifyOutcomeSuggested, conversations.NotifyWebhookDisabled, conversations.NotifyRevocationUnanswered} {
		if got := d.What(conversations.Notification{Kind: k}); got == string(k) || got == "" {
			t.Errorf("a %s notification reads %q", k, got)
		}
	}
}
