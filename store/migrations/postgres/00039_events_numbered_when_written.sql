-- +goose Up
-- From this version every writer numbers its events as it writes them,
-- after its account's head (store/tx.go); the sequencer that numbered
-- them after their commit is gone. This numbers what an earlier version
-- left to it, oldest first, and books their webhook deliveries as it did.
-- The sequencer's advisory lock keeps an earlier instance still running
-- from numbering the same rows meanwhile; that instance's sequencer
-- numbers what it writes itself until it stops, through events_unnumbered,
-- which stays until a later version drops it.
SELECT pg_advisory_xact_lock(hashtextextended('parley_event_sequencer', 0));

WITH todo AS (
    SELECT id, account_id, row_number() OVER (PARTITION BY account_id ORDER BY id) AS n
    FROM events WHERE seq IS NULL),
counts AS (SELECT account_id, COUNT(*) AS c FROM todo GROUP BY account_id),
heads AS (
    INSERT INTO event_heads (account_id, seq) SELECT account_id, c FROM counts
    ON CONFLICT (account_id) DO UPDATE SET seq = event_heads.seq + excluded.seq
    RETURNING account_id, seq),
numbered AS (
    UPDATE events e SET seq = h.seq - c.c + t.n
    FROM todo t JOIN counts c ON c.account_id = t.account_id JOIN heads h ON h.account_id = t.account_id
    WHERE e.id = t.id
    RETURNING e.account_id, e.seq, e.type, e.created_at)
INSERT INTO webhook_deliveries (account_id, endpoint_id, event_seq, event_type, next_attempt_at, created_at)
SELECT s.account_id, s.endpoint_id, n.seq, n.type, n.created_at, n.created_at FROM numbered n
JOIN webhook_subscriptions s ON s.account_id = n.account_id AND s.type = n.type
JOIN webhook_endpoints ep ON ep.id = s.endpoint_id AND ep.disabled_at IS NULL;

-- +goose Down
-- An earlier version's sequencer reads numbered events as they are.
SELECT 1;
