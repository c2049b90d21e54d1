-- Customer data: erasure and retention.
-- The erasure log: ids of the conversations and browsers whose data was removed (by a contact's
-- erasure or by retention), so that every node drops them from what it keeps (its search index,
-- live sessions). Ids only: nothing a person wrote or can be recognised by.
CREATE TABLE erasures (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER,
    visitor_id      INTEGER,
    erased_at       INTEGER NOT NULL
);
-- When retention anonymised a conversation (it is not done twice).
ALTER TABLE conversations ADD COLUMN anonymized_at INTEGER;
-- Retention finds old conversations by `conversations_by_update`, old deflections here.
CREATE INDEX deflections_by_age ON deflections (created_at);
