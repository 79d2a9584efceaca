package conversations

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// tokenPrefix marks Parley API tokens so secret scanners can find leaked ones.
const tokenPrefix = "prl_"

// MinOperatorTokenLength is the shortest token an operator may choose: as
// hard to guess as a generated one when it is random, and long enough that
// a word or a short phrase is refused.
const MinOperatorTokenLength = 32

// TokenSecret is a freshly generated API token: the secret that is shown
// once, and what is stored (the hash and a short prefix to recognise it).
type TokenSecret struct {
	Secret string
	Hash   string
	Prefix string
}

// NewTokenSecret generates a 160-bit random token. Its stored prefix is
// "prl_" and 4 of its 32 random characters: enough to tell tokens apart.
func NewTokenSecret() TokenSecret {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	secret := tokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return TokenSecret{Secret: secret, Hash: HashToken(secret), Prefix: secret[:len(tokenPrefix)+4]}
}

// TokenSecretFrom wraps a token an operator chose (PARLEY_BOOTSTRAP_TOKEN,
// account create --token); EINVALID, its message saying why, when it is
// too short to be a secret. Its prefix is a fingerprint of the hash: any of
// the secret's own characters would tell a guesser where to start.
func TokenSecretFrom(secret string) (TokenSecret, error) {
	if n := utf8.RuneCountInString(secret); n < MinOperatorTokenLength {
		return TokenSecret{}, parley.Errorf(parley.EINVALID,
			"must be at least %d characters, got %d (leave it unset to have one generated)", MinOperatorTokenLength, n)
	}
	if strings.IndexFunc(secret, unicode.IsSpace) >= 0 {
		return TokenSecret{}, parley.Errorf(parley.EINVALID, "must not contain spaces: it is sent in an Authorization header")
	}
	hash := HashToken(secret)
	return TokenSecret{Secret: secret, Hash: hash, Prefix: "sha256:" + hash[:8]}, nil
}

// HashToken is how a presented bearer token is looked up.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// TokenUseResolution is how precisely a token's last use is kept: noting
// every request would make each one a database write.
const TokenUseResolution = time.Minute

// TokenUseDue reports whether a token last used at last (nil: never) is to
// be noted as used at now.
func TokenUseDue(last *time.Time, now time.Time) bool {
	return last == nil || now.Sub(*last) >= TokenUseResolution
}
