//! The order workflow's activities (contract in `orderflow_workflows::activities`).

use crate::supplier::SupplierClient;
use crate::supplier::wire::{self, Request};
use orderflow_store::Store;
use orderflow_workflows::activities::{
    AmendAnswer, AmendCall, CancelAnswer, CancelCall, NoticeCall, PlanProposal, RecordInput,
    StepOutcome, SupplierCall, Verdict, defs,
};
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

pub struct OrderActivitiesImpl {
    pub store: Store,
    pub suppliers: SupplierClient,
}

/// Runs a supplier call while heartbeating, so that if this worker dies Temporal notices
/// within the heartbeat timeout (seconds) instead of the call timeout, and retries the call
/// elsewhere with the same idempotency key.
///
/// The first heartbeat waits one interval: the SDK sends a first heartbeat to the server at
/// once, and most calls finish sooner, so an immediate one would cost an RPC and a database
/// write on the server per call for nothing (docs/BENCHMARKS.md).
async fn heartbeating<T>(ctx: &ActivityContext, call: impl Future<Output = T>) -> T {
    let beat = async {
        loop {
            tokio::time::sleep(HEARTBEAT_EVERY).await;
            let _ = ctx.record_heartbeat(()).await;
        }
    };
    tokio::select! {
        result = call => result,
        _ = beat => unreachable!("the heartbeat loop never ends"),
    }
}

/// Well inside the workflow's heartbeat timeout.
const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl OrderActivitiesImpl {
    /// Sends `request` to the call's supplier, heartbeating meanwhile.
    async fn send(
        &self,
        ctx: &ActivityContext,
        call: &SupplierCall,
        request: &Request,
    ) -> Result<crate::supplier::Answer, ActivityError> {
        heartbeating(
            ctx,
            self.suppliers
                .post(call, &request.path, request.body.clone()),
        )
        .await
    }
}

#[activities]
impl OrderActivitiesImpl {
    #[activity(definition = defs::Validate)]
    pub async fn validate(
        self: Arc<Self>,
        ctx: ActivityContext,
        call: SupplierCall,
    ) -> Result<Verdict, ActivityError> {
        let request = wire::validate(&call);
        let answer = self.send(&ctx, &call, &request).await?;
        wire::read_validation(&answer.body, &request.path)
    }

    #[activity(definition = defs::Transfer)]
    pub async fn transfer(
        self: Arc<Self>,
        ctx: ActivityContext,
        call: SupplierCall,
    ) -> Result<(), ActivityError> {
        self.send(&ctx, &call, &wire::transfer(&call)).await?;
        Ok(())
    }

    #[activity(definition = defs::Feasibility)]
    pub async fn feasibility(
        self: Arc<Self>,
        ctx: ActivityContext,
        call: SupplierCall,
    ) -> Result<Verdict, ActivityError> {
        let request = wire::feasibility(&call);
        let answer = self.send(&ctx, &call, &request).await?;
        wire::read_feasibility(&answer.body, &request.path)
    }

    #[activity(definition = defs::Plan)]
    pub async fn plan(
        self: Arc<Self>,
        ctx: ActivityContext,
        call: SupplierCall,
    ) -> Result<PlanProposal, ActivityError> {
        let request = wire::plan(&call);
        let answer = self.send(&ctx, &call, &request).await?;
        wire::read_plan(answer.body, &request.path)
    }

    #[activity(definition = defs::Step)]
    pub async fn step(
        self: Arc<Self>,
        ctx: ActivityContext,
        call: SupplierCall,
    ) -> Result<StepOutcome, ActivityError> {
        let request = wire::step(&call);
        let answer = self.send(&ctx, &call, &request).await?;
        wire::read_step(&answer.body, &request.path)
    }

    /// Sends an amendment to the supplier: `ACCEPT`, `REJECT` or `PENDING` (decided later
    /// by callback).
    #[activity(definition = defs::Amend)]
    pub async fn amend(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: AmendCall,
    ) -> Result<AmendAnswer, ActivityError> {
        let request = wire::amend(&input);
        let answer = self.send(&ctx, &input.call, &request).await?;
        wire::read_amend(answer.body, &request.path)
    }

    /// Sends a cancellation to the supplier: `AP`, `RE` or `PENDING` (answered later by
    /// callback).
    #[activity(definition = defs::Cancel)]
    pub async fn cancel(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: CancelCall,
    ) -> Result<CancelAnswer, ActivityError> {
        let request = wire::cancel(&input);
        let answer = self.send(&ctx, &input.call, &request).await?;
        wire::read_cancel(answer.body, &request.path)
    }

    /// Tells the supplier that a subscription was deactivated or reactivated, when and why.
    /// Any 2xx is taken: the change has already happened on the order.
    #[activity(definition = defs::Notify)]
    pub async fn notify(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: NoticeCall,
    ) -> Result<(), ActivityError> {
        self.send(&ctx, &input.call, &wire::notify(&input)).await?;
        Ok(())
    }

    #[activity(definition = defs::Record)]
    pub async fn record(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: RecordInput,
    ) -> Result<(), ActivityError> {
        self.store.record(&input).await.map_err(|e| {
            tracing::warn!(error = %e, order = %input.view.document.order_id, "recording order change failed; will retry");
            ActivityError::from(e)
        })
    }
}
