//! Faults only a Temporal cluster can show, on a cluster from `scripts/temporal-cluster`
//! (`ORDERFLOW_TEST_TEMPORAL_CLUSTER_DIR` names its DIR, `ORDERFLOW_TEST_TEMPORAL_ADDRESS` its
//! address; `.ci/run` sets both): every Temporal service process killed mid-order and the
//! cluster restarted on its data, and PostgreSQL restarted under load. Every order completes
//! once, with gapless events and each supplier effect applied once. (Two workers and two APIs
//! losing a worker is `tests/tests/postgres.rs`, which `.ci/run` runs on the cluster too.)
//!
//! Without a cluster each test says so and passes. The tests kill the cluster's processes, so
//! they take turns.

use orderflow_tests::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The cluster's DIR, or `None` (the test is skipped) when there is no cluster.
fn cluster_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("ORDERFLOW_TEST_TEMPORAL_CLUSTER_DIR").filter(|d| !d.is_empty());
    match (dir, external_temporal()) {
        (Some(dir), Some(_)) => Some(PathBuf::from(dir)),
        _ => {
            eprintln!(
                "skipped: needs a cluster: `scripts/temporal-cluster start DIR`, then \
                 ORDERFLOW_TEST_TEMPORAL_CLUSTER_DIR=DIR and ORDERFLOW_TEST_TEMPORAL_ADDRESS=<its address>"
            );
            None
        }
    }
}

/// `scripts/temporal-cluster start DIR`: starts whatever of the cluster is not running, on
/// its data, and returns once a workflow can be started.
async fn start_cluster(dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/temporal-cluster");
    let run = tokio::process::Command::new(&script)
        .arg("start")
        .arg(dir)
        .arg("--no-ui")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("scripts/temporal-cluster start took over 3 minutes")
        .expect("running scripts/temporal-cluster");
    assert!(
        output.status.success(),
        "scripts/temporal-cluster start failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The pid in `file` (a pid file of the script, or PostgreSQL's `postmaster.pid`).
fn pid_in(file: &Path) -> i32 {
    std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()))
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid in {}", file.display()))
}

/// Sends `signal` to `pid` and waits until the process has exited (gone, or a zombie: the
/// services are not this process's children).
async fn signal_and_wait(pid: i32, signal: i32) {
    unsafe {
        libc::kill(pid, signal);
    }
    let start = Instant::now();
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state follows the parenthesised command name.
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|s| s.split_whitespace().next());
        if matches!(state, None | Some("Z") | Some("X")) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "process {pid} did not exit"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `/healthz` no longer answers 200: the API sees the outage.
async fn wait_unhealthy(stack: &Stack) {
    let start = Instant::now();
    loop {
        match reqwest::get(format!("{}/healthz", stack.api_url)).await {
            Ok(r) if r.status().is_success() => {}
            _ => return,
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the API still reports healthy with Temporal down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Submits `n` orders with slow steps (synchronous and asynchronous) and waits until at
/// least a quarter of them are in EXECUTION.
async fn orders_in_flight(stack: &Stack, label: &str, n: usize) -> Vec<String> {
    let acme = stack.acme();
    let ids: Vec<String> = (0..n).map(|i| new_id(&format!("{label}{i}"))).collect();
    for (i, id) in ids.iter().enumerate() {
        let asynchronous = if i % 2 == 0 { "true" } else { "false" };
        let knobs = [
            ("sim.steps", "3"),
            ("sim.step_ms", "1500"),
            ("sim.async_steps", asynchronous),
        ];
        submit(&acme, &order(id, &knobs)).await;
    }
    let start = Instant::now();
    loop {
        let mut executing = 0;
        for id in &ids {
            let o = acme.get(&format!("/v1/orders/{id}")).await.unwrap();
            if o.body["state"] == "EXECUTION" {
                executing += 1;
            }
        }
        if executing >= n / 4 {
            return ids;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "nothing executes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_temporal_service_killed_mid_order_restarts_on_its_data() {
    let Some(dir) = cluster_dir() else { return };
    let _turn = ONE_AT_A_TIME.lock().await;
    let stack = Stack::start("cluster-kill").await;
    let ids = orders_in_flight(&stack, "svc-kill", 12).await;

    // SIGKILL, as a crash of the machines would: no service shuts down cleanly.
    for service in ["frontend", "history", "matching", "worker"] {
        let pid = pid_in(&dir.join(format!("run/{service}.pid")));
        signal_and_wait(pid, libc::SIGKILL).await;
    }
    wait_unhealthy(&stack).await;
    start_cluster(&dir).await;
    stack.wait_healthy().await;

    for id in &ids {
        assert_completed_once(&stack, &stack.acme(), id).await;
        assert_eq!(workflow_runs(&stack, "acme", id).await, 1, "{id}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_restarted_under_load_loses_and_repeats_nothing() {
    let Some(dir) = cluster_dir() else { return };
    let postmaster = dir.join("pg/data/postmaster.pid");
    if !postmaster.is_file() {
        eprintln!(
            "skipped: the cluster's PostgreSQL is not in its DIR (TEMPORAL_CLUSTER_POSTGRES_URL)"
        );
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let stack = Stack::start("cluster-pg").await;
    let mut ids = orders_in_flight(&stack, "pg-restart", 12).await;

    // Immediate shutdown (SIGQUIT): no checkpoint, crash recovery at the next start, while
    // orders are executing and more are being submitted.
    let acme = stack.acme();
    let more: Vec<String> = (0..6).map(|i| new_id(&format!("pg-during{i}"))).collect();
    let submitting = {
        let acme = acme.clone();
        let more = more.clone();
        tokio::spawn(async move {
            for id in &more {
                submit_until_accepted(&acme, id).await;
            }
        })
    };
    signal_and_wait(pid_in(&postmaster), libc::SIGQUIT).await;
    start_cluster(&dir).await;
    submitting.await.unwrap();
    ids.extend(more);

    for id in &ids {
        assert_completed_once(&stack, &acme, id).await;
        assert_eq!(workflow_runs(&stack, "acme", id).await, 1, "{id}");
    }
}

/// Submits a 3-step order, retrying while the API answers 503 (Temporal unavailable), as a
/// client would. A retry that finds the order already there (409: an earlier attempt got
/// through after all) counts as accepted.
async fn submit_until_accepted(acme: &orderflow_client::api_client::ApiClient, id: &str) {
    let body = order(id, &[("sim.steps", "3"), ("sim.step_ms", "200")]);
    let start = Instant::now();
    loop {
        let reply = acme.post("/v1/orders", &body).await.unwrap();
        match reply.status.as_u16() {
            201 | 409 => return,
            503 => {}
            other => panic!("submit {id}: {other} {}", reply.body),
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "submit {id} answered 503 for two minutes: {}",
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
