package vonage

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"slices"
	"strings"
)

// hashes are the HMAC methods' hash functions.
var hashes = map[string]func() hash.Hash{
	MethodMD5: md5.New, MethodSHA1: sha1.New, MethodSHA256: sha256.New, MethodSHA512: sha512.New,
}

// signedString is what a signature covers: every parameter but sig,
// sorted by name, each as "&name=value" with any & or = in the value
// replaced by _.
func signedString(params map[string]string) string {
	names := make([]string, 0, len(params))
	for k := range params {
		if k != "sig" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	clean := strings.NewReplacer("&", "_", "=", "_")
	var b strings.Builder
	for _, k := range names {
		b.WriteString("&" + k + "=" + clean.Replace(params[k]))
	}
	return b.String()
}

// Signature is the lowercase hex signature of params with the signature
// secret by method: MD5 of the string and the secret for md5hash, an HMAC
// keyed by the secret for the others.
func Signature(params map[string]string, secret, method string) string {
	s := signedString(params)
	if newHash, ok := hashes[method]; ok {
		m := hmac.New(newHash, []byte(secret))
		m.Write([]byte(s))
		return hex.EncodeToString(m.Sum(nil))
	}
	sum := md5.Sum([]byte(s + secret))
	return hex.EncodeToString(sum[:])
}

// validSignature compares a received sig with the expected one: Vonage's
// SDKs send hex in upper case, the hash is the same.
func validSignature(params map[string]string, secret, method string) bool {
	got := strings.ToLower(params["sig"])
	return got != "" && hmac.Equal([]byte(got), []byte(Signature(params, secret, method)))
}
