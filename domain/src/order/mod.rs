//! The order aggregate: the order as it stands plus every request made of it, with each
//! transition as a method. A transition checks what it needs, updates the order and returns
//! the [`Change`] to record; [`Order::apply`] then moves the state, stamps the event and says
//! what to persist. Nothing here waits, calls out or reads a clock: the workflow decides when a
//! transition happens and passes the time in.
//!
//! `Order` is also what an order carries into its next run when it continues as new, so its
//! serialized fields are exactly that state; `restarts`, which only one run needs, is skipped.

mod amend;
mod cancel;
mod change;
mod decide;
mod lifecycle;
mod notice;

pub use amend::CARRIED_CHANGES;
pub use change::{Change, EventDetail, Superseded};
pub use decide::Lapse;
pub use notice::{NoticeKind, SupplierNotice};

use crate::actor::{Actor, ActorType};
use crate::calls::{CallFor, RecordInput, SupplierCall};
use crate::model::{EventType, OrderDocument, OrderEvent, OrderState, OrderView};
use crate::requests::{
    Amendment, Cancellation, OrderRequest, PendingRequest, Reactivation, Request, RequestState,
    ScheduledCancellation, ScheduledReactivation,
};
use crate::rule_code::{RuleCode, RuleError};
use crate::rules;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Reads the carried view, deriving what runs before it existed did not carry (the gateway
/// state, the amounts).
fn view_with_gateway_state<'de, D: serde::Deserializer<'de>>(d: D) -> Result<OrderView, D::Error> {
    Ok(OrderView::deserialize(d)?.refreshed())
}

/// What a request check decided.
#[derive(Clone, Debug, PartialEq)]
pub enum Checked<T> {
    /// A repeat of an earlier request (same Idempotency-Key and content): its id.
    Repeat(String),
    /// A new request, and what the rules decided for it.
    New(T),
}

/// The kinds of tenant request an `Idempotency-Key` can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RequestKind {
    Amendment,
    Cancellation,
    Reactivation,
}

impl RequestKind {
    fn with_article(self) -> &'static str {
        match self {
            RequestKind::Amendment => "an amendment",
            RequestKind::Cancellation => "a cancellation",
            RequestKind::Reactivation => "a reactivation",
        }
    }
}

/// One order and everything asked of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    #[serde(deserialize_with = "view_with_gateway_state")]
    view: OrderView,
    /// How many times an operator retried after ERROR_HANDLER; part of idempotency keys.
    operator_retries: u32,
    /// Every amendment request, in order.
    amendments: Vec<Amendment>,
    /// Every cancellation request, in order.
    cancellations: Vec<Cancellation>,
    /// Every reactivation request, in order.
    reactivations: Vec<Reactivation>,
    /// Idempotency-Key → (the request's content, its request id), for every kind of request.
    request_keys: BTreeMap<String, (serde_json::Value, String)>,
    /// Supplier callbacks already taken (a repeated callback changes nothing).
    seen_callbacks: BTreeSet<String>,
    /// The state a SUSPENDED or ERROR_HANDLER order returns to. Carried, since any order may
    /// continue as new while held; runs before that carried none (a parked subscription is
    /// never held).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resume_to: Option<OrderState>,
    /// Subscription changes the supplier has yet to be told of, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    notices: Vec<SupplierNotice>,
    /// Bumped by each RESTART amendment; a lifecycle pass started under an older value stops.
    /// Not carried: it only orders the passes of one run.
    #[serde(skip)]
    restarts: u32,
}

impl Order {
    /// A freshly received order. An unsolicited cease comes from the supplier, which therefore
    /// already has it.
    pub fn received(document: OrderDocument, created_at: String) -> Order {
        let mut view = OrderView::received(document, created_at);
        view.transferred = view.document.unsolicited;
        Order {
            view,
            operator_retries: 0,
            amendments: Vec::new(),
            cancellations: Vec::new(),
            reactivations: Vec::new(),
            request_keys: BTreeMap::new(),
            seen_callbacks: BTreeSet::new(),
            resume_to: None,
            notices: Vec::new(),
            restarts: 0,
        }
    }

    /// The order's supplier decides several PATCH amendments at once (see
    /// [`WorkflowSettings::concurrent_amendments`](crate::settings::WorkflowSettings)).
    pub fn with_concurrent_amendments(mut self, concurrent: bool) -> Order {
        self.view.concurrent_amendments = concurrent;
        self
    }

    /// The open amendments, oldest first (several only with `concurrent_amendments`).
    pub fn pending_amendments(&self) -> impl Iterator<Item = &Amendment> {
        self.amendments
            .iter()
            .filter(|a| a.state == RequestState::Pending)
    }

    /// The order as tenants and operators see it.
    pub fn view(&self) -> &OrderView {
        &self.view
    }

    pub fn document(&self) -> &OrderDocument {
        &self.view.document
    }

