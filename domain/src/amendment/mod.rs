//! Whether, and how, an order may be amended right now: RESTART the lifecycle with the new
//! document while no plan is executing, or PATCH an executing plan through the supplier (only
//! `contact`, `notes` and `requested_date` may change then, since they do not alter what the
//! supplier is building). How `changes` apply to the document is in [`merge`].
//!
//! This runs inside Temporal workflow code (Update validators and handlers) as well as in the
//! API (preview, capabilities), so it is deterministic: no I/O, no clocks, no randomness. Every
//! refusal is a [`RuleError`] whose [`RuleCode`] carries its HTTP status and whose message tells
//! the tenant what to do next.

mod merge;

pub use crate::requests::{AmendPath, PendingKind};
pub use merge::{
    DOCUMENT_FIELDS, IMMUTABLE_FIELDS, PATCHABLE_WHILE_EXECUTING, changed_fields, merge_changes,
};

use crate::model::{OrderDocument, OrderState, OrderView, PlanStatus, PqfCause};
use crate::rule_code::{RuleCode, RuleError};
use merge::{document_json, is_removal, list};
use serde_json::Value;

/// States in which an order may be amended at all. START is the moment between the order's
/// acceptance and its first recorded event; the workflow decides a request that came then
/// once that event is recorded, so it counts as SUBMITTED here.
pub const AMENDABLE_STATES: [OrderState; 7] = [
    OrderState::Start,
    OrderState::Submitted,
    OrderState::Feasibility,
    OrderState::PlanDevelopment,
    OrderState::PreQualificationFailed,
    OrderState::Execution,
    OrderState::Suspended,
];

/// What the tenant can do instead when the state forbids amending.
fn not_amendable_hint(state: OrderState) -> &'static str {
    match state {
        OrderState::Draft => {
            "it has not been placed yet: edit it with PUT /v1/orders/{order_id}, then place it"
        }
        OrderState::ErrorHandler => {
            "it is waiting for an operator to retry or withdraw it: amend it once it is moving \
             again"
        }
        OrderState::Active | OrderState::Inactive => {
            "the subscription has been fulfilled: place a MODIFY order to change it"
        }
        _ => "it is finished: place a new order instead",
    }
}

/// Is the order amendable now, and by which path? `pending` says whether an amendment or a
/// cancellation is already open on it.
///
/// Checks in order: an unsolicited cease is never amendable (`NOT_AMENDABLE`); an open request
/// blocks (`REQUEST_IN_PROGRESS`), except a PENDING amendment when the supplier takes
/// `concurrent_amendments` and this one is a PATCH too; the state must be one of [`AMENDABLE_STATES`]
/// (`NOT_AMENDABLE`); PRE_QUALIFICATION_FAILED caused by validation is final
/// (`NOT_AMENDABLE`). Then the path:
/// - START, SUBMITTED, FEASIBILITY, PLAN_DEVELOPMENT, PRE_QUALIFICATION_FAILED → RESTART;
/// - EXECUTION and SUSPENDED decide by the plan (a suspended order resumes where it stopped,
///   so what matters is whether its plan had started): no plan, a PENDING plan or a
///   DISCARDED one (it no longer counts) → RESTART; an EXECUTING plan → PATCH; a DONE plan →
///   `NOT_AMENDABLE`, since every step has been fulfilled and nothing is left to change.
pub fn amend_path(view: &OrderView, pending: Option<PendingKind>) -> Result<AmendPath, RuleError> {
    let order_id = &view.document.order_id;
    if view.document.unsolicited {
        return Err(RuleError::new(
            RuleCode::NotAmendable,
            format!(
                "order {order_id} is an unsolicited cease raised by the supplier and can never \
                 be amended; to stop it, cancel it with an accepted reason_code"
            ),
        ));
    }
    let in_progress = || {
        RuleError::new(
            RuleCode::RequestInProgress,
            format!(
                "an amendment to order {order_id} is already in progress (see the order's \
                 pending_request); wait until it is ACCEPTED or REJECTED, then send this \
                 amendment again"
            ),
        )
    };
    match pending {
        Some(PendingKind::Amendment) if !view.concurrent_amendments => return Err(in_progress()),
        Some(PendingKind::Cancellation) => {
            return Err(RuleError::new(
                RuleCode::RequestInProgress,
                format!(
                    "a cancellation of order {order_id} is in progress (see the order's \
                     pending_request); if the supplier rejects it the order carries on and can \
                     be amended then"
                ),
            ));
        }
        Some(PendingKind::Amendment | PendingKind::Reactivation) | None => {}
    }
    let path = path_in_state(view)?;
    // Amendments decided side by side are all PATCHes of the executing plan: a RESTART would
    // discard the plan the PENDING ones change.
    if pending == Some(PendingKind::Amendment) && path != AmendPath::Patch {
        return Err(in_progress());
    }
    Ok(path)
}

