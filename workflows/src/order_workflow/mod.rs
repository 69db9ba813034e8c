//! The order workflow: one durable execution per order, the Temporal shell around the
//! [`Order`] aggregate. The aggregate decides what each request and supplier answer does to
//! the order; this shell decides when: it runs the lifecycle, the supplier negotiations and a
//! subscription's schedule side by side, takes signals and updates into an inbox, records
//! every change through one path ([`emit`]), and mirrors the order into search attributes.
//!
//! Files by concern: `messages` (input and wire types), `handlers` (queries, signals, updates),
//! `lifecycle` (fulfilment), `negotiation` (requests the supplier decides), `subscription`
//! (schedules and continue-as-new), `emit` (recording a change), `search_attributes`,
//! `patches` (every patch id and why) and `wait` (the shared ways of waiting).
//!
//! [`emit`]: emit::emit

#![allow(unreachable_pub)]

mod emit;
mod handlers;
mod lifecycle;
mod messages;
mod negotiation;
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
    /// Set when the lifecycle has ended, so the request handlers stop too.
    lifecycle_done: bool,
    /// This run continues a subscription (continue-as-new): it starts parked, not at SUBMITTED.
    resumed: bool,
    /// [`PATCH_SA_ONLY_CHANGES`] applies to this run.
    sa_only_changes: bool,
}

/// Signals received and not yet acted on. Each is taken once: a repeated callback or decision
/// changes nothing.
#[derive(Default)]
struct Inbox {
    /// Supplier callbacks for accepted steps, by step id.
    step_callbacks: BTreeMap<String, StepCallback>,
    /// Supplier decisions on PENDING amendments, by amendment id.
    amend_decisions: BTreeMap<String, AmendmentDecision>,
    /// Supplier answers to PENDING cancellations, by cancellation id.
    cancel_decisions: BTreeMap<String, CancellationDecision>,
    /// Supplier-initiated changes waiting to be applied.
    supplier_amendments: Vec<SupplierAmendment>,
    /// A supplier's own cancellation, waiting to be applied.
    supplier_cancel: Option<SupplierCancel>,
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

    /// Nothing is in flight or waiting to be handled, so the run may continue as new.
    fn quiet(&self) -> bool {
        self.order.quiet()
            && self.inbox.supplier_cancel.is_none()
            && self.inbox.supplier_amendments.is_empty()
    }
}
