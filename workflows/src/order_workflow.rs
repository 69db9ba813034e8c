//! The order workflow: one durable execution per order, driving it through
//! START → SUBMITTED → (validation, transfer) → FEASIBILITY → PLAN_DEVELOPMENT → EXECUTION →
//! COMPLETE | ACTIVE, with PRE_QUALIFICATION_FAILED, SUSPENDED, ERROR_HANDLER and WITHDRAWN on
//! the side. Every change is applied to the in-memory view, persisted with its event by the
//! `store.record` local activity, and mirrored into search attributes for the Web UI.

#![allow(unreachable_pub)]

use crate::activities::{
    OrderActivities, PlanProposal, RecordInput, StepOutcome, SupplierCall, Verdict,
};
use crate::model::{
    EventType, OrderDocument, OrderEvent, OrderState, OrderView, Plan, PlanStatus, PlanStep,
    PqfCause, StepStatus,
};
use crate::rules::{self, OperatorAction, RuleError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use temporalio_common::search_attributes::SearchAttributeKey;
use temporalio_common::{ActivityDefinition, RetryPolicy};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityOptions, LocalActivityOptions, SyncWorkflowContext, WorkflowContext,
    WorkflowContextView, WorkflowResult,
};

pub const SA_ORDER_STATE: SearchAttributeKey<String> = SearchAttributeKey::keyword("OrderState");
pub const SA_TENANT_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("TenantId");
pub const SA_SUPPLIER_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("SupplierId");
pub const SA_ORDER_REF: SearchAttributeKey<String> = SearchAttributeKey::keyword("OrderRef");
pub const SA_PENDING_REQUEST: SearchAttributeKey<String> =
    SearchAttributeKey::keyword("PendingRequest");
/// The custom search attributes the server must know (all Keyword).
pub const SEARCH_ATTRIBUTES: [&str; 5] = [
    "OrderState",
    "TenantId",
    "SupplierId",
    "OrderRef",
    "PendingRequest",
];

/// How supplier calls are retried before the order goes to ERROR_HANDLER. Part of the
/// workflow input so a running order keeps the policy it started with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkflowSettings {
    pub supplier_call_timeout_secs: u64,
    /// A worker that stops heartbeating for this long is presumed dead; its call is retried.
    #[serde(default = "default_heartbeat_timeout_secs")]
    pub supplier_heartbeat_timeout_secs: u64,
    pub supplier_max_attempts: u32,
    pub supplier_initial_interval_ms: u64,
    pub supplier_max_interval_ms: u64,
}

impl Default for WorkflowSettings {
    /// About 6 minutes of back-off (1 s doubling to 60 s, 12 attempts): a supplier that is
    /// down briefly delays orders, it does not send them to an operator.
    fn default() -> Self {
        WorkflowSettings {
            supplier_call_timeout_secs: 60,
            supplier_heartbeat_timeout_secs: default_heartbeat_timeout_secs(),
            supplier_max_attempts: 12,
            supplier_initial_interval_ms: 1_000,
            supplier_max_interval_ms: 60_000,
        }
    }
}

fn default_heartbeat_timeout_secs() -> u64 {
    5
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderWorkflowInput {
    pub order: OrderDocument,
    pub created_at: String,
    #[serde(default)]
    pub settings: WorkflowSettings,
}

/// A supplier's callback about a step it accepted earlier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepCallback {
    pub step_id: String,
    pub done: bool,
    pub reason: Option<String>,
}

/// An operator's command (`suspend`, `resume`, `retry`, `withdraw`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperatorRequest {
    pub action: OperatorAction,
    pub reason: Option<String>,
}

/// A change about to be applied to the order.
struct Change {
    event: EventType,
    to: Option<OrderState>,
    reason: Option<String>,
    detail: serde_json::Value,
}

impl Change {
    fn state(to: OrderState, reason: Option<String>) -> Change {
        Change {
            event: EventType::StateChanged,
            to: Some(to),
            reason,
            detail: serde_json::Value::Null,
        }
    }
}

