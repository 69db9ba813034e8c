//! Lifecycle rules as pure functions: what may happen to an order in which state. The workflow,
//! its Update validators and the API all ask these, so a rule is written once and unit-tested
//! without a server.

use crate::ids::{OrderId, SupplierId, is_valid_id};
use crate::model::{OrderDocument, OrderState, OrderView, PlanStatus, StepStatus};
pub use crate::rule_code::{RuleCode, RuleError};
use serde::{Deserialize, Serialize};

/// States from which nothing more happens to an order.
pub fn is_terminal(state: OrderState) -> bool {
    matches!(
        state,
        OrderState::Complete
            | OrderState::Cancelled
            | OrderState::Withdrawn
            | OrderState::Terminated
    )
}

/// Does the order have a running workflow to send requests to? Not while it is a DRAFT (no
/// workflow yet) nor once it has ended; the API answers those from the rules directly.
pub fn has_running_workflow(state: OrderState) -> bool {
    state != OrderState::Draft && !is_terminal(state)
}

/// The record that reconciles an order whose workflow was closed outside orderflow (`status`:
/// `TERMINATED`, `TIMED_OUT`, `CANCELED` or `FAILED`, as Temporal says): the order becomes
/// TERMINATED with one more event, its pending request left as it was. `None` when the stored
/// order has already ended (or was never placed): there is nothing to reconcile.
pub fn terminated_outside(
    stored: &OrderView,
    status: &str,
    now: &str,
    event_uuid: String,
) -> Option<crate::calls::RecordInput> {
    if !has_running_workflow(stored.state) {
        return None;
    }
    let mut view = stored.clone().in_state(OrderState::Terminated);
    view.previous_state = Some(stored.state);
    view.state_reason = Some(format!(
        "its workflow was ended outside orderflow ({status}); nothing more will happen to it"
    ));
    view.last_seq += 1;
    view.updated_at = now.to_string();
    let event = crate::model::OrderEvent {
        event_uuid,
        order_id: view.document.order_id.clone(),
        tenant_id: view.document.tenant_id.clone(),
        seq: view.last_seq,
        event_type: crate::model::EventType::OrderTerminated,
        state: OrderState::Terminated,
        gateway_state: view.gateway_state,
        previous_state: Some(stored.state),
        request_id: None,
        revision: view.revision,
        occurred_at: now.to_string(),
        detail: serde_json::json!({ "status": status }),
        actor: Some(crate::actor::Actor::on(
            crate::actor::ActorType::System,
            &view.document,
        )),
    };
    Some(crate::calls::RecordInput {
        view,
        event,
        amendment: None,
        requests: Vec::new(),
    })
}

/// The state a fulfilled order settles in: subscriptions stay open as ACTIVE services.
pub fn fulfilled_state(recurring: bool) -> OrderState {
    if recurring {
        OrderState::Active
    } else {
        OrderState::Complete
    }
}

/// What an operator can do to a running order: hold it, let it go on, retry a failed supplier
/// call, or give up on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperatorAction {
    Suspend,
    Resume,
    Retry,
    Withdraw,
}

