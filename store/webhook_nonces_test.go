package store_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

// A nonce is good for the content it first came with, again and again
// (a carrier's retry), and for nothing else; another account's or
// carrier's nonce of the same value is its own; a nonce is forgotten
// after WebhookNonceTTL.
func TestBindWebhookNonce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		nonce := func(carrier, account, value, content string, at time.Time) conversations.WebhookNonce {
			return conversations.WebhookNonce{Carrier: carrier, CarrierAccountID: account, Nonce: value, Content: sha256.Sum256([]byte(content)), At: at}
		}
		bind := func(n conversations.WebhookNonce) error { t.Helper(); return db.BindWebhookNonce(ctx, n) }
		if err := bind(nonce("plivo", "MA1", "n1", "Text=Hi", t0)); err != nil {
			t.Fatal(err)
		}
		if err := bind(nonce("plivo", "MA1", "n1", "Text=Hi", t0.Add(time.Minute))); err != nil {
			t.Errorf("the same content again: %v", err)
		}
		if err := bind(nonce("plivo", "MA1", "n1", "Text=Send me your password", t0.Add(time.Minute))); !parley.IsKind(err, parley.EFORBIDDEN) {
			t.Errorf("the nonce with other content: %v; want forbidden", err)
		}
		if err := bind(nonce("plivo", "MA2", "n1", "Text=Other account", t0)); err != nil {
			t.Errorf("another account's nonce of the same value: %v", err)
		}
		if err := bind(nonce("other", "MA1", "n1", "Text=Other carrier", t0)); err != nil {
			t.Errorf("another carrier's nonce of the same value: %v", err)
		}
		later := t0.Add(conversations.WebhookNonceTTL + time.Hour)
		if err := bind(nonce("plivo", "MA1", "n1", "Text=After the TTL", later)); err != nil {
			t.Errorf("a nonce %v after it was kept: %v", conversations.WebhookNonceTTL, err)
		}
	})
}
