-- Amendment requests, each a resource of its own (GET /v1/orders/{id}/amendments/{amendment_id}).
CREATE TABLE IF NOT EXISTS amendments (
    tenant_id    TEXT COLLATE "C" NOT NULL,
    order_id     TEXT COLLATE "C" NOT NULL,
    amendment_id TEXT COLLATE "C" NOT NULL,
    state        TEXT   NOT NULL,
    body         TEXT   NOT NULL,
    last_seq     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, order_id, amendment_id)
);
