package conversations_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// A channel's pace is no limit (0) or one a carrier offers: a tiny one
// once overflowed the pacing interval into no pacing at all.
func TestChannelMessagesPerSecond(t *testing.T) {
	channel := func(mps float64) conversations.Channel {
		return conversations.Channel{Carrier: conversations.CarrierTwilio, InboxID: 1, PhoneNumber: "+14155550100",
			CarrierAccountID: "AC" + strings.Repeat("a", 32), AuthToken: "token", MessagesPerSecond: mps}
	}
	for _, tt := range []struct {
		mps float64
		ok  bool
	}{
		{0, true}, {0.01, true}, {1, true}, {1000, true},
		{1e-300, false}, {0.001, false}, {-1, false}, {1000.5, false}, {1e300, false},
		{math.NaN(), false}, {math.Inf(1), false},
	} {
		c := channel(tt.mps)
		err := c.Validate()
		p := conversations.ChannelPatch{MessagesPerSecond: &tt.mps}
		perr := p.Validate()
		for what, err := range map[string]error{"Validate": err, "ChannelPatch.Validate": perr} {
			if tt.ok && err != nil {
				t.Errorf("%s(%g) = %v; want ok", what, tt.mps, err)
			}
			var pe *parley.Error
			if !tt.ok && (!errors.As(err, &pe) || pe.Kind != parley.EINVALID || pe.Fields["messages_per_second"] == "") {
				t.Errorf("%s(%g) = %v; want 422 naming messages_per_second", what, tt.mps, err)
			}
		}
	}
}
