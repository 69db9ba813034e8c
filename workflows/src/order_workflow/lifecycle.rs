//! The fulfilment lifecycle: SUBMITTED → (validation, transfer) → FEASIBILITY →
//! PLAN_DEVELOPMENT → EXECUTION → COMPLETE or ACTIVE. Each supplier call is an activity with
//! the order's idempotency key; a permanent failure (or exhausted retries) parks the order in
//! ERROR_HANDLER until an operator retries (fresh key) or withdraws it. A held order makes no
//! new calls. A withdrawal, or an accepted RESTART amendment, interrupts the pass: in-flight
//! calls are cancelled and a restart begins again at SUBMITTED.
//!
//! A pass goes through [`Stage`]s, and every wait says where it is ([`parked`]), so a run may
//! continue as new at any wait and the next run starts the lifecycle at that [`Place`].

use super::emit::emit;
use super::failure::call_failure;
use super::subscription::{history_is_long, subscription};
use super::wait::{unless, unless_held, wait_or_halt};
use super::{Halt, OrderWorkflow, Place, Stage, WorkflowSettings};
use crate::activities::OrderActivities;
use orderflow_domain::Change;
use orderflow_domain::actor::ActorType;
use orderflow_domain::calls::{CallFor, PlanProposal, StepOutcome, SupplierCall, Verdict};
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
    if ctx.state(|s| s.resumed && s.resume_at.is_none()) {
        // A subscription continued as new: it picks up parked, where the last run left it.
        let generation = ctx.state(|s| s.order.restarts());
        return subscription(ctx, generation).await.map(|_| ());
    }
    // A run that continues an order starts where the last one stopped; a pass after a
    // restart starts at SUBMITTED.
    let mut from = ctx.state_mut(|s| s.resume_at.take()).unwrap_or_default();
    loop {
        let generation = ctx.state(|s| s.order.restarts());
        match lifecycle(ctx, generation, std::mem::take(&mut from)).await? {
            Err(Halt::Restart) => continue,
            Ok(()) | Err(Halt::Terminal) => return Ok(()),
        }
    }
}

/// One pass of the lifecycle, from `from` (SUBMITTED for a new pass) to COMPLETE or ACTIVE.
async fn lifecycle(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
    from: Place,
) -> WorkflowResult<Result<(), Halt>> {
    let g = generation;
    let label = ctx.state(|s| {
        let d = s.order.document();
        format!(
            "{}/{} with supplier {}",
            d.tenant_id, d.order_id, d.supplier_id
        )
    });
    let Place {
        mut stage,
        awaiting_retry,
        awaiting_callback,
    } = from;
    // What the first stage was waiting for when the last run stopped; later stages start
    // afresh.
    let mut resumed = Some((awaiting_retry, awaiting_callback));
    loop {
        let (retry, callback) = resumed.take().unwrap_or_default();
        let at = Place::at;
        stage = match stage {
            Stage::Submitted => {
                proceed!(checkpoint(ctx, g, at(&Stage::Submitted)));
                proceed!(transition(ctx, g, OrderState::Submitted, None, &stage));
                // An unsolicited cease comes from the supplier: nothing to validate or
                // transfer.
                if ctx.state(|s| s.order.document().unsolicited) {
                    Stage::Feasibility
                } else {
                    Stage::Validate
                }
            }
            Stage::Validate => {
                let failed = (PqfCause::Validation, "validation failed");
                proceed!(check(
                    ctx,
                    g,
                    || OrderActivities::validate,
                    &format!("Validate order {label}"),
                    (&stage, retry),
                    failed,
                    Stage::Transfer,
                ))
            }
            Stage::Transfer => {
                proceed!(supplier_call(
                    ctx,
                    g,
                    || OrderActivities::transfer,
                    CallFor::Stage("transfer"),
                    &format!("Transfer order {label}"),
                    (&stage, retry),
                ));
                ctx.state_mut(|s| s.order.transferred());
                Stage::Feasibility
            }
            Stage::Feasibility => {
                proceed!(transition(ctx, g, OrderState::Feasibility, None, &stage));
                Stage::FeasibilityCheck
            }
            Stage::FeasibilityCheck => {
                let failed = (PqfCause::Feasibility, "not feasible");
                proceed!(check(
                    ctx,
                    g,
                    || OrderActivities::feasibility,
                    &format!("Check feasibility of order {label}"),
                    (&stage, retry),
                    failed,
                    Stage::PlanDevelopment,
                ))
            }
            Stage::PlanDevelopment => {
                proceed!(transition(
                    ctx,
                    g,
                    OrderState::PlanDevelopment,
                    None,
                    &stage
                ));
                Stage::Plan
            }
            Stage::Plan => {
                let proposal: PlanProposal = proceed!(supplier_call(
                    ctx,
                    g,
                    || OrderActivities::plan,
                    CallFor::Stage("plan"),
                    &format!("Develop plan for order {label}"),
                    (&stage, retry),
                ));
                ctx.state_mut(|s| s.order.adopt_plan(&proposal));
                Stage::Execution
            }
            Stage::Execution => {
                proceed!(transition(ctx, g, OrderState::Execution, None, &stage));
                Stage::Step { index: 0 }
            }
            Stage::Step { index } => {
                // The plan adopted at the Plan stage: its steps, in order.
                let planned = ctx.state(|s| {
                    let steps = s.order.view().plan.as_ref().map(|p| &p.steps);
                    steps.and_then(|p| p.get(index).map(|p| (p.step_id.clone(), p.name.clone())))
                });
                match planned {
                    Some((step_id, name)) => {
                        if !(retry || callback) && index > 0 {
                            proceed!(checkpoint(ctx, g, at(&stage)));
                        }
                        let waits = (retry, callback);
                        proceed!(run_step(ctx, g, index, &step_id, &name, &label, waits));
                        Stage::Step { index: index + 1 }
                    }
                    None => Stage::Fulfilled,
                }
            }
            Stage::Fulfilled => {
                ctx.state_mut(|s| s.order.plan_done());
                let fulfilled = ctx.state(|s| s.order.fulfilled_state());
                proceed!(transition(ctx, g, fulfilled, None, &stage));
                if fulfilled != OrderState::Active {
                    return Ok(Ok(()));
                }
                Stage::Subscription
            }
            Stage::PreQualificationFailed { reason } => {
                if let Some(reason) = reason {
                    let to = OrderState::PreQualificationFailed;
                    let here = Stage::PreQualificationFailed {
                        reason: Some(reason.clone()),
                    };
                    proceed!(transition(ctx, g, to, Some(reason), &here));
                }
                // Waits to be withdrawn or restarted by an amendment.
                let here = at(&Stage::PreQualificationFailed { reason: None });
                return parked(ctx, here, wait_or_halt(ctx, g, |_| false)).await;
            }
            Stage::Subscription => return subscription(ctx, g).await,
        };
    }
}

