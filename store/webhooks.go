package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/events"
)

// Outbound webhooks: endpoints and their subscriptions, and the
// deliveries store/tx.go makes for every event they subscribe to.

type endpointRow struct {
	ID                int64   `db:"id"`
	AccountID         int64   `db:"account_id"`
	URL               string  `db:"url"`
	Description       string  `db:"description"`
	Secret            string  `db:"secret"`
	PreviousSecret    *string `db:"previous_secret"`
	PreviousExpiresAt *int64  `db:"previous_expires_at"`
	DisabledAt        *int64  `db:"disabled_at"`
	DisabledReason    string  `db:"disabled_reason"`
	FailingSince      *int64  `db:"failing_since"`
	CreatedAt         int64   `db:"created_at"`
	UpdatedAt         int64   `db:"updated_at"`
}

const endpointColumns = `id, account_id, url, description, secret, previous_secret, previous_expires_at,
disabled_at, disabled_reason, failing_since, created_at, updated_at`

func (r endpointRow) endpoint() events.Endpoint {
	e := events.Endpoint{ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), URL: r.URL, Description: r.Description,
		Secret: r.Secret, PreviousExpiresAt: fromMSPtr(r.PreviousExpiresAt), DisabledAt: fromMSPtr(r.DisabledAt),
		DisabledReason: r.DisabledReason, FailingSince: fromMSPtr(r.FailingSince), CreatedAt: fromMS(r.CreatedAt), UpdatedAt: fromMS(r.UpdatedAt)}
	if r.PreviousSecret != nil {
		e.PreviousSecret = *r.PreviousSecret
	}
	return e
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CreateWebhookEndpoint stores an endpoint and its subscriptions.
func (db *DB) CreateWebhookEndpoint(ctx context.Context, e events.Endpoint) (events.Endpoint, error) {
	err := db.inTx(ctx, func(tx *Tx) error {
		const q = `INSERT INTO webhook_endpoints (account_id, url, description, secret, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?) RETURNING id`
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(q), e.AccountID, e.URL, e.Description, e.Secret, ms(e.CreatedAt), ms(e.UpdatedAt)); err != nil {
			return err
		}
		e.ID = parley.ID(id)
		return subscribe(ctx, tx, e)
	})
	if err != nil {
		return events.Endpoint{}, err
	}
	return db.GetWebhookEndpoint(ctx, e.AccountID, e.ID)
}

