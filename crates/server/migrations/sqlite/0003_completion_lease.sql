-- A node completing an upload holds it until this instant (Unix ms), so that
-- two nodes (or two requests) never assemble, verify or delete it at once.
ALTER TABLE uploads ADD COLUMN completing_until INTEGER;
