-- Terraform (issue 25): plans attached to projects (uploaded, or made by plan runs), each kept
-- redacted with the digest of the document it came from; the lock of a workspace while a plan or
-- apply run is under way; approvals of a run, one per approver, with the plan each one saw.
-- Never edit once landed: add a new migration instead.
CREATE TABLE terraform_plans (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id     BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- The workspace the plan is for: plans of one name are the successive plans of one workspace.
    name           TEXT    NOT NULL,
    environment_id BIGINT REFERENCES environments (id),
    job_id         BIGINT REFERENCES jobs (id) ON DELETE SET NULL,
    -- The plan run that made it (uploaded plans have none).
    run_id         BIGINT REFERENCES runs (id) ON DELETE SET NULL,
    plan_sha256    TEXT    NOT NULL,
    summary        JSONB    NOT NULL,
    risky          BIGINT NOT NULL,
    -- The analysis as answers show it: sensitive values already redacted. The document is never kept.
    analysis       JSONB    NOT NULL,
    commit_sha     TEXT,
    created_by     BIGINT REFERENCES users (id),
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX terraform_plans_workspace ON terraform_plans (project_id, name, id);
CREATE INDEX terraform_plans_run ON terraform_plans (run_id);

-- Held by the plan or apply run named while it is queued, awaiting approval or running.
CREATE TABLE terraform_locks (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    workspace  TEXT    NOT NULL,
    run_id     BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    locked_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, workspace)
);

CREATE TABLE run_approvals (
    run_id      BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    -- For a Terraform apply: the plan the approver saw. An approval of another plan counts for nothing.
    plan_sha256 TEXT,
    comment     TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, user_id)
);

-- An apply run: the plan run whose saved plan file it applies.
ALTER TABLE runs ADD COLUMN plan_run_id BIGINT REFERENCES runs (id) ON DELETE SET NULL;
