package conversations

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// tokenPrefix marks Parley API tokens so secret scanners can find leaked ones.
const tokenPrefix = "prl_"

// TokenSecret is a freshly generated API token: the secret that is shown
// once, and what is stored (the hash and a short prefix to recognise it).
type TokenSecret struct {
	Secret string
	Hash   string
	Prefix string
}

// NewTokenSecret generates a 160-bit random token.
func NewTokenSecret() TokenSecret {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return TokenSecretFrom(tokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)))
}

// TokenSecretFrom wraps a given secret, e.g. PARLEY_BOOTSTRAP_TOKEN.
func TokenSecretFrom(secret string) TokenSecret {
	prefix := secret
	if len(prefix) > 8 {
		prefix = prefix[:8]
	}
	return TokenSecret{Secret: secret, Hash: HashToken(secret), Prefix: prefix}
}

// HashToken is how a presented bearer token is looked up.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
