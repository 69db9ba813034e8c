-- Cancellation and reactivation requests, each a resource of its own
-- (GET /v1/orders/{id}/cancellations/{cancellation_id}, …/reactivations/{reactivation_id}).
CREATE TABLE IF NOT EXISTS order_requests (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    order_id   TEXT COLLATE "C" NOT NULL,
    request_id TEXT COLLATE "C" NOT NULL,
    kind       TEXT   NOT NULL,
    state      TEXT   NOT NULL,
    body       TEXT   NOT NULL,
    last_seq   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, order_id, request_id)
);
