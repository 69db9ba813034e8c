//! What tenants, suppliers and operators ask of an order, and what they are answered: the
//! inputs of the workflow's updates and signals. Plain data, so the aggregate checks and
//! applies them without Temporal.

use crate::actor::Holder;
use crate::model::OrderView;
use crate::requests::{Amendment, CancelMethod, Cancellation, Reactivation};
use crate::rules::OperatorAction;
use serde::{Deserialize, Serialize};

/// A tenant's cancellation (`POST /v1/orders/{id}/cancel`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CancelRequest {
    pub cancellation_id: String,
    pub reason: String,
    pub reason_code: Option<String>,
    /// When a subscription's cancellation takes effect (RFC 3339); none means now.
    pub effective_at: Option<String>,
    pub idempotency_key: Option<String>,
    pub requested_at: String,
    /// The cancellation asked for by name, refused if the rules pick another path; none lets
    /// the rules pick. Absent from requests recorded before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<CancelMethod>,
}

/// The answer to a cancellation request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CancelOutcome {
    pub cancellation: Cancellation,
    /// The event that recorded the cancellation's current state.
    pub event_uuid: Option<String>,
    pub order: OrderView,
}

/// The supplier's later answer (`AP`/`RE`) to a PENDING cancellation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CancellationDecision {
    pub cancellation_id: String,
    pub accept: bool,
    pub reason: Option<String>,
}

/// The supplier cancelled the order on its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupplierCancel {
    pub callback_id: String,
    pub reason: Option<String>,
}

/// A tenant's reactivation of a subscription (`POST /v1/orders/{id}/reactivate`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReactivateRequest {
    pub reactivation_id: String,
    pub reason: Option<String>,
    pub effective_at: Option<String>,
    pub idempotency_key: Option<String>,
    pub requested_at: String,
}

/// The answer to a reactivation request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReactivateOutcome {
    pub reactivation: Reactivation,
    pub event_uuid: Option<String>,
    pub order: OrderView,
}

/// A supplier's callback about a step it accepted earlier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepCallback {
    pub step_id: String,
    pub done: bool,
    pub reason: Option<String>,
}

/// A tenant's amendment request (`PATCH /v1/orders/{id}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AmendRequest {
    pub amendment_id: String,
    pub order_ref: String,
    pub changes: serde_json::Value,
    /// `If-Match`: the revision the tenant last saw.
    pub expected_revision: Option<u32>,
    /// `Idempotency-Key`: a repeat with the same key and changes gets the same amendment.
    pub idempotency_key: Option<String>,
    pub requested_at: String,
}

/// The answer to an amendment request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AmendOutcome {
    pub amendment: Amendment,
    pub order: OrderView,
}

/// The supplier's later decision on a PENDING amendment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AmendmentDecision {
    pub amendment_id: String,
    pub accept: bool,
    pub reason: Option<String>,
}

/// A change the supplier made to the order on its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupplierAmendment {
    pub callback_id: String,
    pub changes: serde_json::Value,
    pub reason: Option<String>,
}

/// An operator's command (`suspend`, `resume`, `retry`, `withdraw`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperatorRequest {
    pub action: OperatorAction,
    pub reason: Option<String>,
    /// Whose hold a `suspend` adds or a `resume` lifts: the operator's, or the supplier's
    /// (its HOLD and RESUME callbacks). Requests recorded before holds had owners were all
    /// the operator's.
    #[serde(default = "operator")]
    pub by: Holder,
}

fn operator() -> Holder {
    Holder::Operator
}

/// What a supplier's callback is about (its `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallbackKind {
    /// A step the supplier took on is done.
    StepDone,
    /// A step the supplier took on failed.
    StepFailed,
    /// The supplier's decision on a PENDING amendment.
    AmendmentDecision,
    /// The supplier changed the order on its own.
    SupplierAmend,
    /// The supplier's answer to a PENDING cancellation.
    CancellationDecision,
    /// The supplier cancelled the order on its own.
    SupplierCancel,
    /// The supplier holds the order (as an operator's suspend).
    Hold,
    /// The supplier releases its hold.
    Resume,
    /// The supplier raises a cease of a tenant's service.
    UnsolicitedCease,
}

impl CallbackKind {
    pub const ALL: [CallbackKind; 9] = [
        CallbackKind::StepDone,
        CallbackKind::StepFailed,
        CallbackKind::AmendmentDecision,
        CallbackKind::SupplierAmend,
        CallbackKind::CancellationDecision,
        CallbackKind::SupplierCancel,
        CallbackKind::Hold,
        CallbackKind::Resume,
        CallbackKind::UnsolicitedCease,
    ];

    /// The wire name, e.g. `STEP_DONE`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackKind::StepDone => "STEP_DONE",
            CallbackKind::StepFailed => "STEP_FAILED",
            CallbackKind::AmendmentDecision => "AMENDMENT_DECISION",
            CallbackKind::SupplierAmend => "SUPPLIER_AMEND",
            CallbackKind::CancellationDecision => "CANCELLATION_DECISION",
            CallbackKind::SupplierCancel => "SUPPLIER_CANCEL",
            CallbackKind::Hold => "HOLD",
            CallbackKind::Resume => "RESUME",
            CallbackKind::UnsolicitedCease => "UNSOLICITED_CEASE",
        }
    }

    /// The kind named `name`; `None` for a kind this version does not handle.
    pub fn parse(name: &str) -> Option<CallbackKind> {
        CallbackKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

#[cfg(test)]
mod tests;
