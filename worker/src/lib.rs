//! The order worker: polls the order task queue and runs order workflows and activities.

pub mod reconcile;

use orderflow_activities::OrderActivitiesImpl;
use orderflow_activities::dispatcher::Dispatcher;
use orderflow_activities::supplier::SupplierClient;
use orderflow_config::{Settings, temporal_client};
use orderflow_store::{Store, observe};
use orderflow_workflows::OrderWorkflow;
use std::time::Duration;
use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

/// Runs a worker until `shutdown` resolves, then drains in-flight tasks and returns.
///
/// The worker future is not `Send`: call this on the main task (or `join!` it there),
/// not inside `tokio::spawn`.
pub async fn run(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = Store::connect(&settings.database_url).await?;
    let dispatcher = Dispatcher::new(store.clone(), &settings)?;
    if dispatcher.is_none() {
        tracing::warn!("no webhook_key configured: webhooks are disabled");
    }
    let suppliers = SupplierClient::new(
        settings.suppliers.clone(),
        Duration::from_secs(settings.workflow.supplier_call_timeout_secs),
    )?;
    if let Some(address) = &settings.telemetry.metrics_address {
        orderflow_telemetry::serve_metrics(address).await?;
    }
    let client = temporal_client(&settings).await?;
    let reconciler = (client.clone(), store.clone());
    let runtime = Runtime::from_current_tokio(orderflow_telemetry::sdk_runtime_options())
        .map_err(|e| anyhow::anyhow!("creating the Temporal runtime: {e}"))?;
    let gauges = orderflow_telemetry::metrics_enabled().then(|| store.clone());
    let options = worker_options(&settings, OrderActivitiesImpl { store, suppliers })?;
    let mut worker = Worker::new(&runtime, client, options)
        .map_err(|e| anyhow::anyhow!("creating the worker: {e}"))?;
    let stop = worker.shutdown_handle();
    // The webhook dispatcher runs next to the Temporal worker and stops with it.
    let (stop_dispatcher, stopped) = tokio::sync::watch::channel(false);
    let dispatcher = dispatcher.map(|d| tokio::spawn(d.run(stopped.clone())));
    let reconciler = tokio::spawn(reconcile::run(
        reconciler.0,
        reconciler.1,
        settings.task_queue.clone(),
        Duration::from_secs(settings.reconcile_interval_secs.max(1)),
        stopped.clone(),
    ));
    let gauges = gauges.map(|store| tokio::spawn(observe::refresh_gauges(store, stopped)));
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("worker shutting down: finishing in-flight tasks");
        let _ = stop_dispatcher.send(true);
        stop();
    });
    tracing::info!(task_queue = %settings.task_queue, "worker polling");
    let result = worker
        .run()
        .await
        .map_err(|e| anyhow::anyhow!("worker stopped with an error: {e}"));
    if let Some(dispatcher) = dispatcher {
        // It stops after its batch in flight (each request times out after 10 s).
        let abort = dispatcher.abort_handle();
        if tokio::time::timeout(Duration::from_secs(15), dispatcher)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
    if let Some(gauges) = gauges {
        let _ = gauges.await;
    }
    // It stops between passes; a pass in flight is only reads and idempotent records.
    reconciler.abort();
    result
}

/// The worker's options: the order workflow and activities on the configured task queue,
/// with the configured cache size and slot counts.
pub fn worker_options(
    settings: &Settings,
    activities: OrderActivitiesImpl,
) -> anyhow::Result<WorkerOptions> {
    // Zero slots would never run anything, and a caching worker needs a sticky and a
    // non-sticky workflow task slot at once.
    anyhow::ensure!(
        settings.max_concurrent_activities >= 1,
        "max_concurrent_activities must be at least 1"
    );
    anyhow::ensure!(
        settings.max_concurrent_workflow_tasks >= 2,
        "max_concurrent_workflow_tasks must be at least 2"
    );
    Ok(WorkerOptions::new(settings.task_queue.clone())
        .register_workflow::<OrderWorkflow>()
        .map_err(|e| anyhow::anyhow!("registering the order workflow: {e}"))?
        .register_activities(activities)
        .max_cached_workflows(settings.max_cached_workflows)
        .tuner(tuner(settings))
        .build())
}

/// Fixed slot counts from the settings: how many workflow tasks, activities and local
/// activities (database writes) one worker runs at once.
fn tuner(settings: &Settings) -> TunerHolder {
    TunerHolder::builder()
        .workflow_task_slot_supplier(FixedSizeSlotSupplier::new(
            settings.max_concurrent_workflow_tasks,
        ))
        .activity_task_slot_supplier(FixedSizeSlotSupplier::new(
            settings.max_concurrent_activities,
        ))
        .local_activity_task_slot_supplier(FixedSizeSlotSupplier::new(
            settings.max_concurrent_activities,
        ))
        .nexus_task_slot_supplier(FixedSizeSlotSupplier::new(1))
        .build()
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Logs and traces as `settings` say (`log_format`, `otlp_endpoint`); keep the guard until
/// the process ends (dropping it flushes the spans not yet exported).
pub fn init_telemetry(
    settings: &Settings,
    service: &str,
) -> anyhow::Result<orderflow_telemetry::Telemetry> {
    orderflow_telemetry::init(&settings.telemetry, service)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn activities(dir: &std::path::Path) -> OrderActivitiesImpl {
        let url = format!("sqlite://{}", dir.join("t.db").display());
        OrderActivitiesImpl {
            store: Store::connect(&url).await.unwrap(),
            suppliers: SupplierClient::new(vec![], Duration::from_secs(1)).unwrap(),
        }
    }

    /// What the SDK hands to its core for these settings: the task queue, the cache size,
    /// and the workflow task, activity and local activity slots.
    async fn core_config(
        settings: &Settings,
    ) -> anyhow::Result<(String, usize, [Option<usize>; 3])> {
        let dir = tempfile::tempdir().unwrap();
        let options = worker_options(settings, activities(dir.path()).await)?;
        let config = options
            .to_core_options("default".into(), "test".into())
            .map_err(anyhow::Error::msg)?;
        let tuner = config.tuner.expect("a tuner");
        let slots = [
            tuner.workflow_task_slot_supplier().available_slots(),
            tuner.activity_task_slot_supplier().available_slots(),
            tuner.local_activity_slot_supplier().available_slots(),
        ];
        Ok((config.task_queue, config.max_cached_workflows, slots))
    }

    #[tokio::test]
    async fn the_worker_runs_with_the_configured_cache_and_slots() {
        let settings = Settings {
            task_queue: "tuned".into(),
            max_cached_workflows: 123,
            max_concurrent_workflow_tasks: 7,
            max_concurrent_activities: 11,
            ..Settings::default()
        };
        assert_eq!(
            core_config(&settings).await.unwrap(),
            ("tuned".to_string(), 123, [Some(7), Some(11), Some(11)])
        );
    }

    #[tokio::test]
    async fn slot_counts_a_worker_cannot_run_with_are_refused() {
        for settings in [
            Settings {
                max_concurrent_activities: 0,
                ..Settings::default()
            },
            Settings {
                max_concurrent_workflow_tasks: 1,
                ..Settings::default()
            },
        ] {
            assert!(core_config(&settings).await.is_err());
        }
    }
}
