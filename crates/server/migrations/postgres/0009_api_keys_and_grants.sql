-- API keys of applications' backends: only a hash of each key is kept.
-- Revoking one deletes its row, so every node refuses it at its next request.
CREATE TABLE api_keys (
    name         TEXT PRIMARY KEY NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);

-- What each scoped upload token has spent of what it allows.
CREATE TABLE upload_grants (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL,
    max_files  BIGINT,
    max_bytes  BIGINT,
    files_used BIGINT NOT NULL DEFAULT 0,
    bytes_used BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    -- The API key that minted the token: revoking the key ends its tokens.
    key_name   TEXT NOT NULL
);
CREATE INDEX upload_grants_expires ON upload_grants (expires_at);
CREATE INDEX upload_grants_key ON upload_grants (key_name);

-- The grant of the scoped upload token that created an upload: such a token
-- reaches only the uploads it created.
ALTER TABLE uploads ADD COLUMN grant_id TEXT;