/// The path the order's state and plan allow (see [`amend_path`]).
fn path_in_state(view: &OrderView) -> Result<AmendPath, RuleError> {
    let order_id = &view.document.order_id;
    let state = view.state;
    if !AMENDABLE_STATES.contains(&state) {
        return Err(RuleError::new(
            RuleCode::NotAmendable,
            format!(
                "order {order_id} is {state} and cannot be amended (amendable in {}); {}",
                list(&AMENDABLE_STATES.map(|s| s.as_str())),
                not_amendable_hint(state).replace("{order_id}", order_id)
            ),
        ));
    }
    match state {
        OrderState::PreQualificationFailed if view.cause == Some(PqfCause::Validation) => {
            Err(RuleError::new(
                RuleCode::NotAmendable,
                format!(
                    "order {order_id} failed validation (PRE_QUALIFICATION_FAILED, cause \
                     VALIDATION) and cannot be amended; place a new, corrected order"
                ),
            ))
        }
        OrderState::Execution | OrderState::Suspended => {
            match view.plan.as_ref().map(|p| p.status) {
                None | Some(PlanStatus::Pending) | Some(PlanStatus::Discarded) => {
                    Ok(AmendPath::Restart)
                }
                Some(PlanStatus::Executing) => Ok(AmendPath::Patch),
                Some(PlanStatus::Done) => Err(RuleError::new(
                    RuleCode::NotAmendable,
                    format!(
                        "order {order_id} is {state} but its plan has finished, so there is \
                         nothing left to amend; once the order is fulfilled, place a new (MODIFY) \
                         order to change it"
                    ),
                )),
            }
        }
        _ => Ok(AmendPath::Restart),
    }
}

/// May a late ACCEPT of amendment `id` (its `changes`) still be applied to the order as it is
/// now? Its fields could change when it was made; since then the plan may have finished or
/// the order moved on, so the PATCH rules are asked again: the order must still take a PATCH
/// and none of the fields may be refused while executing. Else `REQUEST_CLOSED`.
pub fn late_acceptance(view: &OrderView, id: &str, changes: &Value) -> Result<(), RuleError> {
    let closed = |why: String| {
        Err(RuleError::new(
            RuleCode::RequestClosed,
            format!("amendment {id} expired and its changes can no longer be applied: {why}"),
        ))
    };
    match amend_path(view, None) {
        Ok(AmendPath::Patch) => {}
        Ok(AmendPath::Restart) => {
            return closed(format!(
                "order {} is no longer executing its plan",
                view.document.order_id
            ));
        }
        Err(e) => return closed(e.message),
    }
    let refused = fields_refused_while_executing(&view.document, changes);
    if !refused.is_empty() {
        return closed(format!("{} may not change now", list(&refused)));
    }
    merge_changes(&view.document, changes)
        .map(|_| ())
        .or_else(|e| closed(e.message))
}

