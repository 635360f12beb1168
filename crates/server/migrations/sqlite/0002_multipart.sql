-- Multipart uploads: the store's upload id and the part layout agreed at creation,
-- so that signing, resuming and completing survive restarts and config changes.
ALTER TABLE uploads ADD COLUMN multipart_upload_id TEXT;
ALTER TABLE uploads ADD COLUMN part_size INTEGER;
ALTER TABLE uploads ADD COLUMN part_count INTEGER;
