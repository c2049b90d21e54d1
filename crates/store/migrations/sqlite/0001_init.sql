-- Frontdesk schema, version 1 (SQLite).
CREATE TABLE agents (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE agent_sessions (
    token_hash TEXT    PRIMARY KEY,
    agent_id   INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE visitors (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT    NOT NULL UNIQUE,
    site       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE conversations (
    id         INTEGER PRIMARY KEY,
    visitor_id INTEGER NOT NULL REFERENCES visitors (id),
    site       TEXT    NOT NULL,
    status     TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    last_seq   INTEGER NOT NULL DEFAULT 0,
    preview    TEXT,
    page_url   TEXT,
    locale     TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- At most one open conversation per visitor: two tabs sending their first message at once
-- must land in the same conversation.
CREATE UNIQUE INDEX conversations_one_open_per_visitor
    ON conversations (visitor_id) WHERE status = 'open';
CREATE INDEX conversations_by_update ON conversations (status, updated_at);

CREATE TABLE messages (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    seq             INTEGER NOT NULL,
    client_id       TEXT    NOT NULL,
    author_kind     TEXT    NOT NULL CHECK (author_kind IN ('visitor', 'agent')),
    agent_id        INTEGER REFERENCES agents (id),
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    UNIQUE (conversation_id, author_kind, client_id)
);
