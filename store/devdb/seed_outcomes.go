package devdb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley/outcomes"
)

// outcomeMix is how often each outcome type is seeded, in percent: most
// conversations that lead anywhere get a quote; fewer get paid.
var outcomeMix = []struct {
	t      outcomes.Type
	weight int
}{
	{outcomes.QuoteSent, 30}, {outcomes.QuoteAccepted, 15}, {outcomes.InvoiceSent, 15}, {outcomes.InvoicePaid, 15},
	{outcomes.ProjectCreated, 10}, {outcomes.IssueResolved, 10}, {outcomes.LeadAbandoned, 5},
}

// seedCurrencies are the seeded amounts' currencies, most in dollars.
var seedCurrencies = []string{"USD", "USD", "USD", "USD", "USD", "USD", "USD", "EUR", "EUR", "GBP"}

func (g *seedGen) outcomeType() outcomes.Type {
	r := g.rng.IntN(100)
	for _, m := range outcomeMix {
		if r < m.weight {
			return m.t
		}
		r -= m.weight
	}
	return outcomes.QuoteSent
}

// outcomes seeds Spec.Outcomes outcomes over the first 60% of the
// conversations (so some have several and many none), each of a type that
// takes a record with its own record (an amount in one of
// seedCurrencies) linked to the conversation, spread over the last year;
// then sets every conversation's outcome set and link count from them.
func (g *seedGen) outcomes(ctx context.Context, db *DB) error {
	n, convs := g.spec.Outcomes, g.spec.Conversations
	if n == 0 || convs == 0 {
		return nil
	}
	span := max(1, convs*6/10)
	for from := 0; from < n; from += seedBatch {
		to := min(from+seedBatch, n)
		var recVals, linkVals, outVals []string
		var recArgs, linkArgs, outArgs []any
		for i := from; i < to; i++ {
			conv := g.base["conversations"] + int64(g.rng.IntN(span))
			typ := g.outcomeType()
			at := ms(g.spec.Now.Add(-time.Duration(g.rng.Int64N(int64(365 * 24 * time.Hour)))))
			var recordID any
			if rt := typ.RecordType(); rt != "" {
				id := g.base["records"] + int64(i)
				recordID = id
				cur := seedCurrencies[g.rng.IntN(len(seedCurrencies))]
				units := (50 + g.rng.Int64N(5000)) * 100
				recVals = append(recVals, "(?, ?, ?, ?, ?, '', ?, ?, ?, ?)")
				recArgs = append(recArgs, id, g.spec.AccountID, string(rt), fmt.Sprintf("%s-%d", strings.ToUpper(string(rt[0])), id),
					fmt.Sprintf("%s %d", rt, id), units, cur, at, at)
				linkVals = append(linkVals, "(?, ?, ?, ?)")
				linkArgs = append(linkArgs, g.spec.AccountID, conv, id, at)
			}
			outVals = append(outVals, "(?, ?, ?, ?, ?, 'api', ?)")
			outArgs = append(outArgs, g.base["outcomes"]+int64(i), g.spec.AccountID, conv, string(typ), recordID, at)
		}
		err := db.inTx(ctx, func(tx *sqlx.Tx) error {
			if len(recVals) > 0 {
				if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO records (id, account_id, type, external_id, title, status, amount_units, currency, created_at, updated_at) VALUES `+strings.Join(recVals, ", ")), recArgs...); err != nil {
					return fmt.Errorf("seed records: %w", err)
				}
				if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO conversation_links (account_id, conversation_id, record_id, created_at) VALUES `+strings.Join(linkVals, ", ")), linkArgs...); err != nil {
					return fmt.Errorf("seed links: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO outcomes (id, account_id, conversation_id, type, record_id, source, created_at) VALUES `+strings.Join(outVals, ", ")), outArgs...); err != nil {
				return fmt.Errorf("seed outcomes: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if g.spec.Progress != nil {
			g.spec.Progress("outcomes", to, n)
		}
	}
	return g.outcomeSets(ctx, db)
}

// outcomeSets sets the seeded conversations' outcome sets and link counts
// as the store keeps them: each type's bit (outcomes.MaskOf), summed over
// the distinct types (an OR, on both databases).
func (g *seedGen) outcomeSets(ctx context.Context, db *DB) error {
	var bits []string
	for _, t := range outcomes.Types {
		bits = append(bits, fmt.Sprintf("WHEN '%s' THEN %d", t, outcomes.MaskOf(t)))
	}
	// Fresh tables have no statistics: without them PostgreSQL scans the
	// outcomes for every conversation.
	for _, t := range []string{"outcomes", "conversation_links"} {
		if _, err := db.db.ExecContext(ctx, `ANALYZE `+t); err != nil {
			return err
		}
	}
	q := `UPDATE conversations SET
    outcome_mask = (SELECT COALESCE(SUM(DISTINCT CASE o.type ` + strings.Join(bits, " ") + ` END), 0)
        FROM outcomes o WHERE o.conversation_id = conversations.id AND o.deleted_at IS NULL),
    links_count = (SELECT COUNT(*) FROM conversation_links l WHERE l.conversation_id = conversations.id)
WHERE account_id = ? AND id IN (SELECT conversation_id FROM outcomes WHERE account_id = ?)`
	_, err := db.db.ExecContext(ctx, db.db.Rebind(q), g.spec.AccountID, g.spec.AccountID)
	return err
}
