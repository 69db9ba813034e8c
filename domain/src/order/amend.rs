//! Amendment transitions. A RESTART amendment takes effect at once: the order takes the
//! changes, its plan is discarded and the lifecycle starts again at SUBMITTED. A PATCH
//! amendment waits for the supplier, whose decision applies it (or not) later. The supplier may
//! also change the order on its own.

use super::{Change, Checked, EventDetail, Order, RequestKind};
use crate::actor::{Actor, ActorType};
use crate::amendment::{self, AmendPath};
use crate::commands::{AmendRequest, SupplierAmendment};
use crate::model::{EventType, OrderDocument, OrderState, PlanStatus};
use crate::requests::{Amendment, RequestState};
use crate::rule_code::{RuleCode, RuleError};

/// How many settled amendments keep their `changes` when an order is carried into a new run
/// (see [`Order::carried`]).
pub const CARRIED_CHANGES: usize = 16;

impl Order {
    /// The order to carry into the next run when it continues as new: settled amendments but
    /// the latest [`CARRIED_CHANGES`] drop their `changes` (each amendment is persisted as its
    /// own resource, and a settled one's changes decide nothing more), so what is carried grows
    /// by a few hundred bytes per amendment rather than by its changes (up to 8 KiB each). A
    /// repeat of such an old request answers with its `changes` as `null`.
    pub fn carried(&self) -> Order {
        let mut order = self.clone();
        let settled = order
            .amendments
            .iter_mut()
            .rev()
            .filter(|a| a.state != RequestState::Pending);
        for a in settled.skip(CARRIED_CHANGES) {
            a.changes = serde_json::Value::Null;
        }
        order
    }

    /// Every check of an amendment request: a repeat, a stale `If-Match`, then the amendment
    /// rules. A new request gets its path and the amended document.
    pub fn check_amend(
        &self,
        request: &AmendRequest,
    ) -> Result<Checked<(AmendPath, Box<OrderDocument>)>, RuleError> {
        if let Some(id) = self.repeat(
            RequestKind::Amendment,
            request.idempotency_key.as_deref(),
            &request.changes,
        )? {
            return Ok(Checked::Repeat(id));
        }
        if let Some(expected) = request.expected_revision
            && expected != self.view.revision
        {
            return Err(RuleError::new(
                RuleCode::RevisionMismatch,
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

    /// Records a new amendment checked by [`Order::check_amend`].
    pub fn open_amendment(
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
            late: false,
            actor: Some(Actor::on(ActorType::Tenant, &self.view.document)),
            idempotency_key: request.idempotency_key.clone(),
        };
        self.remember_key(
            request.idempotency_key.as_ref(),
            request.changes.clone(),
            &a.amendment_id,
        );
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
            // `pending_request` shows it from now on.
            AmendPath::Patch => EventType::AmendmentPending,
        };
        let change = Change::amendment(event, &a);
        self.amendments.push(a);
        change
    }

    /// The supplier changed the order on its own. Changes that do not apply are dropped.
    pub fn supplier_amended(&mut self, change: &SupplierAmendment) -> Option<Change> {
        let merged = amendment::merge_changes(&self.view.document, &change.changes).ok()?;
        self.view.document = merged;
        self.view.revision += 1;
        let change = Change {
            reason: change.reason.clone(),
            ..Change::event(
                EventType::OrderAmendedBySupplier,
                EventDetail::SupplierAmended {
                    changes: change.changes.clone(),
                    reason: change.reason.clone(),
                    callback_id: change.callback_id.clone(),
                },
            )
        };
        Some(change.by(ActorType::Supplier))
    }
}
