-- The order as the tenant sees it (a projection of the order workflow) and its events.
-- PostgreSQL twin of sqlite/0001_orders.sql: integers are BIGINT (read as i64), JSON
-- documents stay TEXT so they are returned byte for byte, and ids and timestamps compare
-- byte-wise (COLLATE "C"), like SQLite, so listings sort the same on both backends.
CREATE TABLE IF NOT EXISTS orders (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    order_id    TEXT COLLATE "C" NOT NULL,
    workflow_id TEXT   NOT NULL,
    supplier_id TEXT COLLATE "C" NOT NULL,
    order_ref   TEXT   NOT NULL,
    state       TEXT COLLATE "C" NOT NULL,
    revision    BIGINT NOT NULL,
    last_seq    BIGINT NOT NULL,
    view        TEXT   NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    updated_at  TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);
CREATE INDEX IF NOT EXISTS orders_by_state ON orders (tenant_id, state);
CREATE INDEX IF NOT EXISTS orders_by_supplier ON orders (tenant_id, supplier_id);

CREATE TABLE IF NOT EXISTS order_events (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    order_id    TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    event_uuid  TEXT   NOT NULL UNIQUE,
    event_type  TEXT   NOT NULL,
    occurred_at TEXT   NOT NULL,
    body        TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, order_id, seq)
);
