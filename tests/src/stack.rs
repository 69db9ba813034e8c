//! The stack itself: starting, killing and restarting its processes, and clients for it.

use crate::{Database, StackOptions};
use orderflow_client::api_client::ApiClient;
use orderflow_config::{Settings, SupplierSettings};
use orderflow_devstack::{DevServer, DevServerOptions, StackCredentials, Supervisor, free_port};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

pub struct Stack {
    pub dir: PathBuf,
    /// The first API instance.
    pub api_url: String,
    pub api_urls: Vec<String>,
    pub sim_url: String,
    pub temporal_address: String,
    /// The task queue its workers poll: their own on a shared Temporal.
    pub task_queue: String,
    pub database_url: String,
    /// This stack's own tenant keys, operator token and simulator secret: its processes run
    /// as in production and refuse the dev credentials.
    pub credentials: StackCredentials,
    config_path: PathBuf,
    /// The configuration files of the APIs and the workers (`config_path` unless
    /// [`StackOptions::api_settings`] or [`StackOptions::worker_settings`] change them).
    api_config_path: PathBuf,
    worker_config_path: PathBuf,
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

/// The Temporal the stacks share instead of a dev server each: `ORDERFLOW_TEST_TEMPORAL_ADDRESS`
/// (namespace `default`, orderflow's search attributes registered). Each stack then polls a
/// task queue of its own, so that its workers run only its own orders. A `persistent` stack
/// still starts its own dev server, since it kills and restarts it.
pub fn external_temporal() -> Option<String> {
    std::env::var("ORDERFLOW_TEST_TEMPORAL_ADDRESS")
        .ok()
        .filter(|a| !a.is_empty())
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
        let external = external_temporal().filter(|_| !options.persistent);
        let server = match external {
            Some(_) => None,
            None => Some(start_dev_server(
                &supervisor,
                &dir,
                options.persistent,
                None,
            )),
        };
        let temporal_address = match (&external, &server) {
            (Some(address), _) => address.clone(),
            (None, server) => server.as_ref().unwrap().address.clone(),
        };
        let task_queue = match external {
            Some(_) => format!(
                "orderflow-test-{}",
                dir.file_name().unwrap().to_string_lossy()
            ),
            None => Settings::default().task_queue,
        };
        let temporal_port = temporal_address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the Temporal port");
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
        let credentials = StackCredentials::generate();
        let settings = credentials.apply(Settings {
            database_url: database_url.clone(),
            temporal_address: Some(temporal_address.clone()),
            // The stack's own Temporal, whatever TEMPORAL_* the shell has.
            temporal_env_config: false,
            task_queue: task_queue.clone(),
            suppliers: vec![SupplierSettings {
                id: "sim".into(),
                base_url: sim_url.clone(),
                secret: credentials.sim_secret.as_str().into(),
                concurrent_amendments: false,
                peppol: Some(orderflow_config::PeppolParty::dev_sim()),
            }],
            workflow: options.workflow.clone(),
            telemetry: options.telemetry.clone(),
            api: options.api.clone(),
            // Orders terminated from outside are found within a second or two.
            reconcile_interval_secs: 1,
            // The tests' receivers are plain http on 127.0.0.1.
            webhook_allow_http: true,
            webhook_allow_private_networks: true,
            ..Settings::default()
        });
        let config_path = dir.join("config.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(&settings).unwrap()).unwrap();
        let variant = |name: &str, change: Option<fn(&mut Settings)>| match change {
            None => config_path.clone(),
            Some(change) => {
                let mut changed = settings.clone();
                change(&mut changed);
                let path = dir.join(name);
                std::fs::write(&path, serde_json::to_vec_pretty(&changed).unwrap()).unwrap();
                path
            }
        };
        let api_config_path = variant("api-config.json", options.api_settings);
        let worker_config_path = variant("worker-config.json", options.worker_settings);

        let stack = Stack {
            api_url: api_urls[0].clone(),
            api_urls,
            sim_url,
            temporal_address,
            task_queue,
            database_url,
            credentials,
            config_path,
            api_config_path,
            worker_config_path,
            supervisor,
            workers: Mutex::new(Vec::new()),
            apis: Mutex::new(Vec::new()),
            sim: Mutex::new(None),
            server: Mutex::new(server),
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
                self.credentials.sim_secret.clone(),
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
                Some(self.spawn_with(
                    &numbered("api", i),
                    binary("orderflow"),
                    vec!["serve".into(), "--port".into(), port.to_string()],
                    &self.api_config_path,
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
        self.spawn_with(name, program, args, &self.config_path)
    }

    fn spawn_with(&self, name: &str, program: PathBuf, args: Vec<String>, config: &Path) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{name}.log")))
            .unwrap();
        let mut cmd = Command::new(&program);
        cmd.args(&args)
            .env("ORDERFLOW_CONFIG", config)
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
        let child = self.spawn_with(
            &numbered("worker", index),
            binary("orderflow-worker"),
            vec![],
            &self.worker_config_path,
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
        self.client(&self.credentials.acme_key)
    }

    pub fn globex(&self) -> ApiClient {
        self.client(&self.credentials.globex_key)
    }

    pub fn operator(&self) -> ApiClient {
        self.client(&self.credentials.operator_token)
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
        orderflow_config::temporal_client(&settings).await.unwrap()
    }
}

/// `name` for the first process of its kind, `name-i` for the others.
fn numbered(name: &str, index: usize) -> String {
    match index {
        0 => name.to_string(),
        i => format!("{name}-{i}"),
    }
}

/// One shared stack per test binary.
pub async fn shared_stack(cell: &'static OnceCell<Stack>, name: &'static str) -> &'static Stack {
    cell.get_or_init(|| Stack::start(name)).await
}
