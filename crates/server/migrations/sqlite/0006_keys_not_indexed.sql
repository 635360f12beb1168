-- Object and staging keys lose their UNIQUE constraints. Both end in the
-- upload id, so the primary key already makes them unique, and a lookup by key
-- reads the id out of the key (keys::upload_id). Their two indexes were written
-- by every insert, the busiest write, and held a fifth of the file.
--
-- SQLite cannot drop a UNIQUE constraint, so the table is rebuilt. sqlx runs
-- this in a transaction, where `PRAGMA foreign_keys` cannot be turned off: the
-- jobs that reference an upload are orphaned by the DROP and found again by the
-- INSERT, and deferring the check to COMMIT lets it see only the end state.
-- Renaming a copy over `uploads` instead would rewrite jobs' REFERENCES.
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE uploads_copy AS SELECT * FROM uploads;
DROP TABLE uploads;

CREATE TABLE uploads (
    id                  TEXT PRIMARY KEY NOT NULL,   -- UUIDv7: sorts by creation time
    owner               TEXT NOT NULL,
    profile             TEXT NOT NULL,
    filename            TEXT NOT NULL,
    content_type        TEXT NOT NULL,
    size                INTEGER NOT NULL CHECK (size >= 0),
    checksum_sha256     TEXT,
    method              TEXT NOT NULL,
    object_key          TEXT NOT NULL,               -- ends in the id
    staging_key         TEXT NOT NULL,               -- ends in the id
    status              TEXT NOT NULL,
    metadata            TEXT NOT NULL DEFAULT '{}',  -- JSON object of strings
    reject_reason       TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    completed_at        INTEGER,
    multipart_upload_id TEXT,
    part_size           INTEGER,
    part_count          INTEGER,
    completing_until    INTEGER,
    processing          TEXT
);

-- Before the triggers exist: user_usage already counts these rows.
INSERT INTO uploads
SELECT id, owner, profile, filename, content_type, size, checksum_sha256, method,
       object_key, staging_key, status, metadata, reject_reason, created_at,
       updated_at, expires_at, completed_at, multipart_upload_id, part_size,
       part_count, completing_until, processing
FROM uploads_copy;
DROP TABLE uploads_copy;

CREATE INDEX uploads_owner_id ON uploads (owner, id DESC);
CREATE INDEX uploads_owner_status_id ON uploads (owner, status, id DESC);
CREATE INDEX uploads_status_expires ON uploads (status, expires_at);

-- As in 0005. SQLite's IN yields 0 or 1, so `size * (status IN held)` is the
-- bytes a row holds.
CREATE TRIGGER uploads_held_insert AFTER INSERT ON uploads
WHEN NEW.status IN ('pending', 'uploading', 'completed') AND NEW.size <> 0
BEGIN
    INSERT INTO user_usage (owner, bytes_held) VALUES (NEW.owner, NEW.size)
    ON CONFLICT (owner) DO UPDATE SET bytes_held = bytes_held + excluded.bytes_held;
END;

CREATE TRIGGER uploads_held_update AFTER UPDATE OF status, size ON uploads
WHEN NEW.size * (NEW.status IN ('pending', 'uploading', 'completed'))
  <> OLD.size * (OLD.status IN ('pending', 'uploading', 'completed'))
BEGIN
    INSERT INTO user_usage (owner, bytes_held)
    VALUES (NEW.owner,
        NEW.size * (NEW.status IN ('pending', 'uploading', 'completed'))
      - OLD.size * (OLD.status IN ('pending', 'uploading', 'completed')))
    ON CONFLICT (owner) DO UPDATE SET bytes_held = bytes_held + excluded.bytes_held;
END;

CREATE TRIGGER uploads_held_delete AFTER DELETE ON uploads
WHEN OLD.status IN ('pending', 'uploading', 'completed') AND OLD.size <> 0
BEGIN
    UPDATE user_usage SET bytes_held = bytes_held - OLD.size WHERE owner = OLD.owner;
END;
