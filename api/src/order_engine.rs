//! What the handlers need from the order engine, as one trait, so that the handlers can be
//! tested over the `Router` in milliseconds with a test double, while production talks to
//! Temporal ([`crate::engine::TemporalEngine`], the only implementation shipped).
//!
//! The engine answers in the API's terms: refusals and outages come back as [`ApiError`]s
//! with their codes, so handlers stay about HTTP and a test double can script any answer.

use crate::error::ApiError;
use async_trait::async_trait;
use orderflow_domain::commands::{
    AmendOutcome, AmendRequest, AmendmentDecision, CancelOutcome, CancelRequest,
    CancellationDecision, OperatorRequest, ReactivateOutcome, ReactivateRequest, StepCallback,
    SupplierAmendment, SupplierCancel,
};
use orderflow_domain::model::OrderView;
use orderflow_workflows::OrderWorkflowInput;

/// The order engine as the handlers see it: start an order's workflow, send it Updates (which
/// answer) and signals (which do not), and check that it is up.
#[async_trait]
pub trait Engine: Send + Sync + 'static {
    /// Starts the order's workflow; `DUPLICATE_ORDER` if the id was ever used.
    async fn start_order(&self, input: OrderWorkflowInput) -> Result<(), ApiError>;
    /// An operator command; the order as it stands after it.
    async fn operator(
        &self,
        tenant_id: &str,
        order_id: &str,
        request: OperatorRequest,
    ) -> Result<OrderView, ApiError>;
    /// A tenant's amendment; refusals come back as rule errors.
    async fn amend(
        &self,
        tenant_id: &str,
        order_id: &str,
        request: AmendRequest,
    ) -> Result<AmendOutcome, ApiError>;
    /// A tenant's cancellation; refusals come back as rule errors.
    async fn cancel(
        &self,
        tenant_id: &str,
        order_id: &str,
        request: CancelRequest,
    ) -> Result<CancelOutcome, ApiError>;
    /// A tenant's reactivation of a subscription.
    async fn reactivate(
        &self,
        tenant_id: &str,
        order_id: &str,
        request: ReactivateRequest,
    ) -> Result<ReactivateOutcome, ApiError>;
    /// A supplier's answer to a PENDING cancellation.
    async fn cancellation_decision(
        &self,
        tenant_id: &str,
        order_id: &str,
        decision: CancellationDecision,
    ) -> Result<(), ApiError>;
    /// The supplier's own cancellation.
    async fn supplier_cancel(
        &self,
        tenant_id: &str,
        order_id: &str,
        cancel: SupplierCancel,
    ) -> Result<(), ApiError>;
    /// A supplier's step callback.
    async fn step_callback(
        &self,
        tenant_id: &str,
        order_id: &str,
        callback: StepCallback,
    ) -> Result<(), ApiError>;
    /// A supplier's decision on a PENDING amendment.
    async fn amendment_decision(
        &self,
        tenant_id: &str,
        order_id: &str,
        decision: AmendmentDecision,
    ) -> Result<(), ApiError>;
    /// A supplier-initiated change.
    async fn supplier_amend(
        &self,
        tenant_id: &str,
        order_id: &str,
        change: SupplierAmendment,
    ) -> Result<(), ApiError>;
    /// How many workers poll the order queue; `Err` when the engine is unreachable.
    async fn check(&self) -> Result<usize, String>;
}
