-- Tenant webhooks (SPEC §6). The secret is kept encrypted (see src/secrets.rs).
CREATE TABLE IF NOT EXISTS webhooks (
    webhook_id TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    url        TEXT NOT NULL,
    -- JSON array of event type names, or ["*"].
    topics     TEXT NOT NULL,
    -- Hex of nonce || ChaCha20-Poly1305 ciphertext, bound to webhook_id.
    secret_enc TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS webhooks_by_tenant ON webhooks (tenant_id);

-- The durable outbox: one row per (webhook, event), written in the transaction that records
-- the event. Times are unix milliseconds.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    delivery_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id       TEXT    NOT NULL,
    tenant_id        TEXT    NOT NULL,
    order_id         TEXT    NOT NULL,
    event_uuid       TEXT    NOT NULL,
    event_type       TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    first_attempt_at INTEGER,
    next_attempt_at  INTEGER NOT NULL,
    delivered_at     INTEGER,
    UNIQUE (webhook_id, event_uuid)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_webhook
    ON webhook_deliveries (webhook_id, status, delivery_id);
