package conversations

import (
	"strings"
	"testing"

	"github.com/parleyhq/parley"
)

func TestTokenSecretFrom(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		ok     bool
	}{
		{"one character", "a", false},
		{"31 characters", strings.Repeat("x", 31), false},
		{"32 characters", strings.Repeat("x", 32), true},
		{"32 characters, some of them not ASCII", strings.Repeat("é", 32), true},
		{"long enough but with a space", strings.Repeat("x", 20) + " " + strings.Repeat("y", 20), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := TokenSecretFrom(tt.secret)
			if !tt.ok {
				if !parley.IsKind(err, parley.EINVALID) {
					t.Fatalf("TokenSecretFrom = %+v, %v; want EINVALID", s, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Secret != tt.secret || s.Hash != HashToken(tt.secret) || s.Prefix != "sha256:"+HashToken(tt.secret)[:8] {
				t.Errorf("TokenSecretFrom = %+v; want the hash's fingerprint as prefix", s)
			}
		})
	}
}

func TestNewTokenSecretPrefix(t *testing.T) {
	s := NewTokenSecret()
	if len(s.Secret) != 36 || !strings.HasPrefix(s.Secret, "prl_") || s.Prefix != s.Secret[:8] || s.Hash != HashToken(s.Secret) {
		t.Errorf("NewTokenSecret = %+v; want prl_ and 32 characters, prefixed by its first 8", s)
	}
}
