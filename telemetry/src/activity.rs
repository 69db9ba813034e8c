//! A span around every activity with the order it works for, so that each log line and
//! span of an activity (supplier call, store write) names the order, its tenant and its
//! workflow. Registered as a client plugin after the SDK's OpenTelemetry plugin, it runs
//! inside that plugin's `RunActivity` span and so continues the order's trace.

use std::sync::Arc;
use temporalio_sdk::SimplePlugin;
use temporalio_sdk::interceptors::{
    ActivityInboundInterceptor, ExecuteActivityInput, ExecuteActivityOutput, Next,
};
use tracing::Instrument;

struct OrderSpan;

impl ActivityInboundInterceptor for OrderSpan {
    fn execute_activity<'a>(
        &'a self,
        input: ExecuteActivityInput,
        next: Next<'a, ExecuteActivityInput, ExecuteActivityOutput<'a>>,
    ) -> ExecuteActivityOutput<'a> {
        let info = input.activity_info();
        let activity = info.activity_type.clone();
        let attempt = info.attempt;
        let workflow_id = info.workflow_id.clone().unwrap_or_default();
        // The span starts when the returned future is first polled: the SDK plugin polls it
        // inside `RunActivity`'s context, which is then the span's parent.
        Box::pin(async move {
            let (tenant_id, order_id) = order_of(&workflow_id);
            let span = tracing::info_span!(
                "activity",
                otel.name = %activity,
                activity = %activity,
                attempt,
                tenant_id = %tenant_id,
                order_id = %order_id,
                workflow_id = %workflow_id,
            );
            next.run(input).instrument(span).await
        })
    }
}

/// `(tenant_id, order_id)` of an order workflow id `order/{tenant}/{order}`.
pub(crate) fn order_of(workflow_id: &str) -> (&str, &str) {
    let mut parts = workflow_id.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("order"), Some(tenant), Some(order)) => (tenant, order),
        _ => ("", ""),
    }
}

pub(crate) fn plugin() -> SimplePlugin {
    SimplePlugin::builder("orderflow-activity-span")
        .activity_inbound_interceptors(vec![
            Arc::new(OrderSpan) as Arc<dyn ActivityInboundInterceptor>
        ])
        .build()
}

#[cfg(test)]
mod tests {
    #[test]
    fn orders_are_read_from_workflow_ids() {
        assert_eq!(super::order_of("order/acme/PO-1"), ("acme", "PO-1"));
        assert_eq!(super::order_of("elsewhere"), ("", ""));
    }
}
