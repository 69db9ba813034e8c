//! Telling the supplier of a subscription's deactivations and reactivations (seeds/004): the
//! order changes at once, as the tenant asked; the supplier, who runs and bills the service,
//! is told afterwards, one notice at a time in order, each retried like every supplier call
//! under a key of its own (`{workflow_id}/r{revision}/deactivate/{request_id}`). A notice the
//! supplier refuses, or that cannot be delivered, is recorded as `SUPPLIER_NOTICE_FAILED`
//! for an operator. Runs recorded before
//! [`PATCH_TELL_SUPPLIER`](super::patches::PATCH_TELL_SUPPLIER) tell nothing.

use super::OrderWorkflow;
use super::emit::emit;
use super::failure::call_failure;
use super::lifecycle::supplier_options;
use super::negotiation::idle;
use crate::activities::{NoticeCall, OrderActivities};
use orderflow_domain::calls::CallFor;
use temporalio_sdk::{WorkflowContext, WorkflowResult};

pub(super) async fn tell_supplier(ctx: &WorkflowContext<OrderWorkflow>) -> WorkflowResult<()> {
    if !ctx.state(|s| s.tells_supplier) {
        ctx.state_mut(|s| s.notices_idle = true);
        return Ok(());
    }
    let workflow_id = ctx.workflow_id().to_string();
    loop {
        let wait = ctx.wait_condition(|s| s.lifecycle_done || s.order.next_notice().is_some());
        idle(ctx, |s| &mut s.notices_idle, wait).await?;
        let Some((notice, call, settings)) = ctx.state(|s| {
            let notice = s.order.next_notice()?.clone();
            let call = s.order.call(&workflow_id, CallFor::Stage(&notice.step()));
            Some((notice, call, s.settings.clone()))
        }) else {
            return Ok(());
        };
        let summary = format!(
            "Tell the supplier: {} ({})",
            notice.kind.as_str(),
            notice.request_id
        );
        let input = NoticeCall {
            call,
            notice: notice.clone(),
        };
        let sent = ctx
            .execute_activity(
                OrderActivities::notify,
                input,
                supplier_options(&settings, &summary),
            )
            .await;
        match sent {
            Ok(()) => ctx.state_mut(|s| s.order.notice_delivered(&notice.request_id)),
            Err(e) => {
                let reason = format!(
                    "the supplier could not be told of the {}: {}",
                    notice.kind.noun(),
                    call_failure(&e)
                );
                let failed = ctx.state_mut(|s| s.order.notice_failed(&notice.request_id, reason));
                if let Some(change) = failed {
                    emit(ctx, change).await?;
                }
            }
        }
    }
}
