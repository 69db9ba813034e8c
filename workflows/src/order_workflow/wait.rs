//! The three ways the workflow waits, each written once: wait for something unless the
//! lifecycle pass is interrupted (the order ended, or an amendment restarted it); run a
//! cancellable call unless a condition comes first; wait for a condition or a timer. The
//! branches race in a fixed order (the call or condition first), so a replay picks the same
//! winner.

use super::{Halt, OrderWorkflow};
use futures::future::FusedFuture;
use temporalio_sdk::workflows::select;
use temporalio_sdk::{CancellableFuture, WorkflowContext, WorkflowResult};

/// Waits until `until` holds, unless the pass started at `generation` is interrupted first;
/// then says why it stopped.
pub(super) async fn wait_or_halt(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
    until: impl Fn(&OrderWorkflow) -> bool,
) -> WorkflowResult<Result<(), Halt>> {
    ctx.wait_condition(|s| until(s) || s.interrupted(generation))
        .await?;
    if ctx.state(|s| s.interrupted(generation)) {
        return Ok(Err(ctx.state(OrderWorkflow::halt)));
    }
    Ok(Ok(()))
}

/// Waits out an operator's hold, unless the pass is interrupted (see [`wait_or_halt`]).
pub(super) async fn unless_held(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
) -> WorkflowResult<Result<(), Halt>> {
    wait_or_halt(ctx, generation, |s| !s.order.suspended()).await
}

/// Runs `call` unless `stop` comes first; the call is then cancelled and `None` returned.
pub(super) async fn unless<F>(
    ctx: &WorkflowContext<OrderWorkflow>,
    mut call: F,
    stop: impl FnMut(&OrderWorkflow) -> bool + Unpin,
) -> Option<F::Output>
where
    F: CancellableFuture + Unpin,
{
    let mut stopped = ctx.wait_condition(stop);
    let outcome = select! {
        r = call => Some(r),
        _ = stopped => None,
    };
    if outcome.is_none() {
        call.cancel();
    }
    outcome
}

/// Waits for `done` or for `timer`, whichever is first. When `done` wins, the timer is handed
/// back still running, for the caller to cancel; `None` means the timer fired.
pub(super) async fn before_timer<T>(
    ctx: &WorkflowContext<OrderWorkflow>,
    done: impl FnMut(&OrderWorkflow) -> bool + Unpin,
    mut timer: T,
) -> Option<T>
where
    T: CancellableFuture + FusedFuture + Unpin,
{
    let mut decided = ctx.wait_condition(done);
    let done_first = select! {
        _ = decided => true,
        _ = timer => false,
    };
    done_first.then_some(timer)
}
