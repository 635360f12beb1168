-- Bytes each user holds (uploads pending, uploading or completed), kept by a
-- trigger so that the storage quota reads one row at every creation instead
-- of summing all of a user's uploads. The same as migrations/sqlite/0005.
CREATE TABLE user_usage (
    owner      TEXT PRIMARY KEY NOT NULL,
    bytes_held BIGINT NOT NULL
);

INSERT INTO user_usage (owner, bytes_held)
SELECT owner, SUM(size) FROM uploads
WHERE status IN ('pending', 'uploading', 'completed')
GROUP BY owner;

CREATE FUNCTION uploads_held_bytes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta BIGINT := 0;
    who   TEXT;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        who := OLD.owner;
        IF OLD.status IN ('pending', 'uploading', 'completed') THEN
            delta := delta - OLD.size;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        who := NEW.owner;
        IF NEW.status IN ('pending', 'uploading', 'completed') THEN
            delta := delta + NEW.size;
        END IF;
    END IF;
    IF delta <> 0 THEN
        INSERT INTO user_usage AS u (owner, bytes_held) VALUES (who, delta)
        ON CONFLICT (owner) DO UPDATE SET bytes_held = u.bytes_held + EXCLUDED.bytes_held;
    END IF;
    RETURN NULL;
END
$$;

-- A transition rewrites the status and may record the size that landed;
-- uploadgate never deletes a record, but an operator's cleanup must not skew the count.
CREATE TRIGGER uploads_held_bytes AFTER INSERT OR DELETE OR UPDATE OF status, size ON uploads
FOR EACH ROW EXECUTE FUNCTION uploads_held_bytes();
