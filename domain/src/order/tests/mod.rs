//! The aggregate's transitions, each as the workflow drives it: check, open or decide, then
//! apply the change and look at the order and the record.

mod decisions;
mod holds;
mod requests;
mod subscriptions;

use super::*;
use crate::actor::Holder;
use crate::calls::CallFor::{PlanStep, Stage};
use crate::calls::{PlanProposal, PlannedStep};
use crate::commands::{AmendRequest, CancelRequest, ReactivateRequest};
use crate::model::{EventType, OrderType, PlanStatus, StepStatus};
use crate::requests::{AmendPath, CancelPath};
use crate::rules::OperatorAction;
use serde_json::json;

pub(super) const AT: &str = "2026-11-23T12:00:00.000Z";

pub(super) fn order() -> Order {
    let doc = OrderDocument::for_test("acme", "o-1", "PO-1", "sim", OrderType::Provide);
    Order::received(doc, "2026-11-23T11:00:00.000Z".into())
}

pub(super) fn subscription() -> Order {
    let mut doc = OrderDocument::for_test("acme", "s-1", "PO-1", "sim", OrderType::Provide);
    doc.recurring = true;
    let mut o = Order::received(doc, "2026-11-23T11:00:00.000Z".into());
    o.view.transferred = true;
    o.view.state = OrderState::Active;
    o
}

/// Applies `change` with a fresh event id; the record.
pub(super) fn apply(order: &mut Order, change: Change) -> RecordInput {
    let uuid = format!("e-{}", order.view.last_seq + 1);
    order.apply(change, AT.into(), uuid)
}

pub(super) fn to(order: &mut Order, state: OrderState) -> RecordInput {
    apply(order, Change::state(state, None))
}

fn amend(id: &str, changes: serde_json::Value, key: Option<&str>) -> AmendRequest {
    AmendRequest {
        amendment_id: id.into(),
        order_ref: "PO-1".into(),
        changes,
        expected_revision: None,
        idempotency_key: key.map(String::from),
        requested_at: AT.into(),
    }
}

pub(super) fn cancel(id: &str, effective_at: Option<&str>) -> CancelRequest {
    CancelRequest {
        cancellation_id: id.into(),
        reason: "no longer needed".into(),
        reason_code: None,
        effective_at: effective_at.map(String::from),
        idempotency_key: None,
        requested_at: AT.into(),
        method: None,
    }
}

pub(super) fn reactivate(id: &str, effective_at: Option<&str>) -> ReactivateRequest {
    ReactivateRequest {
        reactivation_id: id.into(),
        reason: Some("back".into()),
        effective_at: effective_at.map(String::from),
        idempotency_key: None,
        requested_at: AT.into(),
    }
}

fn executing(order: &mut Order) {
    to(order, OrderState::Execution);
    order.adopt_plan(&PlanProposal {
        plan_id: "p".into(),
        steps: vec![PlannedStep {
            step_id: "step-1".into(),
            name: "install".into(),
            point_of_no_return: false,
        }],
    });
}

#[test]
fn an_unsolicited_cease_arrives_transferred() {
    assert!(!order().view().transferred);
    let mut doc = OrderDocument::for_test("acme", "o-2", "PO-2", "sim", OrderType::Cease);
    doc.unsolicited = true;
    assert!(Order::received(doc, AT.into()).view().transferred);
}

#[test]
fn applying_a_change_moves_the_state_and_numbers_the_event() {
    let mut o = order();
    let first = apply(&mut o, Order::acknowledged());
    assert_eq!(first.event.seq, 1);
    assert_eq!(first.event.event_type, EventType::OrderAcknowledged);
    assert_eq!(first.event.detail, serde_json::Value::Null);
    assert_eq!(first.event.previous_state, None);
    let second = apply(
        &mut o,
        Change::state(OrderState::Submitted, Some("why".into())),
    );
    assert_eq!(second.event.seq, 2);
    assert_eq!(second.event.previous_state, Some(OrderState::Start));
    assert_eq!(second.event.detail, json!({ "reason": "why" }));
    assert_eq!(o.view().state_reason.as_deref(), Some("why"));
    assert_eq!(o.view().previous_state, Some(OrderState::Start));
    assert_eq!(second.view, *o.view());
    // An event without a state change keeps the previous state it had.
    let done = o.step_done(0, "step-1", "install");
    let third = apply(&mut o, done);
    assert_eq!(third.event.previous_state, Some(OrderState::Start));
    assert_eq!(
        third.event.detail,
        json!({ "step_id": "step-1", "name": "install" })
    );
}

