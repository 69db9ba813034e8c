-- The order as the tenant sees it (a projection of the order workflow) and its events.
CREATE TABLE IF NOT EXISTS orders (
    tenant_id   TEXT    NOT NULL,
    order_id    TEXT    NOT NULL,
    workflow_id TEXT    NOT NULL,
    supplier_id TEXT    NOT NULL,
    order_ref   TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    revision    INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    view        TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);
CREATE INDEX IF NOT EXISTS orders_by_state ON orders (tenant_id, state);
CREATE INDEX IF NOT EXISTS orders_by_supplier ON orders (tenant_id, supplier_id);

CREATE TABLE IF NOT EXISTS order_events (
    tenant_id   TEXT    NOT NULL,
    order_id    TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    event_uuid  TEXT    NOT NULL UNIQUE,
    event_type  TEXT    NOT NULL,
    occurred_at TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, order_id, seq)
);
