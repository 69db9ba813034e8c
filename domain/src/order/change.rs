//! A change to an order, as a transition returns it: the event to record, the state to move
//! to (if any), and the request resources it creates or decides. The workflow records every
//! change the same way (see [`crate::order::Order::apply`]), so a transition only says what
//! happened.

use crate::actor::{ActorType, Holder};
use crate::model::{EventType, OrderState};
use crate::requests::{AmendPath, Amendment, CancelPath, OrderRequest, RequestState, ResponseCode};
use serde::Serialize;

/// A change about to be applied to the order.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub event: EventType,
    /// The state the order moves to; `None` leaves the state (and its reason) as it is.
    pub to: Option<OrderState>,
    /// Why the order moved, shown as its `state_reason`.
    pub reason: Option<String>,
    pub detail: EventDetail,
    /// The amendment this change creates or decides, persisted with it.
    pub amendment: Option<Amendment>,
    /// Cancellations and reactivations this change creates or decides, the subject first.
    pub requests: Vec<OrderRequest>,
    /// Who acted: orderflow itself unless said otherwise ([`Change::by`]).
    pub by: ActorType,
}

/// What an event says beyond its type, as tenants read it in `detail`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EventDetail {
    /// Nothing more (`null`).
    None,
    /// Why the order changed state.
    Reason { reason: String },
    /// A plan step the supplier finished.
    Step { step_id: String, name: String },
    Amendment {
        amendment_id: String,
        path: AmendPath,
        state: RequestState,
        reason: Option<String>,
    },
    Cancellation {
        cancellation_id: String,
        path: CancelPath,
        state: RequestState,
        response_code: Option<ResponseCode>,
        reason: String,
        reason_code: Option<String>,
        effective_at: Option<String>,
        decision_reason: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        superseded: Option<Superseded>,
    },
    Reactivation {
        reactivation_id: String,
        state: RequestState,
        reason: Option<String>,
        effective_at: Option<String>,
        decision_reason: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        superseded: Option<Superseded>,
    },
    /// The supplier changed the order on its own.
    SupplierAmended {
        changes: serde_json::Value,
        reason: Option<String>,
        callback_id: String,
    },
    /// A hold added to, or lifted from, an order that stays SUSPENDED.
    Hold { by: Holder, reason: Option<String> },
    /// The supplier cancelled the order on its own.
    SupplierCancelled {
        reason: Option<String>,
        callback_id: String,
    },
    /// A subscription change the supplier could not be told of.
    Notice {
        notice: super::notice::NoticeKind,
        request_id: String,
        effective_at: String,
        reason: String,
    },
}

/// The scheduled request another request replaced or removed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Superseded {
    pub kind: &'static str,
    pub id: String,
}

impl EventDetail {
    /// The JSON tenants see; `null` for [`EventDetail::None`].
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl Change {
    /// An event that moves nothing and records no request.
    pub fn event(event: EventType, detail: EventDetail) -> Change {
        Change {
            event,
            to: None,
            reason: None,
            detail,
            amendment: None,
            requests: Vec::new(),
            by: ActorType::System,
        }
    }

    /// The same change, made by `by`.
    pub fn by(self, by: ActorType) -> Change {
        Change { by, ..self }
    }

    /// A state change; its reason (why the order was held, failed, …) is also in the event.
    pub fn state(to: OrderState, reason: Option<String>) -> Change {
        let detail = match &reason {
            Some(r) => EventDetail::Reason { reason: r.clone() },
            None => EventDetail::None,
        };
        Change {
            to: Some(to),
            reason,
            ..Change::event(EventType::StateChanged, detail)
        }
    }

    /// An event about a cancellation or reactivation, persisting it and the scheduled request
    /// it `superseded`, if any. A state change takes the request's reason as its own.
    pub fn request(
        event: EventType,
        to: Option<OrderState>,
        request: OrderRequest,
        superseded: Option<OrderRequest>,
    ) -> Change {
        let other = superseded.as_ref().map(|o| Superseded {
            kind: o.kind(),
            id: o.id().to_string(),
        });
        let (reason, detail) = match &request {
            OrderRequest::Cancellation(c) => (
                Some(c.reason.clone()),
                EventDetail::Cancellation {
                    cancellation_id: c.cancellation_id.clone(),
                    path: c.path,
                    state: c.state,
                    response_code: c.response_code,
                    reason: c.reason.clone(),
                    reason_code: c.reason_code.clone(),
                    effective_at: c.effective_at.clone(),
                    decision_reason: c.decision_reason.clone(),
                    superseded: other,
                },
            ),
            OrderRequest::Reactivation(r) => (
                r.reason.clone(),
                EventDetail::Reactivation {
                    reactivation_id: r.reactivation_id.clone(),
                    state: r.state,
                    reason: r.reason.clone(),
                    effective_at: r.effective_at.clone(),
                    decision_reason: r.decision_reason.clone(),
                    superseded: other,
                },
            ),
        };
        Change {
            to,
            reason: if to.is_some() { reason } else { None },
            requests: [request].into_iter().chain(superseded).collect(),
            ..Change::event(event, detail)
        }
    }

    /// An event about an amendment, carrying the amendment to persist.
    pub fn amendment(event: EventType, amendment: &Amendment) -> Change {
        let detail = EventDetail::Amendment {
            amendment_id: amendment.amendment_id.clone(),
            path: amendment.path,
            state: amendment.state,
            reason: amendment.reason.clone(),
        };
        Change {
            amendment: Some(amendment.clone()),
            ..Change::event(event, detail)
        }
    }
}
