-- Handoff context, resolution, CSAT, read receipts, contact details, self-service deflections.
ALTER TABLE conversations ADD COLUMN context TEXT;
ALTER TABLE conversations ADD COLUMN contact_name TEXT;
ALTER TABLE conversations ADD COLUMN contact_email TEXT;
ALTER TABLE conversations ADD COLUMN rating INTEGER CHECK (rating BETWEEN 1 AND 5);
ALTER TABLE conversations ADD COLUMN rating_comment TEXT;
ALTER TABLE conversations ADD COLUMN resolved_at INTEGER;
ALTER TABLE conversations ADD COLUMN visitor_read INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN agent_read INTEGER NOT NULL DEFAULT 0;

CREATE TABLE deflections (
    id         INTEGER PRIMARY KEY,
    site       TEXT    NOT NULL,
    visitor_id INTEGER REFERENCES visitors (id),
    query      TEXT    NOT NULL,
    article    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX deflections_by_site ON deflections (site, created_at);
