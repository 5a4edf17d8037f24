-- Runs of actions from a repository record the commit they execute (resolved at launch, part of
-- what an approval approves); the deploy ledger reads the successful ones. Repository links gain
-- the `git` provider (any Git remote): the provider moves to a column whose check allows it (a
-- column's check cannot be changed in place on SQLite).
-- Never edit once landed: add a new migration instead.
ALTER TABLE runs ADD COLUMN commit_sha TEXT;
CREATE INDEX runs_with_commit ON runs (project_id, id) WHERE commit_sha IS NOT NULL;

ALTER TABLE project_links ADD COLUMN git_provider TEXT CHECK (git_provider IN ('github', 'gitlab', 'git'));
UPDATE project_links SET git_provider = provider, provider = NULL WHERE provider IS NOT NULL;

-- A delivery keeps its body (never a secret: senders sign it, they do not put the secret in it) so
-- that an admin or the project owner can replay it.
ALTER TABLE git_deliveries ADD COLUMN payload TEXT;

-- A repository link may name the project secret holding its API / HTTPS token (never the token)
-- and ask uHub to report runs' states as commit statuses.
ALTER TABLE project_links ADD COLUMN token_secret_name TEXT;
ALTER TABLE project_links ADD COLUMN report_status BOOLEAN NOT NULL DEFAULT FALSE;

-- A person's own secrets (their personal Git tokens), sealed like project secrets; never shown.
CREATE TABLE user_secrets (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    nonce      BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
);
