//! What every order must satisfy however it was driven: it completed once, each supplier call
//! took effect once, and (when recording) its history for the replay tests.

use crate::{Reply, Stack, assert_gapless, events, wait_state};
use orderflow_client::api_client::ApiClient;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

/// Saves a workflow's history under `tests/histories/NAME.json` when
/// `ORDERFLOW_RECORD_HISTORIES=1` (how the replay fixtures are made).
pub async fn maybe_record_history(stack: &Stack, tenant: &str, order_id: &str, name: &str) {
    maybe_record_history_of_run(stack, tenant, order_id, "", name).await;
}

/// As [`maybe_record_history`], for run `run_id` of the order's workflow (empty: the current
/// run), e.g. a run that continued as new.
pub async fn maybe_record_history_of_run(
    stack: &Stack,
    tenant: &str,
    order_id: &str,
    run_id: &str,
    name: &str,
) {
    if std::env::var("ORDERFLOW_RECORD_HISTORIES").as_deref() != Ok("1") {
        return;
    }
    use temporalio_common::protos::temporal::api::history::v1::History;
    let events = run_history(stack, tenant, order_id, run_id).await;
    let json = serde_json::to_vec(&History { events }).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("histories")
        .join(format!("{name}.json"));
    std::fs::write(&path, json).unwrap();
    eprintln!("recorded {}", path.display());
}

/// The whole history of run `run_id` of the order's workflow (empty: the current run).
pub async fn run_history(stack: &Stack, tenant: &str, order_id: &str, run_id: &str) -> Vec<Event> {
    let mut events = Vec::new();
    let mut token = Vec::new();
    loop {
        let (page, next) = history_page(stack, tenant, order_id, run_id, 0, token).await;
        events.extend(page);
        if next.is_empty() {
            return events;
        }
        token = next;
    }
}

type Event = temporalio_common::protos::temporal::api::history::v1::HistoryEvent;

/// A page of the history of run `run_id` (empty: the current run) of the order's workflow,
/// from `token` (empty: the start), at most `size` events (0: the server's page size); and
/// the token of the next page (empty: none).
async fn history_page(
    stack: &Stack,
    tenant: &str,
    order_id: &str,
    run_id: &str,
    size: i32,
    token: Vec<u8>,
) -> (Vec<Event>, Vec<u8>) {
    use temporalio_client::NamespacedClient;
    use temporalio_common::protos::temporal::api::common::v1::WorkflowExecution;
    use temporalio_common::protos::temporal::api::workflowservice::v1::GetWorkflowExecutionHistoryRequest;
    let client = stack.temporal().await;
    let workflow_id = orderflow_domain::model::workflow_id(tenant, order_id);
    let request = GetWorkflowExecutionHistoryRequest {
        namespace: client.namespace(),
        execution: Some(WorkflowExecution {
            workflow_id: workflow_id.clone(),
            run_id: run_id.to_string(),
        }),
        maximum_page_size: size,
        next_page_token: token,
        ..Default::default()
    };
    let page = client
        .connection()
        .workflow_service()
        .get_workflow_execution_history(temporalio_client::tonic::Request::new(request))
        .await
        .unwrap_or_else(|e| panic!("history of {workflow_id} run {run_id:?}: {e}"))
        .into_inner();
    (
        page.history.unwrap_or_default().events,
        page.next_page_token,
    )
}

/// How many runs the order's workflow has had (more than one once it continued as new).
pub async fn workflow_runs(stack: &Stack, tenant: &str, order_id: &str) -> usize {
    workflow_run_ids(stack, tenant, order_id).await.len()
}

/// The run ids of the order's workflow, first run first, found back along the runs'
/// histories from the current run: visibility, which a listing would read, may lag behind on
/// a cluster.
pub async fn workflow_run_ids(stack: &Stack, tenant: &str, order_id: &str) -> Vec<String> {
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    let current = describe(stack, tenant, order_id)
        .await
        .workflow_execution_info
        .and_then(|i| i.execution);
    let mut runs = vec![current.expect("the current run").run_id];
    loop {
        let run_id = runs.last().unwrap().clone();
        let (events, _) = history_page(stack, tenant, order_id, &run_id, 1, Vec::new()).await;
        match events.first().and_then(|e| e.attributes.as_ref()) {
            Some(Attributes::WorkflowExecutionStartedEventAttributes(started))
                if !started.continued_execution_run_id.is_empty() =>
            {
                runs.push(started.continued_execution_run_id.clone());
            }
            _ => {
                runs.reverse();
                return runs;
            }
        }
    }
}

