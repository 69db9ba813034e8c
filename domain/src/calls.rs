//! What the order hands to its activities and gets back: supplier calls and their answers,
//! and the record of each change. Plain data, so the aggregate builds them without knowing how
//! they are sent; the workflow crate declares the activities that take them.

use crate::model::{Amendment, OrderDocument, OrderEvent, OrderView};
use crate::requests::{AmendDecision, OrderRequest, ResponseCode};
use serde::{Deserialize, Serialize};

/// The order's own supplier calls, whose names key them. A plan step's id is chosen by the
/// supplier and keys its call the same way, so a plan may not use these names
/// ([`crate::limits::check_plan`]): two calls under one key would be one call to the supplier.
pub const STAGE_CALLS: [&str; 4] = ["validate", "transfer", "feasibility", "plan"];

/// What a supplier call is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallFor<'a> {
    /// One of the order's own calls: a [`STAGE_CALLS`] name, or a request's (`amend/a-1`,
    /// `cancel/c-1`, `deactivate/c-2`).
    Stage(&'a str),
    /// A step of the supplier's plan, by the id the supplier gave it.
    PlanStep(&'a str),
}

/// Input of every supplier call: who to call, the key that makes retries safe, which order
/// (the supplier's id of it, its `order_ref` and the revision it stands at) and, only for the
/// calls that hand the supplier the order (validation and transfer), the document itself. The
/// other calls are about an order the supplier already holds, so they carry its ids and not
/// the document (up to 256 KiB) each time: smaller activity payloads and histories.
///
/// Activities scheduled before this shape carried `order` on every call and no ids; they still
/// decode, and [`SupplierCall::supplier_order_id`] reads the id from the document then.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupplierCall {
    pub supplier_id: String,
    pub idempotency_key: String,
    /// The supplier's id of the order, `{tenant_id}:{order_id}`.
    #[serde(
        default,
        rename = "supplier_order_id",
        skip_serializing_if = "String::is_empty"
    )]
    pub target: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub order_ref: String,
    #[serde(default)]
    pub revision: u32,
    /// The whole document, for the calls that hand it over (validation, transfer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderDocument>,
    /// Set for plan step calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
}

impl SupplierCall {
    /// The supplier's id of the order, `{tenant_id}:{order_id}`.
    pub fn supplier_order_id(&self) -> String {
        match &self.order {
            Some(order) if self.target.is_empty() => order.supplier_order_id(),
            _ => self.target.clone(),
        }
    }

    /// What the supplier is sent as `order`: the document when the call carries it, else the
    /// order's ids (`tenant_id`, `order_id`, `order_ref`, `revision`).
    pub fn order_json(&self) -> serde_json::Value {
        if let Some(order) = &self.order {
            return serde_json::to_value(order).unwrap_or(serde_json::Value::Null);
        }
        let id = self.supplier_order_id();
        let (tenant_id, order_id) = id.split_once(':').unwrap_or(("", id.as_str()));
        serde_json::json!({
            "tenant_id": tenant_id,
            "order_id": order_id,
            "order_ref": self.order_ref,
            "revision": self.revision,
        })
    }
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

/// Input of the call that tells the supplier a subscription was deactivated or reactivated
/// (`POST /orders/{id}/deactivate` or `/reactivate`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoticeCall {
    pub call: SupplierCall,
    pub notice: crate::order::SupplierNotice,
}

/// The supplier's answer to a cancellation: `AP` (accepted), `RE` (rejected) or `PENDING`
/// (decided later by callback).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CancelAnswer {
    pub response_code: ResponseCode,
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
    pub decision: AmendDecision,
    pub reason: Option<String>,
}
