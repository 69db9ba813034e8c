//! Requests the supplier decides, worked through beside the lifecycle so a PENDING amendment
//! never holds up a cancellation: each PATCH amendment and each supplier-path cancellation is
//! sent once, and settled by the supplier's answer or by its later callback; it EXPIRES when
//! the answer timeout passes and FAILS when it cannot be delivered (histories recorded before
//! [`PATCH_NO_INVENTED_ANSWERS`](super::patches::PATCH_NO_INVENTED_ANSWERS) reject it instead). A late decision on an EXPIRED request is
//! still taken. The supplier's own changes and cancellations are applied here too. When the
//! order ends first, what is still open is superseded.
//!
//! Each handler says when it waits with nothing in flight (`amendments_idle`,
//! `cancellations_idle`), so the run may continue as new then; a PENDING request keeps the
//! instant its answer is due (`answer_due`), and the next run waits on from there.

use super::emit::{emit, now, workflow_now};
use super::failure::call_failure;
use super::lifecycle::supplier_options;
use super::wait::{before_timer, unless};
use super::{Decision, OrderWorkflow};
use crate::activities::OrderActivities;
use orderflow_domain::calls::{AmendAnswer, AmendCall, CallFor, CancelAnswer, CancelCall};
use orderflow_domain::requests::{AmendDecision, AmendPath, Amendment, Cancellation, ResponseCode};
use orderflow_domain::{Change, Lapse};
use std::time::Duration;
use temporalio_sdk::{ActivityExecutionError, CancellableFuture, WorkflowContext, WorkflowResult};

/// Works through amendment requests: sends each PATCH amendment to the supplier and settles
/// it, and applies supplier-initiated changes. Ends with the lifecycle.
pub(super) async fn handle_amendments(ctx: &WorkflowContext<OrderWorkflow>) -> WorkflowResult<()> {
    // The last run stopped while the supplier had an amendment PENDING: wait on for its answer.
    let waiting = ctx.state(|s| {
        let pending = s.order.pending_amendment();
        pending
            .filter(|a| s.answer_due.contains_key(&a.amendment_id))
            .cloned()
    });
    if let Some(pending) = waiting {
        await_answer(ctx, amendment_asked(ctx, &pending.amendment_id), None).await?;
    }
    loop {
        let next = ctx.wait_condition(|s| {
            s.lifecycle_done
                || !s.inbox.supplier_amendments.is_empty()
                || s.late_amendment_decision().is_some()
                || s.order.pending_amendment().is_some_and(|a| {
                    a.path == AmendPath::Patch && !s.negotiated.contains(&a.amendment_id)
                })
        });
        idle(ctx, |s| &mut s.amendments_idle, next).await?;
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
        if let Some(id) = ctx.state(OrderWorkflow::late_amendment_decision) {
            take_decision(ctx, amendment_asked(ctx, &id)).await?;
            continue;
        }
        let Some(pending) = ctx.state(|s| s.order.pending_amendment().cloned()) else {
            continue;
        };
        if send_amendment(ctx, &pending).await? {
            await_answer_in_time(ctx, amendment_asked(ctx, &pending.amendment_id)).await?;
        }
    }
}

