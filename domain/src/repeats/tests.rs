use super::*;
use crate::requests::{Cancellation, Reactivation, RequestState};

fn cancellation(key: Option<&str>) -> OrderRequest {
    let json = json!({
        "cancellation_id": "c-1", "state": "ACCEPTED", "path": "SUBSCRIPTION",
        "response_code": null, "reason": "pause", "reason_code": null, "effective_at": null,
        "requested_at": "2026-12-01T00:00:00.000Z", "decided_at": null, "decision_reason": null,
        "event_uuid": "e-1", "idempotency_key": key,
    });
    let c: Cancellation = serde_json::from_value(json).unwrap();
    assert_eq!(c.state, RequestState::Accepted);
    OrderRequest::Cancellation(c)
}

fn reactivation(key: &str) -> OrderRequest {
    let json = json!({
        "reactivation_id": "r-1", "state": "SCHEDULED", "reason": null,
        "effective_at": "2099-01-01T00:00:00Z", "requested_at": "2026-12-01T00:00:00.000Z",
        "decided_at": null, "decision_reason": null, "event_uuid": "e-2", "idempotency_key": key,
    });
    let r: Reactivation = serde_json::from_value(json).unwrap();
    OrderRequest::Reactivation(r)
}

#[test]
fn a_retry_after_the_order_ended_finds_the_request_its_key_made() {
    let stored = [cancellation(Some("k1")), reactivation("k2")];
    let same = cancel_content("pause", None, None);
    let found = repeat_after_end(&stored, "k1", PendingKind::Cancellation, &same).unwrap();
    assert_eq!(found.map(OrderRequest::id), Some("c-1"));
    let later = reactivate_content(None, Some("2099-01-01T00:00:00Z"));
    let found = repeat_after_end(&stored, "k2", PendingKind::Reactivation, &later).unwrap();
    assert_eq!(found.map(OrderRequest::id), Some("r-1"));
    // A key no request was made with: a new request, for the rules.
    let none = repeat_after_end(&stored, "k3", PendingKind::Cancellation, &same).unwrap();
    assert_eq!(none, None);
}

#[test]
fn a_key_reused_with_other_content_or_for_another_kind_is_refused() {
    let stored = [
        cancellation(Some("k1")),
        reactivation("k2"),
        cancellation(None),
    ];
    let other = cancel_content("other", None, None);
    let e = repeat_after_end(&stored, "k1", PendingKind::Cancellation, &other).unwrap_err();
    assert_eq!(e.code, RuleCode::IdempotencyKeyReused);
    assert!(e.message.contains("cancellation c-1"), "{}", e.message);
    let coded = cancel_content("pause", Some("CUSTOMER_RETAINED"), None);
    assert!(repeat_after_end(&stored, "k1", PendingKind::Cancellation, &coded).is_err());
    let same = reactivate_content(None, Some("2099-01-01T00:00:00Z"));
    let e = repeat_after_end(&stored, "k2", PendingKind::Cancellation, &same).unwrap_err();
    assert_eq!(e.code, RuleCode::IdempotencyKeyReused);
}
