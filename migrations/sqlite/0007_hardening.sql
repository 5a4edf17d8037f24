-- Security hardening: secrets scoped to an environment, runs that pin what they execute, who
-- turned a job's automatic start on and who last changed what it runs, webhook runs waiting
-- for their callback without a slot, one-time callbacks, and a lease per uHub process.
-- Never edit once landed: add a new migration instead.

-- A secret is project-wide (no environment) or reaches one environment's runs only. Existing
-- secrets stay project-wide. An environment with secrets is in use: it cannot be removed.
CREATE TABLE project_secrets_scoped (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id     INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    environment_id INTEGER REFERENCES environments (id),
    name           TEXT    NOT NULL,
    nonce          BLOB    NOT NULL,
    ciphertext     BLOB    NOT NULL,
    updated_by     INTEGER REFERENCES users (id),
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
);
INSERT INTO project_secrets_scoped (project_id, environment_id, name, nonce, ciphertext, updated_by, created_at, updated_at)
    SELECT project_id, NULL, name, nonce, ciphertext, updated_by, created_at, updated_at FROM project_secrets;
DROP TABLE project_secrets;
ALTER TABLE project_secrets_scoped RENAME TO project_secrets;
CREATE UNIQUE INDEX project_secrets_project_wide ON project_secrets (project_id, name) WHERE environment_id IS NULL;
CREATE UNIQUE INDEX project_secrets_per_environment ON project_secrets (project_id, environment_id, name) WHERE environment_id IS NOT NULL;

-- Who turned the automatic start on (it launches as them), and who last changed what the job
-- runs (its action or environment): neither may approve its runs.
ALTER TABLE jobs ADD COLUMN auto_start_by INTEGER REFERENCES users (id);
ALTER TABLE jobs ADD COLUMN action_changed_by INTEGER REFERENCES users (id);

-- What a run executes, fixed when it is launched: the action, its SHA-256 (with the backend and
-- environment), the script's SHA-256 for local scripts, and who last changed the job's action.
ALTER TABLE runs ADD COLUMN action TEXT;
ALTER TABLE runs ADD COLUMN action_sha256 TEXT;
ALTER TABLE runs ADD COLUMN script_sha256 TEXT;
ALTER TABLE runs ADD COLUMN action_changed_by INTEGER REFERENCES users (id);
-- A webhook run triggered and waiting for its target's callback holds no execution slot; it
-- times out on its own at this instant.
ALTER TABLE runs ADD COLUMN callback_deadline TEXT;

-- Callbacks already taken: a replayed one is refused.
CREATE TABLE run_callbacks (
    run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    digest      TEXT    NOT NULL,
    received_at TEXT    NOT NULL,
    PRIMARY KEY (run_id, digest)
);

-- Each uHub process's lease: the crash sweep settles only runs of a process whose lease ran out.
CREATE TABLE workers (
    id         TEXT NOT NULL PRIMARY KEY,
    host       TEXT NOT NULL,
    started_at TEXT NOT NULL,
    seen_at    TEXT NOT NULL
);
