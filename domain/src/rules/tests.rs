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
