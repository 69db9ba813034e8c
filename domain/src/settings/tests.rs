//! The settings an order keeps: what a run recorded before a setting existed reads back as.
use super::*;

#[test]
fn settings_recorded_before_a_field_existed_read_back_with_its_default() {
    let old = serde_json::json!({
        "supplier_call_timeout_secs": 30,
        "supplier_max_attempts": 3,
        "supplier_initial_interval_ms": 500,
        "supplier_max_interval_ms": 5_000,
    });
    let s: WorkflowSettings = serde_json::from_value(old).unwrap();
    assert_eq!(s.supplier_call_timeout_secs, 30, "what was recorded stays");
    assert_eq!(s.supplier_heartbeat_timeout_secs, 5);
    assert_eq!(s.amendment_answer_timeout_secs, 7 * 24 * 60 * 60, "a week");
    assert_eq!(s.cancellation_answer_timeout_secs, 604_800);
    assert_eq!(s.amendment_reply_wait_ms, 3_000);
    assert_eq!(s.continue_as_new_after_events, 2_000);
    assert_eq!(
        s.unsolicited_cancel_reason_codes,
        ["CUSTOMER_RETAINED", "RAISED_IN_ERROR"]
    );
    assert!(!s.concurrent_amendments);
    let defaults = WorkflowSettings::default();
    assert_eq!(
        WorkflowSettings {
            supplier_call_timeout_secs: 60,
            supplier_max_attempts: 12,
            supplier_initial_interval_ms: 1_000,
            supplier_max_interval_ms: 60_000,
            ..s
        },
        defaults
    );
}
