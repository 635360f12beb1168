-- An upload whose client declares no size (Uppy's Companion protocol) counted
-- as 0 bytes until it completed: a user could hold any amount in such uploads
-- whatever their storage quota. `reserved` is what one may still become (its
-- profile's max_size, set at creation); it counts in place of the size until
-- completion records the size that landed.
ALTER TABLE uploads ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER uploads_held_insert;
DROP TRIGGER uploads_held_update;
DROP TRIGGER uploads_held_delete;

CREATE TRIGGER uploads_held_insert AFTER INSERT ON uploads
WHEN NEW.status IN ('pending', 'uploading', 'completed')
  AND (CASE WHEN NEW.size <> 0 THEN NEW.size ELSE NEW.reserved END) <> 0
BEGIN
    INSERT INTO user_usage (owner, bytes_held)
    VALUES (NEW.owner, CASE WHEN NEW.size <> 0 THEN NEW.size ELSE NEW.reserved END)
    ON CONFLICT (owner) DO UPDATE SET bytes_held = bytes_held + excluded.bytes_held;
END;

CREATE TRIGGER uploads_held_update AFTER UPDATE OF status, size ON uploads
WHEN (CASE WHEN NEW.size <> 0 THEN NEW.size ELSE NEW.reserved END)
       * (NEW.status IN ('pending', 'uploading', 'completed'))
  <> (CASE WHEN OLD.size <> 0 THEN OLD.size ELSE OLD.reserved END)
       * (OLD.status IN ('pending', 'uploading', 'completed'))
BEGIN
    INSERT INTO user_usage (owner, bytes_held)
    VALUES (NEW.owner,
        (CASE WHEN NEW.size <> 0 THEN NEW.size ELSE NEW.reserved END)
          * (NEW.status IN ('pending', 'uploading', 'completed'))
      - (CASE WHEN OLD.size <> 0 THEN OLD.size ELSE OLD.reserved END)
          * (OLD.status IN ('pending', 'uploading', 'completed')))
    ON CONFLICT (owner) DO UPDATE SET bytes_held = bytes_held + excluded.bytes_held;
END;

CREATE TRIGGER uploads_held_delete AFTER DELETE ON uploads
WHEN OLD.status IN ('pending', 'uploading', 'completed')
  AND (CASE WHEN OLD.size <> 0 THEN OLD.size ELSE OLD.reserved END) <> 0
BEGIN
    UPDATE user_usage
    SET bytes_held = bytes_held - (CASE WHEN OLD.size <> 0 THEN OLD.size ELSE OLD.reserved END)
    WHERE owner = OLD.owner;
END;
