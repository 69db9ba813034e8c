//! Cancellations by path, supplier answers, the supplier's own changes, and what is left
//! open when the order ends.

use super::*;
use crate::commands::{SupplierAmendment, SupplierCancel};
use crate::requests::ResponseCode;

fn codes() -> Vec<String> {
    crate::cancellation::DEFAULT_UNSOLICITED_REASON_CODES
        .map(String::from)
        .to_vec()
}

fn open_cancel(o: &mut Order, request: &CancelRequest, later: bool) -> RecordInput {
    let Checked::New(path) = o.check_cancel(request, &codes()).unwrap() else {
        panic!("a new cancellation");
    };
    let change = o.open_cancellation(request, path, later, AT);
    apply(o, change)
}

#[test]
fn an_order_the_supplier_never_had_is_cancelled_at_once() {
    let mut o = order();
    to(&mut o, OrderState::Submitted);
    let record = open_cancel(&mut o, &cancel("c-1", None), false);
    assert_eq!(record.event.event_type, EventType::CancellationAccepted);
    assert_eq!(o.state(), OrderState::Cancelled);
    assert_eq!(o.view().state_reason.as_deref(), Some("no longer needed"));
    assert!(o.halted());
    let c = o.cancellation("c-1").unwrap();
    assert_eq!(
        (c.path, c.state),
        (CancelPath::Consumer, RequestState::Accepted)
    );
    assert_eq!(
        c.event_uuid.as_deref(),
        Some(record.event.event_uuid.as_str())
    );
    assert_eq!(record.requests.len(), 1);
}

#[test]
fn a_transferred_order_asks_the_supplier() {
    let mut o = order();
    o.transferred();
    to(&mut o, OrderState::Execution);
    let record = open_cancel(&mut o, &cancel("c-1", None), false);
    assert_eq!(record.event.event_type, EventType::CancellationPending);
    assert_eq!(o.state(), OrderState::Execution);
    assert!(o.cancellation_open("c-1"));
    assert_eq!(
        o.view().pending_kind(),
        Some(crate::requests::PendingKind::Cancellation)
    );
    assert_eq!(
        o.check_cancel(&cancel("c-2", None), &codes())
            .unwrap_err()
            .code,
        RuleCode::RequestInProgress
    );
    let accepted = o.decide_cancellation("c-1", true, None, AT).unwrap();
    assert_eq!(accepted.event, EventType::CancellationAccepted);
    assert_eq!(
        accepted.detail.to_json()["response_code"],
        json!("AP"),
        "tenants read the supplier's code"
    );
    apply(&mut o, accepted);
    assert_eq!(o.state(), OrderState::Cancelled);
    let c = o.cancellation("c-1").unwrap();
    assert_eq!(c.response_code, Some(ResponseCode::Accepted));
}

#[test]
fn a_rejected_cancellation_leaves_the_order_as_it_was() {
    let mut o = order();
    o.transferred();
    to(&mut o, OrderState::Execution);
    open_cancel(&mut o, &cancel("c-1", None), false);
    let rejected = o
        .decide_cancellation("c-1", false, Some("too late".into()), AT)
        .unwrap();
    assert_eq!(rejected.to, None);
    apply(&mut o, rejected);
    assert_eq!(o.state(), OrderState::Execution);
    let c = o.cancellation("c-1").unwrap();
    assert_eq!(c.decision_reason.as_deref(), Some("too late"));
    assert_eq!(c.response_code, Some(ResponseCode::Rejected));
    assert!(o.quiet());
}

#[test]
fn a_cancellation_needs_a_reason() {
    let mut request = cancel("c-1", None);
    request.reason = "  ".into();
    let e = order().check_cancel(&request, &codes()).unwrap_err();
    assert_eq!((e.code, e.http_status()), (RuleCode::ReasonRequired, 422));
}

#[test]
fn the_supplier_cancels_once_and_never_an_ended_order() {
    let mut o = order();
    let cancel = SupplierCancel {
        callback_id: "cb-1".into(),
        reason: None,
    };
    assert!(o.first_sight("cb-1") && !o.first_sight("cb-1"));
    let change = o.supplier_cancelled(&cancel).unwrap();
    assert_eq!(change.reason.as_deref(), Some("cancelled by the supplier"));
    assert_eq!(
        change.detail.to_json(),
        json!({ "reason": null, "callback_id": "cb-1" })
    );
    apply(&mut o, change);
    assert_eq!(o.supplier_cancelled(&cancel), None);
}

#[test]
fn supplier_changes_apply_when_they_merge() {
    let mut o = order();
    let good = SupplierAmendment {
        callback_id: "cb-1".into(),
        changes: json!({ "notes": "moved" }),
        reason: None,
    };
    let change = o.supplier_amended(&good).unwrap();
    assert_eq!(change.event, EventType::OrderAmendedBySupplier);
    assert_eq!(o.view().revision, 2);
    let bad = SupplierAmendment {
        changes: json!({ "order_id": "other" }),
        ..good
    };
    assert_eq!(o.supplier_amended(&bad), None);
    assert_eq!(o.view().revision, 2);
}

#[test]
fn what_is_open_when_the_order_ends_is_superseded_one_by_one() {
    let mut o = order();
    o.transferred();
    executing_with_patch(&mut o);
    open_cancel(&mut o, &cancel("c-1", None), false);
    to(&mut o, OrderState::Withdrawn);
    let first = o.supersede_next(AT).unwrap();
    assert_eq!(first.event, EventType::AmendmentSuperseded);
    let second = o.supersede_next(AT).unwrap();
    assert_eq!(second.event, EventType::CancellationSuperseded);
    apply(&mut o, second);
    assert_eq!(o.supersede_next(AT), None);
    let c = o.cancellation("c-1").unwrap();
    assert_eq!(
        c.decision_reason.as_deref(),
        Some("the order reached WITHDRAWN first")
    );
}

fn executing_with_patch(o: &mut Order) {
    to(o, OrderState::Execution);
    o.adopt_plan(&PlanProposal {
        plan_id: "p".into(),
        steps: vec![],
    });
    let request = super::amend("a-1", json!({ "notes": "x" }), None);
    let Checked::New((path, document)) = o.check_amend(&request).unwrap() else {
        panic!("a new amendment");
    };
    let change = o.open_amendment(&request, path, *document, AT);
    apply(o, change);
}
