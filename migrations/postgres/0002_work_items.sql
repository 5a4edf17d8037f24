-- Incidents, backlog items, project links; versions on projects and environments.
-- Never edit once landed: add a new migration instead.

ALTER TABLE projects ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE environments ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

CREATE TABLE incidents (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- No cascade: a project with incidents is archived, never deleted.
    project_id  BIGINT REFERENCES projects (id),
    title       TEXT        NOT NULL,
    description TEXT        NOT NULL DEFAULT '',
    severity    TEXT        NOT NULL CHECK (severity IN ('sev1', 'sev2', 'sev3', 'sev4')),
    status      TEXT        NOT NULL CHECK (status IN ('open', 'investigating', 'mitigated', 'resolved', 'closed')),
    owner_id    BIGINT REFERENCES users (id),
    job_id      BIGINT REFERENCES jobs (id) ON DELETE SET NULL,
    detected_at TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ,
    version     BIGINT      NOT NULL DEFAULT 1,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX incidents_detected ON incidents (detected_at, id);
CREATE INDEX incidents_project ON incidents (project_id, detected_at);

CREATE TABLE backlog_items (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  BIGINT      NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind        TEXT        NOT NULL CHECK (kind IN ('task', 'milestone')),
    title       TEXT        NOT NULL,
    description TEXT        NOT NULL DEFAULT '',
    status      TEXT        NOT NULL CHECK (status IN ('todo', 'in_progress', 'done', 'canceled')),
    assignee_id BIGINT REFERENCES users (id),
    due_date    DATE,
    version     BIGINT      NOT NULL DEFAULT 1,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX backlog_items_project ON backlog_items (project_id, id);

CREATE TABLE project_links (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id     BIGINT      NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind           TEXT        NOT NULL CHECK (kind IN ('git_repo', 'ansible_inventory', 'terraform_plan', 'k8s_cluster')),
    name           TEXT        NOT NULL,
    environment_id BIGINT REFERENCES environments (id),
    location       TEXT        NOT NULL,
    provider       TEXT CHECK (provider IN ('github', 'gitlab')),
    default_branch TEXT,
    namespace      TEXT,
    version        BIGINT      NOT NULL DEFAULT 1,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (project_id, kind, name)
);
