//! What the order workflow takes and answers: its input (the order, the settings it keeps
//! for life, and on continue-as-new the carried [`Order`] and where the last run stopped) and,
//! re-exported from the domain, the inputs and answers of its updates and signals.

use orderflow_domain::Order;
use orderflow_domain::model::OrderDocument;
pub use orderflow_domain::settings::WorkflowSettings;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
    /// Set when an order continues as new: the order as the last run left it. Runs before
    /// the aggregate carried the same fields under the name `Carried`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carried: Option<Box<Order>>,
    /// Set when an order continues as new in any phase ([`PATCH_CONTINUE_AS_NEW_ANY_PHASE`]):
    /// where the last run stopped and what it held that the order does not. A run carried
    /// without it is a parked subscription.
    ///
    /// [`PATCH_CONTINUE_AS_NEW_ANY_PHASE`]: super::patches::PATCH_CONTINUE_AS_NEW_ANY_PHASE
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Box<Resume>>,
    /// The patches this run applies without asking `ctx.patched` ([`patches::all`] from the
    /// API and continue-as-new); empty in runs started before the list, which ask.
    ///
    /// [`patches::all`]: super::patches::all
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<String>,
}

/// Where a run stopped to continue as new, and what the next run needs to go on from exactly
/// there: the lifecycle's place, the requests already put to the supplier with the instants
/// their answers are due, and the signals not yet acted on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Resume {
    /// Where the lifecycle waits.
    pub at: Place,
    /// Requests already handed to the supplier (amendment and cancellation ids).
    #[serde(default)]
    pub negotiated: BTreeSet<String>,
    /// Requests the supplier left PENDING: id → the instant (RFC 3339) its answer is due.
    #[serde(default)]
    pub answer_due: BTreeMap<String, String>,
    /// Signals received and not yet acted on.
    #[serde(default)]
    pub inbox: Inbox,
    #[serde(default)]
    pub retry_requested: bool,
}

/// A place in the lifecycle where it may wait, and so where a run may stop and the next
/// begin: a stage, and whether the stage was waiting for an operator's retry (ERROR_HANDLER)
/// or, for a step, for the supplier's callback.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub stage: Stage,
    #[serde(default)]
    pub awaiting_retry: bool,
    #[serde(default)]
    pub awaiting_callback: bool,
}

impl Place {
    /// At `stage`, waiting for nothing in particular (a hold, a checkpoint, the next step).
    pub fn at(stage: &Stage) -> Place {
        Place {
            stage: stage.clone(),
            awaiting_retry: false,
            awaiting_callback: false,
        }
    }

    /// At `stage`, in ERROR_HANDLER waiting for an operator's retry.
    pub fn retry(stage: &Stage) -> Place {
        Place {
            awaiting_retry: true,
            ..Place::at(stage)
        }
    }

    /// At plan step `stage`, waiting for the supplier's callback.
    pub fn callback(stage: &Stage) -> Place {
        Place {
            awaiting_callback: true,
            ..Place::at(stage)
        }
    }
}

/// The lifecycle's stages, in the order a pass goes through them. A stage named after a state
/// is the move into it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "stage")]
pub enum Stage {
    #[default]
    Submitted,
    Validate,
    Transfer,
    Feasibility,
    FeasibilityCheck,
    PlanDevelopment,
    Plan,
    Execution,
    /// Plan step `index` (0-based).
    Step {
        index: usize,
    },
    /// The plan is done: the move to COMPLETE or ACTIVE.
    Fulfilled,
    /// Pre-qualification failed: the move into PRE_QUALIFICATION_FAILED with its reason (if
    /// not made yet), then the wait for a withdrawal or a RESTART amendment.
    PreQualificationFailed {
        reason: Option<String>,
    },
    /// A fulfilled subscription, parked.
    Subscription,
}

/// Signals received and not yet acted on. Each is taken once: a repeated callback or decision
/// changes nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Inbox {
    /// Supplier callbacks for accepted steps, by step id.
    #[serde(default)]
    pub step_callbacks: BTreeMap<String, StepCallback>,
    /// Supplier decisions on PENDING amendments, by amendment id.
    #[serde(default)]
    pub amend_decisions: BTreeMap<String, AmendmentDecision>,
    /// Supplier answers to PENDING cancellations, by cancellation id.
    #[serde(default)]
    pub cancel_decisions: BTreeMap<String, CancellationDecision>,
    /// Supplier-initiated changes waiting to be applied.
    #[serde(default)]
    pub supplier_amendments: Vec<SupplierAmendment>,
    /// A supplier's own cancellation, waiting to be applied.
    #[serde(default)]
    pub supplier_cancel: Option<SupplierCancel>,
}