// subscribe replaces the endpoint's subscriptions with its events.
func subscribe(ctx context.Context, tx *Tx, e events.Endpoint) error {
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM webhook_subscriptions WHERE endpoint_id = ?`), e.ID); err != nil {
		return err
	}
	if len(e.Events) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(e.Events))
	for _, t := range e.Events {
		args = append(args, e.AccountID, string(t), e.ID)
	}
	q := valuesRows(`INSERT INTO webhook_subscriptions (account_id, type, endpoint_id) VALUES `, `(?, ?, ?)`, len(e.Events))
	_, err := tx.ExecContext(ctx, tx.Rebind(q), args...)
	return err
}

// GetWebhookEndpoint reads one of the account's endpoints.
func (db *DB) GetWebhookEndpoint(ctx context.Context, accountID, id parley.ID) (events.Endpoint, error) {
	var r endpointRow
	if err := db.db.GetContext(ctx, &r, db.db.Rebind(`SELECT `+endpointColumns+` FROM webhook_endpoints WHERE account_id = ? AND id = ?`),
		accountID, id); err != nil {
		return events.Endpoint{}, notFound(err, "webhook endpoint")
	}
	e := r.endpoint()
	types, err := db.subscriptions(ctx, []parley.ID{e.ID})
	e.Events = types[e.ID]
	return e, err
}

// notFound names what a missing row was.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return parley.Errorf(parley.ENOTFOUND, "no such %s", what)
	}
	return translate(err)
}

// subscriptions are the event types of endpoints, in PublicTypes' order.
func (db *DB) subscriptions(ctx context.Context, ids []parley.ID) (map[parley.ID][]events.Type, error) {
	out := map[parley.ID][]events.Type{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		EndpointID int64  `db:"endpoint_id"`
		Type       string `db:"type"`
	}
	q, args, err := sqlx.In(`SELECT endpoint_id, type FROM webhook_subscriptions WHERE endpoint_id IN (?)`, ids)
	if err != nil {
		return nil, err
	}
	if err := db.db.SelectContext(ctx, &rows, db.db.Rebind(q), args...); err != nil {
		return nil, translate(err)
	}
	has := map[parley.ID]map[events.Type]bool{}
	for _, r := range rows {
		id := parley.ID(r.EndpointID)
		if has[id] == nil {
			has[id] = map[events.Type]bool{}
		}
		has[id][events.Type(r.Type)] = true
	}
	for id, types := range has {
		for _, t := range events.PublicTypes {
			if types[t] {
				out[id] = append(out[id], t)
			}
		}
	}
	return out, nil
}

// ListWebhookEndpoints lists the account's endpoints, oldest first.
func (db *DB) ListWebhookEndpoints(ctx context.Context, accountID parley.ID, page parley.Page) ([]events.Endpoint, string, error) {
	cond, args, limit, err := idPage(page, "id")
	if err != nil {
		return nil, "", err
	}
	var rows []endpointRow
	q := `SELECT ` + endpointColumns + ` FROM webhook_endpoints WHERE account_id = ? AND ` + cond + ` ORDER BY id LIMIT ?`
	if err := db.db.SelectContext(ctx, &rows, db.db.Rebind(q), append(append([]any{accountID}, args...), limit)...); err != nil {
		return nil, "", translate(err)
	}
	rows, next := idCursor(rows, page, func(r endpointRow) int64 { return r.ID })
	out := make([]events.Endpoint, len(rows))
	ids := make([]parley.ID, len(rows))
	for i, r := range rows {
		out[i], ids[i] = r.endpoint(), parley.ID(r.ID)
	}
	types, err := db.subscriptions(ctx, ids)
	for i := range out {
		out[i].Events = types[out[i].ID]
	}
	return out, next, err
}

// UpdateWebhookEndpoint saves an endpoint's url, description, secrets,
// disabled and failing state, and its events.
func (db *DB) UpdateWebhookEndpoint(ctx context.Context, e events.Endpoint) (events.Endpoint, error) {
	err := db.inTx(ctx, func(tx *Tx) error {
		const q = `UPDATE webhook_endpoints SET url = ?, description = ?, secret = ?, previous_secret = ?, previous_expires_at = ?,
    disabled_at = ?, disabled_reason = ?, failing_since = ?, updated_at = ?
WHERE account_id = ? AND id = ?`
		res, err := tx.ExecContext(ctx, tx.Rebind(q), e.URL, e.Description, e.Secret, nullString(e.PreviousSecret), msPtr(e.PreviousExpiresAt),
			msPtr(e.DisabledAt), e.DisabledReason, msPtr(e.FailingSince), ms(e.UpdatedAt), e.AccountID, e.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return notFound(sql.ErrNoRows, "webhook endpoint")
		}
		return subscribe(ctx, tx, e)
	})
	if err != nil {
		return events.Endpoint{}, err
	}
	return db.GetWebhookEndpoint(ctx, e.AccountID, e.ID)
}

// DeleteWebhookEndpoint deletes an endpoint with its subscriptions and
// deliveries.
func (db *DB) DeleteWebhookEndpoint(ctx context.Context, accountID, id parley.ID) error {
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM webhook_endpoints WHERE account_id = ? AND id = ?`), accountID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return notFound(sql.ErrNoRows, "webhook endpoint")
		}
		return nil
	})
}

