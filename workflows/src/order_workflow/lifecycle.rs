//! The fulfilment lifecycle: SUBMITTED → (validation, transfer) → FEASIBILITY →
//! PLAN_DEVELOPMENT → EXECUTION → COMPLETE or ACTIVE. Each supplier call is an activity with
//! the order's idempotency key; a permanent failure (or exhausted retries) parks the order in
//! ERROR_HANDLER until an operator retries (fresh key) or withdraws it. A held order makes no
//! new calls. A withdrawal, or an accepted RESTART amendment, interrupts the pass: in-flight
//! calls are cancelled and a restart begins again at SUBMITTED.

use super::emit::emit;
use super::subscription::subscription;
use super::wait::{unless, unless_held, wait_or_halt};
use super::{Halt, OrderWorkflow, WorkflowSettings};
use crate::activities::OrderActivities;
use orderflow_domain::Change;
use orderflow_domain::calls::{PlanProposal, StepOutcome, SupplierCall, Verdict};
use orderflow_domain::model::{OrderState, PqfCause, StepStatus};
use std::time::Duration;
use temporalio_common::{ActivityDefinition, RetryPolicy};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowResult};

/// Goes on with the value of a stage, or stops the pass with its [`Halt`].
macro_rules! proceed {
    ($e:expr) => {
        match $e.await? {
            Ok(v) => v,
            Err(halt) => return Ok(Err(halt)),
        }
    };
}

/// The fulfilment lifecycle; an accepted RESTART amendment starts it again from SUBMITTED.
pub(super) async fn fulfil(ctx: &WorkflowContext<OrderWorkflow>) -> WorkflowResult<()> {
    if ctx.state(|s| s.resumed) {
        // A subscription continued as new: it picks up parked, where the last run left it.
        let generation = ctx.state(|s| s.order.restarts());
        return subscription(ctx, generation).await.map(|_| ());
    }
    loop {
        let generation = ctx.state(|s| s.order.restarts());
        match lifecycle(ctx, generation).await? {
            Err(Halt::Restart) => continue,
            Ok(()) | Err(Halt::Terminal) => return Ok(()),
        }
    }
}

/// One pass of the lifecycle, from SUBMITTED to COMPLETE or ACTIVE.
async fn lifecycle(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
) -> WorkflowResult<Result<(), Halt>> {
    let g = generation;
    let label = ctx.state(|s| {
        let d = s.order.document();
        format!(
            "{}/{} with supplier {}",
            d.tenant_id, d.order_id, d.supplier_id
        )
    });
    proceed!(transition(ctx, g, OrderState::Submitted, None));

    // An unsolicited cease comes from the supplier: nothing to validate or transfer.
    if !ctx.state(|s| s.order.document().unsolicited) {
        let verdict: Verdict = proceed!(supplier_call(
            ctx,
            g,
            || OrderActivities::validate,
            "validate",
            &format!("Validate order {label}"),
        ));
        if !verdict.passed {
            let reason = verdict.reason.unwrap_or_else(|| "validation failed".into());
            return prequalification_failed(ctx, g, PqfCause::Validation, reason).await;
        }
        proceed!(supplier_call(
            ctx,
            g,
            || OrderActivities::transfer,
            "transfer",
            &format!("Transfer order {label}"),
        ));
        ctx.state_mut(|s| s.order.transferred());
    }
    proceed!(transition(ctx, g, OrderState::Feasibility, None));

    let verdict: Verdict = proceed!(supplier_call(
        ctx,
        g,
        || OrderActivities::feasibility,
        "feasibility",
        &format!("Check feasibility of order {label}"),
    ));
    if !verdict.passed {
        let reason = verdict.reason.unwrap_or_else(|| "not feasible".into());
        return prequalification_failed(ctx, g, PqfCause::Feasibility, reason).await;
    }

    proceed!(transition(ctx, g, OrderState::PlanDevelopment, None));
    let proposal: PlanProposal = proceed!(supplier_call(
        ctx,
        g,
        || OrderActivities::plan,
        "plan",
        &format!("Develop plan for order {label}"),
    ));
    ctx.state_mut(|s| s.order.adopt_plan(&proposal));
    proceed!(transition(ctx, g, OrderState::Execution, None));

    for (index, planned) in proposal.steps.iter().enumerate() {
        proceed!(run_step(
            ctx,
            g,
            index,
            &planned.step_id,
            &planned.name,
            &label
        ));
    }

    ctx.state_mut(|s| s.order.plan_done());
    let fulfilled = ctx.state(|s| s.order.fulfilled_state());
    proceed!(transition(ctx, g, fulfilled, None));
    if fulfilled == OrderState::Active {
        return subscription(ctx, g).await;
    }
    Ok(Ok(()))
}

