//! The contract between the order workflow and its activities: names, inputs and outputs.
//! The implementations live in the `activities` crate (they do I/O); declaring the contract
//! here keeps this crate free of I/O while workflow code still calls typed activities.

#![allow(unreachable_pub)]

use crate::cancellation::OrderRequest;
use crate::model::{Amendment, OrderDocument, OrderEvent, OrderView};
use serde::{Deserialize, Serialize};
use temporalio_common::ActivityError;
use temporalio_macros::activity_definitions;

/// Input of every supplier call: who to call, the key that makes retries safe, and the order
/// as it stands now (suppliers read the current revision from it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupplierCall {
    pub supplier_id: String,
    pub idempotency_key: String,
    pub order: OrderDocument,
    /// Set for plan step calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
}

/// A supplier's verdict on a validation or feasibility check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub passed: bool,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedStep {
    pub step_id: String,
    pub name: String,
    #[serde(default)]
    pub point_of_no_return: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanProposal {
    pub plan_id: String,
    pub steps: Vec<PlannedStep>,
}

/// A step call either finished the step or the supplier took it on and will call back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepOutcome {
    Done,
    Accepted,
}

/// One change to persist: the order as it now stands and the event that describes the change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordInput {
    pub view: OrderView,
    pub event: OrderEvent,
    /// The amendment this change created or decided, persisted as its own resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amendment: Option<Amendment>,
    /// Cancellations and reactivations this change created or decided.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<OrderRequest>,
}

/// Input of the supplier cancellation call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CancelCall {
    pub call: SupplierCall,
    pub cancellation_id: String,
    pub reason: String,
    pub reason_code: Option<String>,
}

/// The supplier's answer to a cancellation: `AP` (accepted), `RE` (rejected) or `PENDING`
/// (decided later by callback).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CancelAnswer {
    pub response_code: String,
    pub reason: Option<String>,
}

/// Input of the supplier amendment call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AmendCall {
    pub call: SupplierCall,
    pub amendment_id: String,
    pub changes: serde_json::Value,
}

/// The supplier's answer to an amendment: decided now, or later by callback.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AmendAnswer {
    /// `ACCEPT`, `REJECT` or `PENDING`.
    pub decision: String,
    pub reason: Option<String>,
}

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
        Amend, Cancel, Feasibility, Plan, Record, Step, Transfer, Validate,
    };
}
