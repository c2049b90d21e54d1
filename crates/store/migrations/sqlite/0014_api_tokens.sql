-- Tokens of the public REST API (`/api/v1`). The secret is shown once when the token is made
-- and stored only as its SHA-256 (`token_hash`): a leaked database holds no usable token.
-- `prefix` is the token's first characters, not secret, so an admin can tell tokens apart.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    -- `read`, `write` or `admin` (each includes the ones before it).
    scope        TEXT NOT NULL,
    -- The agent who made it (writes through the API are attributed to it unless they name an
    -- agent); NULL for tokens made with the CLI without `--agent`.
    created_by   INTEGER REFERENCES agents (id),
    created_at   INTEGER NOT NULL,
    -- Kept to the minute (a write per request would cost more than it tells).
    last_used_at INTEGER,
    revoked_at   INTEGER
);

-- The API's conversation list pages by id, newest first, under its filters.
CREATE INDEX conversations_by_site_id ON conversations (site, id);
