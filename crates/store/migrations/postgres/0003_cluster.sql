-- One row: the key that names this database's nodes in Redis (channel and counters), so two
-- deployments sharing a Redis never hear each other.
CREATE TABLE cluster (
    id  BIGINT PRIMARY KEY CHECK (id = 1),
    key TEXT   NOT NULL
);

-- What changed since a moment (a node catching its search index up after missing events).
CREATE INDEX notes_by_time ON notes (created_at);
