//! The order workflow's activities (contract in `orderflow_workflows::activities`).

use crate::supplier::{SupplierClient, permanent, required};
use orderflow_store::Store;
use orderflow_workflows::activities::{
    AmendAnswer, AmendCall, CancelAnswer, CancelCall, NoticeCall, PlanProposal, RecordInput,
    StepOutcome, SupplierCall, Verdict, defs,
};
use serde_json::{Value, json};
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

fn order_path(call: &SupplierCall, suffix: &str) -> String {
    format!("/orders/{}{suffix}", call.supplier_order_id())
}

fn decode<T: serde::de::DeserializeOwned>(body: Value, path: &str) -> Result<T, ActivityError> {
    serde_json::from_value(body.clone()).map_err(|e| {
        // The detail goes to the log: a failure message ends up in the order's events.
        tracing::warn!(%path, error = %e, %body, "supplier answer not understood");
        permanent(
            "SupplierProtocolError",
            format!("supplier answer to POST {path} is not understood"),
        )
    })
}

fn verdict(
    body: &Value,
    field: &str,
    pass: impl Fn(&Value) -> bool,
    path: &str,
) -> Result<Verdict, ActivityError> {
    let value = required(body, field, path)?;
    Ok(Verdict {
        passed: pass(value),
        reason: body
            .get("reason")
            .and_then(Value::as_str)
            .map(orderflow_domain::limits::clip),
    })
}

impl OrderActivitiesImpl {
    /// POSTs the call's order (the document for validation and transfer, else its ids) to
    /// `path` of the call's supplier, heartbeating meanwhile.
    async fn call(
        &self,
        ctx: &ActivityContext,
        call: &SupplierCall,
        path: &str,
    ) -> Result<crate::supplier::Answer, ActivityError> {
        heartbeating(
            ctx,
            self.suppliers
                .post(call, path, json!({ "order": call.order_json() })),
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
        let path = order_path(&call, "/validate");
        let answer = self.call(&ctx, &call, &path).await?;
        verdict(&answer.body, "result", |v| v == "PASS", &path)
    }

    #[activity(definition = defs::Transfer)]
    pub async fn transfer(
        self: Arc<Self>,
        ctx: ActivityContext,
        call: SupplierCall,
    ) -> Result<(), ActivityError> {
        self.call(&ctx, &call, "/orders").await?;
        Ok(())
    }

    #[activity(definition = defs::Feasibility)]
    pub async fn feasibility(
        self: Arc<Self>,
        ctx: ActivityContext,
        call: SupplierCall,
    ) -> Result<Verdict, ActivityError> {
        let path = order_path(&call, "/feasibility");
        let answer = self.call(&ctx, &call, &path).await?;
        verdict(&answer.body, "feasible", |v| v == &Value::Bool(true), &path)
    }

    #[activity(definition = defs::Plan)]
    pub async fn plan(
        self: Arc<Self>,
        ctx: ActivityContext,
        call: SupplierCall,
    ) -> Result<PlanProposal, ActivityError> {
        let path = order_path(&call, "/plan");
        let answer = self.call(&ctx, &call, &path).await?;
        let plan: PlanProposal = decode(answer.body, &path)?;
        if let Err(problem) = orderflow_domain::limits::check_plan(&plan) {
            return Err(permanent(
                "SupplierProtocolError",
                format!("the supplier proposed a plan orderflow cannot take: {problem}"),
            ));
        }
        Ok(plan)
    }

    #[activity(definition = defs::Step)]
    pub async fn step(
        self: Arc<Self>,
        ctx: ActivityContext,
        call: SupplierCall,
    ) -> Result<StepOutcome, ActivityError> {
        let step_id = call.step_id.clone().unwrap_or_default();
        let path = order_path(&call, &format!("/steps/{step_id}"));
        let answer = self.call(&ctx, &call, &path).await?;
        match required(&answer.body, "status", &path)?.as_str() {
            Some("DONE") => Ok(StepOutcome::Done),
            Some("ACCEPTED") => Ok(StepOutcome::Accepted),
            _ => {
                tracing::warn!(%path, body = %answer.body, "unexpected step status");
                Err(permanent(
                    "SupplierProtocolError",
                    format!("unexpected step status from supplier on POST {path}"),
                ))
            }
        }
    }

    /// Sends an amendment to the supplier: `ACCEPT`, `REJECT` or `PENDING` (decided later
    /// by callback).
    #[activity(definition = defs::Amend)]
    pub async fn amend(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: AmendCall,
    ) -> Result<AmendAnswer, ActivityError> {
        let path = order_path(&input.call, "/amendments");
        let body = json!({
            "amendment_id": input.amendment_id,
            "changes": input.changes,
            "order": input.call.order_json(),
        });
        let answer = heartbeating(&ctx, self.suppliers.post(&input.call, &path, body)).await?;
        // An unknown decision does not decode: a permanent protocol error.
        decode(answer.body, &path)
    }

    /// Sends a cancellation to the supplier: `AP`, `RE` or `PENDING` (answered later by
    /// callback).
    #[activity(definition = defs::Cancel)]
    pub async fn cancel(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: CancelCall,
    ) -> Result<CancelAnswer, ActivityError> {
        let path = order_path(&input.call, "/cancellations");
        let body = json!({
            "cancellation_id": input.cancellation_id,
            "reason": input.reason,
            "reason_code": input.reason_code,
            "order": input.call.order_json(),
        });
        let answer = heartbeating(&ctx, self.suppliers.post(&input.call, &path, body)).await?;
        // An unknown response code does not decode: a permanent protocol error.
        decode(answer.body, &path)
    }

    /// Tells the supplier that a subscription was deactivated or reactivated, when and why.
    /// Any 2xx is taken: the change has already happened on the order.
    #[activity(definition = defs::Notify)]
    pub async fn notify(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: NoticeCall,
    ) -> Result<(), ActivityError> {
        let n = &input.notice;
        let path = order_path(&input.call, &format!("/{}", n.kind.as_str()));
        let body = json!({
            "request_id": n.request_id,
            "effective_at": n.effective_at,
            "reason": n.reason,
        });
        heartbeating(&ctx, self.suppliers.post(&input.call, &path, body)).await?;
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
