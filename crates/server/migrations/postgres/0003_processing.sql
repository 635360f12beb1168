-- Post-processing: the results on the upload (JSON of uploadgate_api::Processing;
-- NULL when its profile has no processors) and a durable job queue.
ALTER TABLE uploads ADD COLUMN processing TEXT;

CREATE TABLE jobs (
    id           TEXT PRIMARY KEY NOT NULL,   -- UUIDv7; a webhook's delivery id
    upload_id    TEXT NOT NULL REFERENCES uploads (id),
    kind         TEXT NOT NULL,               -- the processor
    next         TEXT NOT NULL DEFAULT '[]',  -- JSON array: processors still to run after it
    state        TEXT NOT NULL,               -- queued | running | done | dead
    attempts     BIGINT NOT NULL DEFAULT 0,
    run_at       BIGINT NOT NULL,            -- Unix ms: due from then
    lease        TEXT,                        -- the running worker's claim
    locked_until BIGINT,                     -- a running job past this is taken over
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    -- One job per processor and upload: enqueueing twice (a duplicate storage
    -- event, a replayed step) is a no-op.
    UNIQUE (upload_id, kind)
);

-- Workers' scan for due jobs, and the dead-letter listing.
CREATE INDEX jobs_state_run_at ON jobs (state, run_at);
