-- The W3C traceparent of the span that recorded the event, so that the webhook delivery
-- (by whichever worker sends it) continues the order's trace. NULL when tracing is off.
ALTER TABLE webhook_deliveries ADD COLUMN traceparent TEXT;