/// A pre-qualification check by the supplier (`validate`, `feasibility`): on to `next` if it
/// passed, else pre-qualification `failed` (its cause, and the reason when the supplier gives
/// none).
async fn check<AD>(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
    activity: impl Fn() -> AD,
    summary: &str,
    at: (&Stage, bool),
    failed: (PqfCause, &str),
    next: Stage,
) -> WorkflowResult<Result<Stage, Halt>>
where
    AD: ActivityDefinition<Input = SupplierCall, Output = Verdict>,
{
    let step = match failed.0 {
        PqfCause::Validation => "validate",
        PqfCause::Feasibility => "feasibility",
    };
    let step = CallFor::Stage(step);
    let verdict = proceed!(supplier_call(ctx, generation, activity, step, summary, at));
    if verdict.passed {
        return Ok(Ok(next));
    }
    let reason = verdict.reason.unwrap_or_else(|| failed.1.into());
    Ok(Ok(prequalification_failed(ctx, failed.0, reason)))
}

/// Pre-qualification failed, for `cause`: the order moves to PRE_QUALIFICATION_FAILED with
/// `reason` and waits there to be withdrawn or restarted by an amendment.
fn prequalification_failed(
    ctx: &WorkflowContext<OrderWorkflow>,
    cause: PqfCause,
    reason: String,
) -> Stage {
    ctx.state_mut(|s| s.order.prequalification_failed(cause));
    Stage::PreQualificationFailed {
        reason: Some(reason),
    }
}

/// Waits on `wait` as parked at `place`: the run may continue as new meanwhile (see
/// [`OrderWorkflow::at_rest`]), and the next run then starts at `place`.
pub(super) async fn parked<T>(
    ctx: &WorkflowContext<OrderWorkflow>,
    place: Place,
    wait: impl Future<Output = T>,
) -> T {
    ctx.state_mut(|s| s.parked = Some(place));
    let out = wait.await;
    ctx.state_mut(|s| s.parked = None);
    out
}

/// A point where the lifecycle need not wait but may stop for a new run (the start of a pass,
/// between plan steps): once the history is long, it waits here, parked, for the rest of the
/// run to come to rest, so the run continues as new here (unless the pass is interrupted
/// first). Nothing else waits for the lifecycle, so the rest comes to rest.
async fn checkpoint(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
    place: Place,
) -> WorkflowResult<Result<(), Halt>> {
    if !ctx.state(|s| s.any_phase) || !history_is_long(ctx) {
        return Ok(Ok(()));
    }
    parked(ctx, place, wait_or_halt(ctx, generation, |_| false)).await
}

