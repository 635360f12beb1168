-- An upload whose client declares no size (Uppy's Companion protocol) counted
-- as 0 bytes until it completed: a user could hold any amount in such uploads
-- whatever their storage quota. `reserved` is what one may still become (its
-- profile's max_size, set at creation); it counts in place of the size until
-- completion records the size that landed. The same as migrations/sqlite/0007.
ALTER TABLE uploads ADD COLUMN reserved BIGINT NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION uploads_held_bytes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta BIGINT := 0;
    who   TEXT;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        who := OLD.owner;
        IF OLD.status IN ('pending', 'uploading', 'completed') THEN
            delta := delta - (CASE WHEN OLD.size <> 0 THEN OLD.size ELSE OLD.reserved END);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        who := NEW.owner;
        IF NEW.status IN ('pending', 'uploading', 'completed') THEN
            delta := delta + (CASE WHEN NEW.size <> 0 THEN NEW.size ELSE NEW.reserved END);
        END IF;
    END IF;
    IF delta <> 0 THEN
        INSERT INTO user_usage AS u (owner, bytes_held) VALUES (who, delta)
        ON CONFLICT (owner) DO UPDATE SET bytes_held = u.bytes_held + EXCLUDED.bytes_held;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION uploads_held_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- In owner order, so that two nodes' groups take the usage rows' locks
    -- in the same order and cannot deadlock.
    INSERT INTO user_usage AS u (owner, bytes_held)
    SELECT owner, SUM(CASE WHEN size <> 0 THEN size ELSE reserved END) FROM inserted
    WHERE status IN ('pending', 'uploading', 'completed')
      AND (CASE WHEN size <> 0 THEN size ELSE reserved END) <> 0
    GROUP BY owner
    ORDER BY owner
    ON CONFLICT (owner) DO UPDATE SET bytes_held = u.bytes_held + EXCLUDED.bytes_held;
    RETURN NULL;
END
$$;
