-- The digest (SHA-256, hex) of the project's execution settings when a run was launched: where a
-- webhook run is sent and the name of the secret sent with it, a container's limits and network,
-- the timeout. A run is approved and executed with those settings only: changed after its
-- launch, its approval is refused and its execution fails. Runs recorded before this column
-- have none and are not checked.
-- Never edit once landed: add a new migration instead.
ALTER TABLE runs ADD COLUMN settings_sha256 TEXT;
