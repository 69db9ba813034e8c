//! The TMF622 notifications an order event makes, as TMF event envelopes (`eventId`,
//! `eventTime`, `eventType`, `event: {productOrder | cancelProductOrder}`). One orderflow
//! event can make several (a cancellation accepted at once creates the task and cancels the
//! order); each has its own id, the event's `event_uuid` with `:<n>` after the first.

use super::{cancel_task, product_order, state};
use crate::model::{EventType, OrderEvent, OrderState, OrderView};
use crate::requests::{CancelPath, Cancellation, RequestState, ResponseCode};
use serde::Deserialize;
use serde_json::{Value, json};

pub const PRODUCT_ORDER_CREATE: &str = "ProductOrderCreateEvent";
pub const PRODUCT_ORDER_STATE_CHANGE: &str = "ProductOrderStateChangeEvent";
pub const PRODUCT_ORDER_ATTRIBUTE_VALUE_CHANGE: &str = "ProductOrderAttributeValueChangeEvent";
pub const CANCEL_CREATE: &str = "CancelProductOrderCreateEvent";
pub const CANCEL_STATE_CHANGE: &str = "CancelProductOrderStateChangeEvent";

/// Every notification type a hub may subscribe to.
pub const EVENT_TYPES: [&str; 5] = [
    PRODUCT_ORDER_CREATE,
    PRODUCT_ORDER_STATE_CHANGE,
    PRODUCT_ORDER_ATTRIBUTE_VALUE_CHANGE,
    CANCEL_CREATE,
    CANCEL_STATE_CHANGE,
];

/// One notification: its id (the delivery's), its type, the envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    pub id: String,
    pub event_type: &'static str,
    pub body: Value,
}

/// The cancellation an event's `detail` describes.
#[derive(Deserialize)]
struct Detail {
    cancellation_id: String,
    path: CancelPath,
    state: RequestState,
    response_code: Option<ResponseCode>,
    reason: String,
    effective_at: Option<String>,
}

impl Detail {
    fn cancellation(self, event: &OrderEvent) -> Cancellation {
        let decided = !matches!(self.state, RequestState::Pending | RequestState::Scheduled);
        Cancellation {
            cancellation_id: self.cancellation_id,
            state: self.state,
            path: self.path,
            response_code: self.response_code,
            reason: self.reason,
            reason_code: None,
            effective_at: self.effective_at,
            requested_at: event.occurred_at.clone(),
            decided_at: decided.then(|| event.occurred_at.clone()),
            decision_reason: None,
            event_uuid: Some(event.event_uuid.clone()),
            late: false,
            actor: None,
            idempotency_key: None,
        }
    }
}

/// The TMF622 state an order had in `previous` (no request open).
fn state_of(previous: OrderState, view: &OrderView) -> &'static str {
    let mut before = view.clone();
    before.state = previous;
    before.pending_request = None;
    state(&before)
}

/// The notifications of `event`, given the order `view` after it.
pub fn notifications(event: &OrderEvent, view: &OrderView) -> Vec<Notification> {
    use EventType::*;
    let order_id = event.order_id.as_str();
    let mut out: Vec<(&'static str, Value)> = Vec::new();
    let order = || json!({ "productOrder": product_order(view) });
    if event.event_type == OrderAcknowledged {
        out.push((PRODUCT_ORDER_CREATE, order()));
    }
    // The cancellation task: created with its first event, changed with each later one.
    if let Ok(detail) = serde_json::from_value::<Detail>(event.detail.clone()) {
        let first = match event.event_type {
            CancellationPending | CancellationScheduled => true,
            // Decided at once: the consumer path, or a subscription deactivated now.
            CancellationAccepted | OrderDeactivated => detail.path != CancelPath::Supplier,
            _ => false,
        };
        let kind = if first {
            CANCEL_CREATE
        } else {
            CANCEL_STATE_CHANGE
        };
        let task = cancel_task(order_id, &detail.cancellation(event));
        out.push((kind, json!({ "cancelProductOrder": task })));
    }
    // The order's own state, when its TMF622 name changed.
    let now = state(view);
    let before = match event.event_type {
        CancellationPending => Some(state_of(view.state, view)),
        CancellationRejected | CancellationExpired | CancellationFailed => {
            Some("assessingCancellation")
        }
        _ => event.previous_state.map(|p| state_of(p, view)),
    };
    if before.is_some_and(|b| b != now) && event.event_type != OrderAcknowledged {
        out.push((PRODUCT_ORDER_STATE_CHANGE, order()));
    }
    if matches!(event.event_type, AmendmentAccepted | OrderAmendedBySupplier) {
        out.push((PRODUCT_ORDER_ATTRIBUTE_VALUE_CHANGE, order()));
    }
    out.into_iter()
        .enumerate()
        .map(|(n, (event_type, payload))| {
            let id = match n {
                0 => event.event_uuid.clone(),
                n => format!("{}:{n}", event.event_uuid),
            };
            let body = json!({
                "eventId": id,
                "eventTime": event.occurred_at,
                "eventType": event_type,
                "@type": event_type,
                "event": payload,
            });
            Notification {
                id,
                event_type,
                body,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
