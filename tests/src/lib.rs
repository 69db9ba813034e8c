//! Test harness: one real stack per test binary — the Temporal dev server, the supplier
//! simulator, the API and a worker, each the real binary in its own process — shared by the
//! tests of that binary. Nothing is mocked.
//!
//! The database is SQLite, or PostgreSQL when `ORDERFLOW_TEST_DATABASE=postgres` (each stack
//! gets a new database on the test server, see `orderflow-testpg`). A stack may run several
//! workers and API instances against the one Temporal and database ([`StackOptions`]).
//!
//! Children are spawned from one long-lived supervisor thread with `PR_SET_PDEATHSIG`, so
//! they die with the test process even though statics are never dropped.

use orderflow_activities::config::{DEV_SIM_SECRET, Settings, SupplierSettings};
use orderflow_client::api_client::ApiClient;
use orderflow_client::temporal_cli::{DevServer, DevServerOptions, Supervisor, free_port};
use orderflow_workflows::WorkflowSettings;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

pub use orderflow_client::api_client::Reply;

/// The database a stack runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Database {
    Sqlite,
    Postgres,
}

impl Database {
    /// `ORDERFLOW_TEST_DATABASE`: `sqlite` (the default) or `postgres`.
    pub fn from_env() -> Database {
        match std::env::var("ORDERFLOW_TEST_DATABASE").as_deref() {
            Ok("postgres") => Database::Postgres,
            Ok("sqlite") | Ok("") | Err(_) => Database::Sqlite,
            Ok(other) => panic!("ORDERFLOW_TEST_DATABASE={other}: use sqlite or postgres"),
        }
    }
}

/// What a stack runs.
#[derive(Clone, Debug)]
pub struct StackOptions {
    pub database: Database,
    /// Worker processes polling the one task queue.
    pub workers: usize,
    /// API processes; the simulator calls back into the last one.
    pub apis: usize,
    /// Supplier-call retries and timeouts given to each order.
    pub workflow: WorkflowSettings,
    /// The Temporal dev server keeps its state in a SQLite file under the stack's directory,
    /// so that [`Stack::restart_all`] finds every workflow again; otherwise it is in memory.
    pub persistent: bool,
    /// `metrics_address`, `otlp_endpoint`, `log_format` of every process.
    pub telemetry: orderflow_telemetry::TelemetrySettings,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            database: Database::from_env(),
            workers: 1,
            apis: 1,
            workflow: test_workflow_settings(),
            persistent: false,
            telemetry: Default::default(),
        }
    }
}

pub struct Stack {
    pub dir: PathBuf,
    /// The first API instance.
    pub api_url: String,
    pub api_urls: Vec<String>,
    pub sim_url: String,
    pub temporal_address: String,
    pub database_url: String,
    config_path: PathBuf,
    supervisor: Supervisor,
    /// Worker processes by index; `None` once killed.
    workers: Mutex<Vec<Option<Child>>>,
    /// API processes, one per port of `ports.apis`; `None` while killed.
    apis: Mutex<Vec<Option<Child>>>,
    sim: Mutex<Option<Child>>,
    server: Mutex<Option<DevServer>>,
    ports: Ports,
    options: StackOptions,
}

/// The ports of a stack, kept so that a restarted process is found where it was.
#[derive(Clone, Debug)]
struct Ports {
    temporal: u16,
    apis: Vec<u16>,
    sim: u16,
}

/// `kill -9` a child and reap it.
fn kill9(child: Option<Child>) {
    if let Some(mut child) = child {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The directory holding the workspace's built binaries (next to `deps/` of this test).
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

pub fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} not found: build the binaries first (`cargo build --bins`; scripts/test does this)",
        path.display()
    );
    path
}

