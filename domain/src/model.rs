//! The order document and everything the tenant sees of it. Shared by the workflow, the
//! activities (which persist it) and the API (which serves it), so there is one definition.

use crate::actor::{Actor, ActorType, Hold};
use crate::gateway::GatewayState;
use crate::ids::{LineId, OrderId, Price, SupplierId, TenantId};
use crate::money::Amounts;
use crate::requests::{PendingKind, PendingRequest, ScheduledCancellation, ScheduledReactivation};
// Requests are part of what the order shows; other crates find them here too.
pub use crate::requests::{Amendment, RequestState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Lifecycle state of an order: START → SUBMITTED → FEASIBILITY → PLAN_DEVELOPMENT →
/// EXECUTION → COMPLETE (or ACTIVE for a subscription, which may go INACTIVE and back), with
/// PRE_QUALIFICATION_FAILED, SUSPENDED, ERROR_HANDLER, CANCELLED and WITHDRAWN on the side.
/// DRAFT is an order saved but not yet placed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderState {
    Draft,
    Start,
    Submitted,
    Feasibility,
    PlanDevelopment,
    Execution,
    PreQualificationFailed,
    Suspended,
    ErrorHandler,
    Complete,
    Active,
    Inactive,
    Cancelled,
    Withdrawn,
    /// Its workflow was ended outside orderflow (terminated, timed out or cancelled from
    /// Temporal itself, e.g. the Web UI): nothing more happens to the order.
    Terminated,
}

impl OrderState {
    pub const ALL: [OrderState; 15] = [
        OrderState::Draft,
        OrderState::Start,
        OrderState::Submitted,
        OrderState::Feasibility,
        OrderState::PlanDevelopment,
        OrderState::Execution,
        OrderState::PreQualificationFailed,
        OrderState::Suspended,
        OrderState::ErrorHandler,
        OrderState::Complete,
        OrderState::Active,
        OrderState::Inactive,
        OrderState::Cancelled,
        OrderState::Withdrawn,
        OrderState::Terminated,
    ];

    /// The wire name, e.g. `PLAN_DEVELOPMENT` (also the `OrderState` search attribute value).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Draft => "DRAFT",
            OrderState::Start => "START",
            OrderState::Submitted => "SUBMITTED",
            OrderState::Feasibility => "FEASIBILITY",
            OrderState::PlanDevelopment => "PLAN_DEVELOPMENT",
            OrderState::Execution => "EXECUTION",
            OrderState::PreQualificationFailed => "PRE_QUALIFICATION_FAILED",
            OrderState::Suspended => "SUSPENDED",
            OrderState::ErrorHandler => "ERROR_HANDLER",
            OrderState::Complete => "COMPLETE",
            OrderState::Active => "ACTIVE",
            OrderState::Inactive => "INACTIVE",
            OrderState::Cancelled => "CANCELLED",
            OrderState::Withdrawn => "WITHDRAWN",
            OrderState::Terminated => "TERMINATED",
        }
    }

    pub fn parse(s: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl std::fmt::Display for OrderState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderType {
    Provide,
    Modify,
    Cease,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LineAction {
    Add,
    Modify,
    Cancel,
    NoChange,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = r"^[A-Za-z0-9._-]{1,128}$"))]
    pub line_id: LineId,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, pattern = r"\S"))]
    pub product_code: String,
    /// A whole number from 1 to 4294967295.
    // An unsigned 32-bit integer: its schema is int64 with that maximum, since int32 would
    // document less than the API takes.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4294967295_u64, format = Int64))]
    pub quantity: u32,
    /// Decimal string (e.g. `"12.50"`), never a float, so amounts survive round trips exactly.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = r"^[0-9]{1,15}(\.[0-9]{1,4})?$"))]
    pub unit_price: Price,
    pub action: LineAction,
    /// An amount off the line, at most `quantity × unit_price` (decimal string).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = r"^[0-9]{1,15}(\.[0-9]{1,4})?$"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Price>,
    /// The tax on the line as a percentage, 0 to 100 (decimal string, e.g. `"20"`).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = r"^[0-9]{1,3}(\.[0-9]{1,4})?$"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_rate: Option<Price>,
}

/// What the tenant ordered: every field the tenant controls.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderDocument {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub order_id: OrderId,
    pub order_ref: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub tenant_id: TenantId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub supplier_id: SupplierId,
    pub order_type: OrderType,
    #[serde(default)]
    pub unsolicited: bool,
    #[serde(default)]
    pub recurring: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub lines: Vec<OrderLine>,
    /// ISO 4217, e.g. `EUR`: the amounts are in its minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// IANA, e.g. `Europe/Paris`: an `effective_date` means midnight there (UTC when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

