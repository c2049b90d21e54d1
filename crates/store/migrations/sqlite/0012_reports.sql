-- Reports: what the figures need, kept up to date as events happen (never recomputed by a
-- scan of the messages).
-- The first time the conversation was resolved (resolved_at is the latest), how many times it
-- was reopened, how many messages agents wrote, the customer effort score (1–7, asked after
-- the rating when the site wants it), the time the customer spent in self-help before the
-- handoff, and the channel it came through.
ALTER TABLE conversations ADD COLUMN first_resolved_at INTEGER;
ALTER TABLE conversations ADD COLUMN reopens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN agent_replies INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN ces INTEGER CHECK (ces BETWEEN 1 AND 7);
ALTER TABLE conversations ADD COLUMN self_help_ms INTEGER;
ALTER TABLE conversations ADD COLUMN channel TEXT NOT NULL DEFAULT 'widget';
CREATE INDEX conversations_by_creation ON conversations (created_at);
-- Conversations resolved or reopened before this migration: their resolution was their first.
UPDATE conversations SET first_resolved_at = resolved_at WHERE resolved_at IS NOT NULL;
UPDATE conversations SET agent_replies = (
    SELECT count(*) FROM messages m
    WHERE m.conversation_id = conversations.id AND m.author_kind = 'agent'
);

-- Each next response: the customer wrote at `from_at` after an agent's reply, an agent
-- answered at `at` (the clock's deadline was `due`, set for the conversation's `priority` of
-- that moment; `site` is the conversation's, so reports read these rows without a join).
-- Business time is computed when reports read them, from the site's calendar of that moment.
CREATE TABLE response_times (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    site            TEXT    NOT NULL,
    priority        TEXT    NOT NULL,
    agent_id        INTEGER REFERENCES agents (id),
    from_at         INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    due             INTEGER
);
-- Covering: reports read a period of these rows from the index alone.
CREATE INDEX response_times_by_time ON response_times (at, site, priority, conversation_id, from_at, due);
CREATE INDEX response_times_by_conversation ON response_times (conversation_id);

-- Leads see reports (admins too).
ALTER TABLE agents ADD COLUMN is_lead INTEGER NOT NULL DEFAULT 0;
