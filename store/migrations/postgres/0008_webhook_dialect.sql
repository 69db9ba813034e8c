-- The interface a webhook was registered through (orderflow_domain::webhooks::WebhookDialect):
-- it decides what the topics name and what body each delivery carries.
ALTER TABLE webhooks ADD COLUMN dialect TEXT NOT NULL DEFAULT 'core';
