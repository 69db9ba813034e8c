//! What a webhook is sent, by the interface it was registered through: a core webhook
//! subscribes to event types and receives each event as recorded; a Peppol webhook subscribes
//! to Peppol topics and receives Peppol notifications. One outbox and one dispatcher serve
//! both, so every dialect's deliveries are durable, ordered, retried and signed alike.

use crate::model::OrderEvent;
use crate::peppol;
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
}

impl WebhookDialect {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookDialect::Core => "core",
            WebhookDialect::Peppol => "peppol",
        }
    }

    /// The dialect stored as `name`; an unknown name (a newer release's) is treated as core.
    pub fn from_stored(name: &str) -> WebhookDialect {
        match name {
            "peppol" => WebhookDialect::Peppol,
            _ => WebhookDialect::Core,
        }
    }
}

/// The body a webhook of `dialect` subscribed to `topics` is sent for `event`, or `None` if
/// it did not subscribe to it. `event_json` is the event as recorded, the core body.
pub fn body_for(
    dialect: WebhookDialect,
    topics: &[String],
    event: &OrderEvent,
    event_type: &str,
    event_json: &str,
) -> Option<String> {
    match dialect {
        WebhookDialect::Core => topics
            .iter()
            .any(|t| t == "*" || t == event_type)
            .then(|| event_json.to_string()),
        WebhookDialect::Peppol => {
            let n = peppol::notification(event)?;
            let topic = serde_json::to_value(n.topic).ok()?;
            topics
                .iter()
                .any(|t| topic == t.as_str())
                .then(|| serde_json::to_string(&n).ok())?
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::GatewayState;
    use crate::model::{EventType, OrderState};
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
            detail: json!({ "cancellation_id": "c-1", "path": "SUPPLIER", "response_code": null }),
            actor: None,
        }
    }

    fn topics(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn a_core_webhook_gets_the_events_it_names_as_recorded() {
        let e = pending();
        let all = body_for(
            WebhookDialect::Core,
            &topics(&["*"]),
            &e,
            "CANCELLATION_PENDING",
            "{}",
        );
        assert_eq!(all.as_deref(), Some("{}"));
        let named = topics(&["CANCELLATION_PENDING"]);
        assert!(
            body_for(
                WebhookDialect::Core,
                &named,
                &e,
                "CANCELLATION_PENDING",
                "{}"
            )
            .is_some()
        );
        let other = topics(&["STATE_CHANGED"]);
        assert!(
            body_for(
                WebhookDialect::Core,
                &other,
                &e,
                "CANCELLATION_PENDING",
                "{}"
            )
            .is_none()
        );
    }

    #[test]
    fn a_peppol_webhook_gets_its_topics_as_peppol_notifications() {
        let e = pending();
        let sent = topics(&["OrderCancellationSent"]);
        let body = body_for(
            WebhookDialect::Peppol,
            &sent,
            &e,
            "CANCELLATION_PENDING",
            "{}",
        );
        let body: serde_json::Value = serde_json::from_str(&body.unwrap()).unwrap();
        assert_eq!(body["topic"], "OrderCancellationSent");
        assert_eq!(body["documentId"], "po-1");
        // Neither `*` nor an event type means anything to a Peppol webhook.
        for names in [
            &["OrderResponseReceived"][..],
            &["*"],
            &["CANCELLATION_PENDING"],
        ] {
            let t = topics(names);
            assert!(
                body_for(WebhookDialect::Peppol, &t, &e, "CANCELLATION_PENDING", "{}").is_none()
            );
        }
    }

    #[test]
    fn stored_names_round_trip() {
        for d in [WebhookDialect::Core, WebhookDialect::Peppol] {
            assert_eq!(WebhookDialect::from_stored(d.as_str()), d);
        }
        assert_eq!(WebhookDialect::from_stored("tmf"), WebhookDialect::Core);
    }
}
