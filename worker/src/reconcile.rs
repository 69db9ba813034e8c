//! Reconciles orders whose workflow was ended outside orderflow: terminated, timed out,
//! cancelled or failed from Temporal itself (the Web UI, `temporal workflow terminate`). Such
//! a workflow records nothing on its way out, so without this its order row would stay in a
//! running state forever. Every worker runs the loop; the record is the same whoever writes it
//! (its event id comes from the run), so two workers reconciling at once write it once.

use orderflow_domain::rules;
use orderflow_store::Store;
use std::time::{Duration, SystemTime};
use temporalio_client::{Client, WorkflowExecutionStatus, WorkflowListOptions};
use tokio::sync::watch;

/// The closed statuses that mean "ended outside orderflow"; a completed or continued-as-new
/// run is orderflow's own doing.
const QUERY_STATUSES: &str = "('Terminated', 'TimedOut', 'Canceled', 'Failed')";

fn status_name(status: WorkflowExecutionStatus) -> Option<&'static str> {
    match status {
        WorkflowExecutionStatus::Terminated => Some("TERMINATED"),
        WorkflowExecutionStatus::TimedOut => Some("TIMED_OUT"),
        WorkflowExecutionStatus::Canceled => Some("CANCELED"),
        WorkflowExecutionStatus::Failed => Some("FAILED"),
        _ => None,
    }
}

/// `order/{tenant}/{order}` → (tenant, order).
fn order_of(workflow_id: &str) -> Option<(&str, &str)> {
    let rest = workflow_id.strip_prefix("order/")?;
    rest.split_once('/')
}

/// Runs [`reconcile_once`] every `every` until `stop` turns true. Each pass after the first
/// looks only at workflows closed since the previous pass began (less a minute, for clocks).
pub async fn run(
    client: Client,
    store: Store,
    task_queue: String,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut since: Option<SystemTime> = None;
    loop {
        let started = SystemTime::now();
        match reconcile_once(&client, &store, &task_queue, since).await {
            Ok(n) => {
                if n > 0 {
                    tracing::warn!(
                        orders = n,
                        "reconciled orders whose workflow was ended outside orderflow"
                    );
                }
                since = Some(started - Duration::from_secs(60));
            }
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "reconciling closed workflows"),
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// One pass: every order workflow of `task_queue` closed outside orderflow (since `since`)
/// whose order still shows a running state becomes TERMINATED. Returns how many changed.
pub async fn reconcile_once(
    client: &Client,
    store: &Store,
    task_queue: &str,
    since: Option<SystemTime>,
) -> anyhow::Result<usize> {
    use futures::StreamExt;
    let mut query = format!("TaskQueue = '{task_queue}' AND ExecutionStatus IN {QUERY_STATUSES}");
    if let Some(since) = since {
        let since = chrono::DateTime::<chrono::Utc>::from(since)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        query.push_str(&format!(" AND CloseTime > '{since}'"));
    }
    let mut closed = client.list_workflows(query, WorkflowListOptions::default());
    let mut changed = 0;
    while let Some(execution) = closed.next().await {
        let execution = execution?;
        let (Some(status), Some((tenant, order))) =
            (status_name(execution.status()), order_of(execution.id()))
        else {
            continue;
        };
        let Some(stored) = store.get_order(tenant, order).await? else {
            continue;
        };
        if !rules::has_running_workflow(stored.state) {
            continue;
        }
        // A reset from the Web UI terminates a run and starts the next: that order lives on.
        let running = format!(
            "WorkflowId = '{}' AND ExecutionStatus = 'Running'",
            execution.id()
        );
        if client
            .count_workflows(running, Default::default())
            .await?
            .count()
            > 0
        {
            continue;
        }
        let event_uuid = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!("{}/{}/terminated", execution.id(), execution.run_id()).as_bytes(),
        )
        .to_string();
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        if let Some(record) = rules::terminated_outside(&stored, status, &now, event_uuid) {
            store.record(&record).await?;
            tracing::warn!(
                tenant,
                order,
                status,
                "order's workflow was ended outside orderflow"
            );
            changed += 1;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_come_from_workflow_ids() {
        assert_eq!(order_of("order/acme/o-1"), Some(("acme", "o-1")));
        assert_eq!(order_of("baseline/x"), None);
        assert_eq!(status_name(WorkflowExecutionStatus::Completed), None);
        assert_eq!(status_name(WorkflowExecutionStatus::ContinuedAsNew), None);
    }
}
