package events_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/parleyhq/parley/events"
)

// The Standard Webhooks specification's published example (also the
// official libraries' test vector).
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignMatchesTheSpecExample(t *testing.T) {
	got, err := events.Sign([]string{specSecret}, specMsgID, time.Unix(specTimestamp, 0), []byte(specBody))
	if err != nil {
		t.Fatal(err)
	}
	if got != specSignature {
		t.Fatalf("signature %s, want %s", got, specSignature)
	}
}

// TestSignDuringRotation: both secrets sign, the new one first, and a
// receiver holding either one verifies the delivery.
func TestSignDuringRotation(t *testing.T) {
	old := events.Endpoint{Secret: specSecret}
	at := time.Unix(specTimestamp, 0)
	rotated := old.Rotate(at)
	if rotated.Secret == old.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") {
		t.Fatalf("rotated secret %q", rotated.Secret)
	}
	secrets := rotated.Secrets(at.Add(time.Hour))
	if len(secrets) != 2 || secrets[0] != rotated.Secret || secrets[1] != specSecret {
		t.Fatalf("secrets an hour after rotating: %q", secrets)
	}
	header, err := events.Sign(secrets, specMsgID, at, []byte(specBody))
	if err != nil {
		t.Fatal(err)
	}
	sigs := strings.Split(header, " ")
	if len(sigs) != 2 || sigs[1] != specSignature {
		t.Fatalf("header %q: want the new signature, then the old %s", header, specSignature)
	}
	h := http.Header{}
	h.Set(events.HeaderID, specMsgID)
	h.Set(events.HeaderTimestamp, "1614265330")
	h.Set(events.HeaderSignature, header)
	for _, secret := range []string{rotated.Secret, specSecret} {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.VerifyIgnoringTimestamp([]byte(specBody), h); err != nil {
			t.Errorf("a receiver holding %s…: %v", secret[:10], err)
		}
	}
	stranger, _ := standardwebhooks.NewWebhook(events.NewSecret())
	if err := stranger.VerifyIgnoringTimestamp([]byte(specBody), h); err == nil {
		t.Error("a receiver holding another secret verified it")
	}
	if got := rotated.Secrets(at.Add(events.RotationOverlap)); len(got) != 1 || got[0] != rotated.Secret {
		t.Fatalf("after the overlap the secrets are %q, want the new one alone", got)
	}
}
