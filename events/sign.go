package events

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Standard Webhooks' headers.
const (
	HeaderID        = standardwebhooks.HeaderWebhookID
	HeaderTimestamp = standardwebhooks.HeaderWebhookTimestamp
	HeaderSignature = standardwebhooks.HeaderWebhookSignature
)

// Sign is the webhook-signature header of body sent as msgID at ts: one
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" per secret, space
// separated, the newest secret first (a rotation sends two). The HMAC is
// the official Standard Webhooks library's, so what it signs is exactly
// what its verifiers in every language check.
func Sign(secrets []string, msgID string, ts time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return "", err
		}
		sig, err := wh.Sign(msgID, ts, body)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

// signedHeaders sets the Standard Webhooks headers of one attempt.
func signedHeaders(h http.Header, secrets []string, msgID string, ts time.Time, body []byte) error {
	sig, err := Sign(secrets, msgID, ts, body)
	if err != nil {
		return err
	}
	h.Set(HeaderID, msgID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, sig)
	return nil
}
