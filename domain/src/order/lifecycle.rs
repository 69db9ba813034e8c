//! Lifecycle transitions: the operator's commands, a failed supplier call parking the order
//! in ERROR_HANDLER, and the plan the supplier proposes and carries out step by step. Where
//! the order goes next (SUBMITTED, FEASIBILITY, …) is the workflow's sequence; these keep the
//! order's bookkeeping right on the way.

use super::{Change, EventDetail, Order};
use crate::actor::{ActorType, Hold, Holder};
use crate::calls::PlanProposal;
use crate::model::{EventType, OrderState, Plan, PlanStatus, PlanStep, PqfCause, StepStatus};
use crate::rule_code::{RuleCode, RuleError};
use crate::rules::{self, OperatorAction};

impl Order {
    /// The first event of every order: it has been received.
    pub fn acknowledged() -> Change {
        Change::event(EventType::OrderAcknowledged, EventDetail::None)
    }

    /// May `by` give the command now? The state decides, as for any operator command, and
    /// the holds: a second party may add its hold to a SUSPENDED order, a party may lift only
    /// its own hold (`HELD_BY_OPERATOR`, `HELD_BY_SUPPLIER`). An order held before holds had
    /// owners (none recorded) is resumed by either.
    pub fn check_operate(&self, action: OperatorAction, by: Holder) -> Result<(), RuleError> {
        let state = self.view.state;
        let holds = &self.view.holds;
        let held_by = |h: Holder| holds.iter().any(|x| x.by == h);
        let id = &self.view.document.order_id;
        match action {
            OperatorAction::Suspend if state == OrderState::Suspended => {
                if held_by(by) || holds.is_empty() {
                    Err(RuleError::new(
                        RuleCode::NotSuspendable,
                        format!("order {id} is already held by {}", by.noun()),
                    ))
                } else {
                    Ok(())
                }
            }
            OperatorAction::Resume if state == OrderState::Suspended => {
                if holds.is_empty() || held_by(by) {
                    return Ok(());
                }
                let (code, other) = match by {
                    Holder::Supplier => (RuleCode::HeldByOperator, Holder::Operator),
                    Holder::Operator => (RuleCode::HeldBySupplier, Holder::Supplier),
                };
                Err(RuleError::new(
                    code,
                    format!(
                        "order {id} is held by {}, not {}; it stays SUSPENDED until {} resumes it",
                        other.noun(),
                        by.noun(),
                        other.noun()
                    ),
                ))
            }
            _ => rules::check_operator_action(action, state),
        }
    }

    /// A command of the operator's (or, for holds, the supplier's), checked by
    /// [`Order::check_operate`]. Suspending remembers where to resume and adds `by`'s hold;
    /// resuming lifts it and goes back there once no hold is left (SUBMITTED if nothing was
    /// remembered); a retry also counts, so the next supplier call gets a fresh idempotency
    /// key.
    pub fn operate(
        &mut self,
        action: OperatorAction,
        reason: Option<String>,
        by: Holder,
        at: &str,
    ) -> Result<Change, RuleError> {
        self.check_operate(action, by)?;
        let state = self.view.state;
        let hold = Hold {
            by,
            reason: reason.clone(),
            since: at.to_string(),
        };
        let to = match action {
            OperatorAction::Suspend if state == OrderState::Suspended => {
                self.view.holds.push(hold);
                let detail = EventDetail::Hold { by, reason };
                return Ok(Change::event(EventType::HoldAdded, detail).by(by.actor_type()));
            }
            OperatorAction::Suspend => {
                self.resume_to = Some(state);
                self.view.holds = vec![hold];
                OrderState::Suspended
            }
            OperatorAction::Resume => {
                self.view.holds.retain(|h| h.by != by);
                if !self.view.holds.is_empty() {
                    let detail = EventDetail::Hold { by, reason };
                    return Ok(Change::event(EventType::HoldLifted, detail).by(by.actor_type()));
                }
                self.resume_to.take().unwrap_or(OrderState::Submitted)
            }
            OperatorAction::Retry => {
                self.operator_retries += 1;
                self.resume_to.take().unwrap_or(OrderState::Submitted)
            }
            OperatorAction::Withdraw => OrderState::Withdrawn,
        };
        Ok(Change::state(to, reason).by(by.actor_type()))
    }

    /// A supplier call failed for good: the order waits in ERROR_HANDLER for an operator, and
    /// returns to where it was (a failure while held returns to where it was before the hold).
    pub fn call_failed(&mut self, reason: String) -> Change {
        let back = match self.view.state {
            OrderState::Suspended => self.resume_to.unwrap_or(OrderState::Submitted),
            other => other,
        };
        self.resume_to = Some(back);
        Change::state(OrderState::ErrorHandler, Some(reason))
    }

    /// Pre-qualification failed, for `cause`; the state change follows once the order is not
    /// held.
    pub fn prequalification_failed(&mut self, cause: PqfCause) {
        self.view.cause = Some(cause);
    }

    /// The supplier has received the order.
    pub fn transferred(&mut self) {
        self.view.transferred = true;
    }

    /// Takes the supplier's plan, every step pending.
    pub fn adopt_plan(&mut self, proposal: &PlanProposal) {
        self.view.plan = Some(Plan {
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
        });
    }

    /// Sets the status of plan step `index` (a step the plan does not have is ignored).
    pub fn set_step(&mut self, index: usize, status: StepStatus) {
        if let Some(step) = self.view.plan.as_mut().and_then(|p| p.steps.get_mut(index)) {
            step.status = status;
        }
    }

    /// Step `index` is done.
    pub fn step_done(&mut self, index: usize, step_id: &str, name: &str) -> Change {
        self.set_step(index, StepStatus::Done);
        let detail = EventDetail::Step {
            step_id: step_id.to_string(),
            name: name.to_string(),
        };
        // The supplier reports a step done, in its answer or its callback.
        Change::event(EventType::PlanStepCompleted, detail).by(ActorType::Supplier)
    }

    /// Every step is done.
    pub fn plan_done(&mut self) {
        if let Some(plan) = self.view.plan.as_mut() {
            plan.status = PlanStatus::Done;
        }
    }

    /// Where a fulfilled order settles: ACTIVE for a subscription, else COMPLETE.
    pub fn fulfilled_state(&self) -> OrderState {
        rules::fulfilled_state(self.view.document.recurring)
    }
}
