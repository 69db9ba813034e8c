//! What a webhook is sent, by the interface it was registered through: a core webhook
//! subscribes to event types and receives each event as recorded; a Peppol webhook subscribes
//! to Peppol topics and receives Peppol notifications; a TMF622 hub subscribes to TMF622
//! event types and receives TMF event envelopes. One outbox and one dispatcher serve
//! both, so every dialect's deliveries are durable, ordered, retried and signed alike.

use crate::model::{OrderEvent, OrderView};
use crate::{peppol, tmf622};
use serde::{Deserialize, Serialize};

/// The interface a webhook was registered through.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookDialect {
    /// `POST /v1/webhooks`: topics are event types or `*`.
    #[default]
    Core,
    /// `POST /compat/peppol/api/v1/webhooks`: topics are [`peppol::Topic`]s.
    Peppol,
    /// `POST /tmf-api/productOrderingManagement/v5/hub`: topics are TMF622 event types
    /// ([`tmf622::EVENT_TYPES`]).
    Tmf622,
}

impl WebhookDialect {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookDialect::Core => "core",
            WebhookDialect::Peppol => "peppol",
            WebhookDialect::Tmf622 => "tmf622",
        }
    }

    /// The dialect stored as `name`; an unknown name (a newer release's) is treated as core.
    pub fn from_stored(name: &str) -> WebhookDialect {
        match name {
            "peppol" => WebhookDialect::Peppol,
            "tmf622" => WebhookDialect::Tmf622,
            _ => WebhookDialect::Core,
        }
    }
}

/// What a webhook of `dialect` subscribed to `topics` is sent for `event` (the order `view`
/// after it): each delivery's id and body, none if it did not subscribe to the event.
/// `event_json` is the event as recorded, the core body; a delivery id is the event's
/// `event_uuid`, with `:<n>` after the first when one event makes several notifications.
pub fn body_for(
    dialect: WebhookDialect,
    topics: &[String],
    event: &OrderEvent,
    view: &OrderView,
    event_type: &str,
    event_json: &str,
) -> Vec<(String, String)> {
    let subscribed = |topic: &str| topics.iter().any(|t| t == topic);
    match dialect {
        WebhookDialect::Core => (subscribed("*") || subscribed(event_type))
            .then(|| (event.event_uuid.clone(), event_json.to_string()))
            .into_iter()
            .collect(),
        WebhookDialect::Peppol => peppol::notification(event)
            .filter(|n| subscribed(n.topic.as_str()))
            .and_then(|n| serde_json::to_string(&n).ok())
            .map(|body| (event.event_uuid.clone(), body))
            .into_iter()
            .collect(),
        WebhookDialect::Tmf622 => tmf622::notifications(event, view)
            .into_iter()
            .filter(|n| subscribed(n.event_type))
            .map(|n| (n.id, n.body.to_string()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::GatewayState;
    use crate::model::{EventType, OrderDocument, OrderState, OrderType, RequestState};
    use crate::requests::PendingRequest;
    use serde_json::json;

    fn pending() -> OrderEvent {
        OrderEvent {
            event_uuid: "e-1".into(),
            order_id: "po-1".parse().unwrap(),
            tenant_id: "acme".parse().unwrap(),
            seq: 3,
            event_type: EventType::CancellationPending,
            state: OrderState::Execution,
            gateway_state: GatewayState::default(),
            previous_state: None,
            request_id: Some("c-1".into()),
            revision: 1,
            occurred_at: "2026-12-03T10:00:00Z".into(),
            detail: json!({ "cancellation_id": "c-1", "path": "SUPPLIER", "state": "PENDING",
                            "response_code": null, "reason": "r", "effective_at": null }),
            actor: None,
        }
    }

    /// The order after `pending()`: a cancellation at the supplier.
    fn assessing() -> OrderView {
        let doc = OrderDocument::for_test("acme", "po-1", "PO-1", "sim", OrderType::Provide);
        let mut v = OrderView::received(doc, "2026-12-03T10:00:00Z".into());
        v.state = OrderState::Execution;
        v.pending_request = Some(PendingRequest::Cancellation {
            cancellation_id: "c-1".into(),
            requested_at: "2026-12-03T10:00:00Z".into(),
            state: RequestState::Pending,
        });
        v
    }

    fn sent(dialect: WebhookDialect, topics: &[&str]) -> Vec<(String, String)> {
        let topics: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        body_for(
            dialect,
            &topics,
            &pending(),
            &assessing(),
            "CANCELLATION_PENDING",
            "{}",
        )
    }

    #[test]
    fn a_core_webhook_gets_the_events_it_names_as_recorded() {
        let as_recorded = [("e-1".to_string(), "{}".to_string())];
        assert_eq!(sent(WebhookDialect::Core, &["*"]), as_recorded);
        assert_eq!(
            sent(WebhookDialect::Core, &["CANCELLATION_PENDING"]),
            as_recorded
        );
        assert!(sent(WebhookDialect::Core, &["STATE_CHANGED"]).is_empty());
    }

    #[test]
    fn a_peppol_webhook_gets_its_topics_as_peppol_notifications() {
        let got = sent(WebhookDialect::Peppol, &["OrderCancellationSent"]);
        assert_eq!(got.len(), 1);
        let body: serde_json::Value = serde_json::from_str(&got[0].1).unwrap();
        assert_eq!(body["topic"], "OrderCancellationSent");
        assert_eq!(body["documentId"], "po-1");
        // Neither `*` nor an event type means anything to a Peppol webhook.
        for names in [
            &["OrderResponseReceived"][..],
            &["*"],
            &["CANCELLATION_PENDING"],
        ] {
            assert!(sent(WebhookDialect::Peppol, names).is_empty());
        }
    }

    #[test]
    fn a_tmf622_hub_gets_each_notification_it_subscribed_to_under_its_own_id() {
        let all = sent(WebhookDialect::Tmf622, &tmf622::EVENT_TYPES);
        let ids: Vec<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["e-1", "e-1:1"]);
        let only = sent(WebhookDialect::Tmf622, &["ProductOrderStateChangeEvent"]);
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].0, "e-1:1");
        assert!(only[0].1.contains("assessingCancellation"), "{}", only[0].1);
        assert!(sent(WebhookDialect::Tmf622, &["*"]).is_empty());
    }

    #[test]
    fn stored_names_round_trip() {
        for d in [
            WebhookDialect::Core,
            WebhookDialect::Peppol,
            WebhookDialect::Tmf622,
        ] {
            assert_eq!(WebhookDialect::from_stored(d.as_str()), d);
        }
        assert_eq!(WebhookDialect::from_stored("graphql"), WebhookDialect::Core);
    }
}
