//! The order workflow: one durable execution per order, the Temporal shell around the
//! [`Order`] aggregate. The aggregate decides what each request and supplier answer does to
//! the order; this shell decides when: it runs the lifecycle, the supplier negotiations and a
//! subscription's schedule side by side, takes signals and updates into an inbox, records
//! every change through one path ([`emit`]), and mirrors the order into search attributes.
//!
//! Files by concern: `messages` (input and wire types), `handlers` (queries, signals, updates),
//! `lifecycle` (fulfilment), `negotiation` (requests the supplier decides), `concurrent`
//! (amendments side by side), `subscription`
//! (schedules, and what a long history is), `continuation` (continue-as-new in any phase),
//! `emit` (recording a change), `search_attributes`, `patches` (every patch id and why) and
//! `wait` (the shared ways of waiting).
//!
//! [`emit`]: emit::emit

#![allow(unreachable_pub)]

mod concurrent;
mod continuation;
mod emit;
mod failure;
mod handlers;
mod lifecycle;
mod messages;
mod negotiation;
mod notices;
pub mod patches;
mod search_attributes;
mod subscription;
mod wait;

pub use messages::*;
pub use patches::PATCH_SA_ONLY_CHANGES;
pub use search_attributes::{
    SA_ORDER_REF, SA_ORDER_STATE, SA_PENDING_REQUEST, SA_SUPPLIER_ID, SA_TENANT_ID,
    SEARCH_ATTRIBUTES,
};

use orderflow_domain::Order;
use orderflow_domain::requests::RequestState;
use std::collections::{BTreeMap, BTreeSet};
use temporalio_macros::workflow;

#[workflow]
pub struct OrderWorkflow {
    order: Order,
    settings: WorkflowSettings,
    /// Signals waiting for the workflow to act on them.
    inbox: Inbox,
    /// Set by the operator's `retry`, consumed by the stage that failed.
    retry_requested: bool,
    /// Requests already handed to the supplier (amendment and cancellation ids).
    negotiated: BTreeSet<String>,
    /// Requests the supplier left PENDING: id → the instant (RFC 3339) its answer is due.
    answer_due: BTreeMap<String, String>,
    /// Set when the lifecycle has ended, so the request handlers stop too.
    lifecycle_done: bool,
    /// This run continues a subscription (continue-as-new): it starts parked, not at SUBMITTED.
    resumed: bool,
    /// This run continues an order stopped at this place (continue-as-new in any phase).
    resume_at: Option<Place>,
    /// [`PATCH_SA_ONLY_CHANGES`] applies to this run.
    sa_only_changes: bool,
    /// [`patches::PATCH_CONTINUE_AS_NEW_ANY_PHASE`] applies to this run.
    any_phase: bool,
    /// [`PATCH_CLOSE_IN_OWN_TASK`](patches::PATCH_CLOSE_IN_OWN_TASK) applies to this run.
    close_apart: bool,
    /// [`PATCH_NO_INVENTED_ANSWERS`](patches::PATCH_NO_INVENTED_ANSWERS) applies to this run.
    truthful: bool,
    /// [`PATCH_TELL_SUPPLIER`](patches::PATCH_TELL_SUPPLIER) applies to this run.
    tells_supplier: bool,
    /// [`PATCH_CONCURRENT_AMENDMENTS`](patches::PATCH_CONCURRENT_AMENDMENTS) applies to this
    /// run.
    side_by_side: bool,
    /// The patches the run's input lists (see [`patches`]); the others are asked for.
    listed_patches: Vec<String>,
    /// Where the lifecycle waits right now; `None` while it works (a call, a record).
    parked: Option<Place>,
    /// The amendment and cancellation handlers wait (for a request, or for a PENDING answer
    /// whose due instant is kept), with no call or record in flight.
    amendments_idle: bool,
    cancellations_idle: bool,
    /// The supplier notices' handler waits for a notice, with no call or record in flight.
    notices_idle: bool,
}

/// A supplier's decision on a request: accepted or not, and why.
type Decision = (bool, Option<String>);

/// Why a lifecycle stage stopped without a result.
enum Halt {
    /// The order reached a terminal state (withdrawn) while the stage ran.
    Terminal,
    /// An accepted amendment restarts the lifecycle from SUBMITTED.
    Restart,
}

impl OrderWorkflow {
    /// Should the lifecycle pass started at `generation` stop? (Order ended, or an amendment
    /// restarted it.)
    fn interrupted(&self, generation: u32) -> bool {
        self.order.halted() || self.order.restarts() != generation
    }

    fn halt(&self) -> Halt {
        if self.order.halted() {
            Halt::Terminal
        } else {
            Halt::Restart
        }
    }

    /// Has the order ended, or is the supplier's own cancellation waiting to end it?
    fn overtaken(&self) -> bool {
        self.order.halted() || self.inbox.supplier_cancel.is_some()
    }

    /// Every part of the run waits with nothing in flight (no activity, no record), so it may
    /// stop here and the next run resume at [`OrderWorkflow::resume`].
    fn at_rest(&self) -> bool {
        self.any_phase
            && self.parked.is_some()
            && self.amendments_idle
            && self.cancellations_idle
            && self.notices_idle
            && !self.lifecycle_done
            && !self.order.halted()
    }

    /// What the next run needs beside the order to go on from where this one waits.
    fn resume(&self) -> Resume {
        Resume {
            at: self.parked.clone().unwrap_or_default(),
            negotiated: self.negotiated.clone(),
            answer_due: self.answer_due.clone(),
            inbox: self.inbox.clone(),
            retry_requested: self.retry_requested,
        }
    }

    /// An amendment decision in the inbox that came after its amendment EXPIRED.
    fn late_amendment_decision(&self) -> Option<String> {
        let expired = |id: &String| {
            self.order
                .amendment(id)
                .is_some_and(|a| a.state == RequestState::Expired)
        };
        self.inbox
            .amend_decisions
            .keys()
            .find(|id| expired(id))
            .cloned()
    }

    /// A cancellation decision in the inbox that came after its cancellation EXPIRED.
    fn late_cancellation_decision(&self) -> Option<String> {
        let expired = |id: &String| {
            self.order
                .cancellation(id)
                .is_some_and(|c| c.state == RequestState::Expired)
        };
        self.inbox
            .cancel_decisions
            .keys()
            .find(|id| expired(id))
            .cloned()
    }

    /// Nothing is in flight or waiting to be handled, so the run may continue as new.
    fn quiet(&self) -> bool {
        self.order.quiet()
            && self.inbox.supplier_cancel.is_none()
            && self.inbox.supplier_amendments.is_empty()
    }
}
