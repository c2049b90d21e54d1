-- Settled widget searches (`searched` frames): what the content team's gaps report reads.
-- Nothing here is personal. `visitor_key` is a keyed hash (HMAC-SHA256 under the cluster key,
-- truncated) of the browser's token itself, which the database never holds (`visitors` keeps
-- the token's SHA-256): a row cannot be linked to a visitor, contact or conversation without
-- the token. Erasing a contact therefore leaves these rows alone.

-- The raw events, deleted after `[insights] raw_search_days` (the daily job).
CREATE TABLE search_events (
    id          INTEGER PRIMARY KEY,
    site        TEXT NOT NULL,
    language    TEXT NOT NULL,
    -- Normalized: trimmed, inner whitespace collapsed, lowercase.
    query       TEXT NOT NULL,
    visitor_key TEXT NOT NULL,
    results     INTEGER NOT NULL,
    -- JSON array of the article ids shown, in rank order.
    shown       TEXT NOT NULL,
    opened      TEXT,
    -- 1 yes, 0 no, NULL not answered.
    helpful     INTEGER,
    handoff     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX search_events_by_time ON search_events (created_at);

-- Who asked what on a day (UTC days since the epoch): a visitor counts once per day and
-- query, and the lists count distinct visitors over a period from it. Deleted with the raw
-- events (by whole days).
CREATE TABLE search_visitors (
    day         INTEGER NOT NULL,
    site        TEXT NOT NULL,
    language    TEXT NOT NULL,
    query       TEXT NOT NULL,
    visitor_key TEXT NOT NULL,
    PRIMARY KEY (day, site, language, query, visitor_key)
);

-- Daily rollups, kept up to date as events arrive, kept for good.
CREATE TABLE search_queries_daily (
    site        TEXT NOT NULL,
    day         INTEGER NOT NULL,
    language    TEXT NOT NULL,
    query       TEXT NOT NULL,
    searches    INTEGER NOT NULL,
    -- Distinct visitors that day.
    visitors    INTEGER NOT NULL,
    no_result   INTEGER NOT NULL,
    opened      INTEGER NOT NULL,
    helpful     INTEGER NOT NULL,
    unhelpful   INTEGER NOT NULL,
    handoffs    INTEGER NOT NULL,
    PRIMARY KEY (site, day, language, query)
);
CREATE INDEX search_queries_daily_by_day ON search_queries_daily (day);

CREATE TABLE search_articles_daily (
    site        TEXT NOT NULL,
    day         INTEGER NOT NULL,
    article     TEXT NOT NULL,
    shown       INTEGER NOT NULL,
    opened      INTEGER NOT NULL,
    helpful     INTEGER NOT NULL,
    unhelpful   INTEGER NOT NULL,
    PRIMARY KEY (site, day, article)
);
CREATE INDEX search_articles_daily_by_day ON search_articles_daily (day);
