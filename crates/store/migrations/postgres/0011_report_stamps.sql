-- Reports keep each whole day's facts in the store's memory and check them against the
-- database on every read: a day's stamp is its conversations' count, sum of ids and sum of
-- `facts_rev`, which every statement that changes what a report reads of a conversation
-- (status, times, priority, team, assignee, contact, rating, effort, labels, breaches, agent
-- replies) increments. The stamp is read from this index alone (with the ids it includes).
ALTER TABLE conversations ADD COLUMN facts_rev BIGINT NOT NULL DEFAULT 0;
DROP INDEX conversations_by_creation;
CREATE INDEX conversations_by_creation ON conversations (created_at, facts_rev) INCLUDE (id);
