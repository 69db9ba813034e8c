//! Peppol's view of a cancellation (seed 003): which events a Peppol webhook hears of, and
//! what it is told. A buyer's Order Cancellation goes to the supplier (`OrderCancellationSent`)
//! and the supplier's Order Response comes back with `AP` or `RE`
//! (`OrderResponseReceived`). Only the supplier path has either: a cancellation orderflow
//! decided without the supplier (never transferred) has no Order Response.

use crate::model::{EventType, OrderEvent};
use crate::requests::{CancelPath, ResponseCode};
use serde::{Deserialize, Serialize};

/// A Peppol webhook topic.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Topic {
    /// The Order Cancellation was sent to the supplier.
    OrderCancellationSent,
    /// The supplier's Order Response to it: `AP` (cancelled) or `RE` (refused).
    OrderResponseReceived,
}

impl Topic {
    /// The wire name, as subscribed.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::OrderCancellationSent => "OrderCancellationSent",
            Topic::OrderResponseReceived => "OrderResponseReceived",
        }
    }

    pub const ALL: [Topic; 2] = [Topic::OrderCancellationSent, Topic::OrderResponseReceived];
}

/// What a Peppol webhook receives, as JSON.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub topic: Topic,
    /// The order id, which is the Peppol document id of the order.
    pub document_id: String,
    pub cancellation_id: String,
    /// `AP` or `RE`, on `OrderResponseReceived`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code: Option<ResponseCode>,
    /// The orderflow event this tells of (its `event_uuid`).
    pub event_id: String,
    pub occurred_at: String,
}

/// The fields of a cancellation event's `detail` this module reads.
#[derive(Deserialize)]
struct CancellationDetail {
    cancellation_id: String,
    path: CancelPath,
    response_code: Option<ResponseCode>,
}

/// The Peppol notification an event makes, if any: a supplier-path cancellation sent, or
/// the supplier's answer to it.
pub fn notification(event: &OrderEvent) -> Option<Notification> {
    let detail: CancellationDetail = serde_json::from_value(event.detail.clone()).ok()?;
    if detail.path != CancelPath::Supplier {
        return None;
    }
    let (topic, response_code) = match (event.event_type, detail.response_code) {
        (EventType::CancellationPending, _) => (Topic::OrderCancellationSent, None),
        (
            EventType::CancellationAccepted | EventType::CancellationRejected,
            Some(code @ (ResponseCode::Accepted | ResponseCode::Rejected)),
        ) => (Topic::OrderResponseReceived, Some(code)),
        _ => return None,
    };
    Some(Notification {
        topic,
        document_id: event.order_id.to_string(),
        cancellation_id: detail.cancellation_id,
        response_code,
        event_id: event.event_uuid.clone(),
        occurred_at: event.occurred_at.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::GatewayState;
    use crate::model::OrderState;
    use serde_json::json;

    fn event(event_type: EventType, path: &str, code: Option<&str>) -> OrderEvent {
        OrderEvent {
            event_uuid: "e-1".into(),
            order_id: "po-1".parse().unwrap(),
            tenant_id: "acme".parse().unwrap(),
            seq: 7,
            event_type,
            state: OrderState::Execution,
            gateway_state: GatewayState::default(),
            previous_state: None,
            request_id: Some("c-1".into()),
            revision: 1,
            occurred_at: "2026-12-03T10:00:00Z".into(),
            detail: json!({
                "cancellation_id": "c-1", "path": path, "state": "PENDING",
                "response_code": code, "reason": "r", "reason_code": null,
                "effective_at": null, "decision_reason": null
            }),
            actor: None,
        }
    }

    #[test]
    fn a_supplier_cancellation_is_sent_then_answered() {
        let sent = notification(&event(EventType::CancellationPending, "SUPPLIER", None)).unwrap();
        assert_eq!(sent.topic, Topic::OrderCancellationSent);
        assert_eq!(sent.response_code, None);
        assert_eq!(sent.document_id, "po-1");
        assert_eq!(sent.cancellation_id, "c-1");
        let body = serde_json::to_value(&sent).unwrap();
        assert_eq!(body["documentId"], "po-1");
        assert!(body.get("responseCode").is_none());

        for (t, code, want) in [
            (
                EventType::CancellationAccepted,
                "AP",
                ResponseCode::Accepted,
            ),
            (
                EventType::CancellationRejected,
                "RE",
                ResponseCode::Rejected,
            ),
        ] {
            let n = notification(&event(t, "SUPPLIER", Some(code))).unwrap();
            assert_eq!(n.topic, Topic::OrderResponseReceived);
            assert_eq!(n.response_code, Some(want));
            assert_eq!(serde_json::to_value(&n).unwrap()["responseCode"], code);
        }
    }

    #[test]
    fn nothing_else_is_a_peppol_notification() {
        // Decided without the supplier: no Order Response exists.
        let consumer = event(EventType::CancellationAccepted, "CONSUMER", None);
        assert_eq!(notification(&consumer), None);
        // A supplier cancellation that expired or failed has no answer either.
        let expired = event(EventType::CancellationExpired, "SUPPLIER", None);
        assert_eq!(notification(&expired), None);
        let mut other = event(EventType::StateChanged, "SUPPLIER", None);
        other.detail = json!({ "reason": "x" });
        assert_eq!(notification(&other), None);
    }
}