/// Supplier-call retries kept short so failure paths finish in seconds.
pub fn test_workflow_settings() -> WorkflowSettings {
    WorkflowSettings {
        supplier_call_timeout_secs: 8,
        supplier_heartbeat_timeout_secs: 3,
        supplier_max_attempts: 4,
        supplier_initial_interval_ms: 100,
        supplier_max_interval_ms: 500,
        amendment_answer_timeout_secs: 6,
        amendment_reply_wait_ms: 1_000,
        cancellation_answer_timeout_secs: 6,
        // Small, so every subscription in the tests continues as new a few times.
        continue_as_new_after_events: 100,
        ..WorkflowSettings::default()
    }
}

/// Starts the dev server of a stack on `port`, or on a free port when `None`; the state is
/// in `dir/temporal.db` when `persistent`.
fn start_dev_server(
    supervisor: &Supervisor,
    dir: &Path,
    persistent: bool,
    port: Option<u16>,
) -> DevServer {
    let log = dir.join("temporal.log");
    let db_file = persistent.then(|| dir.join("temporal.db"));
    supervisor
        .run(move || {
            // Another process on the machine may take a free port first: try another. A
            // restarted server must come back on its own port.
            let mut attempts = 0;
            loop {
                let started = DevServer::start(&DevServerOptions {
                    port: port.unwrap_or_else(free_port),
                    ui_port: None,
                    db_file: db_file.clone(),
                    log_file: Some(log.clone()),
                    ..Default::default()
                });
                attempts += 1;
                if started.is_ok() || port.is_some() || attempts == 3 {
                    return started;
                }
            }
        })
        .expect("starting the Temporal dev server")
}

impl Stack {
    /// Starts a whole stack with one worker and one API; `name` labels its directory.
    pub async fn start(name: &str) -> Stack {
        Stack::start_with(name, StackOptions::default()).await
    }

