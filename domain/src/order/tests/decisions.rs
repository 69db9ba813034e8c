//! Requests the supplier never decided: EXPIRED or FAILED without an invented answer, late
//! decisions that still count, and decisions on requests that can no longer change.

use super::*;
use crate::actor::ActorType;
use crate::gateway::GatewayState;
use crate::requests::{ResponseCode, Timing, check_decision};
use crate::rule_code::RuleCode;

fn codes() -> Vec<String> {
    crate::cancellation::DEFAULT_UNSOLICITED_REASON_CODES
        .map(String::from)
        .to_vec()
}

/// A transferred, executing order with cancellation `c-1` PENDING at the supplier.
fn pending_cancellation() -> Order {
    let mut o = order();
    o.transferred();
    executing(&mut o);
    let Checked::New(path) = o.check_cancel(&cancel("c-1", None), &codes()).unwrap() else {
        panic!("a new cancellation");
    };
    let change = o.open_cancellation(&cancel("c-1", None), path, false, AT);
    apply(&mut o, change);
    o
}

/// An executing order with PATCH amendment `a-1` (notes) PENDING at the supplier.
fn pending_amendment() -> Order {
    let mut o = order();
    executing(&mut o);
    let request = amend("a-1", json!({ "notes": "gate code 42" }), None);
    let Checked::New((path, document)) = o.check_amend(&request).unwrap() else {
        panic!("a new amendment");
    };
    let change = o.open_amendment(&request, path, *document, AT);
    apply(&mut o, change);
    o
}

#[test]
fn an_unanswered_cancellation_expires_without_a_response_code_and_the_order_carries_on() {
    let mut o = pending_cancellation();
    let why = "the supplier did not answer within 6 s".to_string();
    let change = o
        .lapse_cancellation("c-1", Lapse::Expired, why, AT)
        .unwrap();
    assert_eq!(
        (change.event, change.to),
        (EventType::CancellationExpired, None)
    );
    apply(&mut o, change);
    let c = o.cancellation("c-1").unwrap();
    assert_eq!((c.state, c.response_code), (RequestState::Expired, None));
    assert!(
        c.decision_reason
            .as_deref()
            .unwrap()
            .contains("did not answer")
    );
    assert_eq!(o.state(), OrderState::Execution);
    assert_eq!(o.view().pending_request, None, "no longer pending");
    assert!(o.quiet());
    // A new cancellation may be made now.
    assert!(o.check_cancel(&cancel("c-2", None), &codes()).is_ok());
    assert_eq!(
        o.lapse_cancellation("c-1", Lapse::Failed, "again".into(), AT),
        None,
        "only a PENDING request lapses"
    );
}

#[test]
fn a_late_ap_cancels_the_order_and_is_marked_late() {
    let mut o = pending_cancellation();
    let change = o
        .lapse_cancellation("c-1", Lapse::Expired, "late".into(), AT)
        .unwrap();
    apply(&mut o, change);
    assert!(o.takes_cancellation_decision("c-1"));
    let accepted = o.decide_cancellation("c-1", true, None, AT).unwrap();
    assert_eq!(accepted.to, Some(OrderState::Cancelled));
    apply(&mut o, accepted);
    let c = o.cancellation("c-1").unwrap();
    assert_eq!(c.state, RequestState::Accepted);
    assert_eq!(c.response_code, Some(ResponseCode::Accepted));
    assert!(c.late);
    assert_eq!(c.decision_reason, None);
    assert_eq!(o.state(), OrderState::Cancelled);
    // Decided: nothing more is taken.
    assert!(!o.takes_cancellation_decision("c-1"));
    assert_eq!(o.decide_cancellation("c-1", false, None, AT), None);
}

#[test]
fn a_failed_cancellation_takes_no_decision() {
    let mut o = pending_cancellation();
    let why = "the supplier could not take the cancellation".to_string();
    let change = o.lapse_cancellation("c-1", Lapse::Failed, why, AT).unwrap();
    assert_eq!(change.event, EventType::CancellationFailed);
    apply(&mut o, change);
    assert_eq!(o.cancellation("c-1").unwrap().state, RequestState::Failed);
    assert!(!o.takes_cancellation_decision("c-1"));
    assert_eq!(o.decide_cancellation("c-1", true, None, AT), None);
    assert_eq!(o.state(), OrderState::Execution);
}

