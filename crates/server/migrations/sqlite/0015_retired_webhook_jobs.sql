-- The "webhook" processor, which webhook events replaced, is gone from the
-- code; since its retirement its jobs ended doing nothing. What an earlier
-- version left of them ends here instead: an upload waiting on nothing but
-- such a job is ready, the jobs go, and no later step names it. (Processing
-- is compact JSON, as serde writes it, in both databases.)
UPDATE uploads SET processing = REPLACE(processing, '"state":"processing"', '"state":"ready"')
WHERE id IN (SELECT upload_id FROM jobs WHERE kind = 'webhook' AND state IN ('queued', 'running'))
  AND NOT EXISTS (
      SELECT 1 FROM jobs other
      WHERE other.upload_id = uploads.id AND other.kind <> 'webhook'
        AND other.state IN ('queued', 'running'));

DELETE FROM jobs WHERE kind = 'webhook';

UPDATE jobs SET next = REPLACE(REPLACE(REPLACE(next, ',"webhook"', ''), '"webhook",', ''), '"webhook"', '')
WHERE next LIKE '%"webhook"%';
