-- Amendment requests, each a resource of its own (GET /v1/orders/{id}/amendments/{amendment_id}).
CREATE TABLE IF NOT EXISTS amendments (
    tenant_id    TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    amendment_id TEXT NOT NULL,
    state        TEXT NOT NULL,
    body         TEXT NOT NULL,
    last_seq     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, order_id, amendment_id)
);