/// As [`maybe_record_history`], for every run of the order's workflow, first run first:
/// `NAME.run1.json`, `NAME.run2.json`, … (the run that decided to continue as new included).
pub async fn maybe_record_every_run(stack: &Stack, tenant: &str, order_id: &str, name: &str) {
    if std::env::var("ORDERFLOW_RECORD_HISTORIES").as_deref() != Ok("1") {
        return;
    }
    for (i, run_id) in workflow_run_ids(stack, tenant, order_id)
        .await
        .iter()
        .enumerate()
    {
        let name = format!("{name}.run{}", i + 1);
        maybe_record_history_of_run(stack, tenant, order_id, run_id, &name).await;
    }
}

/// Waits (up to 3 minutes) for the order to complete its 3-step plan, read through `client`,
/// and asserts it did so once: every step DONE, gapless events, no event recorded twice, each
/// lifecycle state entered once and in order, and each supplier call applied once (see
/// [`assert_each_supplier_call_applied_once`]). Returns the events.
pub async fn assert_completed_once(stack: &Stack, client: &ApiClient, id: &str) -> Vec<Value> {
    let events = assert_completed_events(client, id).await;
    assert_each_supplier_call_applied_once(stack, id, 3).await;
    events
}

/// The event half of [`assert_completed_once`], for a stack the test did not start.
pub async fn assert_completed_events(client: &ApiClient, id: &str) -> Vec<Value> {
    let done = wait_state(client, id, "COMPLETE", Duration::from_secs(180)).await;
    assert!(
        done["plan"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "DONE"),
        "{done}"
    );
    let events = events(client, id).await;
    let types = assert_gapless(&events);
    let count = |t: &str| types.iter().filter(|x| *x == t).count();
    assert_eq!(count("ORDER_ACKNOWLEDGED"), 1, "{id}: {types:?}");
    assert_eq!(count("PLAN_STEP_COMPLETED"), 3, "{id}: {types:?}");
    let uuids: BTreeSet<&str> = events
        .iter()
        .map(|e| e["event_uuid"].as_str().unwrap())
        .collect();
    assert_eq!(
        uuids.len(),
        events.len(),
        "{id}: an event was recorded twice"
    );
    assert_eq!(
        states_entered(&events),
        [
            "SUBMITTED",
            "FEASIBILITY",
            "PLAN_DEVELOPMENT",
            "EXECUTION",
            "COMPLETE"
        ],
        "{id}: {types:?}"
    );
    events
}

/// The states the order entered, in order (its STATE_CHANGED events).
pub fn states_entered(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e["type"] == "STATE_CHANGED")
        .map(|e| e["state"].as_str().unwrap_or_default())
        .collect()
}

/// Asserts that each of the order's supplier calls (validate, transfer, feasibility, plan and
/// `steps` steps) went out under one idempotency key, however often it was retried, and that
/// the supplier applied each key once (repeats answered from its idempotency store).
///
/// The supplier's de-duplication is not taken on trust: its journal keeps every call,
/// replayed ones too, and at most one key of the order was answered more than once, twice at
/// most: the call in flight when a process was killed, sent again because its result was lost.
/// A finished step called again would be a second answered key.
pub async fn assert_each_supplier_call_applied_once(stack: &Stack, order_id: &str, steps: usize) {
    let calls = stack.sim_calls("acme", order_id).await;
    let mut keys: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut effects: BTreeMap<&str, usize> = BTreeMap::new();
    let mut answered: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &calls {
        let key = c["idempotency_key"].as_str().unwrap();
        keys.entry(c["path"].as_str().unwrap())
            .or_default()
            .insert(key);
        if c["status"].as_u64().unwrap() < 300 {
            *answered.entry(key).or_default() += 1;
            if c["replayed"] == false {
                *effects.entry(key).or_default() += 1;
            }
        }
    }
    let expected = 4 + steps;
    assert_eq!(keys.len(), expected, "{order_id}: {keys:?}");
    assert!(
        keys.values().all(|k| k.len() == 1),
        "{order_id}: a call was re-issued under a new key: {keys:?}"
    );
    assert_eq!(effects.len(), expected, "{order_id}: {effects:?}");
    assert!(
        effects.values().all(|n| *n == 1),
        "{order_id}: duplicate supplier effect: {effects:?}"
    );
    let repeated: Vec<_> = answered.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.len() <= 1 && repeated.iter().all(|(_, n)| **n == 2),
        "{order_id}: calls answered again beyond the one in flight at a kill: {repeated:?}"
    );
}

/// An order's history as a user compares two of them: each event's type, the state after it
/// and the step it is about, in order (ids and times differ from run to run).
pub fn history_shape(events: &[Value]) -> Vec<(String, String, Option<String>)> {
    events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_string(),
                e["state"].as_str().unwrap_or_default().to_string(),
                e["detail"]["step_id"].as_str().map(String::from),
            )
        })
        .collect()
}