/// Fields of `changes` that may not change while the plan is executing, sorted: every field
/// outside [`PATCHABLE_WHILE_EXECUTING`], except immutable fields sent with their current
/// value (ignored, as in [`merge_changes`]) and unknown fields (left for `merge_changes` to
/// report as `UNKNOWN_FIELD`, which says more than "not amendable"). Also what the preview
/// endpoint shows as refused fields.
pub fn fields_refused_while_executing(order: &OrderDocument, changes: &Value) -> Vec<String> {
    let Value::Object(patch) = changes else {
        return Vec::new();
    };
    let current = document_json(order);
    changed_fields(changes)
        .into_iter()
        .filter(|f| DOCUMENT_FIELDS.contains(&f.as_str()))
        .filter(|f| !PATCHABLE_WHILE_EXECUTING.contains(&f.as_str()))
        .filter(|f| {
            !IMMUTABLE_FIELDS.contains(&f.as_str())
                || is_removal(&patch[f])
                || current.get(f) != Some(&patch[f])
        })
        .collect()
}

/// Lines in `changes.lines` with `action: CANCEL`, named by `line_id` (or position).
fn cancelled_lines(changes: &Value) -> Vec<String> {
    let Some(Value::Array(lines)) = changes.get("lines") else {
        return Vec::new();
    };
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.get("action").and_then(Value::as_str) == Some("CANCEL"))
        .map(
            |(i, line)| match line.get("line_id").and_then(Value::as_str) {
                Some(id) if !id.is_empty() => id.to_string(),
                _ => format!("lines[{i}]"),
            },
        )
        .collect()
}

/// Full check of one amendment request; returns the path and the amended document, or the
/// first refusal. Order (so the tenant hears about the most fundamental problem first):
/// 1. `order_ref` must be the order's (`ORDER_REF_MISMATCH`): every amendment carries the
///    same `order_ref`;
/// 2. [`amend_path`]: is the order amendable now;
/// 3. in PRE_QUALIFICATION_FAILED, no line in `changes.lines` may have action CANCEL
///    (`LINE_CANCEL_NOT_ALLOWED`);
/// 4. on the PATCH path, only [`PATCHABLE_WHILE_EXECUTING`] fields may be sent
///    (`FIELD_NOT_AMENDABLE`, listing the others, see [`fields_refused_while_executing`]);
/// 5. [`merge_changes`] must succeed.
///
/// Pure: used both by the workflow's Update validator (refusals write nothing to history) and
/// by the API's preview.
pub fn check_amendment(
    view: &OrderView,
    pending: Option<PendingKind>,
    order_ref: &str,
    changes: &Value,
) -> Result<(AmendPath, OrderDocument), RuleError> {
    if order_ref != view.document.order_ref {
        return Err(RuleError::new(
            RuleCode::OrderRefMismatch,
            format!(
                "order_ref '{order_ref}' does not match order {}, whose order_ref is '{}'; send \
                 the order_ref the order was placed with",
                view.document.order_id, view.document.order_ref
            ),
        ));
    }
    let path = amend_path(view, pending)?;
    if changes.as_object().is_some_and(|c| c.is_empty()) {
        return Err(RuleError::new(
            RuleCode::InvalidChanges,
            "'changes' is empty: name at least one field to change",
        ));
    }
    if view.state == OrderState::PreQualificationFailed {
        let cancelled = cancelled_lines(changes);
        if !cancelled.is_empty() {
            return Err(RuleError::new(
                RuleCode::LineCancelNotAllowed,
                format!(
                    "the order is PRE_QUALIFICATION_FAILED, where a line cannot be amended to \
                     action CANCEL (refused: {}); to drop a line, send lines without it (lines \
                     are replaced whole)",
                    list(&cancelled)
                ),
            ));
        }
    }
    if path == AmendPath::Patch {
        let refused = fields_refused_while_executing(&view.document, changes);
        if !refused.is_empty() {
            return Err(RuleError::new(
                RuleCode::FieldNotAmendable,
                format!(
                    "the plan is executing: only {} can change; refused: {}. Remove {} from \
                     changes, or cancel the order and place a new one",
                    list(&PATCHABLE_WHILE_EXECUTING),
                    list(&refused),
                    if refused.len() == 1 { "it" } else { "them" }
                ),
            ));
        }
    }
    let document = merge_changes(&view.document, changes)?;
    Ok((path, document))
}

#[cfg(test)]
mod tests;
