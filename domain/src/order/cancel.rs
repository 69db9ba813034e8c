//! Cancellation and reactivation transitions. The consumer path cancels at once; the supplier
//! path waits for the supplier's AP or RE; a subscription deactivates (or reactivates) now or
//! at its effective time, and a new schedule replaces the old one. Requests still open when
//! the order ends are superseded, one event each.

use super::{Change, Checked, EventDetail, Order, RequestKind, settle_scheduled};
use crate::actor::{Actor, ActorType};
use crate::cancellation::{self, CancelPath};
use crate::commands::{CancelRequest, ReactivateRequest, SupplierCancel};
use crate::model::{EventType, OrderState};
use crate::repeats;
use crate::requests::{Cancellation, OrderRequest, Reactivation, Request, RequestState};
use crate::rule_code::{RuleCode, RuleError};

/// What an Idempotency-Key remembers of a cancellation (the same as [`repeats`] reads back).
fn cancel_content(request: &CancelRequest) -> serde_json::Value {
    repeats::cancel_content(
        &request.reason,
        request.reason_code.as_deref(),
        request.effective_at.as_deref(),
    )
}

/// What an Idempotency-Key remembers of a reactivation.
fn reactivate_content(request: &ReactivateRequest) -> serde_json::Value {
    repeats::reactivate_content(request.reason.as_deref(), request.effective_at.as_deref())
}

impl Order {
    /// Every check of a cancellation, and its path. `allowed_codes` are the reason codes that
    /// may cancel an unsolicited cease.
    pub fn check_cancel(
        &self,
        request: &CancelRequest,
        allowed_codes: &[String],
    ) -> Result<Checked<CancelPath>, RuleError> {
        if let Some(id) = self.repeat(
            RequestKind::Cancellation,
            request.idempotency_key.as_deref(),
            &cancel_content(request),
        )? {
            return Ok(Checked::Repeat(id));
        }
        if request.reason.trim().is_empty() {
            return Err(RuleError::new(
                RuleCode::ReasonRequired,
                "a cancellation needs a non-empty 'reason'",
            ));
        }
        let path = cancellation::cancel_path(
            &self.view,
            self.view.pending_kind(),
            request.reason_code.as_deref(),
            allowed_codes,
        )?;
        cancellation::check_method(&self.view, path, request.method)?;
        if request.effective_at.is_some() {
            cancellation::check_schedule(path, &self.view)?;
        }
        Ok(Checked::New(path))
    }