#[test]
fn a_state_other_than_pre_qualification_failed_clears_the_cause() {
    let mut o = order();
    o.prequalification_failed(crate::model::PqfCause::Feasibility);
    to(&mut o, OrderState::PreQualificationFailed);
    assert!(o.view().cause.is_some());
    to(&mut o, OrderState::Submitted);
    assert_eq!(o.view().cause, None);
}

#[test]
fn suspend_and_resume_return_to_where_the_order_was() {
    let mut o = order();
    to(&mut o, OrderState::Feasibility);
    let held = o
        .operate(OperatorAction::Suspend, None, Holder::Operator, AT)
        .unwrap();
    assert_eq!(held.to, Some(OrderState::Suspended));
    apply(&mut o, held);
    assert!(o.suspended());
    let back = o
        .operate(OperatorAction::Resume, None, Holder::Operator, AT)
        .unwrap();
    assert_eq!(back.to, Some(OrderState::Feasibility));
    apply(&mut o, back);
    let refused = o
        .operate(OperatorAction::Resume, None, Holder::Operator, AT)
        .unwrap_err();
    assert_eq!(refused.code, RuleCode::NotSuspended);
}

#[test]
fn a_failed_call_parks_the_order_and_a_retry_gets_a_fresh_key() {
    let mut o = order();
    to(&mut o, OrderState::PlanDevelopment);
    let key = o.call("order/acme/o-1", Stage("plan")).idempotency_key;
    let parked = o.call_failed("supplier down".into());
    assert_eq!(parked.to, Some(OrderState::ErrorHandler));
    apply(&mut o, parked);
    let retry = o
        .operate(OperatorAction::Retry, None, Holder::Operator, AT)
        .unwrap();
    assert_eq!(retry.to, Some(OrderState::PlanDevelopment));
    apply(&mut o, retry);
    assert_ne!(o.call("order/acme/o-1", Stage("plan")).idempotency_key, key);
    // A plan step's call names it, whatever id the supplier chose.
    for id in ["step-2", "reserve", "ship.1"] {
        assert_eq!(o.call("w", PlanStep(id)).step_id.as_deref(), Some(id));
    }
    assert_eq!(o.call("w", Stage("plan")).step_id, None);
}

#[test]
fn a_failure_while_held_resumes_to_where_the_order_was_before_the_hold() {
    let mut o = order();
    to(&mut o, OrderState::Execution);
    let held = o
        .operate(OperatorAction::Suspend, None, Holder::Operator, AT)
        .unwrap();
    apply(&mut o, held);
    let parked = o.call_failed("boom".into());
    apply(&mut o, parked);
    let retry = o
        .operate(OperatorAction::Retry, None, Holder::Operator, AT)
        .unwrap();
    assert_eq!(retry.to, Some(OrderState::Execution));
}

#[test]
fn a_restart_amendment_takes_effect_at_once_and_discards_the_plan() {
    let mut o = order();
    executing(&mut o);
    o.view.plan.as_mut().unwrap().status = PlanStatus::Pending;
    assert_eq!(o.restarts(), 0);
    let request = amend("a-1", json!({ "notes": "ring twice" }), Some("k"));
    let Checked::New((path, document)) = o.check_amend(&request).unwrap() else {
        panic!("a new amendment");
    };
    assert_eq!(path, AmendPath::Restart);
    let change = o.open_amendment(&request, path, *document, AT);
    assert_eq!(change.event, EventType::AmendmentAccepted);
    let record = apply(&mut o, change);
    assert_eq!(record.event.request_id.as_deref(), Some("a-1"));
    assert_eq!(o.restarts(), 1);
    assert_eq!(o.view().revision, 2);
    assert_eq!(o.document().notes.as_deref(), Some("ring twice"));
    assert_eq!(
        o.view().plan.as_ref().unwrap().status,
        PlanStatus::Discarded
    );
    // The same key and changes repeat the amendment; other changes are refused.
    assert_eq!(
        o.check_amend(&request).unwrap(),
        Checked::Repeat("a-1".into())
    );
    let other = amend("a-2", json!({ "notes": "x" }), Some("k"));
    assert_eq!(
        o.check_amend(&other).unwrap_err().code,
        RuleCode::IdempotencyKeyReused
    );
}

