//! The requests' wire names, how a supplier's answer reads, and what a request says about itself.
use super::*;

#[test]
fn only_ap_and_re_or_accept_and_reject_are_final_answers() {
    assert_eq!(ResponseCode::decided("AP"), Some(ResponseCode::Accepted));
    assert_eq!(ResponseCode::decided("RE"), Some(ResponseCode::Rejected));
    assert_eq!(
        AmendDecision::decided("ACCEPT"),
        Some(AmendDecision::Accept)
    );
    assert_eq!(
        AmendDecision::decided("REJECT"),
        Some(AmendDecision::Reject)
    );
    for other in ["", "ap", "PENDING", "ACCEPT "] {
        assert_eq!(ResponseCode::decided(other), None, "{other:?}");
        assert_eq!(AmendDecision::decided(other), None, "{other:?}");
    }
}

#[test]
fn request_states_are_named_as_on_the_wire() {
    use RequestState::*;
    for state in [
        Pending, Accepted, Rejected, Superseded, Scheduled, Expired, Failed,
    ] {
        assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
    }
}

#[test]
fn a_request_tells_when_and_why_it_was_asked() {
    let c = Cancellation {
        cancellation_id: "c-1".into(),
        state: RequestState::Pending,
        path: CancelPath::Supplier,
        response_code: None,
        reason: "moving house".into(),
        reason_code: None,
        effective_at: None,
        requested_at: "2026-11-23T12:00:00.000Z".into(),
        decided_at: None,
        decision_reason: None,
        event_uuid: None,
        late: false,
        actor: None,
        idempotency_key: None,
    };
    let c = OrderRequest::Cancellation(c);
    assert_eq!(c.requested_at(), "2026-11-23T12:00:00.000Z");
    assert_eq!(c.reason().as_deref(), Some("moving house"));
    let r = Reactivation {
        reactivation_id: "r-1".into(),
        state: RequestState::Scheduled,
        reason: None,
        effective_at: Some("2026-12-01T00:00:00.000Z".into()),
        requested_at: "2026-11-24T08:00:00.000Z".into(),
        decided_at: None,
        decision_reason: None,
        event_uuid: None,
        actor: None,
        idempotency_key: None,
    };
    let mut r = OrderRequest::Reactivation(r);
    assert_eq!(r.requested_at(), "2026-11-24T08:00:00.000Z");
    assert_eq!(r.reason(), None);
    let OrderRequest::Reactivation(inner) = &mut r else {
        unreachable!()
    };
    inner.reason = Some("back from abroad".into());
    assert_eq!(r.reason().as_deref(), Some("back from abroad"));
}
