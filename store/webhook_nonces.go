package store

import (
	"context"
	"encoding/hex"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// BindWebhookNonce keeps a nonce with the digest of the content it came
// with, or compares it with the digest kept. The upsert locks the nonce's
// row until commit, so of two requests with one nonce the second reads
// what the first kept. Nonces older than WebhookNonceTTL are dropped on
// the way, as text parts are.
func (db *DB) BindWebhookNonce(ctx context.Context, n conversations.WebhookNonce) error {
	content := hex.EncodeToString(n.Content[:])
	var kept string
	err := db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM webhook_nonces WHERE received_at < ?`), ms(n.At.Add(-conversations.WebhookNonceTTL))); err != nil {
			return err
		}
		const q = `INSERT INTO webhook_nonces (carrier, carrier_account_id, nonce, content_sha256, received_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (carrier, carrier_account_id, nonce) DO UPDATE SET content_sha256 = webhook_nonces.content_sha256
RETURNING content_sha256`
		return tx.GetContext(ctx, &kept, tx.Rebind(q), n.Carrier, n.CarrierAccountID, n.Nonce, content, ms(n.At))
	})
	if err != nil {
		return err
	}
	if kept != content {
		return parley.Errorf(parley.EFORBIDDEN, "this signature's nonce came before with other content: a signature that covers no body is good for the content it first came with")
	}
	return nil
}
