-- Kubernetes clusters of projects (issue 26): what their kubeconfig says, and the last check.
-- The kubeconfig itself lives in the secret store: sealed here with the master key (nonce and
-- ciphertext, bound to the project and the cluster) when secrets live in the database, else in
-- Vault with both columns NULL. Never edit once landed: add a new migration instead.
CREATE TABLE k8s_clusters (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id     INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    -- The environment whose guardrails apply to runs on the cluster.
    environment_id INTEGER NOT NULL REFERENCES environments (id),
    server_url     TEXT    NOT NULL,
    context        TEXT    NOT NULL,
    namespace      TEXT    NOT NULL,
    ca_fingerprint TEXT,
    auth_kind      TEXT    NOT NULL,
    nonce          BLOB,
    ciphertext     BLOB,
    -- The last check (JSON), cleared when the kubeconfig changes.
    last_check     TEXT,
    created_by     INTEGER REFERENCES users (id),
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    UNIQUE (project_id, name)
);
