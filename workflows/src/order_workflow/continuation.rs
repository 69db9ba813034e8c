//! Continue-as-new in any phase ([`PATCH_CONTINUE_AS_NEW_ANY_PHASE`]): the lifecycle, the
//! amendment requests and the cancellations run side by side, raced against the moment the
//! run may stop: its history is long (see [`history_is_long`]), the lifecycle is parked at a
//! [`Place`](super::Place), the request handlers wait with nothing in flight and every
//! accepted Update has finished; then, in a workflow task of its own (a 1 ms timer), if all
//! is still at rest, the run continues as new with the order and a
//! [`Resume`](super::Resume); a future still waiting (a timer, a condition) is dropped, and
//! the next run sets it again from what it carries (timers from absolute instants).
//!
//! [`PATCH_CONTINUE_AS_NEW_ANY_PHASE`]: super::patches::PATCH_CONTINUE_AS_NEW_ANY_PHASE

use super::OrderWorkflow;
use super::concurrent::handle_amendments_concurrently;
use super::lifecycle::fulfil;
use super::negotiation::{handle_amendments, handle_cancellations};
use super::notices::tell_supplier;
use super::subscription::{carry, history_is_long};
use futures::FutureExt;
use std::time::Duration;
use temporalio_sdk::workflows::{join, select};
use temporalio_sdk::{ContinueAsNewOptions, TimerOptions, WorkflowContext, WorkflowResult};

/// Runs the order until its lifecycle ends, or, under the patch, until it continues as new.
pub(super) async fn run_or_continue(ctx: &WorkflowContext<OrderWorkflow>) -> WorkflowResult<()> {
    let work = async {
        let (lifecycle, amendments, cancellations, notices) = join!(
            async {
                let result = fulfil(ctx).await;
                ctx.state_mut(|s| s.lifecycle_done = true);
                result
            },
            async {
                // Histories recorded before the patch settle one amendment at a time.
                if ctx.state(|s| s.side_by_side) {
                    handle_amendments_concurrently(ctx).await
                } else {
                    handle_amendments(ctx).await
                }
            },
            handle_cancellations(ctx),
            tell_supplier(ctx)
        );
        lifecycle?;
        amendments?;
        cancellations?;
        notices?;
        Ok(())
    };
    if !ctx.state(|s| s.any_phase) {
        return work.await;
    }
    let mut work = std::pin::pin!(work.fuse());
    loop {
        let view = ctx.clone();
        let may_stop = move |s: &OrderWorkflow| {
            s.at_rest() && view.all_handlers_finished() && history_is_long(&view)
        };
        // The work first, so that whatever it can still do in this activation it does.
        select! {
            done = work => return done,
            stop = ctx.wait_condition(may_stop) => stop?,
        };
        // At rest. An Update may have finished in this very workflow task, and a task that
        // also continues as new fails when the server has taken new events meanwhile, failing
        // the Update's caller too. So stop in a task of its own: the next one, which a short
        // timer brings, if everything is still at rest then.
        let settle = ctx.timer(
            TimerOptions::builder(Duration::from_millis(1))
                .summary("Continue as new".to_string())
                .build(),
        );
        select! {
            done = work => return done,
            _ = settle.fuse() => (),
        };
        if ctx.state(OrderWorkflow::at_rest) && ctx.all_handlers_finished() {
            let input = ctx.state(carry);
            let never = ctx.continue_as_new(input, ContinueAsNewOptions::default())?;
            match never {}
        }
    }
}
