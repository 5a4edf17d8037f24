-- The calendar: production move requests, iCal feed tokens, remembered preferences.
-- Never edit once landed: add a new migration instead.

-- A move of a production job asked by someone who may not make it alone; a projets or admin
-- user (not the requester) approves or rejects it. One pending request per job at most.
CREATE TABLE job_move_requests (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id           BIGINT  NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    requested_by     BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    -- The job's version the move is based on: approving a request about an older job is refused.
    based_on_version BIGINT  NOT NULL,
    from_start       TIMESTAMPTZ NOT NULL,
    from_end         TIMESTAMPTZ,
    planned_start    TIMESTAMPTZ NOT NULL,
    planned_end      TIMESTAMPTZ,
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn', 'superseded')),
    decided_by       BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    decided_at       TIMESTAMPTZ,
    reason           TEXT    NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX job_move_requests_one_pending ON job_move_requests (job_id) WHERE status = 'pending';
CREATE INDEX job_move_requests_status ON job_move_requests (status, created_at);

-- Read-only iCal subscriptions: a user's own jobs (project_id NULL) or a project's. Only the
-- SHA-256 of the token is kept; revoking sets revoked_at (the row stays for the audit trail).
CREATE TABLE calendar_feeds (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id   BIGINT  REFERENCES projects (id) ON DELETE CASCADE,
    token_hash   TEXT    NOT NULL UNIQUE,
    token_hint   TEXT    NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX calendar_feeds_user ON calendar_feeds (user_id);

-- Small per-user settings remembered across sessions and devices (JSON by name), e.g. the
-- calendar's filters.
CREATE TABLE user_preferences (
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    value      JSONB   NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, name)
);