type deliveryRow struct {
	ID            int64   `db:"id"`
	AccountID     int64   `db:"account_id"`
	EndpointID    int64   `db:"endpoint_id"`
	EventSeq      int64   `db:"event_seq"`
	EventType     string  `db:"event_type"`
	State         string  `db:"state"`
	Attempts      int     `db:"attempts"`
	NextAttemptAt int64   `db:"next_attempt_at"`
	Body          *string `db:"body"`
	LastStatus    *int    `db:"last_status"`
	LastLatencyMS *int64  `db:"last_latency_ms"`
	LastError     string  `db:"last_error"`
	LastExcerpt   string  `db:"last_excerpt"`
	DeliveredAt   *int64  `db:"delivered_at"`
	ClaimedAt     *int64  `db:"claimed_at"`
	LastAttemptAt *int64  `db:"last_attempt_at"`
	CreatedAt     int64   `db:"created_at"`
}

const deliveryColumns = `id, account_id, endpoint_id, event_seq, event_type, state, attempts, next_attempt_at, body,
last_status, last_latency_ms, last_error, last_excerpt, delivered_at, claimed_at, last_attempt_at, created_at`

func (r deliveryRow) delivery() events.Delivery {
	d := events.Delivery{ID: parley.ID(r.ID), AccountID: parley.ID(r.AccountID), EndpointID: parley.ID(r.EndpointID),
		EventSeq: r.EventSeq, EventType: events.Type(r.EventType), State: events.DeliveryState(r.State), Attempts: r.Attempts,
		NextAttemptAt: fromMS(r.NextAttemptAt), LastError: r.LastError, LastExcerpt: r.LastExcerpt,
		DeliveredAt: fromMSPtr(r.DeliveredAt), CreatedAt: fromMS(r.CreatedAt)}
	if r.Body != nil {
		d.Body = []byte(*r.Body)
	}
	if r.LastStatus != nil {
		d.LastStatus = *r.LastStatus
	}
	if r.LastLatencyMS != nil {
		d.LastLatency = time.Duration(*r.LastLatencyMS) * time.Millisecond
	}
	d.LastAttemptAt = fromMSPtr(r.LastAttemptAt)
	return d
}

// ListWebhookDeliveries lists an endpoint's deliveries, newest first.
func (db *DB) ListWebhookDeliveries(ctx context.Context, accountID, endpointID parley.ID, page parley.Page) ([]events.Delivery, string, error) {
	if _, err := db.GetWebhookEndpoint(ctx, accountID, endpointID); err != nil {
		return nil, "", err
	}
	page = page.Normalize()
	where, args := `account_id = ? AND endpoint_id = ?`, []any{accountID, endpointID}
	if page.Cursor != "" {
		key, err := decodeCursor(page.Cursor, 1)
		if err != nil {
			return nil, "", err
		}
		where += ` AND id < ?`
		args = append(args, key[0])
	}
	var rows []deliveryRow
	q := `SELECT ` + deliveryColumns + ` FROM webhook_deliveries WHERE ` + where + ` ORDER BY id DESC LIMIT ?`
	if err := db.db.SelectContext(ctx, &rows, db.db.Rebind(q), append(args, page.Limit+1)...); err != nil {
		return nil, "", translate(err)
	}
	next := ""
	if len(rows) > page.Limit {
		rows = rows[:page.Limit]
		next = encodeCursor(rows[len(rows)-1].ID)
	}
	out := make([]events.Delivery, len(rows))
	for i, r := range rows {
		out[i] = r.delivery()
	}
	return out, next, nil
}

// RetryWebhookDelivery makes one of the endpoint's deliveries pending and
// due at once.
func (db *DB) RetryWebhookDelivery(ctx context.Context, accountID, endpointID, deliveryID parley.ID, at time.Time) (events.Delivery, error) {
	var r deliveryRow
	err := db.inTx(ctx, func(tx *Tx) error {
		q := `UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?, delivered_at = NULL
WHERE account_id = ? AND endpoint_id = ? AND id = ? RETURNING ` + deliveryColumns
		return tx.GetContext(ctx, &r, tx.Rebind(q), ms(at), accountID, endpointID, deliveryID)
	})
	if err != nil {
		return events.Delivery{}, notFound(unwrapNotFound(err), "webhook delivery")
	}
	return r.delivery(), nil
}