impl OrderDocument {
    /// The smallest order: who, with whom and what kind, with no optional field and no lines.
    pub fn new(
        tenant_id: TenantId,
        order_id: OrderId,
        order_ref: &str,
        supplier_id: SupplierId,
        order_type: OrderType,
    ) -> OrderDocument {
        OrderDocument {
            order_id,
            order_ref: order_ref.to_string(),
            tenant_id,
            supplier_id,
            order_type,
            unsolicited: false,
            recurring: false,
            customer: None,
            contact: None,
            site: None,
            requested_date: None,
            notes: None,
            attributes: BTreeMap::new(),
            lines: Vec::new(),
            currency: None,
            time_zone: None,
        }
    }

    /// The Temporal workflow id: one workflow per (tenant, order), never reused.
    pub fn workflow_id(&self) -> String {
        workflow_id(&self.tenant_id, &self.order_id)
    }

    /// The id the supplier knows the order by (`tenant:order`, both parts are restricted to
    /// `[A-Za-z0-9._-]`, so the colon is unambiguous).
    pub fn supplier_order_id(&self) -> String {
        format!("{}:{}", self.tenant_id, self.order_id)
    }
}

#[cfg(test)]
impl OrderDocument {
    /// [`OrderDocument::new`] with ids that must parse, for tests.
    pub(crate) fn for_test(
        tenant_id: &str,
        order_id: &str,
        order_ref: &str,
        supplier_id: &str,
        order_type: OrderType,
    ) -> OrderDocument {
        OrderDocument::new(
            TenantId::parse(tenant_id).unwrap(),
            OrderId::parse(order_id).unwrap(),
            order_ref,
            SupplierId::parse(supplier_id).unwrap(),
            order_type,
        )
    }
}

