-- Escalation to an issue tracker: a conversation's issue (one per conversation), its status as
-- the tracker last told us, and the conversations of an issue (the tracker's webhook names the
-- key; several conversations may share one issue).
CREATE TABLE escalations (
    conversation_id BIGINT PRIMARY KEY REFERENCES conversations (id),
    tracker         TEXT    NOT NULL,
    issue_key       TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    done            BIGINT  NOT NULL DEFAULT 0,
    escalated_by    BIGINT  NOT NULL REFERENCES agents (id),
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX escalations_by_issue ON escalations (tracker, issue_key);