/// Why a stage stopped without a result.
enum Halt {
    /// The order reached a terminal state (withdrawn) while the stage ran.
    Terminal,
}

#[workflow]
pub struct OrderWorkflow {
    view: OrderView,
    settings: WorkflowSettings,
    /// How many times an operator retried after ERROR_HANDLER; part of idempotency keys.
    operator_retries: u32,
    /// Set by the operator's `retry`, consumed by the stage that failed.
    retry_requested: bool,
    /// The state a SUSPENDED or ERROR_HANDLER order returns to.
    resume_to: Option<OrderState>,
    /// Supplier callbacks for accepted steps, by step id.
    step_callbacks: BTreeMap<String, StepCallback>,
}

#[workflow_methods]
impl OrderWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: OrderWorkflowInput) -> Self {
        OrderWorkflow {
            view: OrderView::received(input.order, input.created_at),
            settings: input.settings,
            operator_retries: 0,
            retry_requested: false,
            resume_to: None,
            step_callbacks: BTreeMap::new(),
        }
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<OrderView> {
        ctx.upsert_search_attributes(ctx.state(|s| {
            let d = &s.view.document;
            [
                SA_TENANT_ID.value_set(d.tenant_id.clone()),
                SA_SUPPLIER_ID.value_set(d.supplier_id.clone()),
                SA_ORDER_REF.value_set(d.order_ref.clone()),
            ]
        }));
        emit(
            ctx,
            Change {
                event: EventType::OrderAcknowledged,
                to: None,
                reason: None,
                detail: serde_json::Value::Null,
            },
        )
        .await?;
        fulfil(ctx).await?;
        // Let in-flight operator requests record their change before the run closes.
        let view = &*ctx;
        view.wait_condition(|_| view.all_handlers_finished())
            .await?;
        Ok(ctx.state(|s| s.view.clone()))
    }

    /// The full order view (operators: `temporal workflow query --type status`).
    #[query]
    pub fn status(&self, _ctx: &WorkflowContextView) -> OrderView {
        self.view.clone()
    }

    /// A supplier finished (or failed) a step it had accepted.
    #[signal]
    pub fn step_callback(&mut self, _ctx: &mut SyncWorkflowContext<Self>, callback: StepCallback) {
        self.step_callbacks
            .entry(callback.step_id.clone())
            .or_insert(callback);
    }

    #[update_validator(operator)]
    fn validate_operator(
        &self,
        _ctx: &WorkflowContextView,
        request: &OperatorRequest,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        rules::check_operator_action(request.action, self.view.state)
            .map_err(|e| e.to_json().into())
    }

    /// Operator commands. Validated first (a refusal leaves no trace in history); answers
    /// once the change is persisted, so a read after the answer sees it.
    #[update]
    pub async fn operator(
        ctx: &mut WorkflowContext<Self>,
        request: OperatorRequest,
    ) -> Result<OrderView, Box<dyn std::error::Error + Send + Sync>> {
        // Re-check: another request may have changed the state since validation.
        let state = ctx.state(|s| s.view.state);
        rules::check_operator_action(request.action, state).map_err(|e| e.to_json())?;
        let change = ctx.state_mut(|s| match request.action {
            OperatorAction::Suspend => {
                s.resume_to = Some(state);
                Change::state(OrderState::Suspended, request.reason.clone())
            }
            OperatorAction::Resume => {
                let back = s.resume_to.take().unwrap_or(OrderState::Submitted);
                Change::state(back, request.reason.clone())
            }
            OperatorAction::Retry => {
                s.retry_requested = true;
                s.operator_retries += 1;
                let back = s.resume_to.take().unwrap_or(OrderState::Submitted);
                Change::state(back, request.reason.clone())
            }
            OperatorAction::Withdraw => {
                Change::state(OrderState::Withdrawn, request.reason.clone())
            }
        });
        emit(ctx, change).await.map_err(|e| format!("{e:?}"))?;
        Ok(ctx.state(|s| s.view.clone()))
    }
}

