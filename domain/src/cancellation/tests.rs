//! The cancellation and reactivation rules, state by state.
use super::*;
use crate::model::{OrderDocument, OrderType};
use crate::requests::PendingKind;

fn view(state: OrderState, transferred: bool) -> OrderView {
    let doc = OrderDocument {
        recurring: true,
        ..OrderDocument::for_test("acme", "o-1", "PO-1", "sim", OrderType::Provide)
    };
    let mut v = OrderView::received(doc, "2026-01-01T00:00:00Z".into());
    v.state = state;
    v.transferred = transferred;
    v
}

fn codes() -> Vec<String> {
    DEFAULT_UNSOLICITED_REASON_CODES.map(String::from).to_vec()
}

#[test]
fn every_state_has_one_answer() {
    use OrderState::*;
    for state in OrderState::ALL {
        for transferred in [false, true] {
            let got = cancel_path(&view(state, transferred), None, None, &codes());
            let want = match (state, transferred) {
                (Draft | Complete | Cancelled | Withdrawn | Terminated | Inactive, _) => {
                    Err(RuleCode::NotCancellable)
                }
                (Active, _) => Ok(CancelPath::Subscription),
                (_, false) => Ok(CancelPath::Consumer),
                (_, true) => Ok(CancelPath::Supplier),
            };
            assert_eq!(got.map_err(|e| e.code), want, "{state} {transferred}");
        }
    }
}

#[test]
fn an_open_cancellation_blocks_but_an_amendment_does_not() {
    let v = view(OrderState::Execution, true);
    let e = cancel_path(&v, Some(PendingKind::Cancellation), None, &codes()).unwrap_err();
    assert_eq!(e.code, RuleCode::RequestInProgress);
    assert_eq!(
        cancel_path(&v, Some(PendingKind::Amendment), None, &codes()),
        Ok(CancelPath::Supplier)
    );
}

#[test]
fn unsolicited_ceases_need_an_allowed_reason_code() {
    let mut v = view(OrderState::Execution, true);
    v.document.unsolicited = true;
    for code in [None, Some("CHANGED_MIND"), Some("customer_retained")] {
        let e = cancel_path(&v, None, code, &codes()).unwrap_err();
        assert_eq!(e.code, RuleCode::ReasonCodeNotAllowed);
        assert!(e.message.contains("CUSTOMER_RETAINED"), "{}", e.message);
    }
    for code in DEFAULT_UNSOLICITED_REASON_CODES {
        assert_eq!(
            cancel_path(&v, None, Some(code), &codes()),
            Ok(CancelPath::Supplier)
        );
    }
}

#[test]
fn inactive_with_a_scheduled_reactivation_can_drop_it() {
    let mut v = view(OrderState::Inactive, true);
    v.scheduled_reactivation = Some(crate::requests::ScheduledReactivation {
        effective_at: None,
        reactivation_id: "r".into(),
        reason: None,
    });
    assert_eq!(
        cancel_path(&v, None, None, &codes()),
        Ok(CancelPath::Subscription)
    );
    assert!(check_schedule(CancelPath::Subscription, &v).is_err());
}

#[test]
fn reactivation_rules() {
    assert!(check_reactivation(&view(OrderState::Inactive, true)).is_ok());
    let mut active = view(OrderState::Active, true);
    assert_eq!(
        check_reactivation(&active).unwrap_err().code,
        RuleCode::NotReactivatable
    );
    active.scheduled_cancellation = Some(crate::requests::ScheduledCancellation {
        cancellation_id: "c".into(),
        effective_at: None,
        reason: "r".into(),
        reason_code: None,
    });
    assert!(check_reactivation(&active).is_ok());
    for state in [
        OrderState::Execution,
        OrderState::Complete,
        OrderState::Cancelled,
    ] {
        assert_eq!(
            check_reactivation(&view(state, true)).unwrap_err().code,
            RuleCode::NotReactivatable
        );
    }
}

#[test]
fn schedules_only_for_active_subscriptions() {
    assert!(check_schedule(CancelPath::Subscription, &view(OrderState::Active, true)).is_ok());
    let e = check_schedule(CancelPath::Supplier, &view(OrderState::Execution, true)).unwrap_err();
    assert_eq!(e.code, RuleCode::ScheduleNotAllowed);
}

#[test]
fn an_effective_date_is_midnight_in_the_orders_time_zone() {
    let at = |zone| {
        effective_instant(Some("2026-12-01"), None, zone)
            .unwrap()
            .unwrap()
    };
    assert_eq!(at(None), "2026-12-01T00:00:00Z");
    assert_eq!(at(Some("Europe/Paris")), "2026-11-30T23:00:00Z");
    assert_eq!(at(Some("Pacific/Auckland")), "2026-11-30T11:00:00Z");
    assert_eq!(at(Some("America/New_York")), "2026-12-01T05:00:00Z");
    // Summer time in Paris: two hours ahead.
    let summer = effective_instant(Some("2026-07-01"), None, Some("Europe/Paris"));
    assert_eq!(summer.unwrap().unwrap(), "2026-06-30T22:00:00Z");
    // A midnight that does not exist (Santiago skips 00:00-01:00 on 2026-09-06): the day
    // starts at 01:00 local.
    let gap = effective_instant(Some("2026-09-06"), None, Some("America/Santiago"));
    assert_eq!(gap.unwrap().unwrap(), "2026-09-06T04:00:00Z");
}

