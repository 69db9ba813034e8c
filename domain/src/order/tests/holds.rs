//! Holds with owners, and who did what: every event names its actor, a cancelled order says
//! who cancelled it.

use super::*;
use crate::actor::{ActorType, Holder};

fn hold(o: &mut Order, by: Holder) -> RecordInput {
    let change = o
        .operate(OperatorAction::Suspend, Some("hold".into()), by, AT)
        .unwrap();
    apply(o, change)
}

fn lift(o: &mut Order, by: Holder) -> Result<RecordInput, RuleCode> {
    let change = o
        .operate(OperatorAction::Resume, None, by, AT)
        .map_err(|e| e.code)?;
    Ok(apply(o, change))
}

#[test]
fn the_order_resumes_when_the_last_hold_is_lifted() {
    let mut o = order();
    to(&mut o, OrderState::Execution);
    let first = hold(&mut o, Holder::Operator);
    assert_eq!(first.event.event_type, EventType::StateChanged);
    assert_eq!(
        first.event.actor.as_ref().unwrap().kind,
        ActorType::Operator
    );
    let second = hold(&mut o, Holder::Supplier);
    assert_eq!(second.event.event_type, EventType::HoldAdded);
    assert_eq!(second.event.actor.as_ref().unwrap().id, "sim");
    let holders: Vec<_> = o.view().holds.iter().map(|h| h.by).collect();
    assert_eq!(holders, [Holder::Operator, Holder::Supplier]);
    // Held twice by the same party: refused.
    let again = o.operate(OperatorAction::Suspend, None, Holder::Supplier, AT);
    assert_eq!(again.unwrap_err().code, RuleCode::NotSuspendable);

    let lifted = lift(&mut o, Holder::Supplier).unwrap();
    assert_eq!(lifted.event.event_type, EventType::HoldLifted);
    assert_eq!(
        o.state(),
        OrderState::Suspended,
        "the operator still holds it"
    );
    // The supplier cannot lift the operator's hold.
    assert_eq!(
        lift(&mut o, Holder::Supplier).unwrap_err(),
        RuleCode::HeldByOperator
    );
    assert_eq!(o.state(), OrderState::Suspended);
    let resumed = lift(&mut o, Holder::Operator).unwrap();
    assert_eq!(resumed.view.state, OrderState::Execution);
    assert!(resumed.view.holds.is_empty());
}

#[test]
fn the_operator_cannot_lift_the_suppliers_hold_and_a_withdrawal_clears_all() {
    let mut o = order();
    to(&mut o, OrderState::Execution);
    hold(&mut o, Holder::Supplier);
    assert_eq!(
        lift(&mut o, Holder::Operator).unwrap_err(),
        RuleCode::HeldBySupplier
    );
    let gone = o
        .operate(OperatorAction::Withdraw, None, Holder::Operator, AT)
        .unwrap();
    let record = apply(&mut o, gone);
    assert_eq!(record.view.state, OrderState::Withdrawn);
    assert!(record.view.holds.is_empty());
}

#[test]
fn an_order_held_before_holds_had_owners_is_resumed_by_either() {
    let mut o = order();
    to(&mut o, OrderState::Execution);
    hold(&mut o, Holder::Operator);
    o.view.holds.clear();
    assert!(
        o.check_operate(OperatorAction::Resume, Holder::Supplier)
            .is_ok()
    );
    assert!(
        o.check_operate(OperatorAction::Resume, Holder::Operator)
            .is_ok()
    );
}

#[test]
fn cancelled_by_says_who_ended_the_order() {
    let mut o = order();
    to(&mut o, OrderState::Execution);
    let first = apply(&mut o, Order::acknowledged());
    assert_eq!(first.event.actor.unwrap().kind, ActorType::System);
    let stopped = o.supplier_cancelled(&crate::commands::SupplierCancel {
        callback_id: "cb-1".into(),
        reason: None,
    });
    let record = apply(&mut o, stopped.unwrap());
    assert_eq!(record.view.cancelled_by, Some(ActorType::Supplier));
    assert_eq!(record.event.actor.unwrap().kind, ActorType::Supplier);
    assert_eq!(order().view().cancelled_by, None);
}

#[test]
fn a_tenants_cancellation_names_the_tenant() {
    let mut o = order();
    to(&mut o, OrderState::Submitted);
    let request = cancel("c-1", None);
    let change = o.open_cancellation(&request, CancelPath::Consumer, false, AT);
    let record = apply(&mut o, change.by(ActorType::Tenant));
    assert_eq!(record.view.cancelled_by, Some(ActorType::Tenant));
    let actor = record.event.actor.unwrap();
    assert_eq!((actor.kind, actor.id.as_str()), (ActorType::Tenant, "acme"));
    let c = o.cancellation("c-1").unwrap();
    assert_eq!(c.actor.as_ref().unwrap().kind, ActorType::Tenant);
}

#[test]
fn a_restart_amendment_while_held_resumes_the_order_at_submitted() {
    let mut o = order();
    executing(&mut o);
    o.view.plan.as_mut().unwrap().status = PlanStatus::Pending;
    assert!(!o.suspended());
    hold(&mut o, Holder::Operator);
    assert!(o.suspended());
    let request = amend("a-1", json!({ "notes": "ring twice" }), None);
    let Checked::New((path, document)) = o.check_amend(&request).unwrap() else {
        panic!("a new amendment");
    };
    assert_eq!(path, AmendPath::Restart);
    let change = o.open_amendment(&request, path, *document, AT);
    apply(&mut o, change);
    assert_eq!(o.state(), OrderState::Suspended, "still held");
    // The lifecycle starts again, so the order does not go back to EXECUTION.
    let resumed = lift(&mut o, Holder::Operator).unwrap();
    assert_eq!(resumed.view.state, OrderState::Submitted);
    assert!(!o.suspended());
}

#[test]
fn a_second_hold_by_the_same_party_names_it() {
    for by in [Holder::Operator, Holder::Supplier] {
        let mut o = order();
        to(&mut o, OrderState::Execution);
        hold(&mut o, by);
        let e = o
            .operate(OperatorAction::Suspend, None, by, AT)
            .unwrap_err();
        let who = if by == Holder::Operator {
            "an operator"
        } else {
            "the supplier"
        };
        assert!(
            e.message.ends_with(&format!("already held by {who}")),
            "{}",
            e.message
        );
    }
}
