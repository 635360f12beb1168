-- Bytes each user holds (uploads pending, uploading or completed), kept by
-- triggers so that the storage quota reads one row at every creation instead
-- of summing all of a user's uploads (half a second at 200,000 uploads).
CREATE TABLE user_usage (
    owner      TEXT PRIMARY KEY NOT NULL,
    bytes_held INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO user_usage (owner, bytes_held)
SELECT owner, SUM(size) FROM uploads
WHERE status IN ('pending', 'uploading', 'completed')
GROUP BY owner;

CREATE TRIGGER uploads_held_insert AFTER INSERT ON uploads
WHEN NEW.status IN ('pending', 'uploading', 'completed') AND NEW.size <> 0
BEGIN
    INSERT INTO user_usage (owner, bytes_held) VALUES (NEW.owner, NEW.size)
    ON CONFLICT (owner) DO UPDATE SET bytes_held = bytes_held + excluded.bytes_held;
END;

-- A transition rewrites the status and may record the size that landed.
CREATE TRIGGER uploads_held_update AFTER UPDATE OF status, size ON uploads
WHEN (CASE WHEN OLD.status IN ('pending', 'uploading', 'completed') THEN OLD.size ELSE 0 END)
  <> (CASE WHEN NEW.status IN ('pending', 'uploading', 'completed') THEN NEW.size ELSE 0 END)
BEGIN
    INSERT INTO user_usage (owner, bytes_held)
    VALUES (NEW.owner,
        (CASE WHEN NEW.status IN ('pending', 'uploading', 'completed') THEN NEW.size ELSE 0 END)
      - (CASE WHEN OLD.status IN ('pending', 'uploading', 'completed') THEN OLD.size ELSE 0 END))
    ON CONFLICT (owner) DO UPDATE SET bytes_held = bytes_held + excluded.bytes_held;
END;

-- uploadgate never deletes a record; an operator's cleanup must not skew the count.
CREATE TRIGGER uploads_held_delete AFTER DELETE ON uploads
WHEN OLD.status IN ('pending', 'uploading', 'completed') AND OLD.size <> 0
BEGIN
    UPDATE user_usage SET bytes_held = bytes_held - OLD.size WHERE owner = OLD.owner;
END;
