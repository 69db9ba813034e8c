//! The lifecycle rules: operator actions by state, terminal states, supplier idempotency keys
//! and order validation.
use super::*;
use crate::ids::{LineId, OrderId, Price};
use crate::model::*;

fn doc() -> OrderDocument {
    OrderDocument {
        requested_date: Some("2026-12-01".into()),
        lines: vec![OrderLine {
            line_id: LineId::parse("l1").unwrap(),
            product_code: "FIBRE-1G".into(),
            quantity: 1,
            unit_price: Price::parse("49.99").unwrap(),
            action: LineAction::Add,
            discount: None,
            tax_rate: None,
        }],
        ..OrderDocument::for_test("acme", "ord-1", "PO-1", "sim", OrderType::Provide)
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
    assert_eq!(err.code, RuleCode::NotRetryable);
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
            OrderState::Withdrawn,
            OrderState::Terminated
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
            OrderState::Withdrawn,
            OrderState::Terminated
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
fn a_good_order_validates() {
    assert_eq!(validate_order(&doc()), Ok(()));
}

#[test]
fn every_bad_field_is_reported() {
    let mut d = doc();
    d.order_id = OrderId::unchecked("bad id/");
    d.order_ref = " ".into();
    d.requested_date = Some("2026-02-30".into());
    d.lines[0].quantity = 0;
    d.lines[0].unit_price = serde_json::from_str("\"1.2.3\"").unwrap();
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
fn an_order_ended_outside_orderflow_is_terminated_once() {
    use crate::model::{EventType, OrderDocument, OrderType};
    let doc = OrderDocument::for_test("acme", "o-1", "PO-1", "sim", OrderType::Provide);
    let mut view = OrderView::received(doc, "t0".into());
    view.state = OrderState::Execution;
    view.last_seq = 4;
    let record = terminated_outside(&view, "TERMINATED", "t1", "e".into()).unwrap();
    assert_eq!(record.view.state, OrderState::Terminated);
    assert_eq!(record.view.previous_state, Some(OrderState::Execution));
    assert_eq!((record.event.seq, record.view.last_seq), (5, 5));
    assert_eq!(record.event.event_type, EventType::OrderTerminated);
    assert_eq!(record.event.detail["status"], "TERMINATED");
    // Once ended (or never placed) there is nothing to reconcile.
    assert_eq!(
        terminated_outside(&record.view, "TERMINATED", "t2", "f".into()),
        None
    );
    view.state = OrderState::Draft;
    assert_eq!(
        terminated_outside(&view, "TERMINATED", "t2", "f".into()),
        None
    );
}

#[test]
fn operator_actions_read_back_from_their_names() {
    use OperatorAction::*;
    for (action, name) in [
        (Suspend, "suspend"),
        (Resume, "resume"),
        (Retry, "retry"),
        (Withdraw, "withdraw"),
    ] {
        assert_eq!(action.as_str(), name);
        assert_eq!(OperatorAction::parse(name), Some(action), "{name}");
        assert_eq!(serde_json::to_value(action).unwrap(), name);
    }
    for unknown in ["", "Suspend", "cancel", "retry "] {
        assert_eq!(OperatorAction::parse(unknown), None, "{unknown:?}");
    }
}

#[test]
fn describe_tells_where_the_order_is_and_what_waits() {
    let mut view = OrderView::received(doc(), "2026-01-01T00:00:00Z".into());
    view.state = OrderState::Execution;
    view.state_reason = Some("resumed by operator".into());
    let step = |id: &str, status| PlanStep {
        step_id: id.into(),
        name: format!("do {id}"),
        status,
        point_of_no_return: false,
    };
    view.plan = Some(Plan {
        plan_id: "p1".into(),
        status: PlanStatus::Executing,
        steps: vec![
            step("s1", StepStatus::Done),
            step("s2", StepStatus::Running),
            step("s3", StepStatus::Pending),
        ],
    });
    let text = describe(&view);
    assert!(
        text.starts_with(
            "**EXECUTION** order `ord-1` (ref `PO-1`) for tenant `acme` with supplier `sim`, \
             revision 1\n\nReason: resumed by operator\n\nPlan p1: Executing, 1/3 steps done\n\
             - s1 do s1: Done\n- s2 do s2: Running\n- s3 do s3: Pending\n"
        ),
        "{text}"
    );
    assert!(
        !text.contains("discarded") && !text.contains("Pending request"),
        "{text}"
    );

    view.plan.as_mut().unwrap().status = PlanStatus::Discarded;
    view.pending_request = Some(crate::requests::PendingRequest::Amendment {
        amendment_id: "a-1".into(),
        requested_at: "2026-01-02T00:00:00Z".into(),
        state: crate::requests::RequestState::Pending,
    });
    let text = describe(&view);
    assert!(text.contains("(plan discarded)\n"), "{text}");
    assert!(text.ends_with("\nPending request: AMENDMENT\n"), "{text}");

    let mut sub = OrderView::received(doc(), "2026-01-01T00:00:00Z".into());
    sub.state = OrderState::Active;
    sub.scheduled_cancellation = Some(crate::requests::ScheduledCancellation {
        cancellation_id: "c-1".into(),
        effective_at: Some("2027-01-01T00:00:00Z".into()),
        reason: "moving".into(),
        reason_code: None,
    });
    sub.scheduled_reactivation = Some(crate::requests::ScheduledReactivation {
        reactivation_id: "r-1".into(),
        effective_at: Some("2027-02-01T00:00:00Z".into()),
        reason: None,
    });
    let text = describe(&sub);
    assert!(
        !text.contains("Reason:") && !text.contains("Plan "),
        "{text}"
    );
    assert!(
        text.ends_with(
            "\nCancellation scheduled for 2027-01-01T00:00:00Z\n\
             \nReactivation scheduled for 2027-02-01T00:00:00Z\n"
        ),
        "{text}"
    );
}
