package reports

import (
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// Reports credit a conversation to what began it.
func TestOriginOf(t *testing.T) {
	campaign := parley.ID(3)
	for _, c := range []struct {
		name     string
		first    conversations.Direction
		campaign *parley.ID
		want     Origin
	}{
		{"no text yet", "", nil, OriginInbound},
		{"the contact texted first", conversations.Inbound, nil, OriginInbound},
		{"a campaign's text", conversations.Outbound, &campaign, OriginCampaign},
		{"a quick message", conversations.Outbound, nil, OriginQuickMessage},
	} {
		if got := OriginOf(c.first, c.campaign); got != c.want {
			t.Errorf("%s: OriginOf = %q, want %q", c.name, got, c.want)
		}
	}
}