// unwrapNotFound turns inTx's translated ENOTFOUND back into
// sql.ErrNoRows for notFound to name.
func unwrapNotFound(err error) error {
	if parley.IsKind(err, parley.ENOTFOUND) {
		return sql.ErrNoRows
	}
	return err
}

// CreateTestDelivery queues a webhook.test delivery to one of the
// account's endpoints, its body already made.
func (db *DB) CreateTestDelivery(ctx context.Context, accountID, endpointID parley.ID, body []byte, at time.Time) (events.Delivery, error) {
	var r deliveryRow
	err := db.inTx(ctx, func(tx *Tx) error {
		q := `INSERT INTO webhook_deliveries (account_id, endpoint_id, event_seq, event_type, next_attempt_at, body, created_at)
SELECT account_id, id, 0, ?, ?, ?, ? FROM webhook_endpoints WHERE account_id = ? AND id = ?
RETURNING ` + deliveryColumns
		return tx.GetContext(ctx, &r, tx.Rebind(q), string(events.TestType), ms(at), string(body), ms(at), accountID, endpointID)
	})
	if err != nil {
		return events.Delivery{}, notFound(unwrapNotFound(err), "webhook endpoint")
	}
	return r.delivery(), nil
}

// ClaimWebhookDeliveries leases due deliveries of enabled endpoints:
// their next_attempt_at moves to the lease's end, so one whose claimer
// died comes due again then, and claimed_at marks the claim. PostgreSQL
// skips rows other claimers hold; SQLite's immediate transaction is the
// only writer.
func (db *DB) ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]events.Claim, error) {
	// The endpoints are a subquery, not a join, so that only the
	// deliveries are locked: claimers skip each other's deliveries, not
	// each other's endpoints.
	pick := `SELECT id FROM webhook_deliveries
WHERE state = 'pending' AND next_attempt_at <= ?
  AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE disabled_at IS NULL)
ORDER BY next_attempt_at, id LIMIT ?` + db.dialect.skipLocked()
	const claim = `UPDATE webhook_deliveries SET next_attempt_at = ?, claimed_at = ? WHERE id IN (?)`
	const load = `SELECT d.id, d.account_id, d.endpoint_id, d.event_seq, d.event_type, d.state, d.attempts, d.next_attempt_at, d.body,
       d.last_status, d.last_latency_ms, d.last_error, d.last_excerpt, d.delivered_at, d.claimed_at, d.last_attempt_at, d.created_at,
       ep.url, ep.secret, ep.previous_secret, ep.previous_expires_at, ep.failing_since,
       e.seq, e.type, e.conversation_id, e.subject_id, e.actor_type, e.actor_id, e.data, e.created_at
FROM webhook_deliveries d JOIN webhook_endpoints ep ON ep.id = d.endpoint_id
LEFT JOIN events e ON d.body IS NULL AND e.account_id = d.account_id AND e.seq = d.event_seq
WHERE d.id IN (?) ORDER BY d.id`
	// The deliverer is woken by every public event, most of which no
	// endpoint subscribes to: a wake with nothing due costs one read, not
	// a transaction of three round trips.
	const due = `SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ?)`
	var anyDue bool
	if err := db.withPrepared(ctx, due, func(stmt *sqlx.Stmt) error { return stmt.GetContext(ctx, &anyDue, ms(now)) }); err != nil || !anyDue {
		return nil, translate(err)
	}
	var claims []events.Claim
	err := db.inTx(ctx, func(tx *Tx) error {
		claims = nil
		var ids []int64
		if err := tx.SelectContext(ctx, &ids, tx.Rebind(pick), ms(now), limit); err != nil || len(ids) == 0 {
			return err
		}
		if err := execIn(ctx, tx, claim, ms(now.Add(lease)), ms(now), ids); err != nil {
			return err
		}
		q, args, err := rebindIn(tx, load, ids)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanClaim(rows)
			if err != nil {
				return err
			}
			claims = append(claims, c)
		}
		return rows.Err()
	})
	return claims, err
}

