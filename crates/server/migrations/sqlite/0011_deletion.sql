-- Deleting a finished upload leaves a tombstone (status 'deleted'): when it
-- was deleted, and when its objects were confirmed gone from storage (NULL
-- while the janitor still has to try again).
ALTER TABLE uploads ADD COLUMN deleted_at INTEGER;
ALTER TABLE uploads ADD COLUMN purged_at INTEGER;
CREATE INDEX uploads_unpurged ON uploads (deleted_at) WHERE status = 'deleted' AND purged_at IS NULL;

-- A completed upload of a `replace = true` profile whose user's earlier
-- uploads have not been deleted yet (set with the completion, cleared once
-- done): what the janitor finishes after a crash.
ALTER TABLE uploads ADD COLUMN replace_pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX uploads_replace_pending ON uploads (completed_at) WHERE replace_pending = 1;

-- Erasing a user: a durable background job that deletes, in batches, every
-- upload the user had when it was asked for, and strips the tombstones of
-- anything personal.
CREATE TABLE erasures (
    id           TEXT PRIMARY KEY NOT NULL,
    owner        TEXT NOT NULL,
    -- Uploads created up to here are erased; later ones are not its business.
    requested_at INTEGER NOT NULL,
    state        TEXT NOT NULL,
    erased       INTEGER NOT NULL DEFAULT 0,
    -- Who runs it, until when: a node that dies lets another take over.
    lease        TEXT,
    locked_until INTEGER,
    updated_at   INTEGER NOT NULL,
    finished_at  INTEGER
);
CREATE INDEX erasures_running ON erasures (state, locked_until);
-- One running erasure per user: asking again moves its cutoff forward.
CREATE UNIQUE INDEX erasures_one_running ON erasures (owner) WHERE state = 'running';
