-- Files attached to messages, their bytes kept in the database (so every node serves them and
-- a backup holds them). A visitor's upload has no conversation until the message that carries
-- it is sent; an agent's upload is made for a conversation. A message keeps what it shows of
-- its files (id, name, type, size, pixels) as JSON in `messages.attachments`, so reading a
-- conversation never reads a file's bytes.
CREATE TABLE attachments (
    id              TEXT    PRIMARY KEY,
    visitor_id      INTEGER REFERENCES visitors (id),
    agent_id        INTEGER REFERENCES agents (id),
    conversation_id INTEGER REFERENCES conversations (id),
    name            TEXT    NOT NULL,
    content_type    TEXT    NOT NULL,
    size            INTEGER NOT NULL,
    width           INTEGER,
    height          INTEGER,
    data            BLOB    NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX attachments_by_conversation ON attachments (conversation_id);
CREATE INDEX attachments_by_visitor ON attachments (visitor_id);
ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '';
