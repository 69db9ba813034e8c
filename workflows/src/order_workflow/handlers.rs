//! The workflow's entry points: the run, the `status` query, the supplier's signals and the
//! tenant's and operator's updates. Every refusal happens in an update's validator, before
//! anything is written to history, and is checked again when the update runs (a request
//! validated in the same batch may have got there first). Tenant updates share one path:
//! check, record the new request, wait briefly where the supplier decides, answer.

use super::continuation::run_or_continue;
use super::emit::{emit, is_future, now};
use super::negotiation::supersede_pending;
use super::patches::{
    PATCH_CLOSE_IN_OWN_TASK, PATCH_CONCURRENT_AMENDMENTS, PATCH_CONTINUE_AS_NEW_ANY_PHASE,
    PATCH_NO_INVENTED_ANSWERS, PATCH_SA_ONLY_CHANGES, PATCH_TELL_SUPPLIER,
};
use super::search_attributes::upsert_identity;
use super::wait::before_timer;
use super::*;
use orderflow_domain::actor::ActorType;
use orderflow_domain::model::{OrderState, OrderView};
use orderflow_domain::requests::{AmendPath, CancelPath};
use orderflow_domain::rules::OperatorAction;
use orderflow_domain::{Change, Checked, RuleError};
use std::time::Duration;
use temporalio_macros::workflow_methods;
use temporalio_sdk::{
    CancellableFuture, SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult,
};

/// What an update answers with when it fails: a [`RuleError`] as JSON for a refusal.
type UpdateError = Box<dyn std::error::Error + Send + Sync>;

/// Tells, for a new request, whether the supplier has decided it yet.
type Decided = fn(&Order, &str) -> bool;

#[workflow_methods]
impl OrderWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: OrderWorkflowInput) -> Self {
        let resumed = input.carried.is_some();
        let order = match input.carried {
            Some(order) => *order,
            None => Order::received(input.order, input.created_at)
                .with_concurrent_amendments(input.settings.concurrent_amendments),
        };
        let resume = input.resume.map(|r| *r);
        let carried = resume.clone().unwrap_or_default();
        OrderWorkflow {
            order,
            settings: input.settings,
            inbox: carried.inbox,
            retry_requested: carried.retry_requested,
            negotiated: carried.negotiated,
            answer_due: carried.answer_due,
            lifecycle_done: false,
            resumed,
            resume_at: resume.map(|r| r.at),
            sa_only_changes: false,
            any_phase: false,
            close_apart: false,
            truthful: false,
            tells_supplier: false,
            side_by_side: false,
            listed_patches: input.patches,
            parked: None,
            amendments_idle: false,
            cancellations_idle: false,
            notices_idle: false,
        }
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<OrderView> {
        // Listed in the input, or else asked for (see `patches`), in this order.
        let listed = |id: &str| ctx.state(|s| s.listed_patches.iter().any(|p| p == id));
        let patched = |id: &str| listed(id) || ctx.patched(id);
        let only_changes = patched(PATCH_SA_ONLY_CHANGES);
        ctx.state_mut(|s| s.sa_only_changes = only_changes);
        let any_phase = patched(PATCH_CONTINUE_AS_NEW_ANY_PHASE);
        ctx.state_mut(|s| s.any_phase = any_phase);
        let close_apart = patched(PATCH_CLOSE_IN_OWN_TASK);
        ctx.state_mut(|s| s.close_apart = close_apart);
        let truthful = patched(PATCH_NO_INVENTED_ANSWERS);
        ctx.state_mut(|s| s.truthful = truthful);
        let tells_supplier = patched(PATCH_TELL_SUPPLIER);
        ctx.state_mut(|s| s.tells_supplier = tells_supplier);
        let side_by_side = patched(PATCH_CONCURRENT_AMENDMENTS);
        ctx.state_mut(|s| s.side_by_side = side_by_side);
        upsert_identity(ctx);
        if !ctx.state(|s| s.resumed) {
            emit(ctx, Order::acknowledged()).await?;
        }
        run_or_continue(ctx).await?;
        supersede_pending(ctx).await?;
        // Let in-flight operator requests record their change before the run closes.
        let view = &*ctx;
        view.wait_condition(|_| view.all_handlers_finished())
            .await?;
        // Close in a workflow task of its own, never in the one that answers an Update (see
        // the patch).
        if ctx.state(|s| s.close_apart) {
            ctx.timer(Duration::from_millis(1)).await;
        }
        Ok(ctx.state(|s| s.order.view().clone()))
    }

    /// The full order view (operators: `temporal workflow query --type status`).
    #[query]
    pub fn status(&self, _ctx: &WorkflowContextView) -> OrderView {
        self.order.view().clone()
    }