    /// Records a new cancellation checked by [`Order::check_cancel`]; `later` says its
    /// effective time is still ahead.
    pub fn open_cancellation(
        &mut self,
        request: &CancelRequest,
        path: CancelPath,
        later: bool,
        at: &str,
    ) -> Change {
        self.remember_key(
            request.idempotency_key.as_ref(),
            cancel_content(request),
            &request.cancellation_id,
        );
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
            late: false,
            actor: Some(Actor::on(ActorType::Tenant, &self.view.document)),
            idempotency_key: request.idempotency_key.clone(),
        };
        match path {
            CancelPath::Consumer => Change::request(
                EventType::CancellationAccepted,
                Some(OrderState::Cancelled),
                OrderRequest::Cancellation(c),
                None,
            ),
            CancelPath::Supplier => {
                c.state = RequestState::Pending;
                c.decided_at = None;
                Change::request(
                    EventType::CancellationPending,
                    None,
                    OrderRequest::Cancellation(c),
                    None,
                )
            }
            CancelPath::Subscription if self.view.state == OrderState::Inactive => {
                let why = format!("cancellation {} removed it", c.cancellation_id);
                let removed =
                    self.settle_scheduled_reactivation(RequestState::Superseded, &why, at);
                Change::request(
                    EventType::ScheduledReactivationRemoved,
                    None,
                    OrderRequest::Cancellation(c),
                    removed,
                )
            }
            CancelPath::Subscription => {
                let why = format!("replaced by cancellation {}", c.cancellation_id);
                let replaced =
                    self.settle_scheduled_cancellation(RequestState::Superseded, &why, at);
                let (event, to) = if later {
                    c.state = RequestState::Scheduled;
                    c.decided_at = None;
                    (EventType::CancellationScheduled, None)
                } else {
                    (EventType::OrderDeactivated, Some(OrderState::Inactive))
                };
                Change::request(event, to, OrderRequest::Cancellation(c), replaced)
            }
        }
    }

    /// Every check of a reactivation.
    pub fn check_reactivate(&self, request: &ReactivateRequest) -> Result<Checked<()>, RuleError> {
        let content = reactivate_content(request);
        if let Some(id) = self.repeat(
            RequestKind::Reactivation,
            request.idempotency_key.as_deref(),
            &content,
        )? {
            return Ok(Checked::Repeat(id));
        }
        cancellation::check_reactivation(&self.view)?;
        Ok(Checked::New(()))
    }

    /// Records a new reactivation checked by [`Order::check_reactivate`]: an ACTIVE
    /// subscription loses its scheduled cancellation; an INACTIVE one reactivates now or is
    /// scheduled to (`later`), replacing any earlier schedule.
    pub fn open_reactivation(
        &mut self,
        request: &ReactivateRequest,
        later: bool,
        at: &str,
    ) -> Change {
        self.remember_key(
            request.idempotency_key.as_ref(),
            reactivate_content(request),
            &request.reactivation_id,
        );
        let mut r = Reactivation {
            reactivation_id: request.reactivation_id.clone(),
            state: RequestState::Accepted,
            reason: request.reason.clone(),
            effective_at: request.effective_at.clone(),
            requested_at: request.requested_at.clone(),
            decided_at: Some(at.to_string()),
            decision_reason: None,
            event_uuid: None,
            actor: Some(Actor::on(ActorType::Tenant, &self.view.document)),
            idempotency_key: request.idempotency_key.clone(),
        };
        if self.view.state == OrderState::Active {
            let why = format!("reactivation {} removed it", r.reactivation_id);
            let removed = self.settle_scheduled_cancellation(RequestState::Superseded, &why, at);
            return Change::request(
                EventType::ScheduledCancellationRemoved,
                None,
                OrderRequest::Reactivation(r),
                removed,
            );
        }
        let why = format!("replaced by reactivation {}", r.reactivation_id);
        let replaced = self.settle_scheduled_reactivation(RequestState::Superseded, &why, at);
        let (event, to) = if later {
            r.state = RequestState::Scheduled;
            r.decided_at = None;
            (EventType::ReactivationScheduled, None)
        } else {
            (EventType::OrderReactivated, Some(OrderState::Active))
        };
        Change::request(event, to, OrderRequest::Reactivation(r), replaced)
    }

    /// The supplier cancelled the order on its own; nothing if the order has already ended.
    pub fn supplier_cancelled(&self, cancel: &SupplierCancel) -> Option<Change> {
        if self.halted() {
            return None;
        }
        let reason = cancel
            .reason
            .clone()
            .unwrap_or_else(|| "cancelled by the supplier".to_string());
        let change = Change {
            to: Some(OrderState::Cancelled),
            reason: Some(reason),
            ..Change::event(
                EventType::OrderCancelledBySupplier,
                EventDetail::SupplierCancelled {
                    reason: cancel.reason.clone(),
                    callback_id: cancel.callback_id.clone(),
                },
            )
        };
        Some(change.by(ActorType::Supplier))
    }

    /// Applies the scheduled request `id` that has fallen due: the subscription deactivates or
    /// reactivates. `None` if `id` is no longer scheduled.
    pub fn fire_schedule(&mut self, id: &str, at: &str) -> Option<Change> {
        let due = |state| state == RequestState::Scheduled;
        if self.cancellation(id).is_some_and(|c| due(c.state)) {
            let c = self.settle_scheduled_cancellation(RequestState::Accepted, "", at)?;
            return Some(Change::request(
                EventType::OrderDeactivated,
                Some(OrderState::Inactive),
                c,
                None,
            ));
        }
        if self.reactivation(id).is_some_and(|r| due(r.state)) {
            let r = self.settle_scheduled_reactivation(RequestState::Accepted, "", at)?;
            return Some(Change::request(
                EventType::OrderReactivated,
                Some(OrderState::Active),
                r,
                None,
            ));
        }
        None
    }

    /// The next request still open when the order has ended, SUPERSEDED: a PENDING amendment,
    /// then a PENDING or SCHEDULED cancellation, then a SCHEDULED reactivation. `None` once
    /// none is left.
    pub fn supersede_next(&mut self, at: &str) -> Option<Change> {
        let why = format!("the order reached {} first", self.view.state);
        if let Some(a) = self
            .amendments
            .iter_mut()
            .find(|a| a.state == RequestState::Pending)
        {
            a.state = RequestState::Superseded;
            a.decided_at = Some(at.to_string());
            a.reason = Some(why);
            return Some(Change::amendment(EventType::AmendmentSuperseded, a));
        }
        let open = |state| matches!(state, RequestState::Pending | RequestState::Scheduled);
        if let Some(c) = self.cancellations.iter_mut().find(|c| open(c.state)) {
            c.settle(RequestState::Superseded, &why, at);
            let c = OrderRequest::Cancellation(c.clone());
            return Some(Change::request(
                EventType::CancellationSuperseded,
                None,
                c,
                None,
            ));
        }
        let r = self.reactivations.iter_mut().find(|r| open(r.state))?;
        r.settle(RequestState::Superseded, &why, at);
        let r = OrderRequest::Reactivation(r.clone());
        Some(Change::request(
            EventType::ReactivationSuperseded,
            None,
            r,
            None,
        ))
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
}
