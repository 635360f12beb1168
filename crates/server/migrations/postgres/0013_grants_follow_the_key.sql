-- A grant belongs to the API key that minted it, not to the key's name: a
-- token minted while its key was being revoked must stay dead when a new key
-- is made under the same name. A key's hash is its identity (unique, and
-- never reused: a new key is new random bytes).
ALTER TABLE upload_grants ADD COLUMN key_hash TEXT;
UPDATE upload_grants
   SET key_hash = (SELECT hash FROM api_keys WHERE api_keys.name = upload_grants.key_name);
DROP INDEX upload_grants_key;
CREATE INDEX upload_grants_key_hash ON upload_grants (key_hash);
