//! An order whose workflow is terminated from outside orderflow (as from the Web UI) is
//! reconciled: its row says TERMINATED, its events say so, gapless, and it takes no more
//! requests.

use super::*;
use temporalio_client::{UntypedWorkflow, WorkflowTerminateOptions};

#[tokio::test(flavor = "multi_thread")]
async fn a_workflow_terminated_from_outside_is_reconciled() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = running_order(stack, "terminated").await;
    terminate(stack, &id).await;
    let order = wait_state(&acme, &id, "TERMINATED", T).await;
    assert_eq!(order["previous_state"], "EXECUTION", "{order}");
    let events = events(&acme, &id).await;
    let types = assert_gapless(&events);
    assert_eq!(
        types.last().map(String::as_str),
        Some("ORDER_TERMINATED"),
        "{types:?}"
    );
    assert_eq!(events.last().unwrap()["detail"]["status"], "TERMINATED");
    // Recorded once, however many passes have run since: a second order terminated later is
    // reconciled by a later pass, and the first one's events are as they were.
    let later = running_order(stack, "terminated-later").await;
    terminate(stack, &later).await;
    wait_state(&acme, &later, "TERMINATED", T).await;
    assert_eq!(super::events(&acme, &id).await.len(), events.len());
    // An ended order takes no more requests.
    let r = acme
        .post(
            &format!("/v1/orders/{id}/cancel"),
            &json!({ "reason": "x" }),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 409, "{}", r.body);
    assert_no_internal_text(&r.body);
}

/// Terminates the order's workflow from outside orderflow, as an operator would in the Web UI.
async fn terminate(stack: &Stack, id: &str) {
    stack
        .temporal()
        .await
        .get_workflow_handle::<UntypedWorkflow>(format!("order/acme/{id}"))
        .terminate(
            WorkflowTerminateOptions::builder()
                .reason("stuck, terminated by hand".to_string())
                .build(),
        )
        .await
        .unwrap();
}
