//! Requests against an order (amendments, cancellations, reactivations) and their outcomes.
//! A request has its own state, separate from the order's: it is PENDING while the supplier
//! decides, then ACCEPTED or REJECTED, SCHEDULED while it waits for its effective date, or
//! SUPERSEDED when replaced or when the order ends first. A request the supplier never
//! decided is never given an answer it did not send: EXPIRED when its answer timeout passed
//! (a later decision still counts, marked `late`), FAILED when it could not be delivered.

use serde::{Deserialize, Serialize};

/// State of a request against an order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestState {
    Pending,
    Accepted,
    Rejected,
    Superseded,
    /// Takes effect at a later date (a subscription's cancellation or reactivation).
    Scheduled,
    /// The supplier did not decide within the answer timeout. The order carries on; a late
    /// decision is still taken while the order has not ended.
    Expired,
    /// Could not be delivered to the supplier (retries exhausted, or refused outright). The
    /// order carries on.
    Failed,
}

impl RequestState {
    /// The wire name, e.g. `PENDING`.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "PENDING",
            RequestState::Accepted => "ACCEPTED",
            RequestState::Rejected => "REJECTED",
            RequestState::Superseded => "SUPERSEDED",
            RequestState::Scheduled => "SCHEDULED",
            RequestState::Expired => "EXPIRED",
            RequestState::Failed => "FAILED",
        }
    }
}

/// When a supplier's decision on a request comes: while it is PENDING, or after it EXPIRED.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    OnTime,
    Late,
}

/// May the supplier's decision on request `id` (a `what`, in `state`) still be taken? On time
/// while PENDING; late once EXPIRED, as long as the order has not ended (`order_ended`).
/// Anything else can no longer change: `REQUEST_CLOSED`.
pub fn check_decision(
    what: &str,
    id: &str,
    state: RequestState,
    order_ended: bool,
) -> Result<Timing, crate::RuleError> {
    match state {
        RequestState::Pending => Ok(Timing::OnTime),
        RequestState::Expired if !order_ended => Ok(Timing::Late),
        RequestState::Expired => Err(crate::RuleError::new(
            crate::RuleCode::RequestClosed,
            format!("{what} {id} expired and the order has ended since; nothing can change it"),
        )),
        other => Err(crate::RuleError::new(
            crate::RuleCode::RequestClosed,
            format!(
                "{what} {id} is {} and can no longer change; a decision is taken only while it is \
                 PENDING or EXPIRED",
                other.as_str()
            ),
        )),
    }
}

/// How an accepted amendment is carried out.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AmendPath {
    /// No plan is executing yet: update the order, discard any plan, start again at SUBMITTED.
    Restart,
    /// The plan is executing: the supplier must accept the patch; the amendment is PENDING.
    Patch,
}

impl AmendPath {
    /// The wire name, `RESTART` or `PATCH`.
    pub fn as_str(self) -> &'static str {
        match self {
            AmendPath::Restart => "RESTART",
            AmendPath::Patch => "PATCH",
        }
    }
}

impl std::fmt::Display for AmendPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a cancellation is carried out.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CancelPath {
    /// Not transferred yet: cancelled at once, the supplier is never contacted.
    Consumer,
    /// Transferred: a request to the supplier, who answers AP or RE.
    Supplier,
    /// A fulfilled subscription (ACTIVE): deactivated now or at its effective date.
    Subscription,
}

/// The cancellation a caller asked for by name, where its interface names one (seed 002's
/// `cancel_by_consumer` and `request_cancelation`); the core API lets the rules pick the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CancelMethod {
    /// Without the supplier: only while the supplier has not received the order.
    Consumer,
    /// Asked of the supplier: only once it has the order (a subscription's included).
    Supplier,
}

/// Which kind of request is open on the order. Only one amendment may be active at a time,
/// and none may start while a cancellation is open.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PendingKind {
    Amendment,
    Cancellation,
    /// A scheduled reactivation of an INACTIVE subscription (which is not amendable anyway).
    Reactivation,
}

