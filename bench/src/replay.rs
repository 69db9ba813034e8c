//! Replay time of a ~1,000-event history: one real order (and one baseline workflow) with
//! enough plan steps to reach about 1,000 history events is run on the stack, its history
//! fetched, and replayed with the SDK's `WorkflowReplayer` several times.

use crate::baseline::BaselineWorkflow;
use crate::drive::{Driver, System, TENANT};
use crate::stats::Summary;
use orderflow_domain::model::workflow_id;
use orderflow_workflows::OrderWorkflow;
use serde::Serialize;
use std::time::Instant;
use temporalio_client::{WorkflowFetchHistoryOptions, WorkflowHistory};
use temporalio_common::protos::temporal::api::history::v1::History;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

#[derive(Clone, Debug, Serialize)]
pub struct ReplayFigure {
    pub steps: u32,
    pub events: usize,
    pub replays: usize,
    /// Median wall time of one replay.
    pub median_ms: f64,
    /// The median scaled to exactly 1,000 events.
    pub per_1000_events_ms: f64,
}

async fn history(driver: &Driver, system: System, id: &str) -> anyhow::Result<History> {
    let options = WorkflowFetchHistoryOptions::default();
    let events = match system {
        System::Orderflow => {
            driver
                .temporal
                .get_workflow_handle::<OrderWorkflow>(workflow_id(TENANT, id))
                .fetch_history(options)
                .into_events()
                .await?
        }
        System::Baseline | System::GoBaseline => {
            driver
                .temporal
                .get_workflow_handle::<BaselineWorkflow>(id)
                .fetch_history(options)
                .into_events()
                .await?
        }
    };
    Ok(History { events })
}

/// Runs one workflow with `steps` plan steps to completion and returns its history.
async fn record(driver: &Driver, system: System, steps: u32) -> anyhow::Result<History> {
    let id = driver.id(&format!("replay{steps}-{}", system.name()), 0);
    driver.one(system, &id, steps, false).await?;
    history(driver, system, &id).await
}

/// Measures the replay time of a history of about `target_events` events.
pub async fn measure(
    driver: &Driver,
    system: System,
    target_events: usize,
    replays: usize,
) -> anyhow::Result<ReplayFigure> {
    if system == System::GoBaseline {
        // Its histories replay only with the Go SDK.
        anyhow::bail!("the Go baseline's replay is not measured");
    }
    // Two short runs give the events per plan step, hence the steps for the target.
    let small = record(driver, system, 2).await?.events.len();
    let larger = record(driver, system, 4).await?.events.len();
    let per_step = ((larger - small) / 2).max(1);
    let steps = 2 + target_events.saturating_sub(small).div_ceil(per_step) as u32;
    let history = record(driver, system, steps).await?;
    let options = match system {
        System::Orderflow => WorkflowReplayerOptions::new()
            .register_workflow::<OrderWorkflow>()?
            .build(),
        System::Baseline | System::GoBaseline => WorkflowReplayerOptions::new()
            .register_workflow::<BaselineWorkflow>()?
            .build(),
    };
    let replayer = WorkflowReplayer::new(options)?;
    let mut times = Vec::with_capacity(replays);
    for _ in 0..replays {
        let h = WorkflowHistory::from(history.clone());
        let t = Instant::now();
        replayer.replay_workflow(h).await?;
        times.push(t.elapsed());
    }
    let median_ms = Summary::of(&times).p50_ms;
    let events = history.events.len();
    Ok(ReplayFigure {
        steps,
        events,
        replays,
        median_ms,
        per_1000_events_ms: median_ms * 1000.0 / events as f64,
    })
}
