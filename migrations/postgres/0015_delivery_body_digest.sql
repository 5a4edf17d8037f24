-- A Git delivery's body digest (SHA-256, hex). GitHub signs the body alone, with no time in it,
-- so a captured delivery posted again under a new X-GitHub-Delivery still verifies: a body is
-- acted on once per link. A replay asked for in uHub keeps none (it reuses a kept body on
-- purpose), nor do deliveries kept before this column.
-- Never edit once landed: add a new migration instead.
ALTER TABLE git_deliveries ADD COLUMN body_sha256 TEXT;
CREATE UNIQUE INDEX git_deliveries_body_once ON git_deliveries (link_id, body_sha256);
