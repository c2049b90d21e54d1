-- Next-response and resolution SLAs, labels, teams.
-- A next response is due when the customer writes after an agent's reply; the agent's next
-- reply clears it. A resolution is due from the start (or the reopening); resolving clears it.
-- The `_from` columns are when each clock started: a priority change recomputes from them.
ALTER TABLE conversations ADD COLUMN next_response_from INTEGER;
ALTER TABLE conversations ADD COLUMN next_response_due INTEGER;
ALTER TABLE conversations ADD COLUMN resolution_from INTEGER;
ALTER TABLE conversations ADD COLUMN resolution_due INTEGER;
-- The team a conversation belongs to (routing picks among its members); NULL = anyone.
ALTER TABLE conversations ADD COLUMN team TEXT;
-- Teams an agent belongs to: a comma-separated list of team names.
ALTER TABLE agents ADD COLUMN teams TEXT NOT NULL DEFAULT '';

CREATE TABLE conversation_labels (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    label           TEXT    NOT NULL,
    PRIMARY KEY (conversation_id, label)
);
CREATE INDEX conversation_labels_by_label ON conversation_labels (label);

-- One breach per deadline: the ticker may see the same overdue deadline twice.
CREATE UNIQUE INDEX sla_breaches_once ON sla_breaches (conversation_id, kind, due_at);
CREATE INDEX conversations_next_due ON conversations (status, next_response_due);
CREATE INDEX conversations_resolution_due ON conversations (status, resolution_due);
