-- Contacts: one record per customer, shared by every browser (visitor) it is linked to.
-- `external_id` is the site's own user id, set only from an identity the site signed.
CREATE TABLE contacts (
    id                 INTEGER PRIMARY KEY,
    site               TEXT    NOT NULL,
    external_id        TEXT,
    name               TEXT,
    email              TEXT,
    -- Custom attributes passed by the site: a JSON object of strings.
    attributes         TEXT    NOT NULL DEFAULT '{}',
    account_manager_id INTEGER REFERENCES agents (id),
    -- Set when this contact was merged into another; its visitors now point there.
    merged_into        INTEGER REFERENCES contacts (id),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX contacts_by_external_id ON contacts (site, external_id)
    WHERE external_id IS NOT NULL AND merged_into IS NULL;
CREATE INDEX contacts_by_email ON contacts (site, email COLLATE NOCASE) WHERE merged_into IS NULL;

-- A browser's current contact (it changes when another account identifies on it).
ALTER TABLE visitors ADD COLUMN contact_id INTEGER REFERENCES contacts (id);
-- The external id this browser proved (a signed identify); a browser merged into a verified
-- contact by an agent is not thereby verified.
ALTER TABLE visitors ADD COLUMN verified_as TEXT;
CREATE INDEX visitors_by_contact ON visitors (contact_id);
-- Whose conversation it is, fixed when it starts (or when its browser identifies while it is
-- open): another account later identifying on the same browser does not take it over.
ALTER TABLE conversations ADD COLUMN contact_id INTEGER REFERENCES contacts (id);
CREATE INDEX conversations_by_contact ON conversations (contact_id, id);
