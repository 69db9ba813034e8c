-- The order's gateway state (seeds/000) and the kind of its open request (or NONE), for the
-- filters of `GET /v1/orders`. Rows recorded before they existed hold '' until the store's
-- start-up backfill (store/src/backfill.rs) derives them with the same rules as every new
-- record.
ALTER TABLE orders ADD COLUMN gateway_state TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN pending_request TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS orders_by_gateway_state ON orders (tenant_id, gateway_state);
-- The listing's order: newest first, ties by order id (the cursor's key).
CREATE INDEX IF NOT EXISTS orders_by_creation ON orders (tenant_id, created_at, order_id);

-- The start-up backfills that have run to the end, so each scans the tables once.
CREATE TABLE IF NOT EXISTS backfills (
    name    TEXT PRIMARY KEY,
    done_at TEXT NOT NULL
);

-- The tenant's change feed (`GET /v1/events`) reads events by rowid: SQLite has one writer
-- at a time, so rowids grow in commit order and a cursor never passes an uncommitted event.
CREATE INDEX IF NOT EXISTS order_events_feed ON order_events (tenant_id);
