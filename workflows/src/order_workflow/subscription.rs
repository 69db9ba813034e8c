//! A fulfilled subscription (ACTIVE or INACTIVE) parks here for as long as it lives: it waits
//! for its scheduled cancellation or reactivation to fall due, for the order to end, or (runs
//! without [`PATCH_CONTINUE_AS_NEW_ANY_PHASE`], which continue as new from `run` in any phase)
//! for its history to grow long enough to continue as new. A new run carries the [`Order`]
//! and starts parked; schedules are absolute instants, so it sets its timers for whatever time
//! is left. Also how long is too long, and what the next run carries.
//!
//! [`PATCH_CONTINUE_AS_NEW_ANY_PHASE`]: super::patches::PATCH_CONTINUE_AS_NEW_ANY_PHASE
//!
//! [`Order`]: orderflow_domain::Order

use super::emit::{emit, now, workflow_now};
use super::lifecycle::parked;
use super::wait::before_timer;
use super::{Halt, OrderWorkflow, OrderWorkflowInput, Place, Stage};
use temporalio_sdk::{
    CancellableFuture, ContinueAsNewOptions, TimerOptions, WorkflowContext, WorkflowResult,
};

pub(super) async fn subscription(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
) -> WorkflowResult<Result<(), Halt>> {
    loop {
        if ctx.state(|s| s.interrupted(generation)) {
            return Ok(Err(ctx.state(OrderWorkflow::halt)));
        }
        let next = ctx.state(|s| s.order.next_schedule());
        let now_at = workflow_now(ctx);
        let due_at = |at: &str| {
            chrono::DateTime::parse_from_rfc3339(at)
                .map(|t| t.with_timezone(&chrono::Utc))
                .unwrap_or(now_at)
        };
        if let Some((id, at)) = &next
            && due_at(at) <= now_at
        {
            let stamp = now(ctx);
            if let Some(change) = ctx.state_mut(|s| s.order.fire_schedule(id, &stamp)) {
                emit(ctx, change).await?;
            }
            continue;
        }
        // Runs under PATCH_CONTINUE_AS_NEW_ANY_PHASE continue as new from `run`.
        let own = !ctx.state(|s| s.any_phase);
        if own && ctx.state(OrderWorkflow::quiet) && history_is_long(ctx) {
            ctx.wait_condition(|_| ctx.all_handlers_finished()).await?;
            if ctx.state(OrderWorkflow::quiet) {
                let input = ctx.state(carry);
                ctx.continue_as_new(input, ContinueAsNewOptions::default())?;
            }
            continue;
        }
        let key = next.as_ref().map(|(id, _)| id.clone());
        let long = ctx.clone();
        let changed = move |s: &OrderWorkflow| {
            s.interrupted(generation)
                || s.order.next_schedule().map(|(id, _)| id) != key
                || (own && s.quiet() && history_is_long(&long))
        };
        let place = Place::at(&Stage::Subscription);
        match next {
            Some((_, at)) => {
                let wait = (due_at(&at) - now_at).to_std().unwrap_or_default();
                let timer = ctx.timer(
                    TimerOptions::builder(wait)
                        .summary(format!("Scheduled change of the subscription at {at}"))
                        .build(),
                );
                if let Some(timer) = parked(ctx, place, before_timer(ctx, changed, timer)).await {
                    timer.cancel();
                }
            }
            None => parked(ctx, place, ctx.wait_condition(changed)).await?,
        }
    }
}

/// Has this run's history grown past the continue-as-new threshold (or has the server asked)?
pub(super) fn history_is_long(ctx: &WorkflowContext<OrderWorkflow>) -> bool {
    let limit = ctx.state(|s| s.settings.continue_as_new_after_events);
    ctx.history_length() >= limit || ctx.continue_as_new_suggested()
}

/// The input of the next run: the order as it stands, with the settings it started with, and
/// (continuing as new in any phase) where this run stopped.
pub(super) fn carry(s: &OrderWorkflow) -> OrderWorkflowInput {
    let view = s.order.view();
    OrderWorkflowInput {
        order: view.document.clone(),
        created_at: view.created_at.clone(),
        settings: s.settings.clone(),
        carried: Some(Box::new(if s.any_phase {
            s.order.carried()
        } else {
            s.order.clone()
        })),
        resume: s.any_phase.then(|| Box::new(s.resume())),
        // The next run is a new run of this code: every patch applies.
        patches: super::patches::all(),
    }
}
