//! The order workflow: one durable execution per order, driving it through
//! START → SUBMITTED → (validation, transfer) → FEASIBILITY → PLAN_DEVELOPMENT → EXECUTION →
//! COMPLETE | ACTIVE, with PRE_QUALIFICATION_FAILED, SUSPENDED, ERROR_HANDLER and WITHDRAWN on
//! the side. Every change is applied to the in-memory view, persisted with its event by the
//! `store.record` local activity, and mirrored into search attributes for the Web UI.

#![allow(unreachable_pub)]

use crate::activities::{
    AmendAnswer, AmendCall, CancelAnswer, CancelCall, OrderActivities, PlanProposal, RecordInput,
    StepOutcome, SupplierCall, Verdict,
};
use crate::amendment::{self, AmendPath};
use crate::cancellation::{self, CancelPath, Cancellation, OrderRequest, Reactivation, Request};
use crate::model::{
    Amendment, EventType, OrderDocument, OrderEvent, OrderState, OrderView, Plan, PlanStatus,
    PlanStep, PqfCause, RequestState, StepStatus,
};
use crate::rules::{self, OperatorAction, RuleError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use temporalio_common::search_attributes::SearchAttributeKey;
use temporalio_common::{ActivityDefinition, RetryPolicy};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityOptions, ContinueAsNewOptions, LocalActivityOptions, SyncWorkflowContext, TimerOptions,
    WorkflowContext, WorkflowContextView, WorkflowResult,
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

/// Patch: search attributes are upserted only when a value changes. Each upsert is a history
/// event and a visibility write on the server; most transitions (an acknowledgement, a step
/// completed) change neither `OrderState` nor `PendingRequest`, and the API sets every
/// attribute when it starts the workflow. Histories recorded before the patch upsert on every
/// change and still replay.
pub const PATCH_SA_ONLY_CHANGES: &str = "search-attributes-only-changes";

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
    /// How long a supplier may keep an amendment PENDING before it counts as rejected.
    #[serde(default = "default_amendment_answer_timeout_secs")]
    pub amendment_answer_timeout_secs: u64,
    /// How long `PATCH` waits for the supplier's answer before replying 202 PENDING.
    #[serde(default = "default_amendment_reply_wait_ms")]
    pub amendment_reply_wait_ms: u64,
    /// How long a supplier may keep a cancellation PENDING before it counts as rejected.
    #[serde(default = "default_amendment_answer_timeout_secs")]
    pub cancellation_answer_timeout_secs: u64,
    /// A parked subscription (ACTIVE or INACTIVE) continues as new once its history has this
    /// many events, so a years-long order keeps a short history.
    #[serde(default = "default_continue_as_new_after_events")]
    pub continue_as_new_after_events: u32,
    /// The `reason_code`s that may cancel an unsolicited cease.
    #[serde(default = "default_unsolicited_reason_codes")]
    pub unsolicited_cancel_reason_codes: Vec<String>,
}

fn default_continue_as_new_after_events() -> u32 {
    2_000
}

fn default_unsolicited_reason_codes() -> Vec<String> {
    cancellation::DEFAULT_UNSOLICITED_REASON_CODES
        .map(String::from)
        .to_vec()
}

fn default_amendment_answer_timeout_secs() -> u64 {
    7 * 24 * 3600
}

fn default_amendment_reply_wait_ms() -> u64 {
    3_000
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
            amendment_answer_timeout_secs: default_amendment_answer_timeout_secs(),
            amendment_reply_wait_ms: default_amendment_reply_wait_ms(),
            cancellation_answer_timeout_secs: default_amendment_answer_timeout_secs(),
            continue_as_new_after_events: default_continue_as_new_after_events(),
            unsolicited_cancel_reason_codes: default_unsolicited_reason_codes(),
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
    /// Set when a subscription continues as new: everything the next run must remember.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carried: Option<Box<Carried>>,
}

/// The state a parked subscription carries into its next run (continue-as-new). Schedules are
/// absolute instants, so the new run sets its timers for whatever time is left.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Carried {
    pub view: OrderView,
    pub operator_retries: u32,
    pub amendments: Vec<Amendment>,
    pub cancellations: Vec<Cancellation>,
    pub reactivations: Vec<Reactivation>,
    pub request_keys: BTreeMap<String, (serde_json::Value, String)>,
    pub seen_callbacks: BTreeSet<String>,
}

/// A tenant's cancellation (`POST /v1/orders/{id}/cancel`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CancelRequest {
    pub cancellation_id: String,
    pub reason: String,
    pub reason_code: Option<String>,
    /// When a subscription's cancellation takes effect (RFC 3339); none means now.
    pub effective_at: Option<String>,
    pub idempotency_key: Option<String>,
    pub requested_at: String,
}

/// The answer to a cancellation request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CancelOutcome {
    pub cancellation: Cancellation,
    /// The event that recorded the cancellation's current state.
    pub event_uuid: Option<String>,
    pub order: OrderView,
}

/// The supplier's later answer (`AP`/`RE`) to a PENDING cancellation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CancellationDecision {
    pub cancellation_id: String,
    pub accept: bool,
    pub reason: Option<String>,
}

/// The supplier cancelled the order on its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupplierCancel {
    pub callback_id: String,
    pub reason: Option<String>,
}

/// A tenant's reactivation of a subscription (`POST /v1/orders/{id}/reactivate`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReactivateRequest {
    pub reactivation_id: String,
    pub reason: Option<String>,
    pub effective_at: Option<String>,
    pub idempotency_key: Option<String>,
    pub requested_at: String,
}

/// The answer to a reactivation request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReactivateOutcome {
    pub reactivation: Reactivation,
    pub event_uuid: Option<String>,
    pub order: OrderView,
}

/// A supplier's callback about a step it accepted earlier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepCallback {
    pub step_id: String,
    pub done: bool,
    pub reason: Option<String>,
}

/// A tenant's amendment request (`PATCH /v1/orders/{id}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AmendRequest {
    pub amendment_id: String,
    pub order_ref: String,
    pub changes: serde_json::Value,
    /// `If-Match`: the revision the tenant last saw.
    pub expected_revision: Option<u32>,
    /// `Idempotency-Key`: a repeat with the same key and changes gets the same amendment.
    pub idempotency_key: Option<String>,
    pub requested_at: String,
}

/// The answer to an amendment request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AmendOutcome {
    pub amendment: Amendment,
    pub order: OrderView,
}

/// The supplier's later decision on a PENDING amendment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AmendmentDecision {
    pub amendment_id: String,
    pub accept: bool,
    pub reason: Option<String>,
}

/// A change the supplier made to the order on its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupplierAmendment {
    pub callback_id: String,
    pub changes: serde_json::Value,
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
    amendment: Option<Amendment>,
    /// Cancellations and reactivations this change creates or decides.
    requests: Vec<OrderRequest>,
}

impl Change {
    /// A state change; its reason (why the order was held, failed, …) is also in the event.
    fn state(to: OrderState, reason: Option<String>) -> Change {
        Change {
            event: EventType::StateChanged,
            to: Some(to),
            detail: match &reason {
                Some(r) => serde_json::json!({ "reason": r }),
                None => serde_json::Value::Null,
            },
            reason,
            amendment: None,
            requests: Vec::new(),
        }
    }

    /// An event about a cancellation or reactivation, with the resources it touches (the
    /// request itself first).
    fn request(event: EventType, to: Option<OrderState>, requests: Vec<OrderRequest>) -> Change {
        let first = &requests[0];
        let (reason, detail) = match first {
            OrderRequest::Cancellation(c) => (
                Some(c.reason.clone()),
                serde_json::json!({
                    "cancellation_id": c.cancellation_id,
                    "path": c.path,
                    "state": c.state,
                    "response_code": c.response_code,
                    "reason": c.reason,
                    "reason_code": c.reason_code,
                    "effective_at": c.effective_at,
                    "decision_reason": c.decision_reason,
                }),
            ),
            OrderRequest::Reactivation(r) => (
                r.reason.clone(),
                serde_json::json!({
                    "reactivation_id": r.reactivation_id,
                    "state": r.state,
                    "reason": r.reason,
                    "effective_at": r.effective_at,
                    "decision_reason": r.decision_reason,
                }),
            ),
        };
        let mut detail = detail;
        if let Some(other) = requests.get(1) {
            detail["superseded"] = serde_json::json!({ "kind": other.kind(), "id": other.id() });
        }
        Change {
            event,
            to,
            reason: if to.is_some() { reason } else { None },
            detail,
            amendment: None,
            requests,
        }
    }