    /// A supplier finished (or failed) a step it had accepted.
    #[signal]
    pub fn step_callback(&mut self, _ctx: &mut SyncWorkflowContext<Self>, callback: StepCallback) {
        self.inbox
            .step_callbacks
            .entry(callback.step_id.clone())
            .or_insert(callback);
    }

    /// A supplier's decision on an amendment it had left PENDING (or that has EXPIRED since).
    #[signal]
    pub fn amendment_decision(
        &mut self,
        _ctx: &mut SyncWorkflowContext<Self>,
        decision: AmendmentDecision,
    ) {
        if self.order.takes_amendment_decision(&decision.amendment_id) {
            self.inbox
                .amend_decisions
                .entry(decision.amendment_id.clone())
                .or_insert(decision);
        }
    }

    /// The supplier's answer to a cancellation it had left PENDING (or that has EXPIRED since).
    #[signal]
    pub fn cancellation_decision(
        &mut self,
        _ctx: &mut SyncWorkflowContext<Self>,
        decision: CancellationDecision,
    ) {
        if self
            .order
            .takes_cancellation_decision(&decision.cancellation_id)
        {
            self.inbox
                .cancel_decisions
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
        if !self.order.halted()
            && self.inbox.supplier_cancel.is_none()
            && self.order.first_sight(&cancel.callback_id)
        {
            self.inbox.supplier_cancel = Some(cancel);
        }
    }

    /// The supplier changed the order on its own; applied once per callback.
    #[signal]
    pub fn supplier_amend(
        &mut self,
        _ctx: &mut SyncWorkflowContext<Self>,
        change: SupplierAmendment,
    ) {
        if !self.order.halted() && self.order.first_sight(&change.callback_id) {
            self.inbox.supplier_amendments.push(change);
        }
    }

    #[update_validator(amend)]
    fn validate_amend(
        &self,
        _ctx: &WorkflowContextView,
        request: &AmendRequest,
    ) -> Result<(), UpdateError> {
        refusal(self.order.check_amend(request))
    }

    /// A tenant's amendment. RESTART amendments are ACCEPTED at once; PATCH amendments go to
    /// the supplier and the answer waits briefly for its decision (else it is PENDING).
    #[update]
    pub async fn amend(
        ctx: &mut WorkflowContext<Self>,
        request: AmendRequest,
    ) -> Result<AmendOutcome, UpdateError> {
        let id = update(
            ctx,
            &request.amendment_id,
            None,
            |s| s.order.check_amend(&request),
            |order, (path, document), _, at| {
                let change = order.open_amendment(&request, path, *document, at);
                let decided: Decided = |o, id| !o.amendment_open(id);
                (change, (path == AmendPath::Patch).then_some(decided))
            },
        )
        .await?;
        ctx.state(|s| {
            Ok(AmendOutcome {
                amendment: s
                    .order
                    .amendment(&id)
                    .cloned()
                    .ok_or("amendment not recorded")?,
                order: s.order.view().clone(),
            })
        })
    }

    #[update_validator(cancel)]
    fn validate_cancel(
        &self,
        _ctx: &WorkflowContextView,
        request: &CancelRequest,
    ) -> Result<(), UpdateError> {
        let codes = &self.settings.unsolicited_cancel_reason_codes;
        refusal(self.order.check_cancel(request, codes))
    }

    /// A tenant's cancellation. The consumer path cancels at once; a subscription deactivates
    /// now or schedules it; the supplier path asks the supplier and waits briefly for its
    /// answer (else the cancellation is PENDING).
    #[update]
    pub async fn cancel(
        ctx: &mut WorkflowContext<Self>,
        request: CancelRequest,
    ) -> Result<CancelOutcome, UpdateError> {
        let id = update(
            ctx,
            &request.cancellation_id,
            request.effective_at.as_deref(),
            |s| {
                let codes = &s.settings.unsolicited_cancel_reason_codes;
                s.order.check_cancel(&request, codes)
            },
            |order, path, later, at| {
                let change = order.open_cancellation(&request, path, later, at);
                let decided: Decided = |o, id| !o.cancellation_open(id);
                (change, (path == CancelPath::Supplier).then_some(decided))
            },
        )
        .await?;
        ctx.state(|s| {
            let cancellation = s
                .order
                .cancellation(&id)
                .cloned()
                .ok_or("cancellation not recorded")?;
            Ok(CancelOutcome {
                event_uuid: cancellation.event_uuid.clone(),
                cancellation,
                order: s.order.view().clone(),
            })
        })
    }

    #[update_validator(reactivate)]
    fn validate_reactivate(
        &self,
        _ctx: &WorkflowContextView,
        request: &ReactivateRequest,
    ) -> Result<(), UpdateError> {
        refusal(self.order.check_reactivate(request))
    }

    /// Reactivates an INACTIVE subscription now or at its effective date, or removes an
    /// ACTIVE one's scheduled cancellation.
    #[update]
    pub async fn reactivate(
        ctx: &mut WorkflowContext<Self>,
        request: ReactivateRequest,
    ) -> Result<ReactivateOutcome, UpdateError> {
        let id = update(
            ctx,
            &request.reactivation_id,
            request.effective_at.as_deref(),
            |s| s.order.check_reactivate(&request),
            |order, (), later, at| (order.open_reactivation(&request, later, at), None),
        )
        .await?;
        ctx.state(|s| {
            let reactivation = s
                .order
                .reactivation(&id)
                .cloned()
                .ok_or("reactivation not recorded")?;
            Ok(ReactivateOutcome {
                event_uuid: reactivation.event_uuid.clone(),
                reactivation,
                order: s.order.view().clone(),
            })
        })
    }

    #[update_validator(operator)]
    fn validate_operator(
        &self,
        _ctx: &WorkflowContextView,
        request: &OperatorRequest,
    ) -> Result<(), UpdateError> {
        refusal(self.order.check_operate(request.action, request.by))
    }

    /// Operator commands. Answers once the change is persisted, so a read after the answer
    /// sees it.
    #[update]
    pub async fn operator(
        ctx: &mut WorkflowContext<Self>,
        request: OperatorRequest,
    ) -> Result<OrderView, UpdateError> {
        let at = now(ctx);
        let change = ctx
            .state_mut(|s| {
                let change =
                    s.order
                        .operate(request.action, request.reason.clone(), request.by, &at)?;
                if request.action == OperatorAction::Retry {
                    s.retry_requested = true;
                }
                Ok::<Change, RuleError>(change)
            })
            .map_err(|e| e.to_json())?;
        emit(ctx, change).await.map_err(|e| format!("{e:?}"))?;
        Ok(ctx.state(|s| s.order.view().clone()))
    }
}

/// START lasts until the run's first task records the order (ORDER_ACKNOWLEDGED). A tenant
/// request that arrives before then, such as a cancel sent the moment the order is accepted,
/// passes the validator as if the order were SUBMITTED (the rules say so) and waits in
/// [`update`] for that event, so its own event comes after it: refusing it with "try again"
/// made every fast client retry.
fn being_recorded(order: &Order) -> bool {
    order.state() == OrderState::Start
}

/// A validator's answer: the refusal as JSON, which the API reads back.
fn refusal<T>(checked: Result<T, RuleError>) -> Result<(), UpdateError> {
    checked.map(|_| ()).map_err(|e| e.to_json().into())
}

/// The one path of every tenant update. Checks again; a repeat (same Idempotency-Key and
/// content) answers with the request it repeats. A new request is recorded by `open`, which
/// also says how to tell whether the supplier has decided it, if the supplier decides: the
/// answer then waits briefly, so a quick decision comes back in the response rather than
/// PENDING. `effective_at` tells `open` whether the request takes effect later. Returns the
/// id of the request to answer with.
async fn update<P>(
    ctx: &mut WorkflowContext<OrderWorkflow>,
    id: &str,
    effective_at: Option<&str>,
    check: impl Fn(&OrderWorkflow) -> Result<Checked<P>, RuleError>,
    open: impl FnOnce(&mut Order, P, bool, &str) -> (Change, Option<Decided>),
) -> Result<String, UpdateError> {
    ctx.wait_condition(|s| !being_recorded(&s.order))
        .await
        .map_err(|e| format!("{e:?}"))?;
    let checked = ctx.state(|s| check(s)).map_err(|e| e.to_json())?;
    let found = match checked {
        Checked::Repeat(id) => return Ok(id),
        Checked::New(found) => found,
    };
    let (at, later) = (now(ctx), is_future(ctx, effective_at));
    let (change, decided) = ctx.state_mut(|s| open(&mut s.order, found, later, &at));
    emit(ctx, change.by(ActorType::Tenant))
        .await
        .map_err(|e| format!("{e:?}"))?;
    if let Some(decided) = decided {
        let wait = ctx.state(|s| s.settings.amendment_reply_wait_ms);
        let timer = ctx.timer(Duration::from_millis(wait));
        let id = id.to_string();
        if let Some(timer) = before_timer(ctx, move |s| decided(&s.order, &id), timer).await {
            timer.cancel();
        }
    }
    Ok(id.to_string())
}
