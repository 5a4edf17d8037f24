-- uHub core schema (PostgreSQL). Never edit once landed: add a new migration instead.

CREATE TABLE users (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username             TEXT        NOT NULL UNIQUE,
    email                TEXT,
    display_name         TEXT        NOT NULL,
    role                 TEXT        NOT NULL CHECK (role IN ('admin', 'projets', 'dev', 'ops')),
    password_hash        TEXT        NOT NULL,
    theme                TEXT        NOT NULL DEFAULT 'dark',
    locale               TEXT        NOT NULL DEFAULT 'en',
    is_active            BOOLEAN     NOT NULL DEFAULT TRUE,
    must_change_password BOOLEAN     NOT NULL DEFAULT FALSE,
    password_changed_at  TIMESTAMPTZ NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE teams (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT        NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE team_members (
    team_id    BIGINT      NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE projects (
    id                       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                     TEXT        NOT NULL UNIQUE,
    description              TEXT        NOT NULL DEFAULT '',
    color                    TEXT        NOT NULL,
    state                    TEXT        NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'archived')),
    owner_id                 BIGINT REFERENCES users (id),
    execution_backend        TEXT CHECK (execution_backend IN ('local', 'docker', 'webhook', 'ssh', 'k8s', 'serverless')),
    execution_backend_config JSONB       NOT NULL DEFAULT '{}',
    created_at               TIMESTAMPTZ NOT NULL,
    updated_at               TIMESTAMPTZ NOT NULL
);

CREATE TABLE environments (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id    BIGINT      NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name          TEXT        NOT NULL,
    is_production BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE jobs (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id       BIGINT      NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    title            TEXT        NOT NULL,
    description      TEXT        NOT NULL DEFAULT '',
    job_type         TEXT        NOT NULL CHECK (job_type IN ('dev', 'ops', 'maintenance', 'meeting', 'infra')),
    status           TEXT        NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'running', 'success', 'failed', 'canceled')),
    environment_id   BIGINT REFERENCES environments (id),
    planned_start    TIMESTAMPTZ NOT NULL,
    planned_end      TIMESTAMPTZ,
    all_day          BOOLEAN     NOT NULL DEFAULT FALSE,
    owner_id         BIGINT REFERENCES users (id),
    responsible_role TEXT CHECK (responsible_role IN ('admin', 'projets', 'dev', 'ops')),
    action           JSONB,
    version          BIGINT      NOT NULL DEFAULT 1,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_project_start ON jobs (project_id, planned_start);
CREATE INDEX jobs_start ON jobs (planned_start);

CREATE TABLE runs (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id         BIGINT      NOT NULL REFERENCES jobs (id),
    project_id     BIGINT      NOT NULL REFERENCES projects (id),
    environment_id BIGINT REFERENCES environments (id),
    backend        TEXT        NOT NULL,
    status         TEXT        NOT NULL CHECK (status IN ('queued', 'awaiting_approval', 'running', 'success', 'failed', 'canceled', 'timed_out')),
    exit_code      INTEGER,
    launched_by    BIGINT REFERENCES users (id),
    approved_by    BIGINT REFERENCES users (id),
    started_at     TIMESTAMPTZ,
    finished_at    TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX runs_job ON runs (job_id, created_at);
CREATE INDEX runs_status ON runs (status);

CREATE TABLE run_logs (
    run_id     BIGINT      NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq        BIGINT      NOT NULL,
    stream     TEXT        NOT NULL CHECK (stream IN ('stdout', 'stderr', 'system')),
    line       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- Append-only: the application only ever inserts; the trigger refuses anything else.
CREATE TABLE audit_log (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             TIMESTAMPTZ NOT NULL,
    actor_id       BIGINT,
    actor_username TEXT,
    action         TEXT        NOT NULL,
    target_type    TEXT,
    target_id      TEXT,
    outcome        TEXT        NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    detail         JSONB       NOT NULL DEFAULT '{}',
    client_ip      TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