    pub fn state(&self) -> OrderState {
        self.view.state
    }

    /// How many RESTART amendments this run has taken.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// Has the order reached a state from which nothing more happens?
    pub fn halted(&self) -> bool {
        rules::is_terminal(self.view.state)
    }

    /// Is the order held by an operator?
    pub fn suspended(&self) -> bool {
        self.view.state == OrderState::Suspended
    }

    /// Takes a supplier callback once: `false` if this callback id was seen before.
    pub fn first_sight(&mut self, callback_id: &str) -> bool {
        self.seen_callbacks.insert(callback_id.to_string())
    }

    pub fn amendment(&self, id: &str) -> Option<&Amendment> {
        self.amendments.iter().find(|a| a.amendment_id == id)
    }

    pub fn cancellation(&self, id: &str) -> Option<&Cancellation> {
        self.cancellations.iter().find(|c| c.cancellation_id == id)
    }

    pub fn reactivation(&self, id: &str) -> Option<&Reactivation> {
        self.reactivations.iter().find(|r| r.reactivation_id == id)
    }

    /// The oldest open amendment, if any.
    pub fn pending_amendment(&self) -> Option<&Amendment> {
        self.pending_amendments().next()
    }

    /// The open supplier-path cancellation, if any.
    pub fn pending_cancellation(&self) -> Option<&Cancellation> {
        self.cancellations
            .iter()
            .find(|c| c.state == RequestState::Pending)
    }

    /// Is `id` an amendment still waiting for the supplier?
    pub fn amendment_open(&self, id: &str) -> bool {
        self.amendment(id)
            .is_some_and(|a| a.state == RequestState::Pending)
    }

    /// Is `id` a cancellation still waiting for the supplier?
    pub fn cancellation_open(&self, id: &str) -> bool {
        self.cancellation(id)
            .is_some_and(|c| c.state == RequestState::Pending)
    }

    /// No request is waiting for the supplier, and the supplier has been told everything.
    pub fn quiet(&self) -> bool {
        self.pending_cancellation().is_none()
            && self.pending_amendment().is_none()
            && self.notices.is_empty()
    }