impl PendingKind {
    /// The wire name, also the `PendingRequest` search attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            PendingKind::Amendment => "AMENDMENT",
            PendingKind::Cancellation => "CANCELLATION",
            PendingKind::Reactivation => "REACTIVATION",
        }
    }
}

/// The request an order shows as open (`pending_request`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PendingRequest {
    Amendment {
        amendment_id: String,
        requested_at: String,
        state: RequestState,
    },
    Cancellation {
        cancellation_id: String,
        requested_at: String,
        state: RequestState,
    },
    Reactivation {
        effective_at: Option<String>,
        reactivation_id: String,
        requested_at: String,
        state: RequestState,
    },
}

impl PendingRequest {
    pub fn kind(&self) -> PendingKind {
        match self {
            PendingRequest::Amendment { .. } => PendingKind::Amendment,
            PendingRequest::Cancellation { .. } => PendingKind::Cancellation,
            PendingRequest::Reactivation { .. } => PendingKind::Reactivation,
        }
    }
}

/// An ACTIVE subscription's cancellation waiting for its effective time.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduledCancellation {
    pub cancellation_id: String,
    pub effective_at: Option<String>,
    pub reason: String,
    pub reason_code: Option<String>,
}

/// An INACTIVE subscription's reactivation waiting for its effective time.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduledReactivation {
    pub effective_at: Option<String>,
    pub reactivation_id: String,
    pub reason: Option<String>,
}

/// An amendment request and its outcome (`GET /v1/orders/{id}/amendments/{amendment_id}`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Amendment {
    pub amendment_id: String,
    pub state: RequestState,
    pub path: AmendPath,
    pub changes: serde_json::Value,
    /// Why it was rejected or superseded.
    pub reason: Option<String>,
    pub requested_at: String,
    pub decided_at: Option<String>,
    /// The order revision the amendment produced, once accepted.
    pub revision: Option<u32>,
    /// Decided by the supplier after it had EXPIRED (absent: on time).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
    /// Who asked for it (absent on requests recorded before orderflow kept it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<crate::actor::Actor>,
    /// The tenant's Idempotency-Key it was made with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// A cancellation request and its outcome (`GET /v1/orders/{id}/cancellations/{id}`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cancellation {
    pub cancellation_id: String,
    /// PENDING (at the supplier), ACCEPTED, REJECTED, SCHEDULED (a subscription's future
    /// deactivation), SUPERSEDED (replaced, or the order ended first), EXPIRED (the supplier
    /// did not answer in time) or FAILED (it could not be delivered).
    pub state: RequestState,
    pub path: CancelPath,
    /// The supplier's answer, `AP` or `RE`; null on the consumer and subscription paths, and
    /// while the supplier has not answered (PENDING, EXPIRED, FAILED).
    pub response_code: Option<ResponseCode>,
    pub reason: String,
    pub reason_code: Option<String>,
    /// When a subscription's cancellation takes effect (RFC 3339), if one was asked for.
    pub effective_at: Option<String>,
    pub requested_at: String,
    pub decided_at: Option<String>,
    /// Why the supplier rejected it, or why it was superseded, expired or failed.
    pub decision_reason: Option<String>,
    /// The last event written about this request.
    pub event_uuid: Option<String>,
    /// Decided by the supplier after it had EXPIRED (absent: on time).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
    /// Who asked for it (absent on requests recorded before orderflow kept it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<crate::actor::Actor>,
    /// The tenant's Idempotency-Key, so that a retry is recognised even after the order has
    /// ended (see [`crate::repeats`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// A supplier's answer to a cancellation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseCode {
    /// Accepted: the order is cancelled.
    #[serde(rename = "AP")]
    Accepted,
    /// Rejected: the order carries on.
    #[serde(rename = "RE")]
    Rejected,
    /// Decided later, by callback.
    #[serde(rename = "PENDING")]
    Pending,
}

/// A supplier's answer to an amendment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AmendDecision {
    Accept,
    Reject,
    /// Decided later, by callback.
    Pending,
}