impl OrderWorkflow {
    /// Applies a change to the view and builds the event that records it.
    fn apply(&mut self, change: Change, now: String, event_uuid: String) -> RecordInput {
        let before = self.view.state;
        if let Some(to) = change.to {
            if to != before {
                self.view.previous_state = Some(before);
                self.view.state = to;
            }
            self.view.state_reason = change.reason;
            if to != OrderState::PreQualificationFailed {
                self.view.cause = None;
            }
        }
        self.view.last_seq += 1;
        self.view.updated_at = now.clone();
        let d = &self.view.document;
        let event = OrderEvent {
            event_uuid,
            order_id: d.order_id.clone(),
            tenant_id: d.tenant_id.clone(),
            seq: self.view.last_seq,
            event_type: change.event,
            state: self.view.state,
            previous_state: if change.to.is_some() {
                Some(before)
            } else {
                self.view.previous_state
            },
            request_id: None,
            revision: self.view.revision,
            occurred_at: now,
            detail: change.detail,
        };
        RecordInput {
            view: self.view.clone(),
            event,
        }
    }

    fn halted(&self) -> bool {
        rules::is_terminal(self.view.state)
    }

    fn call(&self, workflow_id: &str, step: &str) -> SupplierCall {
        SupplierCall {
            supplier_id: self.view.document.supplier_id.clone(),
            idempotency_key: rules::idempotency_key(
                workflow_id,
                self.view.revision,
                step,
                self.operator_retries,
            ),
            order: self.view.document.clone(),
            step_id: None,
        }
    }
}

