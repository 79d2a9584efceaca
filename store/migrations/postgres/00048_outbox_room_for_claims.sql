-- +goose Up
-- A queued text's outbox row is rewritten once when a dispatcher claims
-- it (and again if its turn is deferred), and no claim changes an indexed
-- column. Rows were written in batches of hundreds onto full pages, so
-- nearly every claim wrote its new version on another page, with an
-- entry in each of the four indexes, which the next claims then scanned
-- past until VACUUM. Pages written from now on keep half their room for
-- those versions (docs/PERFORMANCE.md, "The sampler's own cost, the
-- outbox's room for claims"); a row lives only until its text is sent,
-- so the space is reused within minutes.
ALTER TABLE outbox SET (fillfactor = 50);

-- +goose Down
ALTER TABLE outbox RESET (fillfactor);
