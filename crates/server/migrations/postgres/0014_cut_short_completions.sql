-- Completions whose claim ran out without being released: the node died
-- mid-way (perhaps after storage assembled the object). The janitor finishes
-- them; only those rows have a claim at all, so the index stays small.
CREATE INDEX uploads_completing_until ON uploads (completing_until)
    WHERE completing_until IS NOT NULL;
