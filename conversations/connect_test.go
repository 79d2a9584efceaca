package conversations_test

import (
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// slots is a store where one channel holds the slot a new one wants.
type slots struct {
	holder   *conversations.Channel
	released []parley.ID
}

func (s *slots) CreateChannel(_ context.Context, c conversations.Channel) (conversations.Channel, error) {
	if s.holder != nil {
		return c, parley.Conflict("channel_exists", "taken")
	}
	c.ID = 99
	return c, nil
}

func (s *slots) ChannelHolding(context.Context, conversations.Channel) (conversations.Channel, error) {
	if s.holder == nil {
		return conversations.Channel{}, parley.Errorf(parley.ENOTFOUND, "none")
	}
	return *s.holder, nil
}

func (s *slots) ReleaseClaimedChannel(_ context.Context, c conversations.Channel, _ time.Time) error {
	s.released = append(s.released, c.ID)
	s.holder = nil
	return nil
}

// verifier answers every verification with err, recording whose.
type verifier struct {
	err   error
	asked []parley.ID
}

func (v *verifier) CheckChannel(*conversations.Channel) map[string]string { return nil }

func (v *verifier) VerifyChannel(_ context.Context, c conversations.Channel) error {
	v.asked = append(v.asked, c.ID)
	return v.err
}

// A new, verified channel takes the slot of another account's channel
// the carrier refuses; never one the carrier accepts or cannot judge, nor
// one of its own account.
func TestConnectChannelReleasesRefusedClaims(t *testing.T) {
	mine := conversations.Channel{AccountID: 1, CarrierAccountID: "AC1", PhoneNumber: "+14155550100"}
	for _, tt := range []struct {
		name        string
		holderAcct  parley.ID
		carrier     error
		wantKind    string
		wantRelease bool
	}{
		{"refused credentials", 2, conversations.CredentialsRejected(), "", true},
		{"number not on the account", 2, conversations.NotOnCarrierAccount("phone_number"), "", true},
		{"credentials that verify", 2, nil, parley.ECONFLICT, false},
		{"a carrier that cannot say", 2, conversations.CarrierUnavailable("down"), parley.EUPSTREAM, false},
		{"the account's own channel", 1, conversations.CredentialsRejected(), parley.ECONFLICT, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &slots{holder: &conversations.Channel{ID: 7, AccountID: tt.holderAcct}}
			v := &verifier{err: tt.carrier}
			got, err := conversations.ConnectChannel(context.Background(), s, v, mine, time.Now())
			if parley.ErrorKind(err) != tt.wantKind && !(tt.wantKind == "" && err == nil) {
				t.Fatalf("err = %v; want kind %q", err, tt.wantKind)
			}
			if released := len(s.released) == 1; released != tt.wantRelease {
				t.Errorf("released %v; want released %v", s.released, tt.wantRelease)
			}
			if tt.wantRelease && got.ID != 99 {
				t.Errorf("channel = %+v; want the new one stored", got)
			}
			if tt.holderAcct == mine.AccountID && len(v.asked) != 0 {
				t.Errorf("the carrier was asked about the account's own channel")
			}
		})
	}
}
