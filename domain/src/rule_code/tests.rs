//! Rule codes: wire names, HTTP statuses, and the JSON a validator sends.

use super::*;

#[test]
fn codes_serialize_as_their_wire_names() {
    for code in RuleCode::ALL {
        assert_eq!(
            serde_json::to_value(code).unwrap(),
            serde_json::json!(code.as_str())
        );
    }
}

#[test]
fn every_code_has_its_http_status() {
    use RuleCode::*;
    let table = [
        (NotAmendable, 409),
        (RequestInProgress, 409),
        (OrderRefMismatch, 422),
        (LineCancelNotAllowed, 422),
        (FieldNotAmendable, 422),
        (ImmutableField, 422),
        (UnknownField, 422),
        (InvalidChanges, 422),
        (ValidationFailed, 422),
        (RevisionMismatch, 412),
        (IdempotencyKeyReused, 422),
        (NotSuspendable, 409),
        (NotSuspended, 409),
        (NotRetryable, 409),
        (NotWithdrawable, 409),
        (NotCancellable, 409),
        (NotReactivatable, 409),
        (ReasonCodeNotAllowed, 409),
        (ScheduleNotAllowed, 422),
        (ReasonRequired, 422),
        (Rejected, 409),
        (RequestClosed, 409),
        (HeldByOperator, 409),
        (HeldBySupplier, 409),
        (UseRequestCancelation, 409),
        (UseCancelByConsumer, 409),
    ];
    assert_eq!(table.len(), RuleCode::ALL.len());
    for (code, status) in table {
        assert_eq!(code.http_status(), status, "{code}");
    }
}

#[test]
fn rule_error_round_trips_through_a_wrapped_message() {
    let e = RuleError::new(RuleCode::NotRetryable, "nope {x}");
    let wrapped = format!("Update rejected: {}", e.to_json());
    assert_eq!(RuleError::from_message(&wrapped), Some(e));
    assert_eq!(RuleError::from_message("plain text"), None);
}

#[test]
fn a_rule_error_reads_as_its_code_and_message() {
    let e = RuleError::new(RuleCode::NotAmendable, "order o-1 is COMPLETE");
    assert_eq!(RuleCode::NotAmendable.to_string(), "NOT_AMENDABLE");
    assert_eq!(e.to_string(), "NOT_AMENDABLE: order o-1 is COMPLETE");
}
