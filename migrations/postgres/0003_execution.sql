-- The execution engine: the durable run queue's bookkeeping, approvals, and project secrets.
-- Never edit once landed: add a new migration instead.

-- Which uHub process runs it, since when it last said so, what it started (pid / container).
ALTER TABLE runs ADD COLUMN claimed_by TEXT;
ALTER TABLE runs ADD COLUMN heartbeat_at TIMESTAMPTZ;
ALTER TABLE runs ADD COLUMN external_id TEXT;
ALTER TABLE runs ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT FALSE;
-- Why a run ended as it did, in words (timeout, cancelled by, crash recovery, rejection…).
ALTER TABLE runs ADD COLUMN reason TEXT;
ALTER TABLE runs ADD COLUMN approval_comment TEXT;
ALTER TABLE runs ADD COLUMN log_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN log_truncated BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX runs_queue ON runs (status, id);

-- Write-only values injected into a project's runs; encrypted with AES-256-GCM, the nonce beside.
CREATE TABLE project_secrets (
    project_id BIGINT      NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       TEXT        NOT NULL,
    nonce      BYTEA       NOT NULL,
    ciphertext BYTEA       NOT NULL,
    updated_by BIGINT REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, name)
);