/// Moves to `to` once the order is not held; a SUSPENDED order resumes here (at `stage`).
async fn transition(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
    to: OrderState,
    reason: Option<String>,
    stage: &Stage,
) -> WorkflowResult<Result<(), Halt>> {
    proceed!(held(ctx, generation, stage));
    // Pre-qualification fails on the supplier's verdict; every other move is orderflow's.
    let by = if to == OrderState::PreQualificationFailed {
        ActorType::Supplier
    } else {
        ActorType::System
    };
    emit(ctx, Change::state(to, reason).by(by)).await?;
    Ok(Ok(()))
}

/// Waits out an operator's hold as parked at `stage`.
async fn held(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
    stage: &Stage,
) -> WorkflowResult<Result<(), Halt>> {
    parked(ctx, Place::at(stage), unless_held(ctx, generation)).await
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
/// succeeds or the pass is interrupted. `at` is the stage it runs for, and whether the order
/// already waits in ERROR_HANDLER for a retry of it (a run that continued as new there).
async fn supplier_call<AD>(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
    activity: impl Fn() -> AD,
    step: CallFor<'_>,
    summary: &str,
    at: (&Stage, bool),
) -> WorkflowResult<Result<AD::Output, Halt>>
where
    AD: ActivityDefinition<Input = SupplierCall>,
    AD::Output: temporalio_common::data_converters::TemporalDeserializable,
{
    let (stage, mut failed) = at;
    let workflow_id = ctx.workflow_id().to_string();
    loop {
        if std::mem::take(&mut failed) {
            proceed!(await_retry(ctx, generation, stage));
        }
        proceed!(held(ctx, generation, stage));
        let (input, settings) =
            ctx.state(|s| (s.order.call(&workflow_id, step), s.settings.clone()));
        let call = ctx.execute_activity(activity(), input, supplier_options(&settings, summary));
        let Some(result) = unless(ctx, call, move |s| s.interrupted(generation)).await else {
            return Ok(Err(ctx.state(OrderWorkflow::halt)));
        };
        match result {
            Ok(value) => return Ok(Ok(value)),
            Err(error) => {
                let reason = format!("{summary} failed: {}", call_failure(&error));
                call_failed(ctx, reason).await?;
                failed = true;
            }
        }
    }
}

/// Parks the order in ERROR_HANDLER; [`await_retry`] then waits for an operator.
async fn call_failed(ctx: &WorkflowContext<OrderWorkflow>, reason: String) -> WorkflowResult<()> {
    let change = ctx.state_mut(|s| {
        s.retry_requested = false;
        s.order.call_failed(reason)
    });
    emit(ctx, change).await
}

/// Waits in ERROR_HANDLER (parked at `stage`) until an operator retries or withdraws the
/// order.
async fn await_retry(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
    stage: &Stage,
) -> WorkflowResult<Result<(), Halt>> {
    let retried = wait_or_halt(ctx, generation, |s| s.retry_requested);
    proceed!(parked(ctx, Place::retry(stage), retried));
    ctx.state_mut(|s| s.retry_requested = false);
    Ok(Ok(()))
}

/// Runs one plan step: waits out a hold, calls the supplier, and if the supplier took the
/// step on, waits for its callback. A failed step goes to ERROR_HANDLER and is retried there.
/// `waits` says what the step was waiting for when the last run stopped: an operator's retry,
/// or the supplier's callback.
async fn run_step(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
    index: usize,
    step_id: &str,
    name: &str,
    label: &str,
    waits: (bool, bool),
) -> WorkflowResult<Result<(), Halt>> {
    let stage = Stage::Step { index };
    let (mut failed, mut accepted) = waits;
    loop {
        if std::mem::take(&mut failed) {
            proceed!(await_retry(ctx, generation, &stage));
        }
        let outcome = if std::mem::take(&mut accepted) {
            StepOutcome::Accepted
        } else {
            proceed!(held(ctx, generation, &stage));
            ctx.state_mut(|s| s.order.set_step(index, StepStatus::Running));
            let summary = format!("Step {step_id} ({name}) of order {label}");
            proceed!(supplier_call(
                ctx,
                generation,
                || OrderActivities::step,
                CallFor::PlanStep(step_id),
                &summary,
                (&stage, false),
            ))
        };
        let failure = if outcome == StepOutcome::Accepted {
            let place = Place::callback(&stage);
            let called_back = wait_or_halt(ctx, generation, |s| {
                s.inbox.step_callbacks.contains_key(step_id)
            });
            proceed!(parked(ctx, place, called_back));
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
                call_failed(ctx, reason).await?;
                failed = true;
            }
        }
    }
}
