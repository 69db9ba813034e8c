//! orderflow on PostgreSQL, as it runs on more than one machine:
//! - two workers and two API instances against one Temporal and one database; under load,
//!   one worker is killed with SIGKILL while it runs a plan step, and every order still
//!   completes once, with gapless events, each supplier effect applied once, and every
//!   webhook event delivered in order;
//! - `orderflow dev` and `orderflow serve` use the database `ORDERFLOW_DATABASE_URL` names,
//!   and `orderflow dev --metrics-port` serves the whole stack's metrics.
//!
//! The other integration tests run on PostgreSQL too with `ORDERFLOW_TEST_DATABASE=postgres`
//! (`scripts/test` does both).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use orderflow_client::api_client::ApiClient;
use orderflow_config::Settings;
use orderflow_devstack::{StackCredentials, die_with_parent, free_port, terminate};
use orderflow_store::Store;
use orderflow_tests::*;
use orderflow_workflows::OrderWorkflow;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use temporalio_common::protos::temporal::api::enums::v1::PendingActivityState;

const ORDERS: usize = 40;

/// Every webhook event it was sent, in arrival order.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Value>>>);

async fn receive(State(r): State<Receiver>, body: Bytes) -> StatusCode {
    r.0.lock()
        .unwrap()
        .push(serde_json::from_slice(&body).unwrap());
    StatusCode::NO_CONTENT
}

async fn receiver() -> (Receiver, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let r = Receiver::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (r, url)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_workers_and_two_apis_on_postgres_lose_a_worker_mid_load_and_complete_every_order_once()
{
    let stack = Stack::start_with(
        "scale-out",
        StackOptions {
            database: Database::Postgres,
            workers: 2,
            apis: 2,
            ..StackOptions::default()
        },
    )
    .await;
    assert!(stack.database_url.starts_with("postgres://"));
    let apis: Vec<ApiClient> = stack
        .api_urls
        .iter()
        .map(|url| ApiClient::new(url, &stack.credentials.acme_key))
        .collect();

    let (hook, hook_url) = receiver().await;
    let reply = apis[0]
        .post(
            "/v1/webhooks",
            &json!({ "url": hook_url, "topics": ["*"], "secret": "scale-out-secret-1234" }),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 201, "{}", reply.body);

    // Orders through both APIs at once; a third of them finish their steps by callback
    // (the simulator calls back into the second API).
    let ids: Vec<String> = (0..ORDERS).map(|i| new_id(&format!("load{i}"))).collect();
    futures::future::join_all(ids.iter().enumerate().map(|(i, id)| {
        let api = &apis[i % 2];
        let async_steps = if i % 3 == 0 { "true" } else { "false" };
        let body = order(
            id,
            &[
                ("sim.steps", "3"),
                ("sim.step_ms", "1000"),
                ("sim.async_steps", async_steps),
            ],
        );
        async move { submit(api, &body).await }
    }))
    .await;

    // Kill worker 0 while it runs a plan step at the supplier.
    let temporal = stack.temporal().await;
    let worker = format!("{}@", stack.worker_pid(0).unwrap());
    let busy = wait_for_running_activity(&temporal, &ids, &worker).await;
    stack.kill_worker(0);
    eprintln!("killed worker 0 while it ran {busy}");

    let mut all_events = BTreeMap::new();
    for (i, id) in ids.iter().enumerate() {
        // Read through the other API than the one the order was placed with.
        let events = assert_completed_once(&stack, &apis[(i + 1) % 2], id).await;
        assert_eq!(events.last().unwrap()["state"], "COMPLETE");
        all_events.insert(id.clone(), events);
    }

    // One workflow run per order, each completed (of this stack's: the Temporal may be shared).
    let count = |filter: &'static str| {
        let temporal = temporal.clone();
        let query = format!("TaskQueue = '{}'{filter}", stack.task_queue);
        async move {
            temporal
                .count_workflows(query, Default::default())
                .await
                .unwrap()
                .count()
        }
    };
    let start = Instant::now();
    while count(" AND ExecutionStatus = 'Completed'").await < ORDERS
        && start.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(count(" AND ExecutionStatus = 'Completed'").await, ORDERS);
    assert_eq!(count("").await, ORDERS);

    // The surviving worker's dispatcher delivers every event (at least once), each order's
    // in the order they were recorded.
    let expected: usize = all_events.values().map(Vec::len).sum();
    let start = Instant::now();
    let received_all = || {
        let got = hook.0.lock().unwrap();
        got.iter()
            .map(|e| e["event_uuid"].as_str().unwrap().to_string())
            .collect::<BTreeSet<_>>()
            .len()
            == expected
    };
    while !received_all() && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(received_all(), "not every event was delivered");
    let got = hook.0.lock().unwrap().clone();
    for (id, events) in &all_events {
        let mut seen = BTreeSet::new();
        let arrived: Vec<u64> = got
            .iter()
            .filter(|e| e["order_id"] == id.as_str())
            .filter(|e| seen.insert(e["event_uuid"].as_str().unwrap().to_string()))
            .map(|e| e["seq"].as_u64().unwrap())
            .collect();
        let recorded: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(arrived, recorded, "{id}: webhook events out of order");
    }
}

