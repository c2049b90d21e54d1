-- Escalation to an issue tracker: a conversation's issue (one per conversation), its status as
-- the tracker last told us, and the conversations of an issue (the tracker's webhook names the
-- key; several conversations may share one issue).
CREATE TABLE escalations (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations (id),
    tracker         TEXT    NOT NULL,
    issue_key       TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    done            INTEGER NOT NULL DEFAULT 0,
    escalated_by    INTEGER NOT NULL REFERENCES agents (id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX escalations_by_issue ON escalations (tracker, issue_key);
