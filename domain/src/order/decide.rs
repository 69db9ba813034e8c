//! The supplier's decisions on the requests put to it, and how a request ends when no decision
//! comes. Nothing is invented: a request the supplier does not answer in time is EXPIRED and one
//! that cannot be delivered is FAILED, both without a `response_code`, and the order carries on.
//! A decision that arrives after expiry still counts (`late: true`) while the order has not
//! ended: a late AP cancels the order, a late amendment ACCEPT applies if its fields may still
//! change.

use super::{Change, Order};
use crate::actor::ActorType;
use crate::amendment;
use crate::model::{EventType, OrderState};
use crate::requests::{OrderRequest, RequestState, ResponseCode, Timing, check_decision};
use crate::rule_code::{RuleCode, RuleError};

/// How a request put to the supplier ended without the supplier's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lapse {
    /// Not decided within the answer timeout.
    Expired,
    /// Could not be delivered (retries exhausted, or refused outright).
    Failed,
}

impl Lapse {
    fn state(self) -> RequestState {
        match self {
            Lapse::Expired => RequestState::Expired,
            Lapse::Failed => RequestState::Failed,
        }
    }
}

impl Order {
    /// Would the supplier's decision on amendment `id` be taken now (on time or late)?
    pub fn takes_amendment_decision(&self, id: &str) -> bool {
        self.amendment(id)
            .is_some_and(|a| check_decision("amendment", id, a.state, self.halted()).is_ok())
    }

    /// Would the supplier's decision on cancellation `id` be taken now (on time or late)?
    pub fn takes_cancellation_decision(&self, id: &str) -> bool {
        self.cancellation(id)
            .is_some_and(|c| check_decision("cancellation", id, c.state, self.halted()).is_ok())
    }

    /// Settles amendment `id` with the supplier's decision: an accepted one applies its
    /// changes (the remaining plan steps are called with the new order), a rejected one
    /// changes nothing. A late acceptance applies only while the fields may still change.
    /// `None` if the decision cannot be taken.
    pub fn decide_amendment(
        &mut self,
        id: &str,
        accept: bool,
        reason: Option<String>,
        at: &str,
    ) -> Option<Change> {
        let index = self.amendments.iter().position(|a| a.amendment_id == id)?;
        let timing = check_decision("amendment", id, self.amendments[index].state, self.halted());
        let late = timing.ok()? == Timing::Late;
        let changes = &self.amendments[index].changes;
        if late && accept && amendment::late_acceptance(&self.view, id, changes).is_err() {
            return None;
        }
        let merged = if accept {
            amendment::merge_changes(&self.view.document, changes)
        } else {
            Err(RuleError::new(
                RuleCode::Rejected,
                reason.clone().unwrap_or_default(),
            ))
        };
        let a = &mut self.amendments[index];
        a.decided_at = Some(at.to_string());
        a.late = late;
        let event = match merged {
            Ok(doc) => {
                self.view.document = doc;
                self.view.revision += 1;
                a.state = RequestState::Accepted;
                a.reason = None;
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
        Some(Change::amendment(event, a).by(ActorType::Supplier))
    }

    /// Settles cancellation `id` with the supplier's answer: AP cancels the order, RE leaves
    /// it as it was. `None` if the answer cannot be taken.
    pub fn decide_cancellation(
        &mut self,
        id: &str,
        accept: bool,
        reason: Option<String>,
        at: &str,
    ) -> Option<Change> {
        let halted = self.halted();
        let c = self
            .cancellations
            .iter_mut()
            .find(|c| c.cancellation_id == id)?;
        let late = check_decision("cancellation", id, c.state, halted).ok()? == Timing::Late;
        c.decided_at = Some(at.to_string());
        c.late = late;
        let (event, to) = if accept {
            c.response_code = Some(ResponseCode::Accepted);
            c.state = RequestState::Accepted;
            c.decision_reason = None;
            (EventType::CancellationAccepted, Some(OrderState::Cancelled))
        } else {
            c.response_code = Some(ResponseCode::Rejected);
            c.state = RequestState::Rejected;
            c.decision_reason =
                Some(reason.unwrap_or_else(|| "rejected by the supplier".to_string()));
            (EventType::CancellationRejected, None)
        };
        let change = Change::request(event, to, OrderRequest::Cancellation(c.clone()), None);
        Some(change.by(ActorType::Supplier))
    }

    /// The PENDING amendment `id` ends without the supplier's decision, for `reason`. `None`
    /// if it is not PENDING.
    pub fn lapse_amendment(
        &mut self,
        id: &str,
        lapse: Lapse,
        reason: String,
        at: &str,
    ) -> Option<Change> {
        let a = self
            .amendments
            .iter_mut()
            .find(|a| a.amendment_id == id && a.state == RequestState::Pending)?;
        a.state = lapse.state();
        a.decided_at = Some(at.to_string());
        a.reason = Some(reason);
        let event = match lapse {
            Lapse::Expired => EventType::AmendmentExpired,
            Lapse::Failed => EventType::AmendmentFailed,
        };
        Some(Change::amendment(event, a))
    }

    /// The PENDING cancellation `id` ends without the supplier's answer, for `reason`. `None`
    /// if it is not PENDING.
    pub fn lapse_cancellation(
        &mut self,
        id: &str,
        lapse: Lapse,
        reason: String,
        at: &str,
    ) -> Option<Change> {
        let c = self
            .cancellations
            .iter_mut()
            .find(|c| c.cancellation_id == id && c.state == RequestState::Pending)?;
        c.state = lapse.state();
        c.decided_at = Some(at.to_string());
        c.decision_reason = Some(reason);
        let event = match lapse {
            Lapse::Expired => EventType::CancellationExpired,
            Lapse::Failed => EventType::CancellationFailed,
        };
        Some(Change::request(
            event,
            None,
            OrderRequest::Cancellation(c.clone()),
            None,
        ))
    }
}
