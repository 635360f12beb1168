-- Events for the application's webhook endpoint: an outbox, written in the
-- transaction that commits the state an event announces, and delivered
-- afterwards by any node under a lease. Kept as the delivery log.
CREATE TABLE webhook_deliveries (
    -- The webhook-id header: msg_ and a UUIDv7, the same on every attempt.
    id              TEXT PRIMARY KEY NOT NULL,
    event_type      TEXT NOT NULL,
    upload_id       TEXT NOT NULL,
    owner           TEXT NOT NULL,
    -- The exact body sent (signatures cover it byte for byte).
    payload         TEXT NOT NULL,
    -- 1 when the payload holds nothing personal (an erasure's events): what
    -- erasing the owner keeps of the log.
    scrubbed        INTEGER NOT NULL DEFAULT 0,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER,
    last_error      TEXT,
    last_attempt_at INTEGER,
    next_attempt_at INTEGER NOT NULL,
    lease           TEXT,
    locked_until    INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_owner ON webhook_deliveries (owner);