fn now(ctx: &WorkflowContext<OrderWorkflow>) -> String {
    let t = ctx.workflow_time().unwrap_or(std::time::UNIX_EPOCH);
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Applies a change, then persists it and updates what operators see.
async fn emit(ctx: &WorkflowContext<OrderWorkflow>, change: Change) -> WorkflowResult<()> {
    let (at, uuid) = (now(ctx), ctx.uuid4());
    let record = ctx.state_mut(|s| s.apply(change, at, uuid));
    let pending = record
        .view
        .pending_request
        .as_ref()
        .and_then(|p| p.get("kind").and_then(|k| k.as_str()).map(str::to_string))
        .unwrap_or_else(|| "NONE".to_string());
    ctx.upsert_search_attributes([
        SA_ORDER_STATE.value_set(record.view.state.as_str().to_string()),
        SA_PENDING_REQUEST.value_set(pending),
    ]);
    ctx.set_current_details(rules::describe(&record.view));
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

/// Moves to `to` once the order is not held; a SUSPENDED order resumes here.
async fn transition(
    ctx: &WorkflowContext<OrderWorkflow>,
    to: OrderState,
    reason: Option<String>,
) -> WorkflowResult<Result<(), Halt>> {
    ctx.wait_condition(|s| s.view.state != OrderState::Suspended)
        .await?;
    if ctx.state(|s| s.halted()) {
        return Ok(Err(Halt::Terminal));
    }
    emit(ctx, Change::state(to, reason)).await?;
    Ok(Ok(()))
}

/// Runs one supplier call as an activity. Transient failures are retried by Temporal with
/// the same idempotency key; a permanent failure (or exhausted retries) parks the order in
/// ERROR_HANDLER until an operator retries (fresh key) or withdraws it. A withdrawal while
/// the call is in flight cancels the activity.
async fn supplier_call<AD>(
    ctx: &WorkflowContext<OrderWorkflow>,
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
        // A held order makes no new supplier calls.
        ctx.wait_condition(|s| s.view.state != OrderState::Suspended || s.halted())
            .await?;
        if ctx.state(|s| s.halted()) {
            return Ok(Err(Halt::Terminal));
        }
        let (input, settings) = ctx.state(|s| {
            let mut call = s.call(&workflow_id, step);
            if step.starts_with("step-") {
                call.step_id = Some(step.to_string());
            }
            (call, s.settings.clone())
        });
        let options = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(
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
        .build();
        let mut call = ctx.execute_activity(activity(), input, options);
        let mut halted = ctx.wait_condition(|s| s.halted());
        let outcome = temporalio_sdk::workflows::select! {
            r = call => Some(r),
            _ = halted => None,
        };
        let Some(result) = outcome else {
            use temporalio_sdk::CancellableFuture;
            call.cancel();
            return Ok(Err(Halt::Terminal));
        };
        match result {
            Ok(value) => return Ok(Ok(value)),
            Err(error) => {
                if let Err(halt) = error_handler(ctx, format!("{summary} failed: {error}")).await? {
                    return Ok(Err(halt));
                }
            }
        }
    }
}

/// Parks the order in ERROR_HANDLER until an operator retries or withdraws it.
async fn error_handler(
    ctx: &WorkflowContext<OrderWorkflow>,
    reason: String,
) -> WorkflowResult<Result<(), Halt>> {
    ctx.state_mut(|s| {
        // A failure while held resumes to where the order was before the hold.
        let back = match s.view.state {
            OrderState::Suspended => s.resume_to.unwrap_or(OrderState::Submitted),
            other => other,
        };
        s.resume_to = Some(back);
        s.retry_requested = false;
    });
    emit(ctx, Change::state(OrderState::ErrorHandler, Some(reason))).await?;
    ctx.wait_condition(|s| s.retry_requested || s.halted())
        .await?;
    if ctx.state(|s| s.halted()) {
        return Ok(Err(Halt::Terminal));
    }
    ctx.state_mut(|s| s.retry_requested = false);
    Ok(Ok(()))
}

/// Waits for the order to be withdrawn (PRE_QUALIFICATION_FAILED and the like).
async fn park(ctx: &WorkflowContext<OrderWorkflow>) -> WorkflowResult<()> {
    ctx.wait_condition(|s| s.halted()).await?;
    Ok(())
}

macro_rules! proceed {
    ($e:expr) => {
        match $e.await? {
            Ok(v) => v,
            Err(Halt::Terminal) => return Ok(()),
        }
    };
}

/// The fulfilment lifecycle, from SUBMITTED to COMPLETE or ACTIVE.
async fn fulfil(ctx: &WorkflowContext<OrderWorkflow>) -> WorkflowResult<()> {
    let label = ctx.state(|s| {
        format!(
            "{}/{} with supplier {}",
            s.view.document.tenant_id, s.view.document.order_id, s.view.document.supplier_id
        )
    });
    proceed!(transition(ctx, OrderState::Submitted, None));

    let verdict: Verdict = proceed!(supplier_call(
        ctx,
        || OrderActivities::validate,
        "validate",
        &format!("Validate order {label}"),
    ));
    if !verdict.passed {
        ctx.state_mut(|s| s.view.cause = Some(PqfCause::Validation));
        let reason = verdict.reason.unwrap_or_else(|| "validation failed".into());
        proceed!(transition(
            ctx,
            OrderState::PreQualificationFailed,
            Some(reason)
        ));
        return park(ctx).await;
    }

    proceed!(supplier_call(
        ctx,
        || OrderActivities::transfer,
        "transfer",
        &format!("Transfer order {label}"),
    ));
    ctx.state_mut(|s| s.view.transferred = true);
    proceed!(transition(ctx, OrderState::Feasibility, None));

    let verdict: Verdict = proceed!(supplier_call(
        ctx,
        || OrderActivities::feasibility,
        "feasibility",
        &format!("Check feasibility of order {label}"),
    ));
    if !verdict.passed {
        ctx.state_mut(|s| s.view.cause = Some(PqfCause::Feasibility));
        let reason = verdict.reason.unwrap_or_else(|| "not feasible".into());
        proceed!(transition(
            ctx,
            OrderState::PreQualificationFailed,
            Some(reason)
        ));
        return park(ctx).await;
    }

    proceed!(transition(ctx, OrderState::PlanDevelopment, None));
    let proposal: PlanProposal = proceed!(supplier_call(
        ctx,
        || OrderActivities::plan,
        "plan",
        &format!("Develop plan for order {label}"),
    ));
    ctx.state_mut(|s| {
        s.view.plan = Some(Plan {
            plan_id: proposal.plan_id.clone(),
            status: PlanStatus::Pending,
            steps: proposal
                .steps
                .iter()
                .map(|p| PlanStep {
                    step_id: p.step_id.clone(),
                    name: p.name.clone(),
                    status: StepStatus::Pending,
                    point_of_no_return: p.point_of_no_return,
                })
                .collect(),
        })
    });
    ctx.state_mut(|s| {
        if let Some(plan) = s.view.plan.as_mut() {
            plan.status = PlanStatus::Executing;
        }
    });
    proceed!(transition(ctx, OrderState::Execution, None));

    for (index, planned) in proposal.steps.iter().enumerate() {
        proceed!(run_step(
            ctx,
            index,
            planned.step_id.clone(),
            &planned.name,
            &label
        ));
    }

    ctx.state_mut(|s| {
        if let Some(plan) = s.view.plan.as_mut() {
            plan.status = PlanStatus::Done;
        }
    });
    let recurring = ctx.state(|s| s.view.document.recurring);
    proceed!(transition(ctx, rules::fulfilled_state(recurring), None));
    if recurring {
        park(ctx).await?;
    }
    Ok(())
}

fn set_step(s: &mut OrderWorkflow, index: usize, status: StepStatus) {
    if let Some(step) = s.view.plan.as_mut().and_then(|p| p.steps.get_mut(index)) {
        step.status = status;
    }
}

/// Runs one plan step: waits out a hold, calls the supplier, and if the supplier took the
/// step on, waits for its callback. A failed step goes to ERROR_HANDLER and is retried there.
async fn run_step(
    ctx: &WorkflowContext<OrderWorkflow>,
    index: usize,
    step_id: String,
    name: &str,
    label: &str,
) -> WorkflowResult<Result<(), Halt>> {
    loop {
        ctx.wait_condition(|s| s.view.state != OrderState::Suspended || s.halted())
            .await?;
        if ctx.state(|s| s.halted()) {
            return Ok(Err(Halt::Terminal));
        }
        ctx.state_mut(|s| set_step(s, index, StepStatus::Running));
        let summary = format!("Step {step_id} ({name}) of order {label}");
        let outcome = match supplier_call(ctx, || OrderActivities::step, &step_id, &summary).await?
        {
            Ok(outcome) => outcome,
            Err(halt) => return Ok(Err(halt)),
        };
        let failure = if outcome == StepOutcome::Accepted {
            let id = step_id.clone();
            ctx.wait_condition(|s| s.step_callbacks.contains_key(&id) || s.halted())
                .await?;
            if ctx.state(|s| s.halted()) {
                return Ok(Err(Halt::Terminal));
            }
            let callback = ctx.state_mut(|s| s.step_callbacks.remove(&step_id));
            callback.filter(|c| !c.done).map(|c| {
                c.reason
                    .unwrap_or_else(|| format!("supplier reported step {step_id} failed"))
            })
        } else {
            None
        };
        match failure {
            None => {
                ctx.state_mut(|s| set_step(s, index, StepStatus::Done));
                emit(
                    ctx,
                    Change {
                        event: EventType::PlanStepCompleted,
                        to: None,
                        reason: None,
                        detail: serde_json::json!({ "step_id": step_id, "name": name }),
                    },
                )
                .await?;
                return Ok(Ok(()));
            }
            Some(reason) => {
                ctx.state_mut(|s| set_step(s, index, StepStatus::Failed));
                if let Err(halt) = error_handler(ctx, reason).await? {
                    return Ok(Err(halt));
                }
            }
        }
    }
}

/// Decodes a refusal produced by a validator or handler of this workflow.
pub fn refusal(message: &str) -> Option<RuleError> {
    RuleError::from_message(message)
}
