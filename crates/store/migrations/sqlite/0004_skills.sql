-- Language skills for routing: a comma-separated list of primary language tags; empty = any.
ALTER TABLE agents ADD COLUMN languages TEXT NOT NULL DEFAULT '';
CREATE INDEX conversations_by_visitor ON conversations (visitor_id, id);
