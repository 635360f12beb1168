-- New uploads arrive in groups (one INSERT of up to 256 rows, see group_commit),
-- and a row-level trigger ran a PL/pgSQL call and an upsert for every row: the
-- same owner's usage row was rewritten once per upload, each time a new row
-- version. A statement-level trigger adds each owner's bytes once per group.
-- Deletes and updates touch one row at a time and keep the row-level trigger.
CREATE FUNCTION uploads_held_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- In owner order, so that two nodes' groups take the usage rows' locks
    -- in the same order and cannot deadlock.
    INSERT INTO user_usage AS u (owner, bytes_held)
    SELECT owner, SUM(size) FROM inserted
    WHERE status IN ('pending', 'uploading', 'completed') AND size <> 0
    GROUP BY owner
    ORDER BY owner
    ON CONFLICT (owner) DO UPDATE SET bytes_held = u.bytes_held + EXCLUDED.bytes_held;
    RETURN NULL;
END
$$;

DROP TRIGGER uploads_held_bytes ON uploads;
CREATE TRIGGER uploads_held_bytes AFTER DELETE OR UPDATE OF status, size ON uploads
FOR EACH ROW EXECUTE FUNCTION uploads_held_bytes();
CREATE TRIGGER uploads_held_inserted AFTER INSERT ON uploads
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION uploads_held_inserted();
