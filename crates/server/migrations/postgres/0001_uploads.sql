-- The same schema as migrations/sqlite (0001 and 0002 together): one row per
-- authorized upload. Timestamps are Unix milliseconds (UTC); size 0 means the
-- client declared none (Uppy) until verification records it.
CREATE TABLE uploads (
    id                  TEXT PRIMARY KEY NOT NULL,   -- UUIDv7: sorts by creation time
    owner               TEXT NOT NULL,
    profile             TEXT NOT NULL,
    filename            TEXT NOT NULL,
    content_type        TEXT NOT NULL,
    size                BIGINT NOT NULL CHECK (size >= 0),
    checksum_sha256     TEXT,
    method              TEXT NOT NULL,
    object_key          TEXT NOT NULL UNIQUE,
    staging_key         TEXT NOT NULL UNIQUE,
    status              TEXT NOT NULL,
    metadata            TEXT NOT NULL DEFAULT '{}',
    reject_reason       TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    completed_at        BIGINT,
    multipart_upload_id TEXT,
    part_size           BIGINT,
    part_count          BIGINT
);

CREATE INDEX uploads_owner_id ON uploads (owner, id DESC);
CREATE INDEX uploads_owner_status_id ON uploads (owner, status, id DESC);
CREATE INDEX uploads_status_expires ON uploads (status, expires_at);