/// Sends one PATCH amendment to the supplier and records its answer (see [`ask`]); `true`
/// when the supplier left it PENDING.
pub(super) async fn send_amendment(
    ctx: &WorkflowContext<OrderWorkflow>,
    pending: &Amendment,
) -> WorkflowResult<bool> {
    ctx.state_mut(|s| s.negotiated.insert(pending.amendment_id.clone()));
    let workflow_id = ctx.workflow_id().to_string();
    let id = pending.amendment_id.clone();
    let (input, settings) = ctx.state(|s| {
        let call = AmendCall {
            call: s
                .order
                .call(&workflow_id, CallFor::Stage(&format!("amend/{id}"))),
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
    let read = |a: AmendAnswer| match a.decision {
        AmendDecision::Accept => Some((true, a.reason)),
        AmendDecision::Reject => Some((false, a.reason)),
        AmendDecision::Pending => None,
    };
    ask(ctx, call, read, &amendment_asked(ctx, &id)).await
}

/// What asking the supplier about amendment `id` is.
pub(super) fn amendment_asked(ctx: &WorkflowContext<OrderWorkflow>, id: &str) -> Negotiation {
    Negotiation {
        what: "amendment",
        id: id.to_string(),
        answer_timeout_secs: ctx.state(|s| s.settings.amendment_answer_timeout_secs),
        idle: |s| &mut s.amendments_idle,
        overtaken: |s| s.order.halted(),
        has_decision: |s, id| s.inbox.amend_decisions.contains_key(id),
        take_decision: |s, id| {
            s.inbox
                .amend_decisions
                .remove(id)
                .map(|d| (d.accept, d.reason))
        },
        decide: |s, id, (accept, reason), at| s.order.decide_amendment(id, accept, reason, at),
        lapse: |s, id, lapse, reason, at| s.order.lapse_amendment(id, lapse, reason, at),
    }
}

/// Works through cancellations: sends each supplier-path cancellation to the supplier and
/// settles it, and applies the supplier's own cancellation. Ends with the lifecycle.
pub(super) async fn handle_cancellations(
    ctx: &WorkflowContext<OrderWorkflow>,
) -> WorkflowResult<()> {
    // The last run stopped while the supplier had a cancellation PENDING: wait on for its
    // answer.
    let waiting = ctx.state(|s| {
        let pending = s.order.pending_cancellation();
        pending
            .filter(|c| s.answer_due.contains_key(&c.cancellation_id))
            .cloned()
    });
    if let Some(pending) = waiting {
        await_answer(ctx, cancellation_asked(ctx, &pending.cancellation_id), None).await?;
    }
    loop {
        let next = ctx.wait_condition(|s| {
            s.lifecycle_done
                || s.inbox.supplier_cancel.is_some()
                || s.late_cancellation_decision().is_some()
                || s.order
                    .pending_cancellation()
                    .is_some_and(|c| !s.negotiated.contains(&c.cancellation_id))
        });
        idle(ctx, |s| &mut s.cancellations_idle, next).await?;
        if ctx.state(|s| s.lifecycle_done) {
            return Ok(());
        }
        if let Some(cancel) = ctx.state_mut(|s| s.inbox.supplier_cancel.take()) {
            if let Some(change) = ctx.state(|s| s.order.supplier_cancelled(&cancel)) {
                emit(ctx, change).await?;
            }
            continue;
        }
        if let Some(id) = ctx.state(OrderWorkflow::late_cancellation_decision) {
            take_decision(ctx, cancellation_asked(ctx, &id)).await?;
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
/// supplier's callback (EXPIRED if it never comes within the answer timeout).
async fn negotiate_cancellation(
    ctx: &WorkflowContext<OrderWorkflow>,
    pending: &Cancellation,
) -> WorkflowResult<()> {
    let workflow_id = ctx.workflow_id().to_string();
    let id = pending.cancellation_id.clone();
    let (input, settings) = ctx.state(|s| {
        let call = CancelCall {
            call: s
                .order
                .call(&workflow_id, CallFor::Stage(&format!("cancel/{id}"))),
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
    let read = |a: CancelAnswer| match a.response_code {
        ResponseCode::Accepted => Some((true, a.reason)),
        ResponseCode::Rejected => Some((false, a.reason)),
        ResponseCode::Pending => None,
    };
    let asked = cancellation_asked(ctx, &id);
    if ask(ctx, call, read, &asked).await? {
        await_answer_in_time(ctx, asked).await?;
    }
    Ok(())
}

/// What asking the supplier about cancellation `id` is. The order may end otherwise
/// meanwhile, or the supplier cancel it on its own (which the caller applies next); the
/// request is then superseded.
fn cancellation_asked(ctx: &WorkflowContext<OrderWorkflow>, id: &str) -> Negotiation {
    Negotiation {
        what: "cancellation",
        id: id.to_string(),
        answer_timeout_secs: ctx.state(|s| s.settings.cancellation_answer_timeout_secs),
        idle: |s| &mut s.cancellations_idle,
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
        lapse: |s, id, lapse, reason, at| s.order.lapse_cancellation(id, lapse, reason, at),
    }
}

/// A request (amendment or cancellation) being put to the supplier, and where its decision
/// arrives if the supplier answers later by callback.
pub(super) struct Negotiation {
    what: &'static str,
    id: String,
    answer_timeout_secs: u64,
    /// The handler's flag that says it waits with nothing in flight.
    idle: fn(&mut OrderWorkflow) -> &mut bool,
    /// Stop waiting: the request no longer matters (the order ended, …).
    overtaken: fn(&OrderWorkflow) -> bool,
    has_decision: fn(&OrderWorkflow, &str) -> bool,
    take_decision: fn(&mut OrderWorkflow, &str) -> Option<Decision>,
    /// Settles the request with the decision at a time; `None` if it is no longer open.
    decide: fn(&mut OrderWorkflow, &str, Decision, &str) -> Option<Change>,
    /// Ends the PENDING request without a decision (EXPIRED, FAILED), for a reason, at a time.
    lapse: fn(&mut OrderWorkflow, &str, Lapse, String, &str) -> Option<Change>,
}

/// Puts a request to the supplier, whose activity `call` is in flight, and records the
/// decision in its answer (`read` gives `None` for PENDING). A failed call makes the request
/// FAILED (the order itself is fine). `true` when the supplier left it PENDING: it decides
/// later by callback, within the answer timeout, and the instant that is due is kept in
/// `answer_due` (for this run's timer, or a next run's). Nothing is recorded when the request
/// is overtaken first; an in-flight call is then cancelled.
async fn ask<O>(
    ctx: &WorkflowContext<OrderWorkflow>,
    call: impl CancellableFuture<Output = Result<O, ActivityExecutionError>> + Unpin,
    read: impl Fn(O) -> Option<Decision>,
    asked: &Negotiation,
) -> WorkflowResult<bool> {
    let Some(answer) = unless(ctx, call, asked.overtaken).await else {
        return Ok(false);
    };
    let decision = match answer {
        Ok(a) => read(a),
        Err(e) => {
            let reason = format!(
                "the supplier could not take the {}: {}",
                asked.what,
                call_failure(&e)
            );
            lapse_or_reject(ctx, asked, Lapse::Failed, reason).await?;
            return Ok(false);
        }
    };
    if let Some(decision) = decision {
        decide(ctx, asked, decision).await?;
        return Ok(false);
    }
    let timeout = Duration::from_secs(asked.answer_timeout_secs);
    let due = chrono::Duration::from_std(timeout)
        .ok()
        .and_then(|d| workflow_now(ctx).checked_add_signed(d))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    ctx.state_mut(|s| s.answer_due.insert(asked.id.clone(), due));
    Ok(true)
}

/// How long until the instant `due` (RFC 3339), as a timer takes it: at least 1 ms, so one
/// already due fires at once.
pub(super) fn until(ctx: &WorkflowContext<OrderWorkflow>, due: &str) -> Duration {
    let due = chrono::DateTime::parse_from_rfc3339(due).ok();
    let left = due.map(|at| at.with_timezone(&chrono::Utc) - workflow_now(ctx));
    left.and_then(|d| d.to_std().ok())
        .unwrap_or_default()
        .max(Duration::from_millis(1))
}

/// Waits the whole answer timeout for the supplier's callback on a request it has just left
/// PENDING (see [`await_answer`]).
async fn await_answer_in_time(
    ctx: &WorkflowContext<OrderWorkflow>,
    asked: Negotiation,
) -> WorkflowResult<()> {
    let timeout = Duration::from_secs(asked.answer_timeout_secs);
    await_answer(ctx, asked, Some(timeout)).await
}

/// Waits for the supplier's callback on a PENDING request for `wait` (`None`: until the
/// instant kept in `answer_due`, for a run that continued as new meanwhile), then records the
/// decision, or that it EXPIRED if none came in time. Nothing is recorded when the request is
/// overtaken first.
async fn await_answer(
    ctx: &WorkflowContext<OrderWorkflow>,
    asked: Negotiation,
    wait: Option<Duration>,
) -> WorkflowResult<()> {
    let wait = wait.unwrap_or_else(|| {
        let due = ctx.state(|s| s.answer_due.get(&asked.id).cloned());
        until(ctx, due.as_deref().unwrap_or_default())
    });
    let (id, has_decision, overtaken) = (asked.id.clone(), asked.has_decision, asked.overtaken);
    let timeout = ctx.timer(wait);
    let idle = asked.idle;
    ctx.state_mut(|s| *idle(s) = true);
    let running = before_timer(ctx, move |s| has_decision(s, &id) || overtaken(s), timeout).await;
    ctx.state_mut(|s| {
        *idle(s) = false;
        s.answer_due.remove(&asked.id);
    });
    if ctx.state(overtaken) {
        return Ok(());
    }
    let decision = match running {
        None => return expire(ctx, &asked).await,
        Some(timeout) => {
            timeout.cancel();
            let take = asked.take_decision;
            ctx.state_mut(|s| take(s, &asked.id))
        }
    };
    match decision {
        Some(decision) => decide(ctx, &asked, decision).await,
        None => Ok(()),
    }
}

/// No answer came within the answer timeout: the request EXPIRED.
pub(super) async fn expire(
    ctx: &WorkflowContext<OrderWorkflow>,
    asked: &Negotiation,
) -> WorkflowResult<()> {
    let reason = format!(
        "the supplier did not answer within {} s",
        asked.answer_timeout_secs
    );
    lapse_or_reject(ctx, asked, Lapse::Expired, reason).await
}

/// Settles the request with the supplier's decision and records it (if still open).
pub(super) async fn decide(
    ctx: &WorkflowContext<OrderWorkflow>,
    asked: &Negotiation,
    decision: Decision,
) -> WorkflowResult<()> {
    let at = now(ctx);
    let decide = asked.decide;
    match ctx.state_mut(|s| decide(s, &asked.id, decision, &at)) {
        Some(change) => emit(ctx, change).await,
        None => Ok(()),
    }
}

/// The request ends without the supplier's decision: EXPIRED or FAILED, for `reason`. Runs
/// recorded before [`PATCH_NO_INVENTED_ANSWERS`](super::patches::PATCH_NO_INVENTED_ANSWERS) recorded a rejection instead.
async fn lapse_or_reject(
    ctx: &WorkflowContext<OrderWorkflow>,
    asked: &Negotiation,
    lapse: Lapse,
    reason: String,
) -> WorkflowResult<()> {
    if !ctx.state(|s| s.truthful) {
        return decide(ctx, asked, (false, Some(reason))).await;
    }
    let at = now(ctx);
    let end = asked.lapse;
    match ctx.state_mut(|s| end(s, &asked.id, lapse, reason, &at)) {
        Some(change) => emit(ctx, change).await,
        None => Ok(()),
    }
}

/// Takes the supplier's decision waiting in the inbox for `asked` (on time, or late on an
/// EXPIRED request) and records it.
pub(super) async fn take_decision(
    ctx: &WorkflowContext<OrderWorkflow>,
    asked: Negotiation,
) -> WorkflowResult<()> {
    let take = asked.take_decision;
    match ctx.state_mut(|s| take(s, &asked.id)) {
        Some(decision) => decide(ctx, &asked, decision).await,
        None => Ok(()),
    }
}

/// Waits on `wait` as a handler with nothing in flight (its `idle` flag set meanwhile).
pub(super) async fn idle<T>(
    ctx: &WorkflowContext<OrderWorkflow>,
    flag: fn(&mut OrderWorkflow) -> &mut bool,
    wait: impl Future<Output = T>,
) -> T {
    ctx.state_mut(|s| *flag(s) = true);
    let out = wait.await;
    ctx.state_mut(|s| *flag(s) = false);
    out
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
