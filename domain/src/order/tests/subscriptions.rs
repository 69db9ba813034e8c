//! A subscription's schedules: a cancellation or reactivation now or later, a new schedule
//! replacing the old one, and a schedule falling due.

use super::*;

fn codes() -> Vec<String> {
    crate::cancellation::DEFAULT_UNSOLICITED_REASON_CODES
        .map(String::from)
        .to_vec()
}

const LATER: &str = "2026-12-01T00:00:00.000Z";

fn schedule_cancel(o: &mut Order, id: &str, later: bool) -> RecordInput {
    let request = cancel(id, later.then_some(LATER));
    let Checked::New(path) = o.check_cancel(&request, &codes()).unwrap() else {
        panic!("a new cancellation");
    };
    assert_eq!(path, CancelPath::Subscription);
    let change = o.open_cancellation(&request, path, later, AT);
    apply(o, change)
}

#[test]
fn a_subscription_deactivates_now_or_later() {
    let mut now = subscription();
    let record = schedule_cancel(&mut now, "c-1", false);
    assert_eq!(record.event.event_type, EventType::OrderDeactivated);
    assert_eq!(now.state(), OrderState::Inactive);

    let mut later = subscription();
    let record = schedule_cancel(&mut later, "c-1", true);
    assert_eq!(record.event.event_type, EventType::CancellationScheduled);
    assert_eq!(later.state(), OrderState::Active);
    let scheduled = later.view().scheduled_cancellation.clone().unwrap();
    assert_eq!(scheduled.effective_at.as_deref(), Some(LATER));
    assert_eq!(later.next_schedule(), Some(("c-1".into(), LATER.into())));
    assert!(
        later.quiet(),
        "a schedule does not keep the run from continuing as new"
    );

    let due = later.fire_schedule("c-1", LATER).unwrap();
    assert_eq!(due.event, EventType::OrderDeactivated);
    apply(&mut later, due);
    assert_eq!(later.state(), OrderState::Inactive);
    assert_eq!(later.next_schedule(), None);
    assert_eq!(later.fire_schedule("c-1", LATER), None, "fires once");
}

#[test]
fn a_new_schedule_replaces_the_old_one() {
    let mut o = subscription();
    schedule_cancel(&mut o, "c-1", true);
    let record = schedule_cancel(&mut o, "c-2", true);
    assert_eq!(record.requests.len(), 2);
    assert_eq!(
        record.event.detail["superseded"],
        json!({ "kind": "CANCELLATION", "id": "c-1" })
    );
    assert_eq!(
        o.cancellation("c-1").unwrap().state,
        RequestState::Superseded
    );
    assert_eq!(o.next_schedule().map(|(id, _)| id).as_deref(), Some("c-2"));
}

#[test]
fn a_reactivation_removes_a_scheduled_cancellation() {
    let mut o = subscription();
    schedule_cancel(&mut o, "c-1", true);
    assert!(o.check_reactivate(&reactivate("r-1", None)).is_ok());
    let change = o.open_reactivation(&reactivate("r-1", None), false, AT);
    assert_eq!(change.event, EventType::ScheduledCancellationRemoved);
    apply(&mut o, change);
    assert_eq!(o.state(), OrderState::Active);
    assert_eq!(o.view().scheduled_cancellation, None);
}

#[test]
fn an_inactive_subscription_reactivates_now_or_later() {
    let mut o = subscription();
    schedule_cancel(&mut o, "c-1", false);
    let change = o.open_reactivation(&reactivate("r-1", Some(LATER)), true, AT);
    assert_eq!(change.event, EventType::ReactivationScheduled);
    apply(&mut o, change);
    assert_eq!(
        o.view().pending_kind(),
        Some(crate::requests::PendingKind::Reactivation)
    );
    // Cancelling an INACTIVE subscription removes its scheduled reactivation.
    let record = schedule_cancel(&mut o, "c-2", false);
    assert_eq!(
        record.event.event_type,
        EventType::ScheduledReactivationRemoved
    );
    assert_eq!(
        o.reactivation("r-1").unwrap().state,
        RequestState::Superseded
    );
    assert_eq!(o.view().pending_request, None);

    let change = o.open_reactivation(&reactivate("r-2", None), false, AT);
    assert_eq!(change.to, Some(OrderState::Active));
}