impl OperatorAction {
    pub fn as_str(self) -> &'static str {
        match self {
            OperatorAction::Suspend => "suspend",
            OperatorAction::Resume => "resume",
            OperatorAction::Retry => "retry",
            OperatorAction::Withdraw => "withdraw",
        }
    }

    pub fn parse(s: &str) -> Option<OperatorAction> {
        [
            OperatorAction::Suspend,
            OperatorAction::Resume,
            OperatorAction::Retry,
            OperatorAction::Withdraw,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// Is `action` allowed in `state`? Refusals are 409s with a code naming the action.
pub fn check_operator_action(action: OperatorAction, state: OrderState) -> Result<(), RuleError> {
    use OrderState::*;
    let (allowed, code, wants) = match action {
        // Holding only makes sense while fulfilment is moving.
        OperatorAction::Suspend => (
            matches!(state, Submitted | Feasibility | PlanDevelopment | Execution),
            RuleCode::NotSuspendable,
            "SUBMITTED, FEASIBILITY, PLAN_DEVELOPMENT or EXECUTION",
        ),
        OperatorAction::Resume => (state == Suspended, RuleCode::NotSuspended, "SUSPENDED"),
        OperatorAction::Retry => (
            state == ErrorHandler,
            RuleCode::NotRetryable,
            "ERROR_HANDLER",
        ),
        OperatorAction::Withdraw => (
            matches!(state, PreQualificationFailed | ErrorHandler | Suspended),
            RuleCode::NotWithdrawable,
            "PRE_QUALIFICATION_FAILED, ERROR_HANDLER or SUSPENDED",
        ),
    };
    if allowed {
        Ok(())
    } else {
        Err(RuleError::new(
            code,
            format!(
                "cannot {} an order in state {state}; the order must be in {wants}",
                action.as_str()
            ),
        ))
    }
}

/// The `Idempotency-Key` of one supplier call. Derived from the workflow id (never the run id)
/// plus what makes the call distinct: the order revision, the step, and how many times an
/// operator asked to retry after a permanent failure. Activity retries reuse the key, so the
/// supplier applies the call once; an operator retry gets a fresh key because the supplier
/// would otherwise replay its stored failure.
pub fn idempotency_key(
    workflow_id: &str,
    revision: u32,
    step: &str,
    operator_retries: u32,
) -> String {
    if operator_retries == 0 {
        format!("{workflow_id}/r{revision}/{step}")
    } else {
        format!("{workflow_id}/r{revision}/{step}/retry{operator_retries}")
    }
}

/// One problem with a submitted order: which field and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

fn field_error(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// `YYYY-MM-DD` naming a real calendar date.
pub fn is_valid_date(date: &str) -> bool {
    date.len() == 10 && chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok()
}

/// Checks the tenant-supplied content of an order. Returns every problem at once so the
/// tenant can fix them in one go.
pub fn validate_order(doc: &OrderDocument) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if OrderId::parse(&doc.order_id).is_err() {
        errors.push(field_error(
            "order_id",
            "must be 1-128 characters of A-Z, a-z, 0-9, '.', '_' or '-'",
        ));
    }
    if doc.order_ref.trim().is_empty() {
        errors.push(field_error(
            "order_ref",
            "is required and must not be empty",
        ));
    }
    if SupplierId::parse(&doc.supplier_id).is_err() {
        errors.push(field_error("supplier_id", "is required"));
    }
    if let Some(date) = &doc.requested_date
        && !is_valid_date(date)
    {
        errors.push(field_error(
            "requested_date",
            "must be a date as YYYY-MM-DD",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, line) in doc.lines.iter().enumerate() {
        if !is_valid_id(&line.line_id) {
            errors.push(field_error(format!("lines[{i}].line_id"), "is required"));
        } else if !seen.insert(line.line_id.as_str()) {
            errors.push(field_error(
                format!("lines[{i}].line_id"),
                format!("duplicate line_id '{}'", line.line_id),
            ));
        }
        if line.product_code.trim().is_empty() {
            errors.push(field_error(
                format!("lines[{i}].product_code"),
                "is required",
            ));
        }
        if line.quantity == 0 {
            errors.push(field_error(
                format!("lines[{i}].quantity"),
                "must be at least 1",
            ));
        }
        if !line.unit_price.is_valid() {
            errors.push(field_error(
                format!("lines[{i}].unit_price"),
                "must be a decimal string such as \"12.50\"",
            ));
        }
    }
    errors.extend(crate::money::check_money(doc));
    errors.extend(crate::limits::check_document(doc));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// A one-paragraph account of where the order is and why, shown as the workflow's current
/// details in the Temporal Web UI.
pub fn describe(view: &OrderView) -> String {
    let mut out = format!(
        "**{}** order `{}` (ref `{}`) for tenant `{}` with supplier `{}`, revision {}\n\n",
        view.state,
        view.document.order_id,
        view.document.order_ref,
        view.document.tenant_id,
        view.document.supplier_id,
        view.revision
    );
    if let Some(reason) = &view.state_reason {
        out.push_str(&format!("Reason: {reason}\n\n"));
    }
    if let Some(plan) = &view.plan {
        let done = plan
            .steps
            .iter()
            .filter(|s| s.status == StepStatus::Done)
            .count();
        out.push_str(&format!(
            "Plan {}: {:?}, {done}/{} steps done\n",
            plan.plan_id,
            plan.status,
            plan.steps.len()
        ));
        for step in &plan.steps {
            out.push_str(&format!(
                "- {} {}: {:?}\n",
                step.step_id, step.name, step.status
            ));
        }
    }
    if matches!(
        view.plan.as_ref().map(|p| p.status),
        Some(PlanStatus::Discarded)
    ) {
        out.push_str("(plan discarded)\n");
    }
    if let Some(kind) = view.pending_kind() {
        out.push_str(&format!("\nPending request: {}\n", kind.as_str()));
    }
    if let Some(at) = view
        .scheduled_cancellation
        .as_ref()
        .and_then(|c| c.effective_at.as_ref())
    {
        out.push_str(&format!("\nCancellation scheduled for {at}\n"));
    }
    if let Some(at) = view
        .scheduled_reactivation
        .as_ref()
        .and_then(|r| r.effective_at.as_ref())
    {
        out.push_str(&format!("\nReactivation scheduled for {at}\n"));
    }
    out
}

#[cfg(test)]
mod tests;
