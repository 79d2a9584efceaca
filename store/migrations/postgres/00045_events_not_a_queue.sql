-- +goose Up
-- Since 00039 every writer numbers its events as it writes them: no row
-- waits in events_unnumbered any more, and events is an append-only log
-- rather than a queue. Its own autovacuum settings (00033) had it
-- analyzed at a tenth more rows as often as the queues, every ten seconds
-- by housekeeping on a server without autovacuum; it now follows the
-- server's settings and pace as the other tables do. The index goes, as
-- 00039 said a later version would.
ALTER TABLE events RESET (autovacuum_vacuum_threshold, autovacuum_vacuum_scale_factor,
    autovacuum_analyze_threshold, autovacuum_analyze_scale_factor);
DROP INDEX IF EXISTS events_unnumbered;

-- +goose Down
CREATE INDEX IF NOT EXISTS events_unnumbered ON events (id) WHERE seq IS NULL;
ALTER TABLE events SET (autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0.05,
    autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.1);
