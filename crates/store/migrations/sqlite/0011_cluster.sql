-- One row: the key that names this database's nodes in Redis (channel and counters), so two
-- deployments sharing a Redis never hear each other.
CREATE TABLE cluster (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    key TEXT    NOT NULL
);
