-- The order's gateway state (seeds/000), for `GET /v1/orders?gateway_state=`. Rows recorded
-- before it existed hold '' until the store's start-up backfill (store/src/backfill.rs)
-- derives it with the same rule as every new record.
ALTER TABLE orders ADD COLUMN gateway_state TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS orders_by_gateway_state ON orders (tenant_id, gateway_state);

-- The start-up backfills that have run to the end, so each scans the tables once.
CREATE TABLE IF NOT EXISTS backfills (
    name    TEXT PRIMARY KEY,
    done_at TEXT NOT NULL
);
