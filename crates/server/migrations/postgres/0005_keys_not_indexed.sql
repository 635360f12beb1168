-- Object and staging keys lose their UNIQUE constraints. Both end in the
-- upload id, so the primary key already makes them unique, and a lookup by key
-- reads the id out of the key (keys::upload_id). Their two indexes cost every
-- insert, the busiest write.
ALTER TABLE uploads
    DROP CONSTRAINT uploads_object_key_key,
    DROP CONSTRAINT uploads_staging_key_key;
