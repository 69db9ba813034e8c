-- `POST /v1/orders` with an Idempotency-Key: which order a tenant's key made, and a digest of
-- the request it was made with, so that a repeat gets the same order and another request
-- under the same key is refused.
CREATE TABLE IF NOT EXISTS order_keys (
    tenant_id       TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_sha256  TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, idempotency_key)
);

-- Every supplier callback taken, by (supplier, callback id): a repeat (a retry, or a replay
-- of a captured request) answers with the first outcome and changes nothing. `answer` is
-- NULL while the first delivery is being handled.
CREATE TABLE IF NOT EXISTS supplier_callbacks (
    supplier_id TEXT NOT NULL,
    callback_id TEXT NOT NULL,
    status      BIGINT,
    answer      TEXT,
    received_at TEXT NOT NULL,
    PRIMARY KEY (supplier_id, callback_id)
);