pub fn workflow_id(tenant_id: &str, order_id: &str) -> String {
    format!("order/{tenant_id}/{order_id}")
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PqfCause {
    Validation,
    Feasibility,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PlanStatus {
    Pending,
    Executing,
    Done,
    Discarded,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepStatus {
    Pending,
    Running,
    Done,
    Failed,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanStep {
    pub step_id: String,
    pub name: String,
    pub status: StepStatus,
    #[serde(default)]
    pub point_of_no_return: bool,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub plan_id: String,
    pub status: PlanStatus,
    pub steps: Vec<PlanStep>,
}

/// The full order as the tenant and operators see it (`GET /v1/orders/{id}`, the `status`
/// query, the database row).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderView {
    #[serde(flatten)]
    pub document: OrderDocument,
    pub revision: u32,
    pub state: OrderState,
    /// The state as a gateway client reads it (seeds/000), derived from `state` and
    /// `pending_request` whenever either changes.
    #[serde(default)]
    pub gateway_state: GatewayState,
    pub previous_state: Option<OrderState>,
    pub state_reason: Option<String>,
    /// Set while in PRE_QUALIFICATION_FAILED: why pre-qualification failed.
    pub cause: Option<PqfCause>,
    pub transferred: bool,
    pub plan: Option<Plan>,
    /// The request open on the order: a PENDING cancellation, else a PENDING amendment, else a
    /// SCHEDULED reactivation.
    pub pending_request: Option<PendingRequest>,
    pub scheduled_cancellation: Option<ScheduledCancellation>,
    pub scheduled_reactivation: Option<ScheduledReactivation>,
    pub created_at: String,
    pub updated_at: String,
    /// Sequence number of the last event applied to this view; the database keeps the newest.
    pub last_seq: u64,
    /// Who holds the order while it is SUSPENDED (it resumes when the last hold is lifted).
    #[serde(default)]
    pub holds: Vec<Hold>,
    /// What the order comes to, per line and in all, in the currency's minor units; derived
    /// from the document whenever it changes.
    #[serde(default)]
    pub amounts: Amounts,
    /// Who cancelled it: `TENANT` (its cancellation, accepted), `SUPPLIER` (on its own) or
    /// `OPERATOR`; null unless CANCELLED.
    #[serde(default)]
    pub cancelled_by: Option<ActorType>,
    /// The supplier decides several PATCH amendments at once, so one may be sent while others
    /// are PENDING (its `concurrent_amendments` setting when the order was placed).
    #[serde(default)]
    pub concurrent_amendments: bool,
}

impl OrderView {
    /// The view of a freshly received order, before anything has happened to it.
    pub fn received(document: OrderDocument, created_at: String) -> OrderView {
        OrderView {
            document,
            revision: 1,
            state: OrderState::Start,
            gateway_state: GatewayState::Acknowledged,
            previous_state: None,
            state_reason: None,
            cause: None,
            transferred: false,
            plan: None,
            pending_request: None,
            scheduled_cancellation: None,
            scheduled_reactivation: None,
            updated_at: created_at.clone(),
            created_at,
            last_seq: 0,
            holds: Vec::new(),
            cancelled_by: None,
            amounts: Amounts::default(),
            concurrent_amendments: false,
        }
        .refreshed()
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    OrderAcknowledged,
    StateChanged,
    PlanStepCompleted,
    AmendmentPending,
    AmendmentAccepted,
    AmendmentRejected,
    CancellationPending,
    CancellationAccepted,
    CancellationRejected,
    CancellationScheduled,
    OrderDeactivated,
    ReactivationScheduled,
    OrderReactivated,
    OrderCancelledBySupplier,
    OrderAmendedBySupplier,
    /// A pending amendment overtaken by the order ending first.
    AmendmentSuperseded,
    /// A pending cancellation overtaken by the order ending first.
    CancellationSuperseded,
    /// A reactivation removed an ACTIVE subscription's scheduled cancellation.
    ScheduledCancellationRemoved,
    /// A cancellation removed an INACTIVE subscription's scheduled reactivation.
    ScheduledReactivationRemoved,
    /// A scheduled reactivation overtaken by the order ending first.
    ReactivationSuperseded,
    /// The order's workflow was ended outside orderflow; `detail.status` says how.
    OrderTerminated,
    /// The supplier did not decide a PENDING amendment within the answer timeout.
    AmendmentExpired,
    /// An amendment could not be delivered to the supplier.
    AmendmentFailed,
    /// The supplier did not decide a PENDING cancellation within the answer timeout.
    CancellationExpired,
    /// A cancellation could not be delivered to the supplier.
    CancellationFailed,
    /// A deactivation or reactivation of a subscription took effect, but the supplier could
    /// not be told (it refused, or could not be reached in time): an operator should tell it.
    SupplierNoticeFailed,
    /// A second party (the operator or the supplier) holds an order already SUSPENDED.
    HoldAdded,
    /// One party lifted its hold; another still holds the order, which stays SUSPENDED.
    HoldLifted,
}

/// One change to an order, as told to the tenant. `seq` is gapless per order, so a tenant can
/// tell it has missed none.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderEvent {
    pub event_uuid: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub order_id: OrderId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub tenant_id: TenantId,
    pub seq: u64,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub state: OrderState,
    /// The order's gateway state after the event.
    #[serde(default)]
    pub gateway_state: GatewayState,
    pub previous_state: Option<OrderState>,
    pub request_id: Option<String>,
    pub revision: u32,
    pub occurred_at: String,
    pub detail: serde_json::Value,
    /// Who acted (absent on events recorded before orderflow kept it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
}

impl OrderView {
    /// The view moved to `state`, with its gateway state.
    pub fn in_state(self, state: OrderState) -> OrderView {
        OrderView { state, ..self }.refreshed()
    }

    /// The view with `document` instead of its own, and the amounts it comes to.
    pub fn with_document(self, document: OrderDocument) -> OrderView {
        OrderView { document, ..self }.refreshed()
    }

    /// The view with what is derived from it brought up to date: the gateway state (from the
    /// state and the open request) and the amounts (from the document).
    pub fn refreshed(mut self) -> OrderView {
        self.refresh();
        self
    }

    /// See [`OrderView::refreshed`].
    pub fn refresh(&mut self) {
        self.gateway_state = GatewayState::of_view(self);
        self.amounts = crate::money::amounts(&self.document);
    }

    /// Which request is open on the order, from its `pending_request`.
    pub fn pending_kind(&self) -> Option<PendingKind> {
        self.pending_request.as_ref().map(PendingRequest::kind)
    }

    /// Has the plan's step marked `point_of_no_return` started? From then on the supplier is
    /// expected to refuse a cancellation (it still decides). A step's start is not an event of
    /// its own, so a recorded view says "started" for a step that has left PENDING, and for
    /// the next step of an EXECUTING order once every step before it is done: the workflow
    /// calls the supplier for it in the same instant.
    pub fn point_of_no_return_passed(&self) -> bool {
        let Some(plan) = &self.plan else {
            return false;
        };
        plan.steps.iter().enumerate().any(|(i, step)| {
            step.point_of_no_return
                && (step.status != StepStatus::Pending
                    || (self.state == OrderState::Execution
                        && plan.steps[..i].iter().all(|s| s.status == StepStatus::Done)))
        })
    }
}

#[cfg(test)]
mod tests;
