-- Git: the project secret that signs a repository's webhooks, every delivery received (never a
-- secret), and the commits and merge requests linked to jobs.
-- Never edit once landed: add a new migration instead.
ALTER TABLE project_links ADD COLUMN webhook_secret_name TEXT;

CREATE TABLE git_deliveries (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    link_id     BIGINT      NOT NULL REFERENCES project_links (id) ON DELETE CASCADE,
    delivery_id TEXT        NOT NULL,
    event       TEXT        NOT NULL,
    outcome     TEXT        NOT NULL,
    linked      BIGINT      NOT NULL DEFAULT 0,
    received_at TIMESTAMPTZ NOT NULL,
    UNIQUE (link_id, delivery_id)
);
CREATE INDEX git_deliveries_by_link ON git_deliveries (link_id, id);

CREATE TABLE code_changes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id     BIGINT      NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    link_id    BIGINT      NOT NULL REFERENCES project_links (id) ON DELETE CASCADE,
    kind       TEXT        NOT NULL CHECK (kind IN ('commit', 'merge_request')),
    -- The commit's SHA, or "!<number>" for a merge request: one row per job and change.
    change_key TEXT        NOT NULL,
    sha        TEXT,
    number     BIGINT,
    title      TEXT        NOT NULL,
    author     TEXT,
    url        TEXT,
    at         TIMESTAMPTZ NOT NULL,
    source     TEXT        NOT NULL CHECK (source IN ('webhook', 'sync', 'manual')),
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (job_id, link_id, kind, change_key)
);
CREATE INDEX code_changes_by_job ON code_changes (job_id, at);
