-- Webhooks. Endpoints come from the settings (`[[sites.KEY.webhooks]]`) and are kept here so
-- deliveries can refer to them and a disabled endpoint stays disabled across restarts; the
-- secret stays in the settings. `deliveries` is the durable outbox: one row per event and
-- subscribed endpoint, written in the transaction of the change that caused it.
CREATE TABLE webhook_endpoints (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    site            TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    -- Comma-separated event names.
    events          TEXT    NOT NULL,
    disabled_at     INTEGER,
    disabled_reason TEXT,
    last_success_at INTEGER,
    created_at      INTEGER NOT NULL,
    UNIQUE (site, url)
);

CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id  INTEGER NOT NULL REFERENCES webhook_endpoints(id),
    event        TEXT    NOT NULL,
    -- What the order is kept within: `conversation:ID` or `contact:ID`.
    stream       TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    -- pending, delivered or failed (given up).
    state        TEXT    NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    -- A node delivering this row holds it until then (database clock).
    locked_until INTEGER,
    last_status  INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- The worker's question: the oldest pending row of each stream.
CREATE INDEX webhook_deliveries_pending
    ON webhook_deliveries (endpoint_id, stream, id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_due
    ON webhook_deliveries (next_at) WHERE state = 'pending';
-- The delivery log, newest first per endpoint.
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
-- Erasure and retention find a conversation's or contact's rows.
CREATE INDEX webhook_deliveries_stream ON webhook_deliveries (stream);
