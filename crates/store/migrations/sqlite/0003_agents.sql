-- Assignment, priority, SLA and private notes.
ALTER TABLE agents ADD COLUMN capacity INTEGER NOT NULL DEFAULT 5;
ALTER TABLE conversations ADD COLUMN assignee_id INTEGER REFERENCES agents (id);
ALTER TABLE conversations ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal'
    CHECK (priority IN ('low', 'normal', 'high', 'urgent'));
ALTER TABLE conversations ADD COLUMN first_response_due INTEGER;
ALTER TABLE conversations ADD COLUMN first_response_at INTEGER;
ALTER TABLE conversations ADD COLUMN sla_breached_at INTEGER;
ALTER TABLE conversations ADD COLUMN last_author TEXT;
CREATE INDEX conversations_by_assignee ON conversations (assignee_id, status);
CREATE INDEX conversations_sla ON conversations (status, first_response_due);

CREATE TABLE notes (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    agent_id        INTEGER NOT NULL REFERENCES agents (id),
    client_id       TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (conversation_id, agent_id, client_id)
);

CREATE TABLE sla_breaches (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    kind            TEXT    NOT NULL,
    due_at          INTEGER NOT NULL,
    breached_at     INTEGER NOT NULL
);
