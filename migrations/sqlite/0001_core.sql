-- uHub core schema (SQLite). Never edit once landed: add a new migration instead.
-- Timestamps are RFC 3339 text in UTC, written by the application, so they sort as text.

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    username             TEXT    NOT NULL UNIQUE,
    email                TEXT,
    display_name         TEXT    NOT NULL,
    role                 TEXT    NOT NULL CHECK (role IN ('admin', 'projets', 'dev', 'ops')),
    password_hash        TEXT    NOT NULL,
    theme                TEXT    NOT NULL DEFAULT 'dark',
    locale               TEXT    NOT NULL DEFAULT 'en',
    is_active            BOOLEAN NOT NULL DEFAULT TRUE,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    password_changed_at  TEXT    NOT NULL,
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL
);

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE team_members (
    team_id    INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE projects (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    name                     TEXT NOT NULL UNIQUE,
    description              TEXT NOT NULL DEFAULT '',
    color                    TEXT NOT NULL,
    state                    TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'archived')),
    owner_id                 INTEGER REFERENCES users (id),
    execution_backend        TEXT CHECK (execution_backend IN ('local', 'docker', 'webhook', 'ssh', 'k8s', 'serverless')),
    execution_backend_config TEXT NOT NULL DEFAULT '{}',
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL
);

CREATE TABLE environments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id    INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    is_production BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id       INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    title            TEXT    NOT NULL,
    description      TEXT    NOT NULL DEFAULT '',
    job_type         TEXT    NOT NULL CHECK (job_type IN ('dev', 'ops', 'maintenance', 'meeting', 'infra')),
    status           TEXT    NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'running', 'success', 'failed', 'canceled')),
    environment_id   INTEGER REFERENCES environments (id),
    planned_start    TEXT    NOT NULL,
    planned_end      TEXT,
    all_day          BOOLEAN NOT NULL DEFAULT FALSE,
    owner_id         INTEGER REFERENCES users (id),
    responsible_role TEXT CHECK (responsible_role IN ('admin', 'projets', 'dev', 'ops')),
    action           TEXT,
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
);
CREATE INDEX jobs_project_start ON jobs (project_id, planned_start);
CREATE INDEX jobs_start ON jobs (planned_start);

CREATE TABLE runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id         INTEGER NOT NULL REFERENCES jobs (id),
    project_id     INTEGER NOT NULL REFERENCES projects (id),
    environment_id INTEGER REFERENCES environments (id),
    backend        TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('queued', 'awaiting_approval', 'running', 'success', 'failed', 'canceled', 'timed_out')),
    exit_code      INTEGER,
    launched_by    INTEGER REFERENCES users (id),
    approved_by    INTEGER REFERENCES users (id),
    started_at     TEXT,
    finished_at    TEXT,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
);
CREATE INDEX runs_job ON runs (job_id, created_at);
CREATE INDEX runs_status ON runs (status);

CREATE TABLE run_logs (
    run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    stream     TEXT    NOT NULL CHECK (stream IN ('stdout', 'stderr', 'system')),
    line       TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- Append-only: the application only ever inserts; the triggers refuse anything else.
CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             TEXT    NOT NULL,
    actor_id       INTEGER,
    actor_username TEXT,
    action         TEXT    NOT NULL,
    target_type    TEXT,
    target_id      TEXT,
    outcome        TEXT    NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    detail         TEXT    NOT NULL DEFAULT '{}',
    client_ip      TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