/// Asserts that a fault changed nothing a user can see in the history of order `faulted`:
/// its events are those of `reference`, the same order run without a fault, in the same
/// order (so no event was lost, repeated or reordered by the kill), and the tenant's webhook
/// `deliveries` got each of them, in order, as it got the reference's.
pub async fn assert_same_history_as(
    client: &ApiClient,
    faulted: &str,
    reference: &str,
    deliveries: &crate::webhooks::Receiver,
) {
    let expected = events(client, reference).await;
    let got = events(client, faulted).await;
    assert_eq!(
        history_shape(&got),
        history_shape(&expected),
        "{faulted} differs from the fault-free {reference}"
    );
    let wait = Duration::from_secs(120);
    crate::webhooks::wait_delivered(deliveries, reference, &expected, wait).await;
    crate::webhooks::wait_delivered(deliveries, faulted, &got, wait).await;
}

/// The `error.code` of an error answer; panics (showing the body) if there is none.
pub fn error_code(reply: &Reply) -> &str {
    reply.body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {}", reply.body))
}

/// Asserts an error answer's status and code.
pub fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(
        (reply.status.as_u16(), error_code(reply)),
        (status, code),
        "{}",
        reply.body
    );
}

/// No answer of the API may carry the text of the libraries behind it.
pub fn assert_no_internal_text(body: &Value) {
    let text = body.to_string().to_lowercase();
    for word in [
        "temporal",
        "sqlx",
        "reqwest",
        "tonic",
        "grpc",
        "workflow task",
        "http://127.0.0.1",
    ] {
        assert!(!text.contains(word), "'{word}' leaked: {body}");
    }
}

type Description =
    temporalio_common::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionResponse;

/// The server's description of the order's workflow (its current run).
async fn describe(stack: &Stack, tenant: &str, order_id: &str) -> Description {
    use temporalio_client::NamespacedClient;
    use temporalio_common::protos::temporal::api::common::v1::WorkflowExecution;
    use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionRequest;
    let client = stack.temporal().await;
    let workflow_id = orderflow_domain::model::workflow_id(tenant, order_id);
    let request = DescribeWorkflowExecutionRequest {
        namespace: client.namespace(),
        execution: Some(WorkflowExecution {
            workflow_id: workflow_id.clone(),
            run_id: String::new(),
        }),
    };
    client
        .connection()
        .workflow_service()
        .describe_workflow_execution(temporalio_client::tonic::Request::new(request))
        .await
        .unwrap_or_else(|e| panic!("describe {workflow_id}: {e}"))
        .into_inner()
}

/// Waits (up to `timeout`) until the order's workflow has no activity scheduled or running.
/// From then on no supplier call is in flight: whatever reaches the supplier later was
/// scheduled later.
pub async fn wait_no_activity(stack: &Stack, tenant: &str, order_id: &str, timeout: Duration) {
    wait_described(stack, tenant, order_id, timeout, "has no activity", |d| {
        d.pending_activities.is_empty()
    })
    .await;
}

/// Waits (up to `timeout`) until the order's workflow has closed: no supplier call can be
/// scheduled for it any more. (A closed workflow may still list an activity it asked to
/// cancel, which the worker abandons.)
pub async fn wait_closed(stack: &Stack, tenant: &str, order_id: &str, timeout: Duration) {
    use temporalio_common::protos::temporal::api::enums::v1::WorkflowExecutionStatus;
    wait_described(stack, tenant, order_id, timeout, "closed", |d| {
        d.workflow_execution_info
            .as_ref()
            .is_some_and(|i| i.status != WorkflowExecutionStatus::Running as i32)
    })
    .await;
}

async fn wait_described(
    stack: &Stack,
    tenant: &str,
    order_id: &str,
    timeout: Duration,
    what: &str,
    done: impl Fn(&Description) -> bool,
) {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let d = describe(stack, tenant, order_id).await;
        if done(&d) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the workflow of order {order_id} never {what} within {timeout:?}: {:?}",
            d.pending_activities
                .iter()
                .map(|a| &a.activity_type)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asserts that `value` keeps returning what it returned first for `period`, failing at the
/// first change (an absence check: nothing observable says "it will never happen", so it is
/// watched for longer than the thing would take to show).
pub async fn assert_unchanged_for<T, F, Fut>(what: &str, period: Duration, mut value: F) -> T
where
    T: PartialEq + std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let first = value().await;
    let until = std::time::Instant::now() + period;
    while std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = value().await;
        assert_eq!(now, first, "{what} changed");
    }
    first
}
