-- Who holds an upload's completion claim: a token its holder alone knows.
-- Renewing, releasing and the completion's final state change all name it,
-- so a completer that stalled past its lease, and was taken over, can no
-- longer renew, release or record anything.
ALTER TABLE uploads ADD COLUMN completing_by TEXT;
