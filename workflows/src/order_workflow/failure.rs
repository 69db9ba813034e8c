//! What a failed supplier call is recorded as: the activity's own message, which the
//! activities write for tenants (`supplier sim answered 422 to POST …: its reason`), never
//! the SDK's wrapper text ("Activity task failed"), which says nothing to a tenant.

use temporalio_sdk::ActivityExecutionError;

/// The reason a supplier call failed, for the order's events and `state_reason`.
pub(super) fn call_failure(error: &ActivityExecutionError) -> String {
    if error.as_timeout().is_some() {
        return "the supplier did not answer in time".to_string();
    }
    match error.reason() {
        Some(cause) if !cause.failure().message.is_empty() => cause.failure().message.clone(),
        _ => "the supplier call failed".to_string(),
    }
}