    /// An event about an amendment, carrying the amendment to persist.
    fn amendment(event: EventType, amendment: &Amendment) -> Change {
        Change {
            event,
            to: None,
            reason: None,
            detail: serde_json::json!({
                "amendment_id": amendment.amendment_id,
                "path": amendment.path,
                "state": amendment.state,
                "reason": amendment.reason,
            }),
            amendment: Some(amendment.clone()),
            requests: Vec::new(),
        }
    }
}

/// Why a stage stopped without a result.
enum Halt {
    /// The order reached a terminal state (withdrawn) while the stage ran.
    Terminal,
    /// An accepted amendment restarts the lifecycle from SUBMITTED.
    Restart,
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
    /// Every amendment request, in order.
    amendments: Vec<Amendment>,
    /// Bumped by each RESTART amendment; a lifecycle pass started under an older value stops.
    restarts: u32,
    /// Idempotency-Key → (the request's content, its request id), for every kind of request.
    request_keys: BTreeMap<String, (serde_json::Value, String)>,
    /// PATCH amendments already handed to the supplier.
    negotiated: BTreeSet<String>,
    /// Supplier callbacks already taken (a repeated callback changes nothing).
    seen_callbacks: BTreeSet<String>,
    /// Supplier decisions on PENDING amendments, by amendment id.
    amend_decisions: BTreeMap<String, AmendmentDecision>,
    /// Supplier-initiated changes waiting to be applied.
    supplier_amendments: Vec<SupplierAmendment>,
    /// Set when the lifecycle has ended, so the request handler stops too.
    lifecycle_done: bool,
    /// Every cancellation request, in order.
    cancellations: Vec<Cancellation>,
    /// Every reactivation request, in order.
    reactivations: Vec<Reactivation>,
    /// Supplier answers to PENDING cancellations, by cancellation id.
    cancel_decisions: BTreeMap<String, CancellationDecision>,
    /// A supplier's own cancellation, waiting to be applied.
    supplier_cancel: Option<SupplierCancel>,
    /// This run continues a subscription (continue-as-new): it starts parked, not at SUBMITTED.
    resumed: bool,
    /// [`PATCH_SA_ONLY_CHANGES`] applies to this run.
    sa_only_changes: bool,
}