/// Moves to `to` once the order is not held; a SUSPENDED order resumes here.
async fn transition(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
    to: OrderState,
    reason: Option<String>,
) -> WorkflowResult<Result<(), Halt>> {
    proceed!(unless_held(ctx, generation));
    emit(ctx, Change::state(to, reason)).await?;
    Ok(Ok(()))
}

/// Pre-qualification failed: the order waits in PRE_QUALIFICATION_FAILED to be withdrawn or
/// restarted by an amendment.
async fn prequalification_failed(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
    cause: PqfCause,
    reason: String,
) -> WorkflowResult<Result<(), Halt>> {
    ctx.state_mut(|s| s.order.prequalification_failed(cause));
    proceed!(transition(
        ctx,
        generation,
        OrderState::PreQualificationFailed,
        Some(reason)
    ));
    wait_or_halt(ctx, generation, |_| false).await
}

pub(super) fn supplier_options(settings: &WorkflowSettings, summary: &str) -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(
        settings.supplier_call_timeout_secs,
    ))
    .retry_policy(
        RetryPolicy::builder()
            .initial_interval(Duration::from_millis(settings.supplier_initial_interval_ms))
            .maximum_interval(Duration::from_millis(settings.supplier_max_interval_ms))
            .maximum_attempts(settings.supplier_max_attempts)
            .build(),
    )
    // Activities heartbeat while the supplier works: a dead worker is noticed in seconds.
    .heartbeat_timeout(Duration::from_secs(
        settings.supplier_heartbeat_timeout_secs,
    ))
    .summary(summary.to_string())
    .build()
}

/// Runs one supplier call as an activity, through ERROR_HANDLER and operator retries until it
/// succeeds or the pass is interrupted.
async fn supplier_call<AD>(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
    activity: impl Fn() -> AD,
    step: &str,
    summary: &str,
) -> WorkflowResult<Result<AD::Output, Halt>>
where
    AD: ActivityDefinition<Input = SupplierCall>,
    AD::Output: temporalio_common::data_converters::TemporalDeserializable,
{
    let workflow_id = ctx.workflow_id().to_string();
    loop {
        proceed!(unless_held(ctx, generation));
        let (input, settings) =
            ctx.state(|s| (s.order.call(&workflow_id, step), s.settings.clone()));
        let call = ctx.execute_activity(activity(), input, supplier_options(&settings, summary));
        let Some(result) = unless(ctx, call, move |s| s.interrupted(generation)).await else {
            return Ok(Err(ctx.state(OrderWorkflow::halt)));
        };
        match result {
            Ok(value) => return Ok(Ok(value)),
            Err(error) => proceed!(error_handler(
                ctx,
                generation,
                format!("{summary} failed: {error}")
            )),
        }
    }
}

/// Parks the order in ERROR_HANDLER until an operator retries or withdraws it.
async fn error_handler(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
    reason: String,
) -> WorkflowResult<Result<(), Halt>> {
    let change = ctx.state_mut(|s| {
        s.retry_requested = false;
        s.order.call_failed(reason)
    });
    emit(ctx, change).await?;
    proceed!(wait_or_halt(ctx, generation, |s| s.retry_requested));
    ctx.state_mut(|s| s.retry_requested = false);
    Ok(Ok(()))
}

/// Runs one plan step: waits out a hold, calls the supplier, and if the supplier took the
/// step on, waits for its callback. A failed step goes to ERROR_HANDLER and is retried there.
async fn run_step(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
    index: usize,
    step_id: &str,
    name: &str,
    label: &str,
) -> WorkflowResult<Result<(), Halt>> {
    loop {
        proceed!(unless_held(ctx, generation));
        ctx.state_mut(|s| s.order.set_step(index, StepStatus::Running));
        let summary = format!("Step {step_id} ({name}) of order {label}");
        let outcome = proceed!(supplier_call(
            ctx,
            generation,
            || OrderActivities::step,
            step_id,
            &summary
        ));
        let failure = if outcome == StepOutcome::Accepted {
            proceed!(wait_or_halt(ctx, generation, |s| s
                .inbox
                .step_callbacks
                .contains_key(step_id)));
            let callback = ctx.state_mut(|s| s.inbox.step_callbacks.remove(step_id));
            callback.filter(|c| !c.done).map(|c| {
                c.reason
                    .unwrap_or_else(|| format!("supplier reported step {step_id} failed"))
            })
        } else {
            None
        };
        match failure {
            None => {
                let change = ctx.state_mut(|s| s.order.step_done(index, step_id, name));
                emit(ctx, change).await?;
                return Ok(Ok(()));
            }
            Some(reason) => {
                ctx.state_mut(|s| s.order.set_step(index, StepStatus::Failed));
                proceed!(error_handler(ctx, generation, reason));
            }
        }
    }
}
