-- The order people give a project's backlog (the sheet's up / down): a rank per item, lower
-- first. Items without one (all of them before this migration) rank by their id, so the order
-- stays what it was until someone moves an item.
-- Never edit once landed: add a new migration instead.
ALTER TABLE backlog_items ADD COLUMN rank BIGINT;
