//! Why a request was refused, as one closed set of codes. Each code carries its HTTP status, so
//! the API maps every refusal the same way and a new rule cannot forget to pick one: state
//! conflicts (the request could succeed later, or on another order) are 409; requests that are
//! wrong in themselves and must change before they can succeed are 422; a stale `If-Match` is
//! 412.

use serde::{Deserialize, Serialize};

/// A stable, machine-readable refusal code (the `error.code` tenants see).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleCode {
    /// The order is in a state (or of a kind) that cannot be amended now.
    NotAmendable,
    /// Another amendment, or a cancellation, is still open on the order.
    RequestInProgress,
    /// The request's `order_ref` is not the order's.
    OrderRefMismatch,
    /// A line was given `action: CANCEL` while the order is PRE_QUALIFICATION_FAILED.
    LineCancelNotAllowed,
    /// The plan is executing and a field that may not change then was sent.
    FieldNotAmendable,
    /// A field fixed at submission would change.
    ImmutableField,
    /// `changes` names a field the order document does not have.
    UnknownField,
    /// `changes` is not an object, or a value has the wrong type for its field.
    InvalidChanges,
    /// The amended order would not validate.
    ValidationFailed,
    /// `If-Match` named a revision the order has moved past.
    RevisionMismatch,
    /// The `Idempotency-Key` was used before for a different request.
    IdempotencyKeyReused,
    NotSuspendable,
    NotSuspended,
    NotRetryable,
    NotWithdrawable,
    /// The order cannot be cancelled in its state.
    NotCancellable,
    /// The order is not INACTIVE (nor ACTIVE with a scheduled cancellation).
    NotReactivatable,
    /// An unsolicited cease may only be cancelled with one of the configured reason codes.
    ReasonCodeNotAllowed,
    /// An effective date was given where nothing can be scheduled.
    ScheduleNotAllowed,
    /// A cancellation needs a non-empty reason.
    ReasonRequired,
    /// The supplier rejected the request (never sent to a tenant as an error).
    Rejected,
    /// A supplier's decision on a request that can no longer change: decided already,
    /// superseded, never delivered, or expired on an order that has since ended.
    RequestClosed,
    /// The supplier's RESUME of an order only an operator holds.
    HeldByOperator,
    /// An operator's resume of an order only the supplier holds.
    HeldBySupplier,
    /// A cancellation asked for without the supplier (seed 002's `cancel_by_consumer`) of an
    /// order the supplier has received: only the supplier can cancel it now.
    UseRequestCancelation,
    /// A cancellation asked of the supplier (seed 002's `request_cancelation`) of an order it
    /// never received: cancel it without the supplier.
    UseCancelByConsumer,
}

impl RuleCode {
    pub const ALL: [RuleCode; 26] = [
        RuleCode::NotAmendable,
        RuleCode::RequestInProgress,
        RuleCode::OrderRefMismatch,
        RuleCode::LineCancelNotAllowed,
        RuleCode::FieldNotAmendable,
        RuleCode::ImmutableField,
        RuleCode::UnknownField,
        RuleCode::InvalidChanges,
        RuleCode::ValidationFailed,
        RuleCode::RevisionMismatch,
        RuleCode::IdempotencyKeyReused,
        RuleCode::NotSuspendable,
        RuleCode::NotSuspended,
        RuleCode::NotRetryable,
        RuleCode::NotWithdrawable,
        RuleCode::NotCancellable,
        RuleCode::NotReactivatable,
        RuleCode::ReasonCodeNotAllowed,
        RuleCode::ScheduleNotAllowed,
        RuleCode::ReasonRequired,
        RuleCode::Rejected,
        RuleCode::RequestClosed,
        RuleCode::HeldByOperator,
        RuleCode::HeldBySupplier,
        RuleCode::UseRequestCancelation,
        RuleCode::UseCancelByConsumer,
    ];

    /// The wire name, e.g. `NOT_AMENDABLE`.
    pub fn as_str(self) -> &'static str {
        use RuleCode::*;
        match self {
            NotAmendable => "NOT_AMENDABLE",
            RequestInProgress => "REQUEST_IN_PROGRESS",
            OrderRefMismatch => "ORDER_REF_MISMATCH",
            LineCancelNotAllowed => "LINE_CANCEL_NOT_ALLOWED",
            FieldNotAmendable => "FIELD_NOT_AMENDABLE",
            ImmutableField => "IMMUTABLE_FIELD",
            UnknownField => "UNKNOWN_FIELD",
            InvalidChanges => "INVALID_CHANGES",
            ValidationFailed => "VALIDATION_FAILED",
            RevisionMismatch => "REVISION_MISMATCH",
            IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            NotSuspendable => "NOT_SUSPENDABLE",
            NotSuspended => "NOT_SUSPENDED",
            NotRetryable => "NOT_RETRYABLE",
            NotWithdrawable => "NOT_WITHDRAWABLE",
            NotCancellable => "NOT_CANCELLABLE",
            NotReactivatable => "NOT_REACTIVATABLE",
            ReasonCodeNotAllowed => "REASON_CODE_NOT_ALLOWED",
            ScheduleNotAllowed => "SCHEDULE_NOT_ALLOWED",
            ReasonRequired => "REASON_REQUIRED",
            Rejected => "REJECTED",
            RequestClosed => "REQUEST_CLOSED",
            HeldByOperator => "HELD_BY_OPERATOR",
            HeldBySupplier => "HELD_BY_SUPPLIER",
            UseRequestCancelation => "USE_REQUEST_CANCELATION",
            UseCancelByConsumer => "USE_CANCEL_BY_CONSUMER",
        }
    }

    /// The HTTP status a refusal with this code is answered with.
    pub fn http_status(self) -> u16 {
        use RuleCode::*;
        match self {
            RevisionMismatch => 412,
            IdempotencyKeyReused | ScheduleNotAllowed | ReasonRequired | OrderRefMismatch
            | LineCancelNotAllowed | FieldNotAmendable | ImmutableField | UnknownField
            | InvalidChanges | ValidationFailed => 422,
            NotAmendable
            | RequestInProgress
            | NotSuspendable
            | NotSuspended
            | NotRetryable
            | NotWithdrawable
            | NotCancellable
            | NotReactivatable
            | ReasonCodeNotAllowed
            | Rejected
            | RequestClosed
            | HeldByOperator
            | HeldBySupplier
            | UseRequestCancelation
            | UseCancelByConsumer => 409,
        }
    }
}

impl std::fmt::Display for RuleCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused request: its [`RuleCode`] plus a message that says what to do next. Update
/// validators carry it as JSON in their error text so the API can map it to HTTP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleError {
    pub code: RuleCode,
    pub message: String,
}

impl RuleError {
    pub fn new(code: RuleCode, message: impl Into<String>) -> RuleError {
        RuleError {
            code,
            message: message.into(),
        }
    }

    /// The JSON form `{"code": .., "message": ..}` that [`RuleError::from_message`] reads back.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "code": self.code, "message": self.message }).to_string()
    }

    /// Finds a RuleError encoded by [`RuleError::to_json`] inside a failure message (the
    /// server may wrap the validator's text).
    pub fn from_message(message: &str) -> Option<RuleError> {
        let start = message.find("{\"code\"")?;
        let end = message.rfind('}')?;
        serde_json::from_str(message.get(start..=end)?).ok()
    }

    /// The HTTP status of this refusal.
    pub fn http_status(&self) -> u16 {
        self.code.http_status()
    }
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for RuleError {}

#[cfg(test)]
mod tests;
