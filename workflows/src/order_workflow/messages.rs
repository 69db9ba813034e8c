//! What the order workflow takes and answers: its input (the order, the settings it keeps
//! for life, and on continue-as-new the carried [`Order`]) and, re-exported from the domain,
//! the inputs and answers of its updates and signals.

use orderflow_domain::Order;
use orderflow_domain::model::OrderDocument;
pub use orderflow_domain::settings::WorkflowSettings;
use serde::{Deserialize, Serialize};

pub use orderflow_domain::commands::{
    AmendOutcome, AmendRequest, AmendmentDecision, CancelOutcome, CancelRequest,
    CancellationDecision, OperatorRequest, ReactivateOutcome, ReactivateRequest, StepCallback,
    SupplierAmendment, SupplierCancel,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderWorkflowInput {
    pub order: OrderDocument,
    pub created_at: String,
    #[serde(default)]
    pub settings: WorkflowSettings,
    /// Set when a subscription continues as new: the order as the last run left it. Runs
    /// before the aggregate carried the same fields under the name `Carried`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carried: Option<Box<Order>>,
}
