-- Kubernetes clusters of projects (issue 26): what their kubeconfig says, and the last check.
-- The kubeconfig itself lives in the secret store: sealed here with the master key (nonce and
-- ciphertext, bound to the project and the cluster) when secrets live in the database, else in
-- Vault with both columns NULL. Never edit once landed: add a new migration instead.
CREATE TABLE k8s_clusters (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id     BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    -- The environment whose guardrails apply to runs on the cluster.
    environment_id BIGINT NOT NULL REFERENCES environments (id),
    server_url     TEXT    NOT NULL,
    context        TEXT    NOT NULL,
    namespace      TEXT    NOT NULL,
    ca_fingerprint TEXT,
    auth_kind      TEXT    NOT NULL,
    nonce          BYTEA,
    ciphertext     BYTEA,
    -- The last check (JSON), cleared when the kubeconfig changes.
    last_check     JSONB,
    created_by     BIGINT REFERENCES users (id),
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (project_id, name)
);
