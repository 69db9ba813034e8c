//! Lifecycle rules as pure functions: what may happen to an order in which state. The workflow,
//! its Update validators and the API all ask these, so a rule is written once and unit-tested
//! without a server.

use crate::model::{OrderDocument, OrderState, OrderView, PlanStatus, StepStatus};
use serde::{Deserialize, Serialize};

/// A refused request: a stable machine-readable `code` plus a message that says what to do.
/// Update validators carry it as JSON in their error text so the API can map it to HTTP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleError {
    pub code: String,
    pub message: String,
}

impl RuleError {
    pub fn new(code: &str, message: impl Into<String>) -> RuleError {
        RuleError {
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("RuleError serializes")
    }

    /// Finds a RuleError encoded by [`RuleError::to_json`] inside a failure message (the
    /// server may wrap the validator's text).
    pub fn from_message(message: &str) -> Option<RuleError> {
        let start = message.find("{\"code\"")?;
        let end = message.rfind('}')?;
        serde_json::from_str(&message[start..=end]).ok()
    }
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for RuleError {}

/// States from which nothing more happens to an order.
pub fn is_terminal(state: OrderState) -> bool {
    matches!(
        state,
        OrderState::Complete | OrderState::Cancelled | OrderState::Withdrawn
    )
}

/// Does the order have a running workflow to send requests to? Not while it is a DRAFT (no
/// workflow yet) nor once it has ended; the API answers those from the rules directly.
pub fn has_running_workflow(state: OrderState) -> bool {
    state != OrderState::Draft && !is_terminal(state)
}

/// The state a fulfilled order settles in: subscriptions stay open as ACTIVE services.
pub fn fulfilled_state(recurring: bool) -> OrderState {
    if recurring {
        OrderState::Active
    } else {
        OrderState::Complete
    }
}

/// What an operator can do to a running order (SPEC §3, §5).
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
            "NOT_SUSPENDABLE",
            "SUBMITTED, FEASIBILITY, PLAN_DEVELOPMENT or EXECUTION",
        ),
        OperatorAction::Resume => (state == Suspended, "NOT_SUSPENDED", "SUSPENDED"),
        OperatorAction::Retry => (state == ErrorHandler, "NOT_RETRYABLE", "ERROR_HANDLER"),
        OperatorAction::Withdraw => (
            matches!(state, PreQualificationFailed | ErrorHandler | Suspended),
            "NOT_WITHDRAWABLE",
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

/// Identifiers end up in workflow ids, URLs and supplier paths: keep them to a safe alphabet.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `YYYY-MM-DD` naming a real calendar date.
pub fn is_valid_date(date: &str) -> bool {
    date.len() == 10 && chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok()
}

/// A non-negative decimal with at most 4 fractional digits, as a string (`"12"`, `"12.50"`).
pub fn is_valid_price(price: &str) -> bool {
    let (int, frac) = price.split_once('.').unwrap_or((price, ""));
    !int.is_empty()
        && int.len() <= 15
        && int.chars().all(|c| c.is_ascii_digit())
        && price.contains('.') != frac.is_empty()
        && frac.len() <= 4
        && frac.chars().all(|c| c.is_ascii_digit())
}

/// Checks the tenant-supplied content of an order. Returns every problem at once so the
/// tenant can fix them in one go.
pub fn validate_order(doc: &OrderDocument) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if !is_valid_id(&doc.order_id) {
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
    if !is_valid_id(&doc.supplier_id) {
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
        if !is_valid_price(&line.unit_price) {
            errors.push(field_error(
                format!("lines[{i}].unit_price"),
                "must be a decimal string such as \"12.50\"",
            ));
        }
    }
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
    let field = |v: &Option<serde_json::Value>, key: &str| {
        v.as_ref()
            .and_then(|v| v.get(key))
            .and_then(|k| k.as_str())
            .map(str::to_string)
    };
    if let Some(kind) = field(&view.pending_request, "kind") {
        out.push_str(&format!("\nPending request: {kind}\n"));
    }
    if let Some(at) = field(&view.scheduled_cancellation, "effective_at") {
        out.push_str(&format!("\nCancellation scheduled for {at}\n"));
    }
    if let Some(at) = field(&view.scheduled_reactivation, "effective_at") {
        out.push_str(&format!("\nReactivation scheduled for {at}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn doc() -> OrderDocument {
        OrderDocument {
            requested_date: Some("2026-12-01".into()),
            lines: vec![OrderLine {
                line_id: "l1".into(),
                product_code: "FIBRE-1G".into(),
                quantity: 1,
                unit_price: "49.99".into(),
                action: LineAction::Add,
            }],
            ..OrderDocument::new("acme", "ord-1", "PO-1", "sim", OrderType::Provide)
        }
    }

    #[test]
    fn operator_actions_follow_the_state_table() {
        use OperatorAction::*;
        for state in OrderState::ALL {
            assert_eq!(
                check_operator_action(Suspend, state).is_ok(),
                matches!(
                    state,
                    OrderState::Submitted
                        | OrderState::Feasibility
                        | OrderState::PlanDevelopment
                        | OrderState::Execution
                ),
                "suspend in {state}"
            );
            assert_eq!(
                check_operator_action(Resume, state).is_ok(),
                state == OrderState::Suspended
            );
            assert_eq!(
                check_operator_action(Retry, state).is_ok(),
                state == OrderState::ErrorHandler
            );
            assert_eq!(
                check_operator_action(Withdraw, state).is_ok(),
                matches!(
                    state,
                    OrderState::PreQualificationFailed
                        | OrderState::ErrorHandler
                        | OrderState::Suspended
                ),
                "withdraw in {state}"
            );
        }
        let err = check_operator_action(Retry, OrderState::Complete).unwrap_err();
        assert_eq!(err.code, "NOT_RETRYABLE");
        assert!(err.message.contains("ERROR_HANDLER"));
    }

    #[test]
    fn terminal_states() {
        let terminal: Vec<_> = OrderState::ALL
            .into_iter()
            .filter(|s| is_terminal(*s))
            .collect();
        assert_eq!(
            terminal,
            vec![
                OrderState::Complete,
                OrderState::Cancelled,
                OrderState::Withdrawn
            ]
        );
        assert_eq!(fulfilled_state(false), OrderState::Complete);
        assert_eq!(fulfilled_state(true), OrderState::Active);
    }

    #[test]
    fn drafts_and_ended_orders_have_no_running_workflow() {
        let without: Vec<_> = OrderState::ALL
            .into_iter()
            .filter(|s| !has_running_workflow(*s))
            .collect();
        assert_eq!(
            without,
            vec![
                OrderState::Draft,
                OrderState::Complete,
                OrderState::Cancelled,
                OrderState::Withdrawn
            ]
        );
    }

    #[test]
    fn idempotency_keys_ignore_run_and_change_with_operator_retry() {
        let a = idempotency_key("order/acme/o1", 1, "step-2", 0);
        assert_eq!(a, "order/acme/o1/r1/step-2");
        assert_ne!(a, idempotency_key("order/acme/o1", 1, "step-2", 1));
        assert_ne!(a, idempotency_key("order/acme/o1", 2, "step-2", 0));
    }

    #[test]
    fn rule_error_round_trips_through_a_wrapped_message() {
        let e = RuleError::new("NOT_RETRYABLE", "nope {x}");
        let wrapped = format!("Update rejected: {}", e.to_json());
        assert_eq!(RuleError::from_message(&wrapped), Some(e));
        assert_eq!(RuleError::from_message("plain text"), None);
    }

    #[test]
    fn a_good_order_validates() {
        assert_eq!(validate_order(&doc()), Ok(()));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let mut d = doc();
        d.order_id = "bad id/".into();
        d.order_ref = " ".into();
        d.requested_date = Some("2026-02-30".into());
        d.lines[0].quantity = 0;
        d.lines[0].unit_price = "1.2.3".into();
        d.lines.push(d.lines[0].clone());
        let fields: Vec<_> = validate_order(&d)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        for f in [
            "order_id",
            "order_ref",
            "requested_date",
            "lines[0].quantity",
            "lines[0].unit_price",
            "lines[1].line_id",
        ] {
            assert!(
                fields.contains(&f.to_string()),
                "{f} missing from {fields:?}"
            );
        }
    }

    #[test]
    fn prices_are_decimal_strings() {
        for ok in ["0", "12", "12.5", "12.50", "0.0001"] {
            assert!(is_valid_price(ok), "{ok}");
        }
        for bad in ["", ".5", "5.", "-1", "1e3", "1.23456", "abc", "1,5"] {
            assert!(!is_valid_price(bad), "{bad}");
        }
    }

    #[test]
    fn ids_are_restricted() {
        assert!(is_valid_id("ord-1.A_b"));
        for bad in ["", "a b", "a/b", "a:b", &"x".repeat(129)] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }
}