#[test]
fn a_stale_if_match_is_refused() {
    let o = order();
    let mut request = amend("a-1", json!({ "notes": "x" }), None);
    request.expected_revision = Some(7);
    let e = o.check_amend(&request).unwrap_err();
    assert_eq!((e.code, e.http_status()), (RuleCode::RevisionMismatch, 412));
}

#[test]
fn a_patch_amendment_waits_for_the_supplier() {
    let mut o = order();
    executing(&mut o);
    let request = amend("a-1", json!({ "notes": "gate code 42" }), None);
    let Checked::New((path, document)) = o.check_amend(&request).unwrap() else {
        panic!("a new amendment");
    };
    assert_eq!(path, AmendPath::Patch);
    let change = o.open_amendment(&request, path, *document, AT);
    apply(&mut o, change);
    assert!(o.amendment_open("a-1") && !o.quiet());
    assert_eq!(
        o.view().pending_kind(),
        Some(crate::requests::PendingKind::Amendment)
    );
    assert_eq!(
        o.document().notes,
        None,
        "not applied before the supplier accepts"
    );
    let accepted = o.decide_amendment("a-1", true, None, AT).unwrap();
    assert_eq!(accepted.event, EventType::AmendmentAccepted);
    apply(&mut o, accepted);
    assert_eq!(o.document().notes.as_deref(), Some("gate code 42"));
    assert_eq!(o.amendment("a-1").unwrap().revision, Some(2));
    assert_eq!(o.view().pending_request, None);
    assert_eq!(
        o.decide_amendment("a-1", true, None, AT),
        None,
        "decided once"
    );
}

#[test]
fn a_rejected_amendment_changes_nothing() {
    let mut o = order();
    executing(&mut o);
    let request = amend("a-1", json!({ "notes": "x" }), None);
    let Checked::New((path, document)) = o.check_amend(&request).unwrap() else {
        panic!("a new amendment");
    };
    let change = o.open_amendment(&request, path, *document, AT);
    apply(&mut o, change);
    let rejected = o.decide_amendment("a-1", false, None, AT).unwrap();
    assert_eq!(rejected.event, EventType::AmendmentRejected);
    let a = o.amendment("a-1").unwrap();
    assert_eq!(a.reason.as_deref(), Some("rejected by the supplier"));
    assert_eq!(o.view().revision, 1);
}

#[test]
fn plan_steps_are_tracked() {
    let mut o = order();
    executing(&mut o);
    o.set_step(0, StepStatus::Running);
    o.set_step(9, StepStatus::Failed);
    let change = o.step_done(0, "step-1", "install");
    assert_eq!(change.event, EventType::PlanStepCompleted);
    o.plan_done();
    let plan = o.view().plan.clone().unwrap();
    assert_eq!(plan.status, PlanStatus::Done);
    assert_eq!(plan.steps[0].status, StepStatus::Done);
    assert_eq!(o.fulfilled_state(), OrderState::Complete);
    assert_eq!(subscription().fulfilled_state(), OrderState::Active);
}