    /// Starts a whole stack as `options` say.
    pub async fn start_with(name: &str, options: StackOptions) -> Stack {
        let dir = tempfile::Builder::new()
            .prefix(&format!("orderflow-{name}-"))
            .tempdir()
            .expect("temp dir")
            .keep();
        let supervisor = Supervisor::new();
        let server = start_dev_server(&supervisor, &dir, options.persistent, None);
        let temporal_port = server
            .address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the dev server's port");
        let ports = Ports {
            temporal: temporal_port,
            apis: (0..options.apis.max(1)).map(|_| free_port()).collect(),
            sim: free_port(),
        };
        let api_urls: Vec<String> = ports
            .apis
            .iter()
            .map(|port| format!("http://127.0.0.1:{port}"))
            .collect();
        let sim_url = format!("http://127.0.0.1:{}", ports.sim);
        let database_url = match options.database {
            Database::Sqlite => format!("sqlite://{}", dir.join("orderflow.db").display()),
            Database::Postgres => orderflow_testpg::database(name).await,
        };
        let settings = Settings {
            database_url: database_url.clone(),
            temporal_address: Some(server.address.clone()),
            // The stack's own dev server, whatever TEMPORAL_* the shell has.
            temporal_env_config: false,
            suppliers: vec![SupplierSettings {
                id: "sim".into(),
                base_url: sim_url.clone(),
                secret: DEV_SIM_SECRET.into(),
            }],
            workflow: options.workflow.clone(),
            telemetry: options.telemetry.clone(),
            ..Settings::default()
        };
        let config_path = dir.join("config.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(&settings).unwrap()).unwrap();

        let stack = Stack {
            api_url: api_urls[0].clone(),
            api_urls,
            sim_url,
            temporal_address: server.address.clone(),
            database_url,
            config_path,
            supervisor,
            workers: Mutex::new(Vec::new()),
            apis: Mutex::new(Vec::new()),
            sim: Mutex::new(None),
            server: Mutex::new(Some(server)),
            ports,
            options,
            dir,
        };
        stack.start_processes().await;
        stack
    }

    /// Starts the simulator, the APIs and the workers, and waits until every API is healthy.
    async fn start_processes(&self) {
        self.start_sim();
        self.start_api();
        for _ in 0..self.options.workers.max(1) {
            self.start_worker();
        }
        self.wait_healthy().await;
    }

    /// Starts the supplier simulator on its port and data directory (replacing none: call
    /// [`Stack::kill_sim`] first).
    pub fn start_sim(&self) {
        let child = self.spawn(
            "sim",
            binary("orderflow"),
            vec![
                "supplier-sim".into(),
                "--port".into(),
                self.ports.sim.to_string(),
                "--data-dir".into(),
                self.dir.join("sim").display().to_string(),
                "--callback-url".into(),
                format!(
                    "{}/v1/supplier/sim/callbacks",
                    self.api_urls.last().unwrap()
                ),
                "--secret".into(),
                DEV_SIM_SECRET.into(),
            ],
        );
        *self.sim.lock().unwrap() = Some(child);
    }

    /// `kill -9` the supplier simulator: the supplier is down.
    pub fn kill_sim(&self) {
        kill9(self.sim.lock().unwrap().take());
    }

    /// Starts every API instance on its port (call [`Stack::kill_api`] first).
    pub fn start_api(&self) {
        let children = self
            .ports
            .apis
            .iter()
            .enumerate()
            .map(|(i, port)| {
                Some(self.spawn(
                    &numbered("api", i),
                    binary("orderflow"),
                    vec!["serve".into(), "--port".into(), port.to_string()],
                ))
            })
            .collect();
        *self.apis.lock().unwrap() = children;
    }

    /// `kill -9` every API instance: requests in flight are cut off.
    pub fn kill_api(&self) {
        for child in self.apis.lock().unwrap().drain(..) {
            kill9(child);
        }
    }

    /// `kill -9` every process of the stack at once, the Temporal dev server included.
    pub fn kill_all(&self) {
        for child in self.workers.lock().unwrap().iter_mut() {
            kill9(child.take());
        }
        self.kill_api();
        self.kill_sim();
        if let Some(server) = self.server.lock().unwrap().take() {
            server.kill();
        }
    }

    /// Starts every process again on the same ports and data (a persistent stack finds its
    /// workflows again), and waits until the APIs report a polling worker.
    pub async fn restart_all(&self) {
        assert!(
            self.options.persistent,
            "restart_all needs a stack started with `persistent: true`"
        );
        let server = start_dev_server(&self.supervisor, &self.dir, true, Some(self.ports.temporal));
        *self.server.lock().unwrap() = Some(server);
        self.start_processes().await;
    }

    fn spawn(&self, name: &str, program: PathBuf, args: Vec<String>) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{name}.log")))
            .unwrap();
        let mut cmd = Command::new(&program);
        cmd.args(&args)
            .env("ORDERFLOW_CONFIG", &self.config_path)
            .env_remove("ORDERFLOW_DATABASE_URL")
            .env("RUST_LOG", "info,temporalio_sdk_core=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        self.supervisor
            .spawn(cmd)
            .unwrap_or_else(|e| panic!("spawning {name}: {e}"))
    }

    /// Starts one more worker process; returns its index (logs in `worker.log`, then
    /// `worker-1.log`, …).
    pub fn start_worker(&self) -> usize {
        let mut workers = self.workers.lock().unwrap();
        let index = workers.len();
        let child = self.spawn(
            &numbered("worker", index),
            binary("orderflow-worker"),
            vec![],
        );
        workers.push(Some(child));
        index
    }

    /// `kill -9` worker `index`: no graceful shutdown, in-flight tasks are abandoned.
    pub fn kill_worker(&self, index: usize) {
        kill9(self.workers.lock().unwrap()[index].take());
    }

    /// The process id of worker `index`, while it runs. Temporal names a worker
    /// `{pid}@{host}` (`last_worker_identity` of a pending activity).
    pub fn worker_pid(&self, index: usize) -> Option<u32> {
        self.workers.lock().unwrap()[index].as_ref().map(Child::id)
    }

    /// Waits until every API answers `/healthz` with 200 (engine reachable, a worker polling).
    pub async fn wait_healthy(&self) {
        let http = reqwest::Client::new();
        let start = Instant::now();
        for api_url in &self.api_urls {
            loop {
                let last = match http.get(format!("{api_url}/healthz")).send().await {
                    Ok(r) if r.status().is_success() => break,
                    Ok(r) => r.text().await.unwrap_or_default(),
                    Err(e) => e.to_string(),
                };
                if start.elapsed() > Duration::from_secs(90) {
                    panic!(
                        "stack in {} never became healthy: {last}\n{}",
                        self.dir.display(),
                        self.logs()
                    );
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// The last lines of every process log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".log")
                    .map(String::from)
            })
            .collect();
        names.sort();
        for name in names {
            let text =
                std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            out.push_str(&format!("--- {name}.log ---\n"));
            for line in tail.into_iter().rev() {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    pub fn client(&self, token: &str) -> ApiClient {
        ApiClient::new(&self.api_url, token)
    }

    pub fn acme(&self) -> ApiClient {
        self.client("dev-acme-key")
    }

    pub fn globex(&self) -> ApiClient {
        self.client("dev-globex-key")
    }

    pub fn operator(&self) -> ApiClient {
        self.client("dev-operator-token")
    }

    /// Every call the simulator received for one of acme's orders.
    pub async fn sim_calls(&self, tenant: &str, order_id: &str) -> Vec<Value> {
        let url = format!("{}/admin/calls?order_id={tenant}:{order_id}", self.sim_url);
        reqwest::get(url).await.unwrap().json().await.unwrap()
    }

    pub async fn temporal(&self) -> temporalio_client::Client {
        let settings = Settings {
            temporal_address: Some(self.temporal_address.clone()),
            temporal_env_config: false,
            ..Settings::default()
        };
        orderflow_activities::config::temporal_client(&settings)
            .await
            .unwrap()
    }
}

/// `name` for the first process of its kind, `name-i` for the others.
fn numbered(name: &str, index: usize) -> String {
    match index {
        0 => name.to_string(),
        i => format!("{name}-{i}"),
    }
}

/// A valid order body with the given id and simulator knobs.
pub fn order(order_id: &str, knobs: &[(&str, &str)]) -> Value {
    orderflow_client::sample::order(order_id, "test order", knobs)
}

/// A fresh order id, unique across runs.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

/// Submits an order and asserts it was accepted.
pub async fn submit(client: &ApiClient, body: &Value) -> Value {
    let reply = client.post("/v1/orders", body).await.unwrap();
    assert_eq!(reply.status, 201, "submit failed: {}", reply.body);
    reply.body
}

/// Polls the order until `done(order)` holds; panics with the order after `timeout`.
pub async fn wait_for(
    client: &ApiClient,
    order_id: &str,
    timeout: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let reply = client.get(&format!("/v1/orders/{order_id}")).await.unwrap();
        if reply.status == 200 && done(&reply.body) {
            return reply.body;
        }
        if start.elapsed() > timeout {
            panic!(
                "order {order_id} did not reach the expected condition in {timeout:?}: {}",
                reply.body
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn wait_state(
    client: &ApiClient,
    order_id: &str,
    state: &str,
    timeout: Duration,
) -> Value {
    wait_for(client, order_id, timeout, |o| o["state"] == state).await
}

pub async fn events(client: &ApiClient, order_id: &str) -> Vec<Value> {
    let reply = client
        .get(&format!("/v1/orders/{order_id}/events"))
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["events"].as_array().unwrap().clone()
}

/// Asserts seq runs 1..=n without gaps or repeats, and returns the event types.
pub fn assert_gapless(events: &[Value]) -> Vec<String> {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e["seq"].as_u64(),
            Some(i as u64 + 1),
            "seq gap or repeat at {i}: {events:?}"
        );
    }
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

/// Saves a workflow's history under `tests/histories/NAME.json` when
/// `ORDERFLOW_RECORD_HISTORIES=1` (how the replay fixtures are made).
pub async fn maybe_record_history(stack: &Stack, tenant: &str, order_id: &str, name: &str) {
    if std::env::var("ORDERFLOW_RECORD_HISTORIES").as_deref() != Ok("1") {
        return;
    }
    use orderflow_workflows::OrderWorkflow;
    use temporalio_client::WorkflowFetchHistoryOptions;
    let client = stack.temporal().await;
    let handle = client.get_workflow_handle::<OrderWorkflow>(
        orderflow_workflows::model::workflow_id(tenant, order_id),
    );
    let json = handle
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .to_json()
        .await
        .unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("histories")
        .join(format!("{name}.json"));
    std::fs::write(&path, json).unwrap();
    eprintln!("recorded {}", path.display());
}

/// One shared stack per test binary.
pub async fn shared_stack(cell: &'static OnceCell<Stack>, name: &'static str) -> &'static Stack {
    cell.get_or_init(|| Stack::start(name)).await
}

/// An operator command on one of acme's orders.
pub async fn operate(operator: &ApiClient, order_id: &str, action: &str, body: Value) -> Reply {
    operator
        .post(
            &format!("/v1/orders/{order_id}/{action}?tenant_id=acme"),
            &body,
        )
        .await
        .unwrap()
}

/// The simulator calls whose path contains `fragment`.
pub async fn calls_to(stack: &Stack, order_id: &str, fragment: &str) -> Vec<Value> {
    stack
        .sim_calls("acme", order_id)
        .await
        .into_iter()
        .filter(|c| c["path"].as_str().unwrap().contains(fragment))
        .collect()
}

/// How many runs the order's workflow has had (more than one once it continued as new).
pub async fn workflow_runs(stack: &Stack, tenant: &str, order_id: &str) -> usize {
    let query = format!(
        "WorkflowId = '{}'",
        orderflow_workflows::model::workflow_id(tenant, order_id)
    );
    stack
        .temporal()
        .await
        .count_workflows(query, Default::default())
        .await
        .unwrap()
        .count()
}

/// Waits (up to 3 minutes) for the order to complete its 3-step plan, read through `client`,
/// and asserts it did so once: every step DONE, gapless events, no event recorded twice, each
/// lifecycle state entered once and in order, and each supplier call applied once (see
/// [`assert_each_supplier_call_applied_once`]). Returns the events.
pub async fn assert_completed_once(stack: &Stack, client: &ApiClient, id: &str) -> Vec<Value> {
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
    let states: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "STATE_CHANGED")
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        [
            "SUBMITTED",
            "FEASIBILITY",
            "PLAN_DEVELOPMENT",
            "EXECUTION",
            "COMPLETE"
        ],
        "{id}: {types:?}"
    );
    assert_each_supplier_call_applied_once(stack, id, 3).await;
    events
}

/// Asserts that each of the order's supplier calls (validate, transfer, feasibility, plan and
/// `steps` steps) went out under one idempotency key, however often it was retried, and that
/// the supplier applied each key once (repeats answered from its idempotency store).
pub async fn assert_each_supplier_call_applied_once(stack: &Stack, order_id: &str, steps: usize) {
    let calls = stack.sim_calls("acme", order_id).await;
    let mut keys: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut effects: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &calls {
        let key = c["idempotency_key"].as_str().unwrap();
        keys.entry(c["path"].as_str().unwrap())
            .or_default()
            .insert(key);
        if c["status"].as_u64().unwrap() < 300 && c["replayed"] == false {
            *effects.entry(key).or_default() += 1;
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
}

/// POSTs to one of the simulator's admin endpoints and asserts it took the request.
pub async fn sim_admin(stack: &Stack, path: &str, body: Value) -> Value {
    let reply = reqwest::Client::new()
        .post(format!("{}{path}", stack.sim_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        reply.status().is_success(),
        "sim admin {path}: {}",
        reply.status()
    );
    reply.json().await.unwrap()
}

/// Runs the `orderflow` CLI against the stack's API as tenant acme and returns its stdout;
/// panics if it fails or takes longer than `timeout`.
pub async fn orderflow_cli(stack: &Stack, args: &[&str], timeout: Duration) -> String {
    let child = tokio::process::Command::new(binary("orderflow"))
        .args(["--api-url", &stack.api_url])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawning orderflow");
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("orderflow {args:?} did not finish in {timeout:?}"))
        .expect("orderflow ran");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "orderflow {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