/// Waits until `worker` (a Temporal identity prefix) runs a plan step of one of the orders;
/// returns which.
async fn wait_for_running_activity(
    temporal: &temporalio_client::Client,
    ids: &[String],
    worker: &str,
) -> String {
    let start = Instant::now();
    loop {
        for id in ids {
            let description = temporal
                .get_workflow_handle::<OrderWorkflow>(format!("order/acme/{id}"))
                .describe(Default::default())
                .await
                .unwrap();
            let running = description
                .raw_description
                .pending_activities
                .iter()
                .find(|a| {
                    a.state == PendingActivityState::Started as i32
                        && a.last_worker_identity.starts_with(worker)
                        && a.activity_type
                            .as_ref()
                            .is_some_and(|t| t.name == "supplier.step")
                });
            if let Some(activity) = running {
                return format!("step activity {} of {id}", activity.activity_id);
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "worker {worker} never ran a plan step"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn orderflow_dev_and_serve_use_the_database_of_orderflow_database_url() {
    let database_url = orderflow_testpg::database("dev").await;
    let dir = tempfile::tempdir().unwrap();
    let [
        api_port,
        temporal_port,
        ui_port,
        sim_port,
        serve_port,
        metrics_port,
    ] = [0; 6].map(|_| free_port());
    let log = |name: &str| std::fs::File::create(dir.path().join(name)).unwrap();
    let mut dev = Command::new(binary("orderflow"));
    dev.arg("dev")
        .arg("--data-dir")
        .arg(dir.path().join("dev"))
        .args(["--api-port", &api_port.to_string()])
        .args(["--temporal-port", &temporal_port.to_string()])
        .args(["--ui-port", &ui_port.to_string()])
        .args(["--sim-port", &sim_port.to_string()])
        .args(["--metrics-port", &metrics_port.to_string()])
        .env("ORDERFLOW_DATABASE_URL", &database_url)
        .env_remove("ORDERFLOW_CONFIG")
        .stdin(Stdio::null())
        .stdout(log("dev.log"))
        .stderr(log("dev.err"));
    die_with_parent(&mut dev);
    let mut dev = dev.spawn().unwrap();
    let api = format!("http://127.0.0.1:{api_port}");
    wait_api_healthy(&api, &[dir.path().join("dev.err")]).await;

    let acme = ApiClient::new(&api, "dev-acme-key");
    let id = new_id("dev");
    submit(&acme, &order(&id, &[("sim.steps", "1")])).await;
    wait_state(&acme, &id, "COMPLETE", Duration::from_secs(60)).await;
    // The order is in PostgreSQL, and no SQLite file was made in the data dir.
    let store = Store::connect(&database_url).await.unwrap();
    let stored = store.get_order("acme", &id).await.unwrap().unwrap();
    assert_eq!(stored.state.as_str(), "COMPLETE");
    assert!(!dir.path().join("dev/orderflow.db").exists());
    // One `/metrics` for the dev stack: the API's, the worker's and the SDK's metrics.
    let metrics = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for series in [
        r#"orderflow_http_requests_total{method="POST",route="/v1/orders",status="201"} 1"#,
        r#"orderflow_order_transitions_total{to_state="COMPLETE"} 1"#,
        "temporal_num_pollers{",
    ] {
        assert!(metrics.contains(series), "{series} not in:\n{metrics}");
    }

    // `serve`: the variable wins over the config file's database.
    // Its own credentials: `serve` refuses the dev ones.
    let credentials = StackCredentials::generate();
    let config = credentials.apply(Settings {
        database_url: format!("sqlite://{}", dir.path().join("ignored.db").display()),
        temporal_address: Some(format!("127.0.0.1:{temporal_port}")),
        temporal_env_config: false,
        ..Settings::default()
    });
    let config_path = dir.path().join("config.json");
    std::fs::write(&config_path, serde_json::to_vec(&config).unwrap()).unwrap();
    let mut serve = Command::new(binary("orderflow"));
    serve
        .args(["serve", "--port", &serve_port.to_string()])
        .env("ORDERFLOW_CONFIG", &config_path)
        .env("ORDERFLOW_DATABASE_URL", &database_url)
        .stdin(Stdio::null())
        .stdout(log("serve.log"))
        .stderr(log("serve.err"));
    die_with_parent(&mut serve);
    let mut serve = serve.spawn().unwrap();
    let second = format!("http://127.0.0.1:{serve_port}");
    wait_api_healthy(&second, &[dir.path().join("serve.err")]).await;
    let reply = ApiClient::new(&second, &credentials.acme_key)
        .get(&format!("/v1/orders/{id}"))
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["state"], "COMPLETE");
    assert!(!dir.path().join("ignored.db").exists());

    terminate(&mut serve, Duration::from_secs(10));
    terminate(&mut dev, Duration::from_secs(20));
}
