-- The "webhook" processor, which webhook events replaced, is gone from the
-- code; since its retirement its jobs did nothing and then queued the steps
-- after them. What an earlier version left of them ends here as the worker
-- would have ended it, except that no processing.ready event is sent for
-- an upload this makes ready (docs/processing.md):
-- 1. no step names it any more;
UPDATE jobs SET next = REPLACE(REPLACE(REPLACE(next, ',"webhook"', ''), '"webhook",', ''), '"webhook"', '')
WHERE kind <> 'webhook' AND next LIKE '%"webhook"%';

-- 2. one with steps after it (waiting, or dead-lettered and so waiting for a
--    retry that would have run them) becomes the first of them, queued afresh;
UPDATE jobs SET kind = next::jsonb ->> 0, next = (next::jsonb - 0)::text,
    state = 'queued', attempts = 0, lease = NULL, locked_until = NULL, last_error = NULL
WHERE kind = 'webhook' AND state IN ('queued', 'running', 'dead')
  AND jsonb_array_length(next::jsonb) > 0
  AND NOT EXISTS (
      SELECT 1 FROM jobs other
      WHERE other.upload_id = jobs.upload_id AND other.kind = jobs.next::jsonb ->> 0);

-- 3. one that was the last step leaves its upload ready, unless another job
--    of the upload is unfinished or dead;
UPDATE uploads SET processing = REPLACE(REPLACE(processing,
        '"state":"processing"', '"state":"ready"'), '"state":"failed"', '"state":"ready"')
WHERE id IN (SELECT upload_id FROM jobs WHERE kind = 'webhook' AND state IN ('queued', 'running', 'dead'))
  AND NOT EXISTS (
      SELECT 1 FROM jobs other
      WHERE other.upload_id = uploads.id AND other.kind <> 'webhook'
        AND other.state IN ('queued', 'running', 'dead'));

-- 4. and the jobs go.
DELETE FROM jobs WHERE kind = 'webhook';
