//! Requests the supplier decides, worked through beside the lifecycle so a PENDING amendment
//! never holds up a cancellation: each PATCH amendment and each supplier-path cancellation is
//! sent once, and settled by the supplier's answer, by its later callback, or as rejected when
//! the answer timeout passes. The supplier's own changes and cancellations are applied here
//! too. When the order ends first, what is still open is superseded.

use super::emit::{emit, now};
use super::lifecycle::supplier_options;
use super::wait::{before_timer, unless};
use super::{Decision, OrderWorkflow};
use crate::activities::OrderActivities;
use orderflow_domain::Change;
use orderflow_domain::calls::{AmendAnswer, AmendCall, CancelAnswer, CancelCall};
use orderflow_domain::requests::{AmendDecision, AmendPath, Amendment, Cancellation, ResponseCode};
use std::time::Duration;
use temporalio_sdk::{CancellableFuture, WorkflowContext, WorkflowResult};

/// Works through amendment requests: sends each PATCH amendment to the supplier and settles
/// it, and applies supplier-initiated changes. Ends with the lifecycle.
pub(super) async fn handle_amendments(ctx: &WorkflowContext<OrderWorkflow>) -> WorkflowResult<()> {
    loop {
        ctx.wait_condition(|s| {
            s.lifecycle_done
                || !s.inbox.supplier_amendments.is_empty()
                || s.order.pending_amendment().is_some_and(|a| {
                    a.path == AmendPath::Patch && !s.negotiated.contains(&a.amendment_id)
                })
        })
        .await?;
        if ctx.state(|s| s.lifecycle_done) {
            return Ok(());
        }
        let supplier_change = ctx.state_mut(|s| {
            if s.inbox.supplier_amendments.is_empty() {
                None
            } else {
                Some(s.inbox.supplier_amendments.remove(0))
            }
        });
        if let Some(change) = supplier_change {
            if let Some(change) = ctx.state_mut(|s| s.order.supplier_amended(&change)) {
                emit(ctx, change).await?;
            }
            continue;
        }
        let Some(pending) = ctx.state(|s| s.order.pending_amendment().cloned()) else {
            continue;
        };
        ctx.state_mut(|s| s.negotiated.insert(pending.amendment_id.clone()));
        negotiate_amendment(ctx, &pending).await?;
    }
}

/// Sends one PATCH amendment to the supplier and settles it.
async fn negotiate_amendment(
    ctx: &WorkflowContext<OrderWorkflow>,
    pending: &Amendment,
) -> WorkflowResult<()> {
    let workflow_id = ctx.workflow_id().to_string();
    let id = pending.amendment_id.clone();
    let (input, settings) = ctx.state(|s| {
        let call = AmendCall {
            call: s.order.call(&workflow_id, &format!("amend/{id}")),
            amendment_id: id.clone(),
            changes: pending.changes.clone(),
        };
        (call, s.settings.clone())
    });
    let summary = format!("Send amendment {id} to the supplier");
    let call = ctx.execute_activity(
        OrderActivities::amend,
        input,
        supplier_options(&settings, &summary),
    );
    let asked = Negotiation {
        what: "amendment",
        id: id.clone(),
        answer_timeout_secs: settings.amendment_answer_timeout_secs,
        overtaken: |s| s.order.halted(),
        has_decision: |s, id| s.inbox.amend_decisions.contains_key(id),
        take_decision: |s, id| {
            s.inbox
                .amend_decisions
                .remove(id)
                .map(|d| (d.accept, d.reason))
        },
        decide: |s, id, (accept, reason), at| s.order.decide_amendment(id, accept, reason, at),
    };
    let read = |a: AmendAnswer| match a.decision {
        AmendDecision::Accept => Some((true, a.reason)),
        AmendDecision::Reject => Some((false, a.reason)),
        AmendDecision::Pending => None,
    };
    settle(ctx, call, read, asked).await
}

