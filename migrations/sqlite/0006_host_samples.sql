-- Readings of the host uHub runs on (the Server view), as JSON: every raw sample for 24 hours,
-- 5-minute averages for 30 days (the sampler prunes the rest).
-- Never edit once landed: add a new migration instead.
CREATE TABLE host_samples (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    sampled_at         TEXT    NOT NULL,
    -- The span one row stands for: the sampling interval for raw rows, 300 for averages.
    resolution_seconds INTEGER NOT NULL,
    sample             TEXT    NOT NULL
);
CREATE INDEX host_samples_at ON host_samples (resolution_seconds, sampled_at);
