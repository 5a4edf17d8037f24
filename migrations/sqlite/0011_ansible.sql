-- Ansible (issue 24): a project's inventories, each a series of versions (the text as given or
-- read from a repository, with its analysis); the structured results of playbook runs; an apply
-- run may name the check run it follows.
-- Never edit once landed: add a new migration instead.
CREATE TABLE ansible_inventories (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id     INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    environment_id INTEGER REFERENCES environments (id),
    -- Read from this repository link at `git_ref`, file `path` (else given as text).
    repo_link_id   INTEGER REFERENCES project_links (id) ON DELETE SET NULL,
    git_ref        TEXT,
    path           TEXT,
    latest_version INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE ansible_inventory_versions (
    inventory_id INTEGER NOT NULL REFERENCES ansible_inventories (id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    format       TEXT    NOT NULL CHECK (format IN ('ini', 'yaml')),
    content      TEXT    NOT NULL,
    content_sha256 TEXT  NOT NULL,
    host_count   INTEGER NOT NULL,
    group_count  INTEGER NOT NULL,
    lint_count   INTEGER NOT NULL,
    analysis     TEXT    NOT NULL,
    commit_sha   TEXT,
    created_by   INTEGER REFERENCES users (id),
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (inventory_id, version)
);

-- One document per Ansible run: per-host recap and per-task results (from uHub's callback).
CREATE TABLE run_ansible_results (
    run_id     INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    results    TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);

ALTER TABLE runs ADD COLUMN after_check_run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL;