// scanClaim reads a row of ClaimWebhookDeliveries' load.
func scanClaim(rows *sql.Rows) (events.Claim, error) {
	var (
		d  deliveryRow
		ep endpointRow
		e  struct {
			Seq                     *int64
			Type, ActorType, Data   *string
			ConversationID, Subject *int64
			ActorID                 *int64
			CreatedAt               *int64
		}
	)
	if err := rows.Scan(&d.ID, &d.AccountID, &d.EndpointID, &d.EventSeq, &d.EventType, &d.State, &d.Attempts, &d.NextAttemptAt, &d.Body,
		&d.LastStatus, &d.LastLatencyMS, &d.LastError, &d.LastExcerpt, &d.DeliveredAt, &d.ClaimedAt, &d.LastAttemptAt, &d.CreatedAt,
		&ep.URL, &ep.Secret, &ep.PreviousSecret, &ep.PreviousExpiresAt, &ep.FailingSince,
		&e.Seq, &e.Type, &e.ConversationID, &e.Subject, &e.ActorType, &e.ActorID, &e.Data, &e.CreatedAt); err != nil {
		return events.Claim{}, err
	}
	ep.ID, ep.AccountID = d.EndpointID, d.AccountID
	c := events.Claim{Delivery: d.delivery(), Endpoint: ep.endpoint(), ClaimedAt: fromMS(*d.ClaimedAt)}
	if e.Seq != nil {
		r := logRow{AccountID: d.AccountID, Seq: *e.Seq, Type: *e.Type, ActorType: *e.ActorType, ActorID: e.ActorID,
			Data: *e.Data, CreatedAt: *e.CreatedAt}
		if e.ConversationID != nil {
			r.ConversationID = sql.NullInt64{Int64: *e.ConversationID, Valid: true}
		}
		if e.Subject != nil {
			r.SubjectID = sql.NullInt64{Int64: *e.Subject, Valid: true}
		}
		ev := r.event()
		c.Event = &ev
	}
	return c, nil
}

// RecordWebhookAttempts records attempts made under their claims, and
// what they mean for their endpoints, in one transaction: one statement
// for the deliveries, and one per endpoint whose state changes.
func (db *DB) RecordWebhookAttempts(ctx context.Context, attempts []events.Attempt) error {
	if len(attempts) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *Tx) error {
		recorded, err := recordAttempts(ctx, tx, attempts)
		if err != nil {
			return err
		}
		return judgeEndpoints(ctx, tx, attempts, recorded)
	})
}

// recordAttempts updates the deliveries, except those another claim took
// over since (their lease ran out), and returns the ids it updated.
func recordAttempts(ctx context.Context, tx *Tx, attempts []events.Attempt) (map[parley.ID]bool, error) {
	// Casts type the VALUES columns for PostgreSQL, which would take the
	// parameters for text.
	const row = `(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT),
CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT))`
	q := valuesRows(`WITH v (id, claimed_at, state, next_at, body, status, latency, error, excerpt, at) AS (VALUES `, row, len(attempts)) + `)
UPDATE webhook_deliveries SET state = v.state, attempts = webhook_deliveries.attempts + 1,
    next_attempt_at = CASE WHEN v.state = 'pending' THEN v.next_at ELSE webhook_deliveries.next_attempt_at END,
    body = COALESCE(v.body, webhook_deliveries.body), last_status = v.status, last_latency_ms = v.latency,
    last_error = v.error, last_excerpt = v.excerpt,
    delivered_at = CASE WHEN v.state = 'succeeded' THEN v.at ELSE webhook_deliveries.delivered_at END,
    last_attempt_at = v.at, claimed_at = NULL
FROM v WHERE webhook_deliveries.id = v.id AND webhook_deliveries.claimed_at = v.claimed_at
RETURNING webhook_deliveries.id`
	args := make([]any, 0, 10*len(attempts))
	for _, a := range attempts {
		var body, status any
		if a.Body != nil {
			body = string(a.Body)
		}
		if a.Status != 0 {
			status = a.Status
		}
		args = append(args, a.DeliveryID, ms(a.ClaimedAt), string(a.State), ms(a.NextAttemptAt), body, status,
			a.Latency.Milliseconds(), a.Error, a.Excerpt, ms(a.At))
	}
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, tx.Rebind(q), args...); err != nil {
		return nil, err
	}
	recorded := make(map[parley.ID]bool, len(ids))
	for _, id := range ids {
		recorded[parley.ID(id)] = true
	}
	return recorded, nil
}

