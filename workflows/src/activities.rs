//! The contract between the order workflow and its activities: names, inputs and outputs.
//! The implementations live in the `activities` crate (they do I/O); declaring the contract
//! here keeps this crate free of I/O while workflow code still calls typed activities. The
//! inputs and outputs are plain data from `orderflow_domain::calls`, so the aggregate builds
//! them without Temporal.

#![allow(unreachable_pub)]

use temporalio_common::ActivityError;

pub use orderflow_domain::calls::{
    AmendAnswer, AmendCall, CancelAnswer, CancelCall, NoticeCall, PlanProposal, PlannedStep,
    RecordInput, StepOutcome, SupplierCall, Verdict,
};
use temporalio_macros::activity_definitions;

/// Activity type names, as registered on the worker and shown in the Web UI.
pub mod names {
    pub const VALIDATE: &str = "supplier.validate";
    pub const TRANSFER: &str = "supplier.transfer";
    pub const FEASIBILITY: &str = "supplier.feasibility";
    pub const PLAN: &str = "supplier.plan";
    pub const STEP: &str = "supplier.step";
    pub const RECORD: &str = "store.record";
    pub const AMEND: &str = "supplier.amend";
    pub const CANCEL: &str = "supplier.cancel";
    pub const NOTIFY: &str = "supplier.notify";
}

pub struct OrderActivities;

#[activity_definitions]
impl OrderActivities {
    #[activity(name = names::VALIDATE)]
    pub fn validate(call: SupplierCall) -> Result<Verdict, ActivityError> {
        unimplemented!()
    }

    #[activity(name = names::TRANSFER)]
    pub fn transfer(call: SupplierCall) -> Result<(), ActivityError> {
        unimplemented!()
    }

    #[activity(name = names::FEASIBILITY)]
    pub fn feasibility(call: SupplierCall) -> Result<Verdict, ActivityError> {
        unimplemented!()
    }

    #[activity(name = names::PLAN)]
    pub fn plan(call: SupplierCall) -> Result<PlanProposal, ActivityError> {
        unimplemented!()
    }

    #[activity(name = names::STEP)]
    pub fn step(call: SupplierCall) -> Result<StepOutcome, ActivityError> {
        unimplemented!()
    }

    #[activity(name = names::AMEND)]
    pub fn amend(call: AmendCall) -> Result<AmendAnswer, ActivityError> {
        unimplemented!()
    }

    #[activity(name = names::CANCEL)]
    pub fn cancel(call: CancelCall) -> Result<CancelAnswer, ActivityError> {
        unimplemented!()
    }

    /// Tells the supplier a subscription was deactivated or reactivated.
    #[activity(name = names::NOTIFY)]
    pub fn notify(call: NoticeCall) -> Result<(), ActivityError> {
        unimplemented!()
    }

    /// Writes the order row and its event in one transaction (a local activity: it is fast,
    /// idempotent by `(order, seq)` and on every transition's critical path).
    #[activity(name = names::RECORD)]
    pub fn record(input: RecordInput) -> Result<(), ActivityError> {
        unimplemented!()
    }
}

/// The activity marker types, for implementations to bind to with
/// `#[activity(definition = orderflow_workflows::activities::defs::Validate)]`.
pub mod defs {
    pub use super::order_activities::{
        Amend, Cancel, Feasibility, Notify, Plan, Record, Step, Transfer, Validate,
    };
}
