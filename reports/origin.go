package reports

import (
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// OriginOf is how a conversation began, from its first text's direction
// ("" when it has none) and campaign. Only campaigns and quick messages
// begin conversations outbound, and a sent text keeps its campaign but
// not its purpose, so the campaign tells the two apart.
func OriginOf(first conversations.Direction, campaignID *parley.ID) Origin {
	switch {
	case first == "" || first == conversations.Inbound:
		return OriginInbound
	case campaignID != nil:
		return OriginCampaign
	}
	return OriginQuickMessage
}