#[test]
fn an_expired_cancellation_on_an_ended_order_is_closed() {
    let mut o = pending_cancellation();
    let change = o
        .lapse_cancellation("c-1", Lapse::Expired, "late".into(), AT)
        .unwrap();
    apply(&mut o, change);
    to(&mut o, OrderState::Complete);
    assert!(!o.takes_cancellation_decision("c-1"));
    assert_eq!(o.decide_cancellation("c-1", true, None, AT), None);
    assert_eq!(o.state(), OrderState::Complete);
}

#[test]
fn a_late_amendment_acceptance_applies_while_its_fields_may_change() {
    let mut o = pending_amendment();
    let change = o
        .lapse_amendment("a-1", Lapse::Expired, "late".into(), AT)
        .unwrap();
    assert_eq!(change.event, EventType::AmendmentExpired);
    apply(&mut o, change);
    assert_eq!(o.view().pending_request, None);
    let accepted = o.decide_amendment("a-1", true, None, AT).unwrap();
    assert_eq!(accepted.event, EventType::AmendmentAccepted);
    apply(&mut o, accepted);
    let a = o.amendment("a-1").unwrap();
    assert_eq!(
        (a.state, a.late, a.reason.as_deref()),
        (RequestState::Accepted, true, None)
    );
    assert_eq!(o.document().notes.as_deref(), Some("gate code 42"));
}

#[test]
fn a_late_amendment_acceptance_after_the_plan_finished_is_not_applied() {
    let mut o = pending_amendment();
    let change = o
        .lapse_amendment("a-1", Lapse::Expired, "late".into(), AT)
        .unwrap();
    apply(&mut o, change);
    let done = o.step_done(0, "step-1", "install");
    apply(&mut o, done);
    o.plan_done();
    assert_eq!(o.view().plan.as_ref().unwrap().status, PlanStatus::Done);
    let e =
        crate::amendment::late_acceptance(o.view(), "a-1", &json!({ "notes": "x" })).unwrap_err();
    assert_eq!(e.code, RuleCode::RequestClosed);
    assert!(
        e.message.contains("can no longer be applied"),
        "{}",
        e.message
    );
    assert_eq!(o.decide_amendment("a-1", true, None, AT), None);
    assert_eq!(o.amendment("a-1").unwrap().state, RequestState::Expired);
    // A late rejection is still recorded.
    let rejected = o.decide_amendment("a-1", false, None, AT).unwrap();
    assert_eq!(rejected.event, EventType::AmendmentRejected);
    apply(&mut o, rejected);
    assert!(o.amendment("a-1").unwrap().late);
}

#[test]
fn only_pending_and_expired_requests_take_a_decision() {
    use RequestState::*;
    for state in [
        Pending, Accepted, Rejected, Superseded, Scheduled, Expired, Failed,
    ] {
        for ended in [false, true] {
            let got = check_decision("cancellation", "c-1", state, ended);
            match (state, ended) {
                (Pending, _) => assert_eq!(got, Ok(Timing::OnTime)),
                (Expired, false) => assert_eq!(got, Ok(Timing::Late)),
                _ => {
                    let e = got.unwrap_err();
                    assert_eq!((e.code, e.http_status()), (RuleCode::RequestClosed, 409));
                    assert!(e.message.contains("c-1"), "{}", e.message);
                }
            }
        }
    }
}

/// Opens PATCH amendment `id` with `changes` on `o`, or says why not.
fn open_patch(o: &mut Order, id: &str, changes: serde_json::Value) -> Result<(), RuleCode> {
    let request = amend(id, changes, None);
    let Checked::New((path, document)) = o.check_amend(&request).map_err(|e| e.code)? else {
        panic!("a new amendment");
    };
    assert_eq!(path, AmendPath::Patch);
    let change = o.open_amendment(&request, path, *document, AT);
    apply(o, change);
    Ok(())
}

