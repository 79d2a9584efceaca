package gateway

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/carrier"
)

// refusing refuses each channel with the error its token names.
type refusing struct {
	carrier.Adapter
	errs map[string]error
}

func (a refusing) Authenticate(_ *carrier.Webhook, ch conversations.Channel, _ time.Time) error {
	return a.errs[ch.AuthToken]
}

// A refusal that asks the carrier to send again wins over the first
// channel's: a 403 would drop a callback a later channel could take once
// it is signed.
func TestAuthenticatedByPrefersSendAgain(t *testing.T) {
	a := refusing{errs: map[string]error{
		"no-secret": parley.Errorf(parley.EFORBIDDEN, "no secret to check with"),
		"unsigned":  parley.Errorf(parley.EUNAVAILABLE, "not signed: send it again"),
		"forged":    parley.Errorf(parley.EFORBIDDEN, "forged"),
	}}
	clock := &parley.FixedClock{T: time.Unix(0, 0)}
	chs := func(tokens ...string) []conversations.Channel {
		var out []conversations.Channel
		for _, tk := range tokens {
			out = append(out, conversations.Channel{AuthToken: tk})
		}
		return out
	}
	if _, err := authenticatedBy(a, &carrier.Webhook{}, chs("no-secret", "unsigned", "forged"), clock); !parley.IsKind(err, parley.EUNAVAILABLE) {
		t.Errorf("a 403 then a 503: %v; want the 503", err)
	}
	if _, err := authenticatedBy(a, &carrier.Webhook{}, chs("no-secret", "forged"), clock); err == nil || err.Error() != a.errs["no-secret"].Error() {
		t.Errorf("two refusals: %v; want the first channel's", err)
	}
	a.errs["ok"] = nil
	if ch, err := authenticatedBy(a, &carrier.Webhook{}, chs("unsigned", "ok"), clock); err != nil || ch.AuthToken != "ok" {
		t.Errorf("a channel that takes it: %v, %v", ch, err)
	}
}
