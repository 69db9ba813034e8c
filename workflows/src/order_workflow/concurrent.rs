//! The amendment handler of runs recorded with
//! [`PATCH_CONCURRENT_AMENDMENTS`](super::patches::PATCH_CONCURRENT_AMENDMENTS): no amendment
//! waits on another's answer, so a supplier that takes `concurrent_amendments` (seed 000's
//! gateway) decides several PATCH amendments at once. One loop sends each new PATCH amendment,
//! takes each decision as it arrives (on time, or late on an EXPIRED one), expires each PENDING
//! one at its own due instant (one timer, for the earliest), and applies the supplier's own
//! changes. An order whose supplier takes one amendment at a time never has two PENDING (the
//! rules refuse the second), and takes the same loop.
//!
//! An accepted amendment merges its changes onto the order as it stands when the supplier
//! accepts it, so of two that change the same field the one accepted last wins.

use super::OrderWorkflow;
use super::emit::{emit, workflow_now};
use super::negotiation::{amendment_asked, expire, idle, send_amendment, take_decision, until};
use super::wait::before_timer;
use orderflow_domain::requests::{AmendPath, Amendment, RequestState};
use temporalio_sdk::{CancellableFuture, WorkflowContext, WorkflowResult};

/// What the amendment handler does next, in this order.
enum Next {
    /// Apply the supplier's own change to the order.
    SupplierChange,
    /// Take the supplier's decision on amendment `id` (PENDING, or EXPIRED and so late).
    Decide(String),
    /// Send this PATCH amendment to the supplier.
    Send(Amendment),
}

impl OrderWorkflow {
    /// The handler's next piece of work, if any. Once the order has ended only the supplier's
    /// changes are still applied; what is open is superseded when the run ends.
    fn next_amendment_work(&self) -> Option<Next> {
        if !self.inbox.supplier_amendments.is_empty() {
            return Some(Next::SupplierChange);
        }
        if self.order.halted() {
            return None;
        }
        let takes = |id: &String| {
            self.order.amendment(id).is_some_and(|a| match a.state {
                RequestState::Pending => self.answer_due.contains_key(id),
                RequestState::Expired => true,
                _ => false,
            })
        };
        if let Some(id) = self.inbox.amend_decisions.keys().find(|id| takes(id)) {
            return Some(Next::Decide(id.clone()));
        }
        self.order
            .pending_amendments()
            .find(|a| a.path == AmendPath::Patch && !self.negotiated.contains(&a.amendment_id))
            .map(|a| Next::Send(a.clone()))
    }

    /// The PENDING amendments waiting on the supplier's callback, with the instant each is
    /// due, earliest first.
    fn amendments_due(&self) -> Vec<(String, String)> {
        let mut due: Vec<(String, String)> = self
            .answer_due
            .iter()
            .filter(|(id, _)| self.order.amendment_open(id))
            .map(|(id, at)| (id.clone(), at.clone()))
            .collect();
        due.sort_by(|(a_id, a_at), (b_id, b_at)| (a_at, a_id).cmp(&(b_at, b_id)));
        due
    }
}

/// Works through amendment requests side by side (see the module). Ends with the lifecycle.
pub(super) async fn handle_amendments_concurrently(
    ctx: &WorkflowContext<OrderWorkflow>,
) -> WorkflowResult<()> {
    // The timer for the earliest answer due, and that instant; re-armed when it changes.
    let mut timer = None;
    loop {
        let earliest = ctx.state(|s| s.amendments_due().into_iter().next().map(|(_, at)| at));
        if timer.as_ref().map(|(at, _)| at) != earliest.as_ref() {
            if let Some((_, running)) = timer.take() {
                CancellableFuture::cancel(&running);
            }
            timer = earliest.map(|at| {
                let wait = until(ctx, &at);
                (at, ctx.timer(wait))
            });
        }
        let work = |s: &OrderWorkflow| s.lifecycle_done || s.next_amendment_work().is_some();
        let fired = match timer.take() {
            Some((at, running)) => {
                let waiting = before_timer(ctx, work, running);
                match idle(ctx, |s| &mut s.amendments_idle, waiting).await {
                    Some(running) => {
                        timer = Some((at, running));
                        None
                    }
                    None => Some(at),
                }
            }
            None => {
                idle(ctx, |s| &mut s.amendments_idle, ctx.wait_condition(work)).await?;
                None
            }
        };
        if ctx.state(|s| s.lifecycle_done) {
            return Ok(());
        }
        if let Some(at) = fired {
            expire_due(ctx, &at).await?;
            continue;
        }
        match ctx.state(OrderWorkflow::next_amendment_work) {
            Some(Next::SupplierChange) => {
                let change = ctx.state_mut(|s| {
                    let change = s.inbox.supplier_amendments.remove(0);
                    s.order.supplier_amended(&change)
                });
                if let Some(change) = change {
                    emit(ctx, change).await?;
                }
            }
            Some(Next::Decide(id)) => {
                ctx.state_mut(|s| s.answer_due.remove(&id));
                take_decision(ctx, amendment_asked(ctx, &id)).await?;
            }
            Some(Next::Send(pending)) => {
                send_amendment(ctx, &pending).await?;
            }
            None => {}
        }
    }
}

/// The timer set for `fired` went off: every PENDING amendment due by then (or by now) has
/// EXPIRED.
async fn expire_due(ctx: &WorkflowContext<OrderWorkflow>, fired: &str) -> WorkflowResult<()> {
    let now_at = workflow_now(ctx).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let limit = fired.max(now_at.as_str()).to_string();
    let due = ctx.state(|s| s.amendments_due());
    for (id, _) in due.into_iter().filter(|(_, at)| *at <= limit) {
        ctx.state_mut(|s| s.answer_due.remove(&id));
        expire(ctx, &amendment_asked(ctx, &id)).await?;
    }
    Ok(())
}
