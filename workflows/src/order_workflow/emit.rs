//! Recording a change: the aggregate applies it, operators' view is updated, and the
//! `store.record` local activity persists the order row with its event. Every change goes
//! through [`emit`], so the event sequence has no gaps and the database never lags the
//! workflow by more than the change in flight. Also workflow time, the only clock here.

use super::OrderWorkflow;
use super::search_attributes;
use crate::activities::OrderActivities;
use orderflow_domain::Change;
use orderflow_domain::cancellation;
use std::time::Duration;
use temporalio_common::RetryPolicy;
use temporalio_sdk::{LocalActivityOptions, WorkflowContext, WorkflowResult};

/// Applies a change, updates what operators see, and persists it.
pub(super) async fn emit(
    ctx: &WorkflowContext<OrderWorkflow>,
    change: Change,
) -> WorkflowResult<()> {
    let (at, uuid) = (now(ctx), ctx.uuid4());
    let record = ctx.state_mut(|s| {
        let record = s.order.apply(change, at, uuid);
        if !s.tells_supplier {
            s.order.drop_notices();
        }
        record
    });
    search_attributes::show(ctx, &record);
    ctx.execute_local_activity(
        OrderActivities::record,
        record,
        LocalActivityOptions::builder()
            .start_to_close_timeout(Duration::from_secs(10))
            .retry_policy(
                RetryPolicy::builder()
                    .initial_interval(Duration::from_millis(200))
                    .maximum_interval(Duration::from_secs(10))
                    .build(),
            )
            .build(),
    )
    .await?;
    Ok(())
}

/// Workflow time as stored on the order (RFC 3339, milliseconds, UTC).
pub(super) fn now(ctx: &WorkflowContext<OrderWorkflow>) -> String {
    workflow_now(ctx).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(super) fn workflow_now(ctx: &WorkflowContext<OrderWorkflow>) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::from(ctx.workflow_time().unwrap_or(std::time::UNIX_EPOCH))
}

/// Is `effective_at` still ahead in workflow time?
pub(super) fn is_future(ctx: &WorkflowContext<OrderWorkflow>, effective_at: Option<&str>) -> bool {
    cancellation::is_future(effective_at, workflow_now(ctx))
}