impl ResponseCode {
    /// A final answer named `code` (`AP` or `RE`); `None` for anything else.
    pub fn decided(code: &str) -> Option<ResponseCode> {
        match code {
            "AP" => Some(ResponseCode::Accepted),
            "RE" => Some(ResponseCode::Rejected),
            _ => None,
        }
    }
}

impl AmendDecision {
    /// A final decision named `decision` (`ACCEPT` or `REJECT`); `None` for anything else.
    pub fn decided(decision: &str) -> Option<AmendDecision> {
        match decision {
            "ACCEPT" => Some(AmendDecision::Accept),
            "REJECT" => Some(AmendDecision::Reject),
            _ => None,
        }
    }
}

/// A reactivation request (`POST /v1/orders/{id}/reactivate`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reactivation {
    pub reactivation_id: String,
    /// ACCEPTED (done), SCHEDULED (until `effective_at`) or SUPERSEDED (replaced or cancelled).
    pub state: RequestState,
    pub reason: Option<String>,
    pub effective_at: Option<String>,
    pub requested_at: String,
    pub decided_at: Option<String>,
    pub decision_reason: Option<String>,
    pub event_uuid: Option<String>,
    /// Who asked for it (absent on requests recorded before orderflow kept it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<crate::actor::Actor>,
    /// The tenant's Idempotency-Key, so that a retry is recognised even after the order has
    /// ended (see [`crate::repeats`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// What cancellations and reactivations share: an id, a state, and how they are settled.
pub trait Request: Clone {
    fn id(&self) -> &str;
    fn state(&self) -> RequestState;
    /// Settles the request as `to` at `at`; a superseded one keeps `why`.
    fn settle(&mut self, to: RequestState, why: &str, at: &str);
}

macro_rules! request {
    ($type:ty, $id:ident) => {
        impl Request for $type {
            fn id(&self) -> &str {
                &self.$id
            }

            fn state(&self) -> RequestState {
                self.state
            }

            fn settle(&mut self, to: RequestState, why: &str, at: &str) {
                self.state = to;
                self.decided_at = Some(at.to_string());
                if to == RequestState::Superseded {
                    self.decision_reason = Some(why.to_string());
                }
            }
        }
    };
}

request!(Cancellation, cancellation_id);
request!(Reactivation, reactivation_id);

/// Any request resource other than an amendment, persisted with the change that touched it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderRequest {
    Cancellation(Cancellation),
    Reactivation(Reactivation),
}

impl OrderRequest {
    pub fn id(&self) -> &str {
        match self {
            OrderRequest::Cancellation(c) => c.id(),
            OrderRequest::Reactivation(r) => r.id(),
        }
    }

    pub fn pending_kind(&self) -> PendingKind {
        match self {
            OrderRequest::Cancellation(_) => PendingKind::Cancellation,
            OrderRequest::Reactivation(_) => PendingKind::Reactivation,
        }
    }

    /// The wire name of its kind, `CANCELLATION` or `REACTIVATION`.
    pub fn kind(&self) -> &'static str {
        self.pending_kind().as_str()
    }

    pub fn state(&self) -> RequestState {
        match self {
            OrderRequest::Cancellation(c) => c.state(),
            OrderRequest::Reactivation(r) => r.state(),
        }
    }

    /// When the tenant asked for it.
    pub fn requested_at(&self) -> &str {
        match self {
            OrderRequest::Cancellation(c) => &c.requested_at,
            OrderRequest::Reactivation(r) => &r.requested_at,
        }
    }

    /// The tenant's reason for it.
    pub fn reason(&self) -> Option<String> {
        match self {
            OrderRequest::Cancellation(c) => Some(c.reason.clone()),
            OrderRequest::Reactivation(r) => r.reason.clone(),
        }
    }

    /// Marks the request with the event that recorded its current state.
    pub fn stamp(&mut self, event_uuid: &str) {
        let slot = match self {
            OrderRequest::Cancellation(c) => &mut c.event_uuid,
            OrderRequest::Reactivation(r) => &mut r.event_uuid,
        };
        *slot = Some(event_uuid.to_string());
    }
}

#[cfg(test)]
mod tests;
