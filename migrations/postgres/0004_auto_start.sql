-- Jobs that start by themselves at their planned start (approval rules still apply).
-- Never edit once landed: add a new migration instead.
ALTER TABLE jobs ADD COLUMN auto_start BOOLEAN NOT NULL DEFAULT FALSE;
-- Set when the scheduler took the job, so that it starts once (cleared when the job is moved).
ALTER TABLE jobs ADD COLUMN auto_launched_at TIMESTAMPTZ;
CREATE INDEX jobs_auto_start ON jobs (planned_start) WHERE auto_start AND auto_launched_at IS NULL;