#[test]
fn concurrent_amendments_are_each_decided_and_applied_in_the_order_accepted() {
    // One at a time unless the supplier takes several.
    let mut o = pending_amendment();
    assert_eq!(
        open_patch(&mut o, "a-2", json!({ "notes": "no" })),
        Err(RuleCode::RequestInProgress)
    );

    let mut o = order().with_concurrent_amendments(true);
    executing(&mut o);
    open_patch(&mut o, "a-1", json!({ "notes": "first" })).unwrap();
    open_patch(&mut o, "a-2", json!({ "notes": "second" })).unwrap();
    open_patch(&mut o, "a-3", json!({ "requested_date": "2027-03-01" })).unwrap();
    let open: Vec<_> = o
        .pending_amendments()
        .map(|a| a.amendment_id.clone())
        .collect();
    assert_eq!(open, ["a-1", "a-2", "a-3"]);
    // The view shows the oldest, and the gateway state says an amendment is pending.
    assert!(matches!(
        &o.view().pending_request,
        Some(PendingRequest::Amendment { amendment_id, .. }) if amendment_id == "a-1"
    ));
    assert_eq!(o.view().gateway_state, GatewayState::PendingAmendment);

    // Decided out of order: each merges onto the order as it then stands.
    let accepted = o.decide_amendment("a-2", true, None, AT).unwrap();
    apply(&mut o, accepted);
    let accepted = o.decide_amendment("a-1", true, None, AT).unwrap();
    apply(&mut o, accepted);
    assert_eq!(
        o.document().notes.as_deref(),
        Some("first"),
        "accepted last"
    );
    assert_eq!(o.view().revision, 3);
    assert!(matches!(
        &o.view().pending_request,
        Some(PendingRequest::Amendment { amendment_id, .. }) if amendment_id == "a-3"
    ));
    let change = o
        .lapse_amendment("a-3", Lapse::Expired, "no answer".into(), AT)
        .unwrap();
    apply(&mut o, change);
    assert_ne!(o.document().requested_date.as_deref(), Some("2027-03-01"));
    assert_eq!(o.view().pending_request, None);
    assert_eq!(o.view().gateway_state, GatewayState::InProgress);
    assert!(o.quiet());
}

#[test]
fn every_open_amendment_is_superseded_when_the_order_ends() {
    let mut o = order().with_concurrent_amendments(true);
    executing(&mut o);
    open_patch(&mut o, "a-1", json!({ "notes": "first" })).unwrap();
    open_patch(&mut o, "a-2", json!({ "notes": "second" })).unwrap();
    to(&mut o, OrderState::Withdrawn);
    let mut superseded = Vec::new();
    while let Some(change) = o.supersede_next(AT) {
        superseded.push(change.event);
        apply(&mut o, change);
    }
    assert_eq!(superseded, [EventType::AmendmentSuperseded; 2]);
    assert_eq!(o.pending_amendments().count(), 0);
}

#[test]
fn only_a_pending_amendment_is_open_and_a_settled_one_never_lapses() {
    let mut o = pending_amendment();
    assert!(o.amendment_open("a-1") && o.takes_amendment_decision("a-1"));
    assert!(!o.amendment_open("a-9") && !o.takes_amendment_decision("a-9"));
    let rejected = o.decide_amendment("a-1", false, Some("no slot".into()), AT);
    apply(&mut o, rejected.unwrap());
    let a = o.amendment("a-1").unwrap();
    assert_eq!(
        (a.state, a.reason.as_deref()),
        (RequestState::Rejected, Some("no slot"))
    );
    assert!(!o.amendment_open("a-1") && !o.takes_amendment_decision("a-1"));
    assert_eq!(
        o.lapse_amendment("a-1", Lapse::Expired, "late".into(), AT),
        None
    );
    assert_eq!(o.amendment("a-1").unwrap().state, RequestState::Rejected);
}

#[test]
fn only_a_pending_cancellation_is_open() {
    let mut o = pending_cancellation();
    assert!(o.cancellation_open("c-1"));
    assert!(!o.cancellation_open("c-9"));
    let rejected = o.decide_cancellation("c-1", false, None, AT).unwrap();
    apply(&mut o, rejected);
    assert!(!o.cancellation_open("c-1"));
}

#[test]
fn a_cancellation_the_supplier_accepts_was_still_the_tenants() {
    let mut o = pending_cancellation();
    assert_eq!(o.view().cancelled_by, None, "not while it waits");
    let accepted = o.decide_cancellation("c-1", true, None, AT).unwrap();
    let record = apply(&mut o, accepted);
    assert_eq!(record.event.actor.unwrap().kind, ActorType::Supplier);
    assert_eq!(record.view.cancelled_by, Some(ActorType::Tenant));
}
