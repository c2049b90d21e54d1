-- Emails are compared with lower() by the statements shared with PostgreSQL (where COLLATE
-- NOCASE does not exist): index the same expression.
CREATE INDEX contacts_by_lower_email ON contacts (site, lower(email)) WHERE merged_into IS NULL;
DROP INDEX contacts_by_email;
CREATE INDEX agents_by_lower_email ON agents (lower(email));