#[workflow_methods]
impl OrderWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: OrderWorkflowInput) -> Self {
        let mut view = OrderView::received(input.order, input.created_at);
        // The supplier raised an unsolicited cease itself: it already has the order.
        view.transferred = view.document.unsolicited;
        let mut workflow = OrderWorkflow {
            view,
            settings: input.settings,
            operator_retries: 0,
            retry_requested: false,
            resume_to: None,
            step_callbacks: BTreeMap::new(),
            amendments: Vec::new(),
            restarts: 0,
            request_keys: BTreeMap::new(),
            negotiated: BTreeSet::new(),
            seen_callbacks: BTreeSet::new(),
            amend_decisions: BTreeMap::new(),
            supplier_amendments: Vec::new(),
            lifecycle_done: false,
            cancellations: Vec::new(),
            reactivations: Vec::new(),
            cancel_decisions: BTreeMap::new(),
            supplier_cancel: None,
            resumed: false,
            sa_only_changes: false,
        };
        if let Some(carried) = input.carried {
            let c = *carried;
            workflow.view = c.view;
            workflow.operator_retries = c.operator_retries;
            workflow.amendments = c.amendments;
            workflow.cancellations = c.cancellations;
            workflow.reactivations = c.reactivations;
            workflow.request_keys = c.request_keys;
            workflow.seen_callbacks = c.seen_callbacks;
            workflow.resumed = true;
        }
        workflow
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<OrderView> {
        let only_changes = ctx.patched(PATCH_SA_ONLY_CHANGES);
        ctx.state_mut(|s| s.sa_only_changes = only_changes);
        let identity = ctx.state(|s| {
            let d = &s.view.document;
            [
                (SA_TENANT_ID, d.tenant_id.clone()),
                (SA_SUPPLIER_ID, d.supplier_id.clone()),
                (SA_ORDER_REF, d.order_ref.clone()),
            ]
        });
        upsert_keywords(ctx, identity);
        if !ctx.state(|s| s.resumed) {
            emit(
                ctx,
                Change {
                    event: EventType::OrderAcknowledged,
                    to: None,
                    reason: None,
                    detail: serde_json::Value::Null,
                    amendment: None,
                    requests: Vec::new(),
                },
            )
            .await?;
        }
        // The lifecycle, amendment requests and cancellations run side by side.
        let (lifecycle, requests, cancellations) = temporalio_sdk::workflows::join!(
            async {
                let result = fulfil(ctx).await;
                ctx.state_mut(|s| s.lifecycle_done = true);
                result
            },
            handle_requests(ctx),
            handle_cancellations(ctx)
        );
        lifecycle?;
        requests?;
        cancellations?;
        supersede_pending(ctx).await?;
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

    /// A supplier's decision on an amendment it had left PENDING.
    #[signal]
    pub fn amendment_decision(
        &mut self,
        _ctx: &mut SyncWorkflowContext<Self>,
        decision: AmendmentDecision,
    ) {
        let open = self
            .amendment(&decision.amendment_id)
            .is_some_and(|a| a.state == RequestState::Pending);
        if open {
            self.amend_decisions
                .entry(decision.amendment_id.clone())
                .or_insert(decision);
        }
    }

    /// The supplier's answer to a cancellation it had left PENDING.
    #[signal]
    pub fn cancellation_decision(
        &mut self,
        _ctx: &mut SyncWorkflowContext<Self>,
        decision: CancellationDecision,
    ) {
        let open = self
            .cancellation(&decision.cancellation_id)
            .is_some_and(|c| c.state == RequestState::Pending);
        if open {
            self.cancel_decisions
                .entry(decision.cancellation_id.clone())
                .or_insert(decision);
        }
    }

    /// The supplier cancelled the order on its own (any non-terminal state); once per callback.
    #[signal]
    pub fn supplier_cancel(
        &mut self,
        _ctx: &mut SyncWorkflowContext<Self>,
        cancel: SupplierCancel,
    ) {
        if !self.halted()
            && self.supplier_cancel.is_none()
            && self.seen_callbacks.insert(cancel.callback_id.clone())
        {
            self.supplier_cancel = Some(cancel);
        }
    }

    /// The supplier changed the order on its own; applied once per callback.
    #[signal]
    pub fn supplier_amend(
        &mut self,
        _ctx: &mut SyncWorkflowContext<Self>,
        change: SupplierAmendment,
    ) {
        if !self.halted() && self.seen_callbacks.insert(change.callback_id.clone()) {
            self.supplier_amendments.push(change);
        }
    }

    #[update_validator(amend)]
    fn validate_amend(
        &self,
        _ctx: &WorkflowContextView,
        request: &AmendRequest,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.check_amend(request)
            .map(|_| ())
            .map_err(|e| e.to_json().into())
    }

    /// A tenant's amendment. Every refusal happens in the validator, before anything is
    /// written. RESTART amendments are ACCEPTED at once; PATCH amendments go to the supplier
    /// and the answer waits briefly for its decision (else it is PENDING).
    #[update]
    pub async fn amend(
        ctx: &mut WorkflowContext<Self>,
        request: AmendRequest,
    ) -> Result<AmendOutcome, Box<dyn std::error::Error + Send + Sync>> {
        // Re-check: a request validated in the same batch may have got here first.
        let checked = ctx
            .state(|s| s.check_amend(&request))
            .map_err(|e| e.to_json())?;
        let id = match checked {
            Checked::Repeat(id) => id,
            Checked::New((path, document)) => {
                let at = now(ctx);
                let change = ctx.state_mut(|s| s.open_amendment(&request, path, *document, &at));
                emit(ctx, change).await.map_err(|e| format!("{e:?}"))?;
                if path == AmendPath::Patch {
                    let id = request.amendment_id.clone();
                    wait_briefly(ctx, move |s| {
                        s.amendment(&id)
                            .is_some_and(|a| a.state != RequestState::Pending)
                    })
                    .await;
                }
                request.amendment_id.clone()
            }
        };
        Ok(ctx.state(|s| AmendOutcome {
            amendment: s.amendment(&id).cloned().expect("amendment recorded"),
            order: s.view.clone(),
        }))
    }

    #[update_validator(cancel)]
    fn validate_cancel(
        &self,
        _ctx: &WorkflowContextView,
        request: &CancelRequest,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.check_cancel(request)
            .map(|_| ())
            .map_err(|e| e.to_json().into())
    }

    /// A tenant's cancellation. Refusals happen in the validator. The consumer path cancels at
    /// once; a subscription deactivates now or schedules it; the supplier path asks the
    /// supplier and waits briefly for its answer (else the cancellation is PENDING).
    #[update]
    pub async fn cancel(
        ctx: &mut WorkflowContext<Self>,
        request: CancelRequest,
    ) -> Result<CancelOutcome, Box<dyn std::error::Error + Send + Sync>> {
        let checked = ctx
            .state(|s| s.check_cancel(&request))
            .map_err(|e| e.to_json())?;
        let id = match checked {
            Checked::Repeat(id) => id,
            Checked::New(path) => {
                let (at, later) = (now(ctx), is_future(ctx, request.effective_at.as_deref()));
                let change = ctx.state_mut(|s| s.open_cancellation(&request, path, later, &at));
                emit(ctx, change).await.map_err(|e| format!("{e:?}"))?;
                if path == CancelPath::Supplier {
                    let id = request.cancellation_id.clone();
                    wait_briefly(ctx, move |s| {
                        s.cancellation(&id)
                            .is_some_and(|c| c.state != RequestState::Pending)
                    })
                    .await;
                }
                request.cancellation_id.clone()
            }
        };
        Ok(ctx.state(|s| {
            let cancellation = s.cancellation(&id).cloned().expect("cancellation recorded");
            CancelOutcome {
                event_uuid: cancellation.event_uuid.clone(),
                cancellation,
                order: s.view.clone(),
            }
        }))
    }

    #[update_validator(reactivate)]
    fn validate_reactivate(
        &self,
        _ctx: &WorkflowContextView,
        request: &ReactivateRequest,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.check_reactivate(request)
            .map(|_| ())
            .map_err(|e| e.to_json().into())
    }

    /// Reactivates an INACTIVE subscription now or at its effective date, or removes an
    /// ACTIVE one's scheduled cancellation.
    #[update]
    pub async fn reactivate(
        ctx: &mut WorkflowContext<Self>,
        request: ReactivateRequest,
    ) -> Result<ReactivateOutcome, Box<dyn std::error::Error + Send + Sync>> {
        let checked = ctx
            .state(|s| s.check_reactivate(&request))
            .map_err(|e| e.to_json())?;
        let id = match checked {
            Checked::Repeat(id) => id,
            Checked::New(()) => {
                let (at, later) = (now(ctx), is_future(ctx, request.effective_at.as_deref()));
                let change = ctx.state_mut(|s| s.open_reactivation(&request, later, &at));
                emit(ctx, change).await.map_err(|e| format!("{e:?}"))?;
                request.reactivation_id.clone()
            }
        };
        Ok(ctx.state(|s| {
            let reactivation = s.reactivation(&id).cloned().expect("reactivation recorded");
            ReactivateOutcome {
                event_uuid: reactivation.event_uuid.clone(),
                reactivation,
                order: s.view.clone(),
            }
        }))
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

/// What the amendment check decided.
enum Checked<T> {
    /// A repeat of an earlier request (same Idempotency-Key and content): its id.
    Repeat(String),
    /// A new request, and what the rules decided for it.
    New(T),
}

impl OrderWorkflow {
    /// Every check of an amendment request, against the authoritative workflow state.
    fn check_amend(
        &self,
        request: &AmendRequest,
    ) -> Result<Checked<(AmendPath, Box<OrderDocument>)>, RuleError> {
        if let Some(id) = self.repeat(request.idempotency_key.as_deref(), &request.changes)? {
            return Ok(Checked::Repeat(id));
        }
        if let Some(expected) = request.expected_revision
            && expected != self.view.revision
        {
            return Err(RuleError::new(
                "REVISION_MISMATCH",
                format!(
                    "If-Match revision {expected} is stale: the order is at revision {}; read it again",
                    self.view.revision
                ),
            ));
        }
        let (path, document) = amendment::check_amendment(
            &self.view,
            self.view.pending_kind(),
            &request.order_ref,
            &request.changes,
        )?;
        Ok(Checked::New((path, Box::new(document))))
    }

    /// A request repeated with the same `Idempotency-Key` and content: the id of the request it
    /// repeats. The same key with other content is refused.
    fn repeat(
        &self,
        key: Option<&str>,
        content: &serde_json::Value,
    ) -> Result<Option<String>, RuleError> {
        match key.and_then(|k| self.request_keys.get(k)) {
            None => Ok(None),
            Some((seen, id)) if seen == content => Ok(Some(id.clone())),
            Some(_) => Err(RuleError::new(
                "IDEMPOTENCY_KEY_REUSED",
                "this Idempotency-Key was used for a different request; use a new key",
            )),
        }
    }

    /// Every check of a cancellation, and its path.
    fn check_cancel(&self, request: &CancelRequest) -> Result<Checked<CancelPath>, RuleError> {
        if let Some(id) =
            self.repeat(request.idempotency_key.as_deref(), &cancel_content(request))?
        {
            return Ok(Checked::Repeat(id));
        }
        if request.reason.trim().is_empty() {
            return Err(RuleError::new(
                "REASON_REQUIRED",
                "a cancellation needs a non-empty 'reason'",
            ));
        }
        let path = cancellation::cancel_path(
            &self.view,
            self.view.pending_kind(),
            request.reason_code.as_deref(),
            &self.settings.unsolicited_cancel_reason_codes,
        )?;
        if request.effective_at.is_some() {
            cancellation::check_schedule(path, &self.view)?;
        }
        Ok(Checked::New(path))
    }

    /// Records a new cancellation (see [`OrderWorkflow::cancel`]); `later` says its effective
    /// time is still ahead.
    fn open_cancellation(
        &mut self,
        request: &CancelRequest,
        path: CancelPath,
        later: bool,
        at: &str,
    ) -> Change {
        if let Some(key) = &request.idempotency_key {
            self.request_keys.insert(
                key.clone(),
                (cancel_content(request), request.cancellation_id.clone()),
            );
        }
        let mut c = Cancellation {
            cancellation_id: request.cancellation_id.clone(),
            state: RequestState::Accepted,
            path,
            response_code: None,
            reason: request.reason.clone(),
            reason_code: request.reason_code.clone(),
            effective_at: request.effective_at.clone(),
            requested_at: request.requested_at.clone(),
            decided_at: Some(at.to_string()),
            decision_reason: None,
            event_uuid: None,
        };
        match path {
            CancelPath::Consumer => {
                let c = OrderRequest::Cancellation(c);
                Change::request(
                    EventType::CancellationAccepted,
                    Some(OrderState::Cancelled),
                    vec![c],
                )
            }
            CancelPath::Supplier => {
                c.state = RequestState::Pending;
                c.decided_at = None;
                Change::request(
                    EventType::CancellationPending,
                    None,
                    vec![OrderRequest::Cancellation(c)],
                )
            }
            CancelPath::Subscription if self.view.state == OrderState::Inactive => {
                let why = format!("cancellation {} removed it", c.cancellation_id);
                let removed =
                    self.settle_scheduled_reactivation(RequestState::Superseded, &why, at);
                let requests = [OrderRequest::Cancellation(c)]
                    .into_iter()
                    .chain(removed)
                    .collect();
                Change::request(EventType::ScheduledReactivationRemoved, None, requests)
            }
            CancelPath::Subscription => {
                let why = format!("replaced by cancellation {}", c.cancellation_id);
                let replaced =
                    self.settle_scheduled_cancellation(RequestState::Superseded, &why, at);
                if later {
                    c.state = RequestState::Scheduled;
                    c.decided_at = None;
                }
                let event = if later {
                    EventType::CancellationScheduled
                } else {
                    EventType::OrderDeactivated
                };
                let to = (!later).then_some(OrderState::Inactive);
                let requests = [OrderRequest::Cancellation(c)]
                    .into_iter()
                    .chain(replaced)
                    .collect();
                Change::request(event, to, requests)
            }
        }
    }

    /// Every check of a reactivation.
    fn check_reactivate(&self, request: &ReactivateRequest) -> Result<Checked<()>, RuleError> {
        let content = reactivate_content(request);
        if let Some(id) = self.repeat(request.idempotency_key.as_deref(), &content)? {
            return Ok(Checked::Repeat(id));
        }
        cancellation::check_reactivation(&self.view)?;
        Ok(Checked::New(()))
    }

    /// Records a new reactivation (see [`OrderWorkflow::reactivate`]).
    fn open_reactivation(&mut self, request: &ReactivateRequest, later: bool, at: &str) -> Change {
        if let Some(key) = &request.idempotency_key {
            self.request_keys.insert(
                key.clone(),
                (reactivate_content(request), request.reactivation_id.clone()),
            );
        }
        let mut r = Reactivation {
            reactivation_id: request.reactivation_id.clone(),
            state: RequestState::Accepted,
            reason: request.reason.clone(),
            effective_at: request.effective_at.clone(),
            requested_at: request.requested_at.clone(),
            decided_at: Some(at.to_string()),
            decision_reason: None,
            event_uuid: None,
        };
        if self.view.state == OrderState::Active {
            let why = format!("reactivation {} removed it", r.reactivation_id);
            let removed = self.settle_scheduled_cancellation(RequestState::Superseded, &why, at);
            let requests = [OrderRequest::Reactivation(r)]
                .into_iter()
                .chain(removed)
                .collect();
            Change::request(EventType::ScheduledCancellationRemoved, None, requests)
        } else {
            let why = format!("replaced by reactivation {}", r.reactivation_id);
            let replaced = self.settle_scheduled_reactivation(RequestState::Superseded, &why, at);
            if later {
                r.state = RequestState::Scheduled;
                r.decided_at = None;
            }
            let (event, to) = if later {
                (EventType::ReactivationScheduled, None)
            } else {
                (EventType::OrderReactivated, Some(OrderState::Active))
            };
            let requests = [OrderRequest::Reactivation(r)]
                .into_iter()
                .chain(replaced)
                .collect();
            Change::request(event, to, requests)
        }
    }

    /// Settles the SCHEDULED cancellation, if any: `Accepted` when it takes effect,
    /// `Superseded` when replaced or removed. Returns it for persisting.
    fn settle_scheduled_cancellation(
        &mut self,
        to: RequestState,
        why: &str,
        at: &str,
    ) -> Option<OrderRequest> {
        settle_scheduled(&mut self.cancellations, to, why, at).map(OrderRequest::Cancellation)
    }

    /// Settles the SCHEDULED reactivation, if any (see above).
    fn settle_scheduled_reactivation(
        &mut self,
        to: RequestState,
        why: &str,
        at: &str,
    ) -> Option<OrderRequest> {
        settle_scheduled(&mut self.reactivations, to, why, at).map(OrderRequest::Reactivation)
    }

    /// Adds or replaces a cancellation or reactivation in the workflow's state.
    fn store_request(&mut self, request: OrderRequest) {
        match request {
            OrderRequest::Cancellation(c) => upsert(&mut self.cancellations, c),
            OrderRequest::Reactivation(r) => upsert(&mut self.reactivations, r),
        }
    }

    fn cancellation(&self, id: &str) -> Option<&Cancellation> {
        self.cancellations.iter().find(|c| c.cancellation_id == id)
    }

    fn reactivation(&self, id: &str) -> Option<&Reactivation> {
        self.reactivations.iter().find(|r| r.reactivation_id == id)
    }

    /// The open supplier-path cancellation, if any.
    fn pending_cancellation(&self) -> Option<&Cancellation> {
        self.cancellations
            .iter()
            .find(|c| c.state == RequestState::Pending)
    }

    /// The subscription's next scheduled change: (request id, RFC 3339 instant).
    fn next_schedule(&self) -> Option<(String, String)> {
        let c = self
            .cancellations
            .iter()
            .filter(|c| c.state == RequestState::Scheduled)
            .map(|c| (c.cancellation_id.clone(), c.effective_at.clone()));
        let r = self
            .reactivations
            .iter()
            .filter(|r| r.state == RequestState::Scheduled)
            .map(|r| (r.reactivation_id.clone(), r.effective_at.clone()));
        c.chain(r)
            .filter_map(|(id, at)| Some((id, at?)))
            .min_by(|a, b| a.1.cmp(&b.1))
    }

    /// What `pending_request` shows: the open cancellation, else the open amendment, else a
    /// scheduled reactivation. Also sets the `scheduled_*` fields.
    fn refresh_requests(&mut self) {
        self.view.pending_request = if let Some(c) = self.pending_cancellation() {
            Some(serde_json::json!({
                "kind": "CANCELLATION",
                "cancellation_id": c.cancellation_id,
                "state": "PENDING",
                "requested_at": c.requested_at,
            }))
        } else if let Some(a) = self.pending_amendment() {
            Some(serde_json::json!({
                "kind": "AMENDMENT",
                "amendment_id": a.amendment_id,
                "state": "PENDING",
                "requested_at": a.requested_at,
            }))
        } else {
            self.reactivations
                .iter()
                .find(|r| r.state == RequestState::Scheduled)
                .map(|r| {
                    serde_json::json!({
                        "kind": "REACTIVATION",
                        "reactivation_id": r.reactivation_id,
                        "state": "SCHEDULED",
                        "effective_at": r.effective_at,
                        "requested_at": r.requested_at,
                    })
                })
        };
        self.view.scheduled_cancellation = self
            .cancellations
            .iter()
            .find(|c| c.state == RequestState::Scheduled)
            .map(|c| {
                serde_json::json!({
                    "cancellation_id": c.cancellation_id,
                    "effective_at": c.effective_at,
                    "reason": c.reason,
                    "reason_code": c.reason_code,
                })
            });
        self.view.scheduled_reactivation = self
            .reactivations
            .iter()
            .find(|r| r.state == RequestState::Scheduled)
            .map(|r| {
                serde_json::json!({
                    "reactivation_id": r.reactivation_id,
                    "effective_at": r.effective_at,
                    "reason": r.reason,
                })
            });
    }

    /// Settles a PENDING cancellation with the supplier's answer: AP cancels the order, RE
    /// leaves it as it was.
    fn decide_cancellation(
        &mut self,
        id: &str,
        accept: bool,
        reason: Option<String>,
        at: &str,
    ) -> Change {
        let c = self
            .cancellations
            .iter_mut()
            .find(|c| c.cancellation_id == id)
            .expect("deciding a known cancellation");
        c.decided_at = Some(at.to_string());
        c.response_code = Some(if accept { "AP" } else { "RE" }.to_string());
        let (event, to) = if accept {
            c.state = RequestState::Accepted;
            (EventType::CancellationAccepted, Some(OrderState::Cancelled))
        } else {
            c.state = RequestState::Rejected;
            c.decision_reason =
                Some(reason.unwrap_or_else(|| "rejected by the supplier".to_string()));
            (EventType::CancellationRejected, None)
        };
        Change::request(event, to, vec![OrderRequest::Cancellation(c.clone())])
    }

    /// Records a new amendment. RESTART: the order takes the changes now, its plan is
    /// discarded and the lifecycle starts again at SUBMITTED. PATCH: it waits for the supplier.
    fn open_amendment(
        &mut self,
        request: &AmendRequest,
        path: AmendPath,
        document: OrderDocument,
        at: &str,
    ) -> Change {
        let mut a = Amendment {
            amendment_id: request.amendment_id.clone(),
            state: RequestState::Pending,
            path,
            changes: request.changes.clone(),
            reason: None,
            requested_at: request.requested_at.clone(),
            decided_at: None,
            revision: None,
        };
        if let Some(key) = &request.idempotency_key {
            self.request_keys.insert(
                key.clone(),
                (request.changes.clone(), a.amendment_id.clone()),
            );
        }
        let event = match path {
            AmendPath::Restart => {
                self.view.document = document;
                self.view.revision += 1;
                if let Some(plan) = self.view.plan.as_mut() {
                    plan.status = PlanStatus::Discarded;
                }
                self.restarts += 1;
                if self.view.state == OrderState::Suspended {
                    self.resume_to = Some(OrderState::Submitted);
                }
                a.state = RequestState::Accepted;
                a.decided_at = Some(at.to_string());
                a.revision = Some(self.view.revision);
                EventType::AmendmentAccepted
            }
            // `pending_request` shows it from now on (see `refresh_requests`).
            AmendPath::Patch => EventType::AmendmentPending,
        };
        let change = Change::amendment(event, &a);
        self.amendments.push(a);
        change
    }

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
        let mut requests = change.requests;
        for r in &mut requests {
            match r {
                OrderRequest::Cancellation(c) => c.event_uuid = Some(event_uuid.clone()),
                OrderRequest::Reactivation(r) => r.event_uuid = Some(event_uuid.clone()),
            }
            self.store_request(r.clone());
        }
        self.refresh_requests();
        let request_id = match (&change.amendment, requests.first()) {
            (Some(a), _) => Some(a.amendment_id.clone()),
            (None, Some(r)) => Some(r.id().to_string()),
            (None, None) => None,
        };
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
            request_id,
            revision: self.view.revision,
            occurred_at: now,
            detail: change.detail,
        };
        RecordInput {
            view: self.view.clone(),
            event,
            amendment: change.amendment,
            requests,
        }
    }

    /// Applies the scheduled request `id` that has fallen due: the subscription deactivates or
    /// reactivates.
    fn fire_schedule(&mut self, id: &str, at: &str) -> Option<Change> {
        let due = |state| state == RequestState::Scheduled;
        if self.cancellation(id).is_some_and(|c| due(c.state)) {
            let c = self.settle_scheduled_cancellation(RequestState::Accepted, "", at)?;
            return Some(Change::request(
                EventType::OrderDeactivated,
                Some(OrderState::Inactive),
                vec![c],
            ));
        }
        if self.reactivation(id).is_some_and(|r| due(r.state)) {
            let r = self.settle_scheduled_reactivation(RequestState::Accepted, "", at)?;
            return Some(Change::request(
                EventType::OrderReactivated,
                Some(OrderState::Active),
                vec![r],
            ));
        }
        None
    }

    /// Nothing is in flight or waiting to be handled, so the run may continue as new.
    fn quiet(&self) -> bool {
        self.pending_cancellation().is_none()
            && self.pending_amendment().is_none()
            && self.supplier_cancel.is_none()
            && self.supplier_amendments.is_empty()
    }

    /// The input of the next run when a subscription continues as new.
    fn carry(&self) -> OrderWorkflowInput {
        OrderWorkflowInput {
            order: self.view.document.clone(),
            created_at: self.view.created_at.clone(),
            settings: self.settings.clone(),
            carried: Some(Box::new(Carried {
                view: self.view.clone(),
                operator_retries: self.operator_retries,
                amendments: self.amendments.clone(),
                cancellations: self.cancellations.clone(),
                reactivations: self.reactivations.clone(),
                request_keys: self.request_keys.clone(),
                seen_callbacks: self.seen_callbacks.clone(),
            })),
        }
    }

    /// Has the order ended, or is the supplier's own cancellation waiting to end it?
    fn overtaken(&self) -> bool {
        self.halted() || self.supplier_cancel.is_some()
    }

    fn halted(&self) -> bool {
        rules::is_terminal(self.view.state)
    }

    /// Should the lifecycle pass started at `generation` stop? (Order ended, or an amendment
    /// restarted it.)
    fn interrupted(&self, generation: u32) -> bool {
        self.halted() || self.restarts != generation
    }

    fn halt(&self) -> Halt {
        if self.halted() {
            Halt::Terminal
        } else {
            Halt::Restart
        }
    }

    /// The open amendment, if any.
    fn pending_amendment(&self) -> Option<&Amendment> {
        self.amendments
            .iter()
            .find(|a| a.state == RequestState::Pending)
    }

    fn amendment(&self, id: &str) -> Option<&Amendment> {
        self.amendments.iter().find(|a| a.amendment_id == id)
    }

    /// Settles a PENDING amendment: accepted ones apply their changes (the remaining plan
    /// steps are called with the new order), rejected ones change nothing.
    fn decide(&mut self, id: &str, accept: bool, reason: Option<String>, at: &str) -> Change {
        let document = self.view.document.clone();
        let index = self
            .amendments
            .iter()
            .position(|a| a.amendment_id == id)
            .expect("deciding a known amendment");
        let merged = if accept {
            amendment::merge_changes(&document, &self.amendments[index].changes)
        } else {
            Err(RuleError::new(
                "REJECTED",
                reason.clone().unwrap_or_default(),
            ))
        };
        let a = &mut self.amendments[index];
        a.decided_at = Some(at.to_string());
        let event = match merged {
            Ok(doc) => {
                self.view.document = doc;
                self.view.revision += 1;
                a.state = RequestState::Accepted;
                a.revision = Some(self.view.revision);
                EventType::AmendmentAccepted
            }
            Err(e) => {
                a.state = RequestState::Rejected;
                a.reason = Some(if accept {
                    format!("the accepted changes no longer apply: {}", e.message)
                } else {
                    reason.unwrap_or_else(|| "rejected by the supplier".into())
                });
                EventType::AmendmentRejected
            }
        };
        Change::amendment(event, a)
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
    workflow_now(ctx).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
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
    // The API starts the workflow with `OrderState` SUBMITTED (older APIs: START), the state
    // its first task moves to; writing START here would only cost a visibility write and
    // undo it. Histories from before the patch upserted every value and still do.
    let state = record.view.state;
    let order_state = (state != OrderState::Start || !ctx.state(|s| s.sa_only_changes))
        .then(|| (SA_ORDER_STATE, state.as_str().to_string()));
    upsert_keywords(
        ctx,
        order_state
            .into_iter()
            .chain([(SA_PENDING_REQUEST, pending)]),
    );
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

/// Upserts keyword search attributes: only those whose value changes, under
/// [`PATCH_SA_ONLY_CHANGES`], else all of them (as histories recorded before it expect).
fn upsert_keywords(
    ctx: &WorkflowContext<OrderWorkflow>,
    values: impl IntoIterator<Item = (SearchAttributeKey<String>, String)>,
) {
    let current = ctx
        .state(|s| s.sa_only_changes)
        .then(|| ctx.search_attributes());
    let updates: Vec<_> = values
        .into_iter()
        .filter(|(key, value)| {
            current
                .as_ref()
                .is_none_or(|c| c.get(key).as_ref() != Some(value))
        })
        .map(|(key, value)| key.value_set(value))
        .collect();
    if !updates.is_empty() {
        ctx.upsert_search_attributes(updates);
    }
}

/// Moves to `to` once the order is not held; a SUSPENDED order resumes here.
async fn transition(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
    to: OrderState,
    reason: Option<String>,
) -> WorkflowResult<Result<(), Halt>> {
    ctx.wait_condition(|s| s.view.state != OrderState::Suspended || s.interrupted(generation))
        .await?;
    if ctx.state(|s| s.interrupted(generation)) {
        return Ok(Err(ctx.state(|s| s.halt())));
    }
    emit(ctx, Change::state(to, reason)).await?;
    Ok(Ok(()))
}

fn supplier_options(settings: &WorkflowSettings, summary: &str) -> ActivityOptions {
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

/// Runs one supplier call as an activity. Transient failures are retried by Temporal with
/// the same idempotency key; a permanent failure (or exhausted retries) parks the order in
/// ERROR_HANDLER until an operator retries (fresh key) or withdraws it. A withdrawal or a
/// restarting amendment while the call is in flight cancels the activity.
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
        // A held order makes no new supplier calls.
        ctx.wait_condition(|s| s.view.state != OrderState::Suspended || s.interrupted(generation))
            .await?;
        if ctx.state(|s| s.interrupted(generation)) {
            return Ok(Err(ctx.state(|s| s.halt())));
        }
        let (input, settings) = ctx.state(|s| {
            let mut call = s.call(&workflow_id, step);
            if step.starts_with("step-") {
                call.step_id = Some(step.to_string());
            }
            (call, s.settings.clone())
        });
        let mut call =
            ctx.execute_activity(activity(), input, supplier_options(&settings, summary));
        let mut stop = ctx.wait_condition(|s| s.interrupted(generation));
        let outcome = temporalio_sdk::workflows::select! {
            r = call => Some(r),
            _ = stop => None,
        };
        let Some(result) = outcome else {
            use temporalio_sdk::CancellableFuture;
            call.cancel();
            return Ok(Err(ctx.state(|s| s.halt())));
        };
        match result {
            Ok(value) => return Ok(Ok(value)),
            Err(error) => {
                if let Err(halt) =
                    error_handler(ctx, generation, format!("{summary} failed: {error}")).await?
                {
                    return Ok(Err(halt));
                }
            }
        }
    }
}

/// Parks the order in ERROR_HANDLER until an operator retries or withdraws it.
async fn error_handler(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
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
    ctx.wait_condition(|s| s.retry_requested || s.interrupted(generation))
        .await?;
    if ctx.state(|s| s.interrupted(generation)) {
        return Ok(Err(ctx.state(|s| s.halt())));
    }
    ctx.state_mut(|s| s.retry_requested = false);
    Ok(Ok(()))
}

/// Waits for the order to be withdrawn or restarted by an amendment (PRE_QUALIFICATION_FAILED,
/// a fulfilled subscription).
async fn park(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
) -> WorkflowResult<Result<(), Halt>> {
    ctx.wait_condition(|s| s.interrupted(generation)).await?;
    Ok(Err(ctx.state(|s| s.halt())))
}

macro_rules! proceed {
    ($e:expr) => {
        match $e.await? {
            Ok(v) => v,
            Err(halt) => return Ok(Err(halt)),
        }
    };
}

/// The fulfilment lifecycle; an accepted RESTART amendment starts it again from SUBMITTED.
async fn fulfil(ctx: &WorkflowContext<OrderWorkflow>) -> WorkflowResult<()> {
    if ctx.state(|s| s.resumed) {
        // A subscription continued as new: it picks up parked, where the last run left it.
        let generation = ctx.state(|s| s.restarts);
        return subscription(ctx, generation).await.map(|_| ());
    }
    loop {
        let generation = ctx.state(|s| s.restarts);
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
    let gen_ = generation;
    let label = ctx.state(|s| {
        format!(
            "{}/{} with supplier {}",
            s.view.document.tenant_id, s.view.document.order_id, s.view.document.supplier_id
        )
    });
    proceed!(transition(ctx, gen_, OrderState::Submitted, None));

    // An unsolicited cease comes from the supplier: nothing to validate or transfer.
    if !ctx.state(|s| s.view.document.unsolicited) {
        let verdict: Verdict = proceed!(supplier_call(
            ctx,
            gen_,
            || OrderActivities::validate,
            "validate",
            &format!("Validate order {label}"),
        ));
        if !verdict.passed {
            ctx.state_mut(|s| s.view.cause = Some(PqfCause::Validation));
            let reason = verdict.reason.unwrap_or_else(|| "validation failed".into());
            proceed!(transition(
                ctx,
                gen_,
                OrderState::PreQualificationFailed,
                Some(reason)
            ));
            return park(ctx, gen_).await;
        }

        proceed!(supplier_call(
            ctx,
            gen_,
            || OrderActivities::transfer,
            "transfer",
            &format!("Transfer order {label}"),
        ));
        ctx.state_mut(|s| s.view.transferred = true);
    }
    proceed!(transition(ctx, gen_, OrderState::Feasibility, None));

    let verdict: Verdict = proceed!(supplier_call(
        ctx,
        gen_,
        || OrderActivities::feasibility,
        "feasibility",
        &format!("Check feasibility of order {label}"),
    ));
    if !verdict.passed {
        ctx.state_mut(|s| s.view.cause = Some(PqfCause::Feasibility));
        let reason = verdict.reason.unwrap_or_else(|| "not feasible".into());
        proceed!(transition(
            ctx,
            gen_,
            OrderState::PreQualificationFailed,
            Some(reason)
        ));
        return park(ctx, gen_).await;
    }

    proceed!(transition(ctx, gen_, OrderState::PlanDevelopment, None));
    let proposal: PlanProposal = proceed!(supplier_call(
        ctx,
        gen_,
        || OrderActivities::plan,
        "plan",
        &format!("Develop plan for order {label}"),
    ));
    ctx.state_mut(|s| {
        s.view.plan = Some(Plan {
            plan_id: proposal.plan_id.clone(),
            status: PlanStatus::Executing,
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
    proceed!(transition(ctx, gen_, OrderState::Execution, None));

    for (index, planned) in proposal.steps.iter().enumerate() {
        proceed!(run_step(
            ctx,
            gen_,
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
    proceed!(transition(
        ctx,
        gen_,
        rules::fulfilled_state(recurring),
        None
    ));
    if recurring {
        return subscription(ctx, gen_).await;
    }
    Ok(Ok(()))
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
    generation: u32,
    index: usize,
    step_id: String,
    name: &str,
    label: &str,
) -> WorkflowResult<Result<(), Halt>> {
    loop {
        ctx.wait_condition(|s| s.view.state != OrderState::Suspended || s.interrupted(generation))
            .await?;
        if ctx.state(|s| s.interrupted(generation)) {
            return Ok(Err(ctx.state(|s| s.halt())));
        }
        ctx.state_mut(|s| set_step(s, index, StepStatus::Running));
        let summary = format!("Step {step_id} ({name}) of order {label}");
        let outcome = proceed!(supplier_call(
            ctx,
            generation,
            || OrderActivities::step,
            &step_id,
            &summary
        ));
        let failure = if outcome == StepOutcome::Accepted {
            let id = step_id.clone();
            ctx.wait_condition(|s| s.step_callbacks.contains_key(&id) || s.interrupted(generation))
                .await?;
            if ctx.state(|s| s.interrupted(generation)) {
                return Ok(Err(ctx.state(|s| s.halt())));
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
                        amendment: None,
                        requests: Vec::new(),
                    },
                )
                .await?;
                return Ok(Ok(()));
            }
            Some(reason) => {
                ctx.state_mut(|s| set_step(s, index, StepStatus::Failed));
                proceed!(error_handler(ctx, generation, reason));
            }
        }
    }
}

/// Works through amendment requests beside the lifecycle: sends each PATCH amendment to the
/// supplier, waits for its decision (at once, by callback, or the answer timeout), and
/// applies supplier-initiated changes. Ends with the lifecycle.
async fn handle_requests(ctx: &WorkflowContext<OrderWorkflow>) -> WorkflowResult<()> {
    loop {
        ctx.wait_condition(|s| {
            s.lifecycle_done
                || !s.supplier_amendments.is_empty()
                || s.pending_amendment().is_some_and(|a| {
                    a.path == AmendPath::Patch && !s.negotiated.contains(&a.amendment_id)
                })
        })
        .await?;
        if ctx.state(|s| s.lifecycle_done) {
            return Ok(());
        }
        let supplier_change = ctx.state_mut(|s| {
            if s.supplier_amendments.is_empty() {
                None
            } else {
                Some(s.supplier_amendments.remove(0))
            }
        });
        if let Some(change) = supplier_change {
            apply_supplier_amendment(ctx, change).await?;
            continue;
        }
        let Some(pending) = ctx.state(|s| s.pending_amendment().cloned()) else {
            continue;
        };
        ctx.state_mut(|s| s.negotiated.insert(pending.amendment_id.clone()));
        negotiate(ctx, &pending).await?;
    }
}

/// Sends one PATCH amendment to the supplier and settles it.
async fn negotiate(
    ctx: &WorkflowContext<OrderWorkflow>,
    pending: &Amendment,
) -> WorkflowResult<()> {
    let workflow_id = ctx.workflow_id().to_string();
    let (input, settings) = ctx.state(|s| {
        let mut call = s.call(&workflow_id, &format!("amend/{}", pending.amendment_id));
        call.order = s.view.document.clone();
        (
            AmendCall {
                call,
                amendment_id: pending.amendment_id.clone(),
                changes: pending.changes.clone(),
            },
            s.settings.clone(),
        )
    });
    let summary = format!("Send amendment {} to the supplier", pending.amendment_id);
    let call = ctx.execute_activity(
        OrderActivities::amend,
        input,
        supplier_options(&settings, &summary),
    );
    let asked = Negotiation {
        what: "amendment",
        id: pending.amendment_id.clone(),
        answer_timeout_secs: settings.amendment_answer_timeout_secs,
        overtaken: OrderWorkflow::halted,
        has_decision: |s, id| s.amend_decisions.contains_key(id),
        take_decision: |s, id| s.amend_decisions.remove(id).map(|d| (d.accept, d.reason)),
    };
    let read = |a: AmendAnswer| match a.decision.as_str() {
        "ACCEPT" => Some((true, a.reason)),
        "REJECT" => Some((false, a.reason)),
        _ => None,
    };
    let Some((accept, reason)) = ask_supplier(ctx, call, read, asked).await? else {
        return Ok(());
    };
    if ctx.state(|s| s.amendment(&pending.amendment_id).map(|a| a.state))
        != Some(RequestState::Pending)
    {
        return Ok(());
    }
    let at = now(ctx);
    let change = ctx.state_mut(|s| s.decide(&pending.amendment_id, accept, reason, &at));
    emit(ctx, change).await
}

/// A supplier's decision on a request: accepted or not, and why.
type Decision = (bool, Option<String>);

/// A request (amendment or cancellation) being put to the supplier, and where its decision
/// arrives if the supplier answers later by callback.
struct Negotiation {
    what: &'static str,
    id: String,
    answer_timeout_secs: u64,
    /// Stop waiting: the request no longer matters (the order ended, …).
    overtaken: fn(&OrderWorkflow) -> bool,
    has_decision: fn(&OrderWorkflow, &str) -> bool,
    take_decision: fn(&mut OrderWorkflow, &str) -> Option<Decision>,
}

/// Waits for the supplier's decision on a request whose activity `call` is in flight: in the
/// answer (`read` gives `None` for PENDING), else by callback within the answer timeout (else
/// rejected). A failed call rejects the request (the order itself is fine). `None` when the
/// request was overtaken first; an in-flight call is then cancelled.
async fn ask_supplier<O, E: std::fmt::Display>(
    ctx: &WorkflowContext<OrderWorkflow>,
    mut call: impl temporalio_sdk::CancellableFuture<Output = Result<O, E>> + Unpin,
    read: impl Fn(O) -> Option<Decision>,
    asked: Negotiation,
) -> WorkflowResult<Option<Decision>> {
    let overtaken = asked.overtaken;
    let mut ended = ctx.wait_condition(overtaken);
    let answer = temporalio_sdk::workflows::select! {
        r = call => Some(r),
        _ = ended => None,
    };
    let Some(answer) = answer else {
        call.cancel();
        return Ok(None);
    };
    let decision = match answer {
        Ok(a) => read(a),
        Err(e) => Some((
            false,
            Some(format!(
                "the supplier could not take the {}: {e}",
                asked.what
            )),
        )),
    };
    if decision.is_some() {
        return Ok(decision);
    }
    // PENDING: the supplier decides later by callback, within the answer timeout.
    let (id, has_decision) = (asked.id.clone(), asked.has_decision);
    let mut decided = ctx.wait_condition(move |s| has_decision(s, &id) || overtaken(s));
    let mut timeout = ctx.timer(Duration::from_secs(asked.answer_timeout_secs));
    let timed_out = temporalio_sdk::workflows::select! {
        _ = decided => false,
        _ = timeout => true,
    };
    if ctx.state(overtaken) {
        return Ok(None);
    }
    if timed_out {
        return Ok(Some((
            false,
            Some(format!(
                "the supplier did not answer within {} s",
                asked.answer_timeout_secs
            )),
        )));
    }
    use temporalio_sdk::CancellableFuture;
    timeout.cancel();
    let take = asked.take_decision;
    Ok(ctx.state_mut(|s| take(s, &asked.id)))
}

/// The supplier changed the order on its own (SUPPLIER_AMEND callback).
async fn apply_supplier_amendment(
    ctx: &WorkflowContext<OrderWorkflow>,
    change: SupplierAmendment,
) -> WorkflowResult<()> {
    let applied = ctx.state_mut(|s| {
        let merged = amendment::merge_changes(&s.view.document, &change.changes).ok()?;
        s.view.document = merged;
        s.view.revision += 1;
        Some(())
    });
    if applied.is_none() {
        return Ok(());
    }
    emit(
        ctx,
        Change {
            event: EventType::OrderAmendedBySupplier,
            to: None,
            reason: change.reason.clone(),
            detail: serde_json::json!({ "changes": change.changes, "reason": change.reason, "callback_id": change.callback_id }),
            amendment: None,
            requests: Vec::new(),
        },
    )
    .await
}

/// Requests still open when the order ends are SUPERSEDED: a PENDING amendment or
/// cancellation, a SCHEDULED cancellation or reactivation. One event each.
async fn supersede_pending(ctx: &WorkflowContext<OrderWorkflow>) -> WorkflowResult<()> {
    loop {
        let at = now(ctx);
        let change = ctx.state_mut(|s| {
            let why = format!("the order reached {} first", s.view.state);
            if let Some(a) = s
                .amendments
                .iter_mut()
                .find(|a| a.state == RequestState::Pending)
            {
                a.state = RequestState::Superseded;
                a.decided_at = Some(at.clone());
                a.reason = Some(why);
                return Some(Change::amendment(EventType::AmendmentSuperseded, a));
            }
            let open = |state| matches!(state, RequestState::Pending | RequestState::Scheduled);
            if let Some(c) = s.cancellations.iter_mut().find(|c| open(c.state)) {
                c.settle(RequestState::Superseded, &why, &at);
                let c = OrderRequest::Cancellation(c.clone());
                return Some(Change::request(
                    EventType::CancellationSuperseded,
                    None,
                    vec![c],
                ));
            }
            let r = s.reactivations.iter_mut().find(|r| open(r.state))?;
            r.settle(RequestState::Superseded, &why, &at);
            let r = OrderRequest::Reactivation(r.clone());
            Some(Change::request(
                EventType::ReactivationSuperseded,
                None,
                vec![r],
            ))
        });
        match change {
            Some(change) => emit(ctx, change).await?,
            None => return Ok(()),
        }
    }
}

/// Works through cancellations beside the lifecycle (so a PENDING amendment never holds one
/// up): sends each supplier-path cancellation to the supplier and settles it, and applies the
/// supplier's own cancellation. Ends with the lifecycle.
async fn handle_cancellations(ctx: &WorkflowContext<OrderWorkflow>) -> WorkflowResult<()> {
    loop {
        ctx.wait_condition(|s| {
            s.lifecycle_done
                || s.supplier_cancel.is_some()
                || s.pending_cancellation()
                    .is_some_and(|c| !s.negotiated.contains(&c.cancellation_id))
        })
        .await?;
        if ctx.state(|s| s.lifecycle_done) {
            return Ok(());
        }
        if let Some(cancel) = ctx.state_mut(|s| s.supplier_cancel.take()) {
            if !ctx.state(|s| s.halted()) {
                let change = Change {
                    event: EventType::OrderCancelledBySupplier,
                    to: Some(OrderState::Cancelled),
                    reason: Some(
                        cancel
                            .reason
                            .clone()
                            .unwrap_or_else(|| "cancelled by the supplier".to_string()),
                    ),
                    detail: serde_json::json!({ "reason": cancel.reason, "callback_id": cancel.callback_id }),
                    amendment: None,
                    requests: Vec::new(),
                };
                emit(ctx, change).await?;
            }
            continue;
        }
        let Some(pending) = ctx.state(|s| s.pending_cancellation().cloned()) else {
            continue;
        };
        ctx.state_mut(|s| s.negotiated.insert(pending.cancellation_id.clone()));
        negotiate_cancellation(ctx, &pending).await?;
    }
}

/// Sends one cancellation to the supplier and settles it: AP or RE now, or PENDING until the
/// supplier's callback (RE if it never comes within the answer timeout).
async fn negotiate_cancellation(
    ctx: &WorkflowContext<OrderWorkflow>,
    pending: &Cancellation,
) -> WorkflowResult<()> {
    let workflow_id = ctx.workflow_id().to_string();
    let id = pending.cancellation_id.clone();
    let (input, settings) = ctx.state(|s| {
        (
            CancelCall {
                call: s.call(&workflow_id, &format!("cancel/{id}")),
                cancellation_id: id.clone(),
                reason: pending.reason.clone(),
                reason_code: pending.reason_code.clone(),
            },
            s.settings.clone(),
        )
    });
    let summary = format!("Send cancellation {id} to the supplier");
    let call = ctx.execute_activity(
        OrderActivities::cancel,
        input,
        supplier_options(&settings, &summary),
    );
    // The order may end otherwise meanwhile, or the supplier cancel it on its own (which the
    // caller applies next); the request is then superseded.
    let asked = Negotiation {
        what: "cancellation",
        id: id.clone(),
        answer_timeout_secs: settings.cancellation_answer_timeout_secs,
        overtaken: OrderWorkflow::overtaken,
        has_decision: |s, id| s.cancel_decisions.contains_key(id),
        take_decision: |s, id| s.cancel_decisions.remove(id).map(|d| (d.accept, d.reason)),
    };
    let read = |a: CancelAnswer| match a.response_code.as_str() {
        "AP" => Some((true, a.reason)),
        "RE" => Some((false, a.reason)),
        _ => None,
    };
    let Some((accept, reason)) = ask_supplier(ctx, call, read, asked).await? else {
        return Ok(());
    };
    if ctx.state(|s| s.cancellation(&id).map(|c| c.state)) != Some(RequestState::Pending)
        || ctx.state(|s| s.overtaken())
    {
        return Ok(());
    }
    let at = now(ctx);
    let change = ctx.state_mut(|s| s.decide_cancellation(&id, accept, reason, &at));
    emit(ctx, change).await
}

/// A fulfilled subscription (ACTIVE or INACTIVE): waits for its scheduled cancellation or
/// reactivation to fall due, for the order to end, or for its history to grow long enough to
/// continue as new.
async fn subscription(
    ctx: &WorkflowContext<OrderWorkflow>,
    generation: u32,
) -> WorkflowResult<Result<(), Halt>> {
    loop {
        if ctx.state(|s| s.interrupted(generation)) {
            return Ok(Err(ctx.state(|s| s.halt())));
        }
        let next = ctx.state(|s| s.next_schedule());
        let now_at = workflow_now(ctx);
        if let Some((id, at)) = &next {
            let due = chrono::DateTime::parse_from_rfc3339(at)
                .map(|t| t.with_timezone(&chrono::Utc))
                .unwrap_or(now_at);
            if due <= now_at {
                let stamp = now(ctx);
                let change = ctx.state_mut(|s| s.fire_schedule(id, &stamp));
                if let Some(change) = change {
                    emit(ctx, change).await?;
                }
                continue;
            }
        }
        let limit = ctx.state(|s| s.settings.continue_as_new_after_events);
        if ctx.state(|s| s.quiet()) && history_is_long(ctx, limit) {
            ctx.wait_condition(|_| ctx.all_handlers_finished()).await?;
            if ctx.state(|s| s.quiet()) {
                let input = ctx.state(|s| s.carry());
                ctx.continue_as_new(input, ContinueAsNewOptions::default())?;
            }
            continue;
        }
        let key = next.as_ref().map(|(id, _)| id.clone());
        let long = ctx.clone();
        let mut changed = ctx.wait_condition(move |s| {
            s.interrupted(generation)
                || s.next_schedule().map(|(id, _)| id) != key
                || (s.quiet() && history_is_long(&long, limit))
        });
        match next {
            Some((_, at)) => {
                let due = chrono::DateTime::parse_from_rfc3339(&at)
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .unwrap_or(now_at);
                let wait = (due - now_at).to_std().unwrap_or_default();
                let mut timer = ctx.timer(
                    TimerOptions::builder(wait)
                        .summary(format!("Scheduled change of the subscription at {at}"))
                        .build(),
                );
                temporalio_sdk::workflows::select! {
                    _ = changed => {
                        use temporalio_sdk::CancellableFuture;
                        timer.cancel();
                    },
                    _ = timer => {},
                };
            }
            None => changed.await?,
        }
    }
}

/// Has this run's history grown past the continue-as-new threshold (or has the server asked)?
fn history_is_long(ctx: &WorkflowContext<OrderWorkflow>, limit: u32) -> bool {
    ctx.history_length() >= limit || ctx.continue_as_new_suggested()
}

/// Waits for `done` up to the configured reply wait, so a request answered quickly by the
/// supplier gets its decision in the response rather than PENDING.
async fn wait_briefly(
    ctx: &WorkflowContext<OrderWorkflow>,
    done: impl Fn(&OrderWorkflow) -> bool + Unpin + 'static,
) {
    let wait = ctx.state(|s| s.settings.amendment_reply_wait_ms);
    let mut decided = ctx.wait_condition(done);
    let mut timer = ctx.timer(Duration::from_millis(wait));
    temporalio_sdk::workflows::select! {
        _ = decided => {
            use temporalio_sdk::CancellableFuture;
            timer.cancel();
        },
        _ = timer => {},
    };
}

fn workflow_now(ctx: &WorkflowContext<OrderWorkflow>) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::from(ctx.workflow_time().unwrap_or(std::time::UNIX_EPOCH))
}

/// Is `effective_at` still ahead in workflow time?
fn is_future(ctx: &WorkflowContext<OrderWorkflow>, effective_at: Option<&str>) -> bool {
    cancellation::is_future(effective_at, workflow_now(ctx))
}

/// The SCHEDULED request among `requests`, settled as `to`; a copy of it for persisting.
fn settle_scheduled<R: Request>(
    requests: &mut [R],
    to: RequestState,
    why: &str,
    at: &str,
) -> Option<R> {
    let r = requests
        .iter_mut()
        .find(|r| r.state() == RequestState::Scheduled)?;
    r.settle(to, why, at);
    Some(r.clone())
}

/// Adds `request` to `requests`, or replaces the one with its id.
fn upsert<R: Request>(requests: &mut Vec<R>, request: R) {
    match requests.iter_mut().find(|r| r.id() == request.id()) {
        Some(r) => *r = request,
        None => requests.push(request),
    }
}

/// What an Idempotency-Key remembers of a reactivation.
fn reactivate_content(request: &ReactivateRequest) -> serde_json::Value {
    serde_json::json!({ "reason": request.reason, "effective_at": request.effective_at })
}

/// What an Idempotency-Key remembers of a cancellation.
fn cancel_content(request: &CancelRequest) -> serde_json::Value {
    serde_json::json!({
        "reason": request.reason,
        "reason_code": request.reason_code,
        "effective_at": request.effective_at,
    })
}
