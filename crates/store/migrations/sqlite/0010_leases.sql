-- Cluster-wide timers (SLA ticker, retention): the node holding a lease runs them, until the
-- lease runs out by the database's clock.
CREATE TABLE leases (
    name   TEXT    PRIMARY KEY,
    holder TEXT    NOT NULL,
    until  INTEGER NOT NULL
);
