//! Cancellation and reactivation rules as pure functions: may the order be cancelled or
//! reactivated now, and by which path. An order the supplier has not received is cancelled at
//! once (the consumer path); a transferred one needs the supplier's AP or RE (the supplier
//! path); a fulfilled subscription deactivates now or at a date (the subscription path).
//!
//! These run inside Update validators and handlers and in the API (capabilities, orders whose
//! workflow has ended), so they are deterministic: the caller passes in everything, "now"
//! included.

use crate::model::{OrderState, OrderView};
use crate::rule_code::{RuleCode, RuleError};
use crate::rules::FieldError;

use crate::requests::PendingKind;
pub use crate::requests::{
    CancelMethod, CancelPath, Cancellation, OrderRequest, Reactivation, Request,
};

/// Reason codes that may cancel an unsolicited cease when configuration names none.
pub const DEFAULT_UNSOLICITED_REASON_CODES: [&str; 2] = ["CUSTOMER_RETAINED", "RAISED_IN_ERROR"];

/// May the order be cancelled now, and how? `reason_code` matters only for an unsolicited
/// cease, which may be cancelled only with one of `allowed_codes`.
///
/// Checks in order: DRAFT (delete it instead), terminal states and INACTIVE without a
/// scheduled reactivation are `NOT_CANCELLABLE`; an open cancellation is
/// `REQUEST_IN_PROGRESS` (an open amendment does not block: the cancellation overtakes it); an unsolicited cease
/// needs an allowed reason code; ACTIVE (and INACTIVE with a scheduled reactivation) take the
/// subscription path; an order the supplier has not received takes the consumer path;
/// everything else goes to the supplier, ERROR_HANDLER after transfer included (the supplier
/// has the order, so only it can say whether it is cancelled; on RE the order stays for the
/// operator).
pub fn cancel_path(
    view: &OrderView,
    pending: Option<PendingKind>,
    reason_code: Option<&str>,
    allowed_codes: &[String],
) -> Result<CancelPath, RuleError> {
    use OrderState::*;
    let id = &view.document.order_id;
    let refuse = |hint: &str| {
        Err(RuleError::new(
            RuleCode::NotCancellable,
            format!(
                "order {id} is {} and cannot be cancelled: {hint}",
                view.state
            ),
        ))
    };
    match view.state {
        Draft => return refuse("it was never placed; delete it with DELETE /v1/orders/{id}"),
        Complete => return refuse("it has been fulfilled; place a CEASE order to stop it"),
        Cancelled | Withdrawn | Terminated => return refuse("it has already ended"),
        Inactive if view.scheduled_reactivation.is_none() => {
            return refuse("the subscription is already inactive");
        }
        _ => {}
    }
    if pending == Some(PendingKind::Cancellation) {
        return Err(RuleError::new(
            RuleCode::RequestInProgress,
            format!(
                "a cancellation of order {id} is already waiting for the supplier's answer \
                 (see the order's pending_request)"
            ),
        ));
    }
    if view.document.unsolicited
        && !reason_code.is_some_and(|c| allowed_codes.iter().any(|a| a == c))
    {
        return Err(RuleError::new(
            RuleCode::ReasonCodeNotAllowed,
            format!(
                "order {id} is an unsolicited cease; it can only be cancelled with reason_code {}",
                allowed_codes.join(" or ")
            ),
        ));
    }
    match view.state {
        Active | Inactive => Ok(CancelPath::Subscription),
        _ if !view.transferred => Ok(CancelPath::Consumer),
        _ => Ok(CancelPath::Supplier),
    }
}

/// Does the cancellation asked for by name (`method`) match the path the rules picked? A
/// consumer cancellation needs an order the supplier never received; a supplier one, an order
/// it has (a subscription's deactivation included, as the supplier holds the subscription).
pub fn check_method(
    view: &OrderView,
    path: CancelPath,
    method: Option<CancelMethod>,
) -> Result<(), RuleError> {
    let id = &view.document.order_id;
    match (method, path) {
        (Some(CancelMethod::Consumer), CancelPath::Supplier | CancelPath::Subscription) => {
            Err(RuleError::new(
                RuleCode::UseRequestCancelation,
                format!(
                    "order {id} has been transferred to the supplier, so only the supplier can \
                     cancel it: request a cancelation instead"
                ),
            ))
        }
        (Some(CancelMethod::Supplier), CancelPath::Consumer) => Err(RuleError::new(
            RuleCode::UseCancelByConsumer,
            format!(
                "order {id} has not been transferred to the supplier, so there is nothing to \
                 ask of it: cancel it by consumer instead"
            ),
        )),
        _ => Ok(()),
    }
}

/// Is a reactivation allowed now? INACTIVE subscriptions reactivate (now or at a date); an
/// ACTIVE one with a scheduled cancellation loses the schedule. Anything else is refused.
pub fn check_reactivation(view: &OrderView) -> Result<(), RuleError> {
    match view.state {
        OrderState::Inactive => Ok(()),
        OrderState::Active if view.scheduled_cancellation.is_some() => Ok(()),
        state => Err(RuleError::new(
            RuleCode::NotReactivatable,
            format!(
                "order {} is {state}; only an INACTIVE subscription (or an ACTIVE one with a \
                 scheduled cancellation) can be reactivated",
                view.document.order_id
            ),
        )),
    }
}

/// An effective date may only be given where something can be scheduled: an ACTIVE
/// subscription's cancellation, or an INACTIVE one's reactivation.
pub fn check_schedule(path: CancelPath, view: &OrderView) -> Result<(), RuleError> {
    if path == CancelPath::Subscription && view.state == OrderState::Active {
        Ok(())
    } else {
        Err(RuleError::new(
            RuleCode::ScheduleNotAllowed,
            format!(
                "order {} is {}: only an ACTIVE subscription's cancellation can take an \
                 effective_date or effective_at; send the cancellation without one",
                view.document.order_id, view.state
            ),
        ))
    }
}

/// Is `effective_at` (RFC 3339) still in the future at `now`? No date, or an unreadable one
/// (the API refuses those before they get here), means "now".
pub fn is_future(effective_at: Option<&str>, now: chrono::DateTime<chrono::Utc>) -> bool {
    effective_at
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .is_some_and(|at| at > now)
}

/// `effective_date` (`YYYY-MM-DD`, taken as midnight in the order's `time_zone`, UTC when it
/// has none) or `effective_at` (RFC 3339) as one RFC 3339 instant; both at once, or a
/// malformed value, is an error naming the field.
pub fn effective_instant(
    effective_date: Option<&str>,
    effective_at: Option<&str>,
    time_zone: Option<&str>,
) -> Result<Option<String>, FieldError> {
    let error = |field: &str, message: &str| FieldError {
        field: field.to_string(),
        message: message.to_string(),
    };
    match (effective_date, effective_at) {
        (Some(_), Some(_)) => Err(error(
            "effective_at",
            "give either effective_date or effective_at, not both",
        )),
        (Some(date), None) => chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .ok()
            .filter(|_| date.len() == 10)
            .map(|d| Some(crate::money::midnight(d, time_zone)))
            .ok_or_else(|| error("effective_date", "must be a date, YYYY-MM-DD")),
        (None, Some(at)) => chrono::DateTime::parse_from_rfc3339(at)
            .map(|t| {
                Some(
                    t.with_timezone(&chrono::Utc)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                )
            })
            .map_err(|_| {
                error(
                    "effective_at",
                    "must be an RFC 3339 time, e.g. 2026-12-01T09:00:00Z",
                )
            }),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests;
