//! The baseline: a workflow that does nothing except what an order costs Temporal itself.
//!
//! An order with an `n`-step plan runs `4 + n` activities (validate, transfer, feasibility,
//! plan, the steps) and `6 + n` `store.record` local activities (acknowledged, SUBMITTED,
//! FEASIBILITY, PLAN_DEVELOPMENT, EXECUTION, one per completed step, COMPLETE), in this order.
//! [`BaselineWorkflow`] runs the same sequence with no-op activities and tiny payloads, on its
//! own task queue, in its own worker process with the same slots and cache as the orderflow
//! worker, against the same Temporal server. What is left in a ratio against it is orderflow's
//! own cost: the API, the supplier calls, the database writes, search attributes, heartbeats,
//! payload sizes and the workflow code.

#![allow(unreachable_pub)]

use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_common::search_attributes::SearchAttributeKey;
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::{
    ActivityOptions, LocalActivityOptions, SyncWorkflowContext, WorkflowContext,
    WorkflowContextView, WorkflowResult,
};

pub const BASELINE_QUEUE: &str = "orderflow-bench-baseline";

/// Set once a parked baseline workflow has reached the point an order waits at in EXECUTION,
/// so the benchmark can count parked workflows the way it counts parked orders.
pub const SA_BASELINE_STAGE: SearchAttributeKey<String> = SearchAttributeKey::keyword("OrderState");

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BaselineInput {
    /// Plan steps, as `sim.steps` of an order.
    pub steps: u32,
    /// Stop after the first step was taken on, like an order waiting for an asynchronous
    /// step's callback, until `release`.
    pub park: bool,
}

pub struct NoopActivities;

#[activities]
impl NoopActivities {
    #[activity]
    pub async fn noop(_ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
        Ok(n)
    }
}

#[workflow]
#[derive(Default)]
pub struct BaselineWorkflow {
    stage: u32,
    released: bool,
}

fn activity_options() -> ActivityOptions {
    ActivityOptions::start_to_close_timeout(Duration::from_secs(60))
}

fn local_options() -> LocalActivityOptions {
    LocalActivityOptions::builder()
        .start_to_close_timeout(Duration::from_secs(10))
        .build()
}

async fn activity(ctx: &WorkflowContext<BaselineWorkflow>, n: u32) -> WorkflowResult<()> {
    ctx.execute_activity(NoopActivities::noop, n, activity_options())
        .await?;
    Ok(())
}

/// Stands in for one `store.record`.
async fn record(ctx: &WorkflowContext<BaselineWorkflow>) -> WorkflowResult<()> {
    let n = ctx.state_mut(|s| {
        s.stage += 1;
        s.stage
    });
    ctx.execute_local_activity(NoopActivities::noop, n, local_options())
        .await?;
    Ok(())
}

#[workflow_methods]
impl BaselineWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: BaselineInput) -> WorkflowResult<u32> {
        record(ctx).await?; // ORDER_ACKNOWLEDGED
        record(ctx).await?; // SUBMITTED
        activity(ctx, 1).await?; // validate
        activity(ctx, 2).await?; // transfer
        record(ctx).await?; // FEASIBILITY
        activity(ctx, 3).await?; // feasibility
        record(ctx).await?; // PLAN_DEVELOPMENT
        activity(ctx, 4).await?; // plan
        record(ctx).await?; // EXECUTION
        for step in 0..input.steps {
            activity(ctx, 5 + step).await?;
            if step == 0 && input.park {
                ctx.upsert_search_attributes([SA_BASELINE_STAGE.value_set("PARKED".to_string())]);
                ctx.wait_condition(|s| s.released).await?;
            }
            record(ctx).await?; // PLAN_STEP_COMPLETED
        }
        record(ctx).await?; // COMPLETE
        Ok(ctx.state(|s| s.stage))
    }

    /// Stands in for the order's `status` query.
    #[query]
    pub fn status(&self, _ctx: &WorkflowContextView) -> u32 {
        self.stage
    }

    #[signal]
    pub fn release(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _unit: ()) {
        self.released = true;
    }

    /// Stands in for a PATCH amendment: record the request, ask the supplier, record the
    /// decision, answer.
    #[update]
    pub async fn touch(
        ctx: &mut WorkflowContext<Self>,
        n: u32,
    ) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
        record(ctx).await.map_err(|e| format!("{e:?}"))?;
        activity(ctx, n).await.map_err(|e| format!("{e:?}"))?;
        record(ctx).await.map_err(|e| format!("{e:?}"))?;
        Ok(ctx.state(|s| s.stage))
    }
}

/// Slots and cache of the baseline worker: the orderflow worker's settings.
pub struct WorkerTuning {
    pub max_cached_workflows: usize,
    pub max_concurrent_workflow_tasks: usize,
    pub max_concurrent_activities: usize,
}

/// Runs the baseline worker until SIGTERM or Ctrl-C, tuned like `orderflow-worker`.
pub async fn run_worker(temporal_address: &str, tuning: WorkerTuning) -> anyhow::Result<()> {
    use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};
    use temporalio_sdk::{Runtime, Worker, WorkerOptions};
    let settings = orderflow_config::Settings {
        temporal_address: Some(temporal_address.to_string()),
        ..Default::default()
    };
    let client = orderflow_config::temporal_client(&settings).await?;
    let runtime = Runtime::from_current_tokio(Default::default())
        .map_err(|e| anyhow::anyhow!("creating the Temporal runtime: {e}"))?;
    let tuner = TunerHolder::builder()
        .workflow_task_slot_supplier(FixedSizeSlotSupplier::new(
            tuning.max_concurrent_workflow_tasks,
        ))
        .activity_task_slot_supplier(FixedSizeSlotSupplier::new(tuning.max_concurrent_activities))
        .local_activity_task_slot_supplier(FixedSizeSlotSupplier::new(
            tuning.max_concurrent_activities,
        ))
        .nexus_task_slot_supplier(FixedSizeSlotSupplier::new(1))
        .build();
    let options = WorkerOptions::new(BASELINE_QUEUE)
        .register_workflow::<BaselineWorkflow>()
        .map_err(|e| anyhow::anyhow!("registering the baseline workflow: {e}"))?
        .register_activities(NoopActivities)
        .max_cached_workflows(tuning.max_cached_workflows)
        .tuner(tuner)
        .build();
    let mut worker = Worker::new(&runtime, client, options)
        .map_err(|e| anyhow::anyhow!("creating the baseline worker: {e}"))?;
    let stop = worker.shutdown_handle();
    tokio::spawn(async move {
        orderflow_worker::shutdown_signal().await;
        stop();
    });
    eprintln!("baseline worker polling {BASELINE_QUEUE}");
    worker
        .run()
        .await
        .map_err(|e| anyhow::anyhow!("baseline worker stopped: {e}"))
}
