-- `Idempotency-Key`s of `POST /v1/uploads`, per user, kept 24 hours: a
-- repeated request answers with the upload the first one created.
CREATE TABLE idempotency_keys (
    owner        TEXT NOT NULL,
    key          TEXT NOT NULL,
    -- SHA-256 of the request body: the same key with another body is refused.
    request_hash TEXT NOT NULL,
    -- NULL while the first request is still creating its upload.
    upload_id    TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