#[test]
fn effective_dates_parse_to_instants() {
    assert_eq!(effective_instant(None, None, None).unwrap(), None);
    assert_eq!(
        effective_instant(Some("2026-12-01"), None, None)
            .unwrap()
            .as_deref(),
        Some("2026-12-01T00:00:00Z")
    );
    assert_eq!(
        effective_instant(None, Some("2026-12-01T10:00:00+01:00"), None)
            .unwrap()
            .as_deref(),
        Some("2026-12-01T09:00:00.000Z")
    );
    for (d, a) in [
        (Some("2026-13-01"), None),
        (Some("2026-1-1"), None),
        (None, Some("tomorrow")),
        (Some("2026-12-01"), Some("2026-12-01T00:00:00Z")),
    ] {
        assert!(effective_instant(d, a, None).is_err(), "{d:?} {a:?}");
    }
}

#[test]
fn future_is_strictly_after_now() {
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert!(is_future(Some("2026-11-23T12:00:01Z"), now));
    assert!(!is_future(Some("2026-11-23T12:00:00Z"), now));
    assert!(!is_future(Some("2026-11-23T00:00:00Z"), now));
    assert!(!is_future(None, now));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A date is midnight UTC of that day; `is_future` is strictly after "now".
        #[test]
        fn effective_dates_are_midnight_utc(y in 2000i32..2100, m in 1u32..13, d in 1u32..29, secs in 0i64..172_800) {
            let date = format!("{y:04}-{m:02}-{d:02}");
            let at = effective_instant(Some(&date), None, None).unwrap().unwrap();
            prop_assert_eq!(&at, &format!("{date}T00:00:00Z"));
            let midnight = chrono::DateTime::parse_from_rfc3339(&at).unwrap().with_timezone(&chrono::Utc);
            let now = midnight + chrono::Duration::seconds(secs - 86_400);
            prop_assert_eq!(is_future(Some(&at), now), now < midnight);
        }

        /// Instants come back in UTC with milliseconds, whatever offset they were sent with.
        #[test]
        fn effective_instants_normalise_to_utc(secs in 0i64..4_000_000_000, offset_h in -12i32..13) {
            let t = chrono::DateTime::from_timestamp(secs, 0).unwrap();
            let tz = chrono::FixedOffset::east_opt(offset_h * 3600).unwrap();
            let sent = t.with_timezone(&tz).to_rfc3339();
            let got = effective_instant(None, Some(&sent), None).unwrap().unwrap();
            prop_assert_eq!(got, t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }

        /// Every state gets exactly one answer, and a subscription state never goes to the
        /// supplier.
        #[test]
        fn cancel_paths_are_total(state in prop::sample::select(OrderState::ALL.to_vec()), transferred: bool, unsolicited: bool) {
            let mut v = view(state, transferred);
            v.document.unsolicited = unsolicited;
            let got = cancel_path(&v, None, Some("CUSTOMER_RETAINED"), &codes());
            if matches!(state, OrderState::Active) {
                prop_assert_eq!(got, Ok(CancelPath::Subscription));
            } else if let Ok(path) = got {
                prop_assert_eq!(path == CancelPath::Consumer, !transferred);
            }
        }
    }
}

#[test]
fn the_point_of_no_return_passes_when_its_step_starts() {
    use crate::model::{Plan, PlanStatus, PlanStep, StepStatus::*};
    let mut v = view(OrderState::PlanDevelopment, true);
    assert!(!v.point_of_no_return_passed(), "no plan yet");
    let step = |id: &str, ponr| PlanStep {
        step_id: id.into(),
        name: id.into(),
        status: Pending,
        point_of_no_return: ponr,
    };
    v.plan = Some(Plan {
        plan_id: "p".into(),
        status: PlanStatus::Pending,
        steps: vec![step("s1", false), step("s2", true), step("s3", false)],
    });
    assert!(!v.point_of_no_return_passed(), "planned, not executing");
    v.state = OrderState::Execution;
    assert!(!v.point_of_no_return_passed(), "step 1 runs");
    let set = |v: &mut OrderView, i: usize, s| v.plan.as_mut().unwrap().steps[i].status = s;
    set(&mut v, 0, Done);
    assert!(
        v.point_of_no_return_passed(),
        "step 2 starts as step 1 is done"
    );
    v.state = OrderState::Suspended;
    assert!(!v.point_of_no_return_passed(), "held before step 2 starts");
    set(&mut v, 1, Running);
    assert!(v.point_of_no_return_passed(), "held while step 2 runs");
    v.state = OrderState::ErrorHandler;
    set(&mut v, 1, Failed);
    assert!(
        v.point_of_no_return_passed(),
        "step 2 failed after starting"
    );
}

#[test]
fn a_cancellation_asked_for_by_name_must_be_the_path_the_rules_pick() {
    let v = view(OrderState::Submitted, false);
    let all = [
        CancelPath::Consumer,
        CancelPath::Supplier,
        CancelPath::Subscription,
    ];
    for path in all {
        // Without a name, any path goes.
        assert_eq!(check_method(&v, path, None), Ok(()));
        let consumer = check_method(&v, path, Some(CancelMethod::Consumer)).map_err(|e| e.code);
        let supplier = check_method(&v, path, Some(CancelMethod::Supplier)).map_err(|e| e.code);
        let (want_consumer, want_supplier) = match path {
            CancelPath::Consumer => (Ok(()), Err(RuleCode::UseCancelByConsumer)),
            CancelPath::Supplier | CancelPath::Subscription => {
                (Err(RuleCode::UseRequestCancelation), Ok(()))
            }
        };
        assert_eq!(consumer, want_consumer, "{path:?}");
        assert_eq!(supplier, want_supplier, "{path:?}");
    }
    let e = check_method(&v, CancelPath::Supplier, Some(CancelMethod::Consumer)).unwrap_err();
    assert!(e.message.contains("request a cancelation"), "{}", e.message);
    assert_eq!(e.code.http_status(), 409);
}
