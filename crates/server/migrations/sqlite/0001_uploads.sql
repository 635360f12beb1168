-- One row per authorized upload. Timestamps are Unix milliseconds (UTC).
CREATE TABLE uploads (
    id              TEXT PRIMARY KEY NOT NULL,   -- UUIDv7: sorts by creation time
    owner           TEXT NOT NULL,
    profile         TEXT NOT NULL,
    filename        TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size            INTEGER NOT NULL CHECK (size >= 0),
    checksum_sha256 TEXT,
    method          TEXT NOT NULL,
    object_key      TEXT NOT NULL UNIQUE,
    staging_key     TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL,
    metadata        TEXT NOT NULL DEFAULT '{}',  -- JSON object of strings
    reject_reason   TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    completed_at    INTEGER
);

-- Listing a user's uploads, newest first, optionally by status.
CREATE INDEX uploads_owner_id ON uploads (owner, id DESC);
CREATE INDEX uploads_owner_status_id ON uploads (owner, status, id DESC);
-- The janitor's scan for stale uploads.
CREATE INDEX uploads_status_expires ON uploads (status, expires_at);