    /// The subscription's next scheduled change: (request id, RFC 3339 instant).
    pub fn next_schedule(&self) -> Option<(String, String)> {
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

    /// The input of a supplier call, keyed so that activity retries repeat it and an operator
    /// retry does not. Only `validate` and `transfer` carry the document (the supplier gets
    /// the order then); the other calls carry the order's ids, and a plan step its id.
    pub fn call(&self, workflow_id: &str, what: CallFor) -> SupplierCall {
        let d = &self.view.document;
        let (step, step_id) = match what {
            CallFor::Stage(name) => (name, None),
            CallFor::PlanStep(id) => (id, Some(id.to_string())),
        };
        SupplierCall {
            supplier_id: d.supplier_id.to_string(),
            idempotency_key: rules::idempotency_key(
                workflow_id,
                self.view.revision,
                step,
                self.operator_retries,
            ),
            target: d.supplier_order_id(),
            order_ref: d.order_ref.clone(),
            revision: self.view.revision,
            order: matches!(what, CallFor::Stage("validate" | "transfer")).then(|| d.clone()),
            step_id,
        }
    }

    /// A request repeated with the same `Idempotency-Key`, kind and content: the id of the
    /// request it repeats. The same key for another kind of request or other content is
    /// refused. Keys are one namespace per order, so the kind is told by the id the key points
    /// at (a key used for a cancellation never answers an amendment with a cancellation).
    fn repeat(
        &self,
        kind: RequestKind,
        key: Option<&str>,
        content: &serde_json::Value,
    ) -> Result<Option<String>, RuleError> {
        let Some((seen, id)) = key.and_then(|k| self.request_keys.get(k)) else {
            return Ok(None);
        };
        let used_for = self.kind_of(id);
        if used_for != Some(kind) {
            let what = used_for.map_or("another request", RequestKind::with_article);
            return Err(RuleError::new(
                RuleCode::IdempotencyKeyReused,
                format!(
                    "this Idempotency-Key was used for {what}, not {}; use a new key",
                    kind.with_article()
                ),
            ));
        }
        if seen != content {
            return Err(RuleError::new(
                RuleCode::IdempotencyKeyReused,
                format!(
                    "this Idempotency-Key was used for {} with other content; use a new key",
                    kind.with_article()
                ),
            ));
        }
        Ok(Some(id.clone()))
    }

    /// Which kind of request `id` is.
    fn kind_of(&self, id: &str) -> Option<RequestKind> {
        if self.amendments.iter().any(|a| a.amendment_id == id) {
            Some(RequestKind::Amendment)
        } else if self.cancellations.iter().any(|c| c.cancellation_id == id) {
            Some(RequestKind::Cancellation)
        } else if self.reactivations.iter().any(|r| r.reactivation_id == id) {
            Some(RequestKind::Reactivation)
        } else {
            None
        }
    }

    /// Remembers what an `Idempotency-Key` was used for.
    fn remember_key(&mut self, key: Option<&String>, content: serde_json::Value, id: &str) {
        if let Some(key) = key {
            self.request_keys
                .insert(key.clone(), (content, id.to_string()));
        }
    }

    /// Applies a change to the order and builds the record that persists it: the state moves
    /// (keeping the previous one), `last_seq` advances, the requests are stamped with the
    /// event and stored, and `pending_request` and the schedules are refreshed.
    pub fn apply(&mut self, change: Change, now: String, event_uuid: String) -> RecordInput {
        let before = self.view.state;
        let actor = Actor::on(change.by, &self.view.document);
        if let Some(to) = change.to {
            if to != before {
                self.view.previous_state = Some(before);
                self.view.state = to;
            }
            // Holds stand only while the order is SUSPENDED; who cancelled it is kept once.
            if to != OrderState::Suspended {
                self.view.holds.clear();
            }
            if to == OrderState::Cancelled && before != OrderState::Cancelled {
                self.view.cancelled_by = Some(match change.event {
                    EventType::CancellationAccepted => ActorType::Tenant,
                    EventType::OrderCancelledBySupplier => ActorType::Supplier,
                    _ => change.by,
                });
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
            r.stamp(&event_uuid);
            self.store_request(r.clone());
        }
        self.refresh_requests();
        self.view.refresh();
        let request_id = match (&change.amendment, requests.first()) {
            (Some(a), _) => Some(a.amendment_id.clone()),
            (None, Some(r)) => Some(r.id().to_string()),
            (None, None) => None,
        };
        let reason = requests.first().and_then(OrderRequest::reason);
        self.queue_notice(change.event, request_id.as_deref(), reason, &now);
        let d = &self.view.document;
        let event = OrderEvent {
            event_uuid,
            order_id: d.order_id.clone(),
            tenant_id: d.tenant_id.clone(),
            seq: self.view.last_seq,
            event_type: change.event,
            state: self.view.state,
            gateway_state: self.view.gateway_state,
            previous_state: if change.to.is_some() {
                Some(before)
            } else {
                self.view.previous_state
            },
            request_id,
            revision: self.view.revision,
            occurred_at: now,
            detail: change.detail.to_json(),
            actor: Some(actor),
        };
        RecordInput {
            view: self.view.clone(),
            event,
            amendment: change.amendment,
            requests,
        }
    }

    /// Adds or replaces a cancellation or reactivation.
    fn store_request(&mut self, request: OrderRequest) {
        match request {
            OrderRequest::Cancellation(c) => upsert(&mut self.cancellations, c),
            OrderRequest::Reactivation(r) => upsert(&mut self.reactivations, r),
        }
    }

    /// What `pending_request` shows: the open cancellation, else the open amendment, else a
    /// scheduled reactivation. Also sets the `scheduled_*` fields.
    fn refresh_requests(&mut self) {
        self.view.pending_request = if let Some(c) = self.pending_cancellation() {
            Some(PendingRequest::Cancellation {
                cancellation_id: c.cancellation_id.clone(),
                requested_at: c.requested_at.clone(),
                state: RequestState::Pending,
            })
        } else if let Some(a) = self.pending_amendment() {
            Some(PendingRequest::Amendment {
                amendment_id: a.amendment_id.clone(),
                requested_at: a.requested_at.clone(),
                state: RequestState::Pending,
            })
        } else {
            self.reactivations
                .iter()
                .find(|r| r.state == RequestState::Scheduled)
                .map(|r| PendingRequest::Reactivation {
                    effective_at: r.effective_at.clone(),
                    reactivation_id: r.reactivation_id.clone(),
                    requested_at: r.requested_at.clone(),
                    state: RequestState::Scheduled,
                })
        };
        self.view.scheduled_cancellation = self
            .cancellations
            .iter()
            .find(|c| c.state == RequestState::Scheduled)
            .map(|c| ScheduledCancellation {
                cancellation_id: c.cancellation_id.clone(),
                effective_at: c.effective_at.clone(),
                reason: c.reason.clone(),
                reason_code: c.reason_code.clone(),
            });
        self.view.scheduled_reactivation = self
            .reactivations
            .iter()
            .find(|r| r.state == RequestState::Scheduled)
            .map(|r| ScheduledReactivation {
                effective_at: r.effective_at.clone(),
                reactivation_id: r.reactivation_id.clone(),
                reason: r.reason.clone(),
            });
    }
}

/// Adds `request` to `requests`, or replaces the one with its id.
fn upsert<R: Request>(requests: &mut Vec<R>, request: R) {
    match requests.iter_mut().find(|r| r.id() == request.id()) {
        Some(r) => *r = request,
        None => requests.push(request),
    }
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

#[cfg(test)]
mod tests;