#[test]
fn the_carried_state_of_older_runs_reads_back_unchanged() {
    let carried: serde_json::Value = serde_json::from_str(include_str!("carried.json")).unwrap();
    let order: Order = serde_json::from_value(carried.clone()).unwrap();
    assert_eq!(order.state(), OrderState::Active);
    assert!(order.next_schedule().is_some());
    // Unchanged but for the fields runs before them did not carry: derived as the order is
    // read (the gateway state, the amounts) or their defaults.
    let mut expected = carried;
    expected["view"]["gateway_state"] = serde_json::json!("ACTIVE");
    expected["view"]["holds"] = serde_json::json!([]);
    expected["view"]["cancelled_by"] = serde_json::Value::Null;
    expected["view"]["concurrent_amendments"] = serde_json::json!(false);
    expected["view"]["amounts"] =
        serde_json::to_value(crate::money::amounts(order.document())).unwrap();
    assert_eq!(expected["view"]["amounts"]["total"], "49.99");
    assert_eq!(serde_json::to_value(&order).unwrap(), expected);
}

#[test]
fn a_key_used_for_a_cancellation_cannot_name_an_amendment_or_a_reactivation() {
    let mut o = subscription();
    let mut c = cancel("c-1", Some("2099-01-01T00:00:00Z"));
    c.idempotency_key = Some("K1".into());
    let Checked::New(path) = o.check_cancel(&c, &[]).unwrap() else {
        panic!("a new cancellation");
    };
    let change = o.open_cancellation(&c, path, true, AT);
    apply(&mut o, change);
    // The amendment's changes are exactly the cancellation's content: still refused.
    let same_content =
        json!({ "reason": c.reason, "reason_code": null, "effective_at": c.effective_at });
    let a = amend("a-1", same_content, Some("K1"));
    let e = o.check_amend(&a).unwrap_err();
    assert_eq!(e.code, RuleCode::IdempotencyKeyReused);
    assert!(e.message.contains("a cancellation"), "{}", e.message);
    let mut r = reactivate("r-1", None);
    r.idempotency_key = Some("K1".into());
    assert_eq!(
        o.check_reactivate(&r).unwrap_err().code,
        RuleCode::IdempotencyKeyReused
    );
    // The cancellation itself, repeated, is still recognised.
    assert_eq!(
        o.check_cancel(&c, &[]).unwrap(),
        Checked::Repeat("c-1".into())
    );
}

#[test]
fn a_carried_order_keeps_the_changes_of_its_latest_settled_amendments_only() {
    let mut o = order();
    to(&mut o, OrderState::Submitted);
    let n = CARRIED_CHANGES + 5;
    for i in 0..n {
        let request = amend(&format!("a-{i}"), json!({ "notes": format!("n{i}") }), None);
        let Checked::New((path, document)) = o.check_amend(&request).unwrap() else {
            panic!("a new amendment");
        };
        let change = o.open_amendment(&request, path, *document, AT);
        apply(&mut o, change);
    }
    let carried = o.carried();
    let kept: Vec<bool> = carried
        .amendments
        .iter()
        .map(|a| !a.changes.is_null())
        .collect();
    assert_eq!(kept.iter().filter(|k| **k).count(), CARRIED_CHANGES);
    assert!(
        kept[n - CARRIED_CHANGES..].iter().all(|k| *k),
        "the latest keep theirs"
    );
    assert_eq!(carried.view(), o.view());
    assert_eq!(carried.amendments.len(), n);
}

#[test]
fn only_validation_and_transfer_carry_the_document() {
    let o = order();
    for step in ["validate", "transfer"] {
        assert_eq!(o.call("w", Stage(step)).order.as_ref(), Some(o.document()));
    }
    let others = ["feasibility", "plan", "amend/a-1", "cancel/c-1"].map(Stage);
    for what in others
        .into_iter()
        .chain([PlanStep("step-1"), PlanStep("validate-it")])
    {
        let call = o.call("w", what);
        let step = format!("{what:?}");
        assert_eq!(call.order, None, "{step}");
        assert_eq!(call.supplier_order_id(), "acme:o-1");
        assert_eq!(call.order_json()["order_ref"], "PO-1");
        assert_eq!(call.order_json()["order_id"], "o-1");
    }
    // A call scheduled before (the whole document, no ids) still names its order.
    let mut old = serde_json::to_value(o.call("w", Stage("validate"))).unwrap();
    old.as_object_mut().unwrap().remove("supplier_order_id");
    let old: SupplierCall = serde_json::from_value(old).unwrap();
    assert_eq!(old.supplier_order_id(), "acme:o-1");
}
