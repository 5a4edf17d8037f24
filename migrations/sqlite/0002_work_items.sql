-- Incidents, backlog items, project links; versions on projects and environments.
-- Never edit once landed: add a new migration instead.

ALTER TABLE projects ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE environments ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

CREATE TABLE incidents (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- No cascade: a project with incidents is archived, never deleted.
    project_id  INTEGER REFERENCES projects (id),
    title       TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    severity    TEXT    NOT NULL CHECK (severity IN ('sev1', 'sev2', 'sev3', 'sev4')),
    status      TEXT    NOT NULL CHECK (status IN ('open', 'investigating', 'mitigated', 'resolved', 'closed')),
    owner_id    INTEGER REFERENCES users (id),
    job_id      INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    detected_at TEXT    NOT NULL,
    resolved_at TEXT,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX incidents_detected ON incidents (detected_at, id);
CREATE INDEX incidents_project ON incidents (project_id, detected_at);

CREATE TABLE backlog_items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('task', 'milestone')),
    title       TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL CHECK (status IN ('todo', 'in_progress', 'done', 'canceled')),
    assignee_id INTEGER REFERENCES users (id),
    -- A calendar date, YYYY-MM-DD.
    due_date    TEXT,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX backlog_items_project ON backlog_items (project_id, id);

CREATE TABLE project_links (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id     INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind           TEXT    NOT NULL CHECK (kind IN ('git_repo', 'ansible_inventory', 'terraform_plan', 'k8s_cluster')),
    name           TEXT    NOT NULL,
    environment_id INTEGER REFERENCES environments (id),
    location       TEXT    NOT NULL,
    provider       TEXT CHECK (provider IN ('github', 'gitlab')),
    default_branch TEXT,
    namespace      TEXT,
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    UNIQUE (project_id, kind, name)
);
