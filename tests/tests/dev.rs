//! `orderflow dev` as a developer runs it: stopped (Ctrl-C or SIGTERM) while an order is in
//! the middle of its plan and started again on the same data dir, it carries on every order
//! from where it was: the order completes once, with gapless events, and each supplier call
//! took effect once (the simulator's journal is in the data dir too).

use orderflow_client::api_client::ApiClient;
use orderflow_devstack::{die_with_parent, free_port, terminate};
use orderflow_tests::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(90);

/// Starts `orderflow dev` on `data_dir` with `ports` (API, Temporal, UI, simulator), logging
/// to `NAME.log` / `NAME.err` beside the data dir, and waits until its API is healthy.
async fn start_dev(data_dir: &Path, ports: [u16; 4], name: &str) -> Child {
    let [api, temporal, ui, sim] = ports;
    let log = |ext: &str| std::fs::File::create(data_dir.with_extension(format!("{name}.{ext}")));
    let mut dev = Command::new(binary("orderflow"));
    dev.arg("dev")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--api-port", &api.to_string()])
        .args(["--temporal-port", &temporal.to_string()])
        .args(["--ui-port", &ui.to_string()])
        .args(["--sim-port", &sim.to_string()])
        .env_remove("ORDERFLOW_DATABASE_URL")
        .env_remove("ORDERFLOW_CONFIG")
        .stdin(Stdio::null())
        .stdout(log("log").unwrap())
        .stderr(log("err").unwrap());
    die_with_parent(&mut dev);
    let child = dev.spawn().unwrap();
    let errors = data_dir.with_extension(format!("{name}.err"));
    wait_api_healthy(&format!("http://127.0.0.1:{api}"), &[errors]).await;
    child
}

async fn sim_calls(sim_port: u16, order_id: &str) -> Vec<Value> {
    let url = format!("http://127.0.0.1:{sim_port}/admin/calls?order_id=acme:{order_id}");
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn orderflow_dev_restarted_on_its_data_dir_carries_on_every_order() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("dev");
    let ports = [0; 4].map(|_| free_port());
    let acme = ApiClient::new(&format!("http://127.0.0.1:{}", ports[0]), "dev-acme-key");

    let mut dev = start_dev(&data_dir, ports, "first").await;
    let id = new_id("dev-restart");
    let knobs = [("sim.steps", "3"), ("sim.step_ms", "3000")];
    submit(&acme, &order(&id, &knobs)).await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    // Stopped as Ctrl-C stops it, mid-plan: the dev server, API, worker and simulator go.
    terminate(&mut dev, Duration::from_secs(30));
    assert!(
        dev.try_wait().unwrap().is_some(),
        "orderflow dev did not stop"
    );
    assert!(
        acme.get(&format!("/v1/orders/{id}")).await.is_err(),
        "the API is down"
    );

    let mut dev = start_dev(&data_dir, ports, "second").await;
    assert_completed_events(&acme, &id).await;
    // Each supplier call took effect once: one first answer per key, before and after.
    let calls = sim_calls(ports[3], &id).await;
    let mut first_answers = std::collections::BTreeMap::<String, usize>::new();
    for c in calls
        .iter()
        .filter(|c| c["replayed"] == false && c["status"].as_u64() < Some(300))
    {
        *first_answers
            .entry(c["idempotency_key"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(first_answers.len(), 7, "{calls:?}");
    assert!(first_answers.values().all(|n| *n == 1), "{first_answers:?}");
    // And an order placed after the restart runs too.
    let later = new_id("dev-after");
    submit(&acme, &order(&later, &[("sim.steps", "1")])).await;
    wait_state(&acme, &later, "COMPLETE", T).await;
    terminate(&mut dev, Duration::from_secs(30));
}