/// Works through cancellations: sends each supplier-path cancellation to the supplier and
/// settles it, and applies the supplier's own cancellation. Ends with the lifecycle.
pub(super) async fn handle_cancellations(
    ctx: &WorkflowContext<OrderWorkflow>,
) -> WorkflowResult<()> {
    loop {
        ctx.wait_condition(|s| {
            s.lifecycle_done
                || s.inbox.supplier_cancel.is_some()
                || s.order
                    .pending_cancellation()
                    .is_some_and(|c| !s.negotiated.contains(&c.cancellation_id))
        })
        .await?;
        if ctx.state(|s| s.lifecycle_done) {
            return Ok(());
        }
        if let Some(cancel) = ctx.state_mut(|s| s.inbox.supplier_cancel.take()) {
            if let Some(change) = ctx.state(|s| s.order.supplier_cancelled(&cancel)) {
                emit(ctx, change).await?;
            }
            continue;
        }
        let Some(pending) = ctx.state(|s| s.order.pending_cancellation().cloned()) else {
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
        let call = CancelCall {
            call: s.order.call(&workflow_id, &format!("cancel/{id}")),
            cancellation_id: id.clone(),
            reason: pending.reason.clone(),
            reason_code: pending.reason_code.clone(),
        };
        (call, s.settings.clone())
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
        has_decision: |s, id| s.inbox.cancel_decisions.contains_key(id),
        take_decision: |s, id| {
            s.inbox
                .cancel_decisions
                .remove(id)
                .map(|d| (d.accept, d.reason))
        },
        // Overtaken after the answer: the request is superseded instead.
        decide: |s, id, (accept, reason), at| {
            if s.overtaken() {
                return None;
            }
            s.order.decide_cancellation(id, accept, reason, at)
        },
    };
    let read = |a: CancelAnswer| match a.response_code {
        ResponseCode::Accepted => Some((true, a.reason)),
        ResponseCode::Rejected => Some((false, a.reason)),
        ResponseCode::Pending => None,
    };
    settle(ctx, call, read, asked).await
}

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
    /// Settles the request with the decision at a time; `None` if it is no longer open.
    decide: fn(&mut OrderWorkflow, &str, Decision, &str) -> Option<Change>,
}

/// Puts a request to the supplier (see [`ask_supplier`]) and records the decision.
async fn settle<O, E: std::fmt::Display>(
    ctx: &WorkflowContext<OrderWorkflow>,
    call: impl CancellableFuture<Output = Result<O, E>> + Unpin,
    read: impl Fn(O) -> Option<Decision>,
    asked: Negotiation,
) -> WorkflowResult<()> {
    let (id, decide) = (asked.id.clone(), asked.decide);
    let Some(decision) = ask_supplier(ctx, call, read, asked).await? else {
        return Ok(());
    };
    let at = now(ctx);
    match ctx.state_mut(|s| decide(s, &id, decision, &at)) {
        Some(change) => emit(ctx, change).await,
        None => Ok(()),
    }
}

/// Waits for the supplier's decision on a request whose activity `call` is in flight: in the
/// answer (`read` gives `None` for PENDING), else by callback within the answer timeout (else
/// rejected). A failed call rejects the request (the order itself is fine). `None` when the
/// request was overtaken first; an in-flight call is then cancelled.
async fn ask_supplier<O, E: std::fmt::Display>(
    ctx: &WorkflowContext<OrderWorkflow>,
    call: impl CancellableFuture<Output = Result<O, E>> + Unpin,
    read: impl Fn(O) -> Option<Decision>,
    asked: Negotiation,
) -> WorkflowResult<Option<Decision>> {
    let overtaken = asked.overtaken;
    let Some(answer) = unless(ctx, call, overtaken).await else {
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
    let timeout = ctx.timer(Duration::from_secs(asked.answer_timeout_secs));
    let running = before_timer(ctx, move |s| has_decision(s, &id) || overtaken(s), timeout).await;
    if ctx.state(overtaken) {
        return Ok(None);
    }
    let Some(timeout) = running else {
        return Ok(Some((
            false,
            Some(format!(
                "the supplier did not answer within {} s",
                asked.answer_timeout_secs
            )),
        )));
    };
    timeout.cancel();
    let take = asked.take_decision;
    Ok(ctx.state_mut(|s| take(s, &asked.id)))
}

/// Requests still open when the order ends are SUPERSEDED: a PENDING amendment or
/// cancellation, a SCHEDULED cancellation or reactivation. One event each.
pub(super) async fn supersede_pending(ctx: &WorkflowContext<OrderWorkflow>) -> WorkflowResult<()> {
    loop {
        let at = now(ctx);
        match ctx.state_mut(|s| s.order.supersede_next(&at)) {
            Some(change) => emit(ctx, change).await?,
            None => return Ok(()),
        }
    }
}