#[test]
fn every_deactivation_and_reactivation_that_takes_effect_is_told_to_the_supplier() {
    use crate::order::NoticeKind;
    let mut o = subscription();
    // Scheduled: nothing to tell yet.
    schedule_cancel(&mut o, "c-1", true);
    assert_eq!(o.next_notice(), None);
    let due = o.fire_schedule("c-1", LATER).unwrap();
    apply(&mut o, due);
    let n = o.next_notice().cloned().unwrap();
    assert_eq!(
        (n.kind, n.request_id.as_str()),
        (NoticeKind::Deactivate, "c-1")
    );
    assert_eq!(n.step(), "deactivate/c-1");
    assert!(!o.quiet(), "the run waits for the supplier to be told");
    // Reactivated now, before the first notice went: both, in order.
    let change = o.open_reactivation(&reactivate("r-1", None), false, AT);
    apply(&mut o, change);
    o.notice_delivered("c-1");
    let n = o.next_notice().cloned().unwrap();
    assert_eq!(
        (n.kind, n.request_id.as_str()),
        (NoticeKind::Reactivate, "r-1")
    );
    // A refusal is recorded; the order stays as the tenant asked.
    let failed = o
        .notice_failed("r-1", "the supplier refused".into())
        .unwrap();
    assert_eq!(failed.event, EventType::SupplierNoticeFailed);
    let record = apply(&mut o, failed);
    assert_eq!(record.event.detail["notice"], "REACTIVATE");
    assert_eq!(o.state(), OrderState::Active);
    assert_eq!(o.next_notice(), None);
    assert!(o.quiet());
    assert_eq!(o.notice_failed("r-1", "again".into()), None);
}

#[test]
fn a_scheduled_reactivation_is_the_next_schedule_until_it_fires() {
    let mut o = subscription();
    schedule_cancel(&mut o, "c-1", false);
    let change = o.open_reactivation(&reactivate("r-1", Some(LATER)), true, AT);
    apply(&mut o, change);
    assert_eq!(o.next_schedule(), Some(("r-1".into(), LATER.into())));
    let due = o.fire_schedule("r-1", LATER).unwrap();
    apply(&mut o, due);
    assert_eq!(o.state(), OrderState::Active);
    assert_eq!(
        o.next_schedule(),
        None,
        "a settled reactivation is no schedule"
    );
}

#[test]
fn a_key_repeats_a_cancellation_or_a_reactivation_only_with_the_same_content() {
    let mut o = subscription();
    let mut c = cancel("c-1", Some(LATER));
    c.idempotency_key = Some("K1".into());
    let Checked::New(path) = o.check_cancel(&c, &codes()).unwrap() else {
        panic!("a new cancellation");
    };
    let change = o.open_cancellation(&c, path, true, AT);
    apply(&mut o, change);
    let reused = |o: &Order, other: CancelRequest| o.check_cancel(&other, &codes());
    for other in [
        CancelRequest {
            reason: "moving house".into(),
            ..cancel("c-2", Some(LATER))
        },
        cancel("c-2", Some("2027-01-01T00:00:00.000Z")),
        CancelRequest {
            reason_code: Some("CUSTOMER_RETAINED".into()),
            ..cancel("c-2", Some(LATER))
        },
    ] {
        let other = CancelRequest {
            idempotency_key: Some("K1".into()),
            ..other
        };
        let e = reused(&o, other).unwrap_err();
        assert_eq!(e.code, RuleCode::IdempotencyKeyReused);
    }

    // A reactivation removes the schedule; its key repeats it, and only it.
    let mut r = reactivate("r-1", None);
    r.idempotency_key = Some("K2".into());
    let change = o.open_reactivation(&r, false, AT);
    apply(&mut o, change);
    assert_eq!(
        o.check_reactivate(&r).unwrap(),
        Checked::Repeat("r-1".into())
    );
    let other = ReactivateRequest {
        reason: Some("changed my mind".into()),
        ..r.clone()
    };
    let e = o.check_reactivate(&other).unwrap_err();
    assert_eq!(e.code, RuleCode::IdempotencyKeyReused);
    let e = o.check_amend(&amend("a-1", json!({ "notes": "x" }), Some("K2")));
    let e = e.unwrap_err();
    assert_eq!(e.code, RuleCode::IdempotencyKeyReused);
    assert!(
        e.message
            .contains("used for a reactivation, not an amendment"),
        "{}",
        e.message
    );
}

#[test]
fn notices_are_named_in_messages_and_can_be_dropped() {
    use crate::order::NoticeKind;
    assert_eq!(NoticeKind::Deactivate.noun(), "deactivation");
    assert_eq!(NoticeKind::Reactivate.noun(), "reactivation");
    let mut o = subscription();
    schedule_cancel(&mut o, "c-1", false);
    assert_eq!(
        o.next_notice().map(|n| n.kind),
        Some(NoticeKind::Deactivate)
    );
    o.drop_notices();
    assert_eq!(o.next_notice(), None);
    assert!(o.quiet());
}