// judgeEndpoints applies the recorded attempts to their endpoints, each
// endpoint judged by its latest attempt and disabled by any that says so.
func judgeEndpoints(ctx context.Context, tx *Tx, attempts []events.Attempt, recorded map[parley.ID]bool) error {
	latest := map[parley.ID]events.Attempt{}
	var order []parley.ID
	for _, a := range attempts {
		if !recorded[a.DeliveryID] {
			continue
		}
		prev, seen := latest[a.EndpointID]
		if !seen {
			order = append(order, a.EndpointID)
		}
		// The latest attempt decides; a disabling or a recovery in the
		// batch is kept.
		disable, recovered := prev.Disable, prev.Recovered || a.Recovered
		if !seen || !a.At.Before(prev.At) {
			prev = a
		}
		if prev.Disable == "" {
			prev.Disable = cmp.Or(disable, a.Disable)
		}
		prev.Recovered = recovered
		latest[a.EndpointID] = prev
	}
	for _, id := range order {
		if err := judgeEndpoint(ctx, tx, latest[id]); err != nil {
			return err
		}
	}
	return nil
}

// judgeEndpoint keeps the endpoint's failing state and disables it when
// the attempt says so, telling its account's admins once.
func judgeEndpoint(ctx context.Context, tx *Tx, a events.Attempt) error {
	switch {
	case a.Answered:
		_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL`), a.EndpointID)
		if err != nil || !a.Recovered {
			return err
		}
		// Its deliveries waiting out a backoff are due now; those in
		// flight (claimed_at set) are left to their claim.
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE webhook_deliveries SET next_attempt_at = ?
WHERE endpoint_id = ? AND state = 'pending' AND claimed_at IS NULL AND next_attempt_at > ?`), ms(a.At), a.EndpointID, ms(a.At))
		return err
	case a.Failed:
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE webhook_endpoints SET failing_since = ? WHERE id = ? AND failing_since IS NULL`),
			ms(a.At), a.EndpointID); err != nil {
			return err
		}
	}
	if a.Disable == "" {
		return nil
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE webhook_endpoints SET disabled_at = ?, disabled_reason = ?, updated_at = ?
WHERE id = ? AND disabled_at IS NULL`), ms(a.At), a.Disable, ms(a.At), a.EndpointID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	q := `INSERT INTO notifications (account_id, user_id, kind, webhook_endpoint_id, created_at)
SELECT account_id, id, ?, ?, ? FROM users WHERE account_id = ? AND role = 'admin' AND active
RETURNING ` + notificationColumns
	var rows []notificationRow
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), string(conversations.NotifyWebhookDisabled), a.EndpointID, ms(a.At), a.AccountID); err != nil {
		return err
	}
	stored := make([]conversations.Notification, len(rows))
	for i, r := range rows {
		stored[i] = r.notification()
	}
	tx.recordNotifications(stored)
	return nil
}

// PruneWebhookDeliveries deletes up to limit finished deliveries made
// before cutoff and says how many; the caller repeats while it deletes a
// full batch. Pending ones stay, however old.
func (db *DB) PruneWebhookDeliveries(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM webhook_deliveries WHERE id IN
(SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND created_at < ? LIMIT ?)`), ms(cutoff), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
