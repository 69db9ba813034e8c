//! Lifecycle transitions: the operator's commands, a failed supplier call parking the order
//! in ERROR_HANDLER, and the plan the supplier proposes and carries out step by step. Where
//! the order goes next (SUBMITTED, FEASIBILITY, …) is the workflow's sequence; these keep the
//! order's bookkeeping right on the way.

use super::{Change, EventDetail, Order};
use crate::calls::PlanProposal;
use crate::model::{EventType, OrderState, Plan, PlanStatus, PlanStep, PqfCause, StepStatus};
use crate::rule_code::RuleError;
use crate::rules::{self, OperatorAction};

impl Order {
    /// The first event of every order: it has been received.
    pub fn acknowledged() -> Change {
        Change::event(EventType::OrderAcknowledged, EventDetail::None)
    }

    /// An operator's command, if the state allows it. Suspending remembers where to resume;
    /// resuming and retrying go back there (SUBMITTED if nothing was remembered); a retry also
    /// counts, so the next supplier call gets a fresh idempotency key.
    pub fn operate(
        &mut self,
        action: OperatorAction,
        reason: Option<String>,
    ) -> Result<Change, RuleError> {
        let state = self.view.state;
        rules::check_operator_action(action, state)?;
        let to = match action {
            OperatorAction::Suspend => {
                self.resume_to = Some(state);
                OrderState::Suspended
            }
            OperatorAction::Resume => self.resume_to.take().unwrap_or(OrderState::Submitted),
            OperatorAction::Retry => {
                self.operator_retries += 1;
                self.resume_to.take().unwrap_or(OrderState::Submitted)
            }
            OperatorAction::Withdraw => OrderState::Withdrawn,
        };
        Ok(Change::state(to, reason))
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
        Change::event(
            EventType::PlanStepCompleted,
            EventDetail::Step {
                step_id: step_id.to_string(),
                name: name.to_string(),
            },
        )
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
