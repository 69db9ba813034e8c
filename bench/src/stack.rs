//! The stack under test, booted like `orderflow dev` but as separate processes, so that each
//! worker's memory can be read on its own: the Temporal dev server (persisting to a SQLite
//! file, as `orderflow dev` does), the supplier simulator, the API, the orderflow worker and
//! the two baseline workers (Rust and Go); or the same on an existing Temporal
//! (`--temporal-address`, e.g. a cluster), with one or more workers (`--workers`). Or an
//! existing stack (`--api-url` and `--temporal-address`), with only the baseline workers
//! started here.

use anyhow::{Context, bail};
use orderflow_config::{Settings, SupplierSettings};
use orderflow_devstack::{DevServer, DevServerOptions, StackCredentials, Supervisor, free_port};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the stack runs and how its worker is tuned.
pub struct StackOptions {
    pub data_dir: PathBuf,
    /// Settings changed for the run (`--set KEY=JSON`).
    pub overrides: Vec<orderflow_config::Override>,
    /// More `temporal server start-dev` flags (`--temporal-arg`).
    pub temporal_args: Vec<String>,
    /// Another `orderflow-worker` binary (to compare builds); default: the one next to this.
    pub worker_bin: Option<PathBuf>,
    /// An existing Temporal to boot the stack on instead of a dev server.
    pub temporal: Option<String>,
    /// orderflow worker processes to boot.
    pub workers: usize,
    /// An existing stack to target instead of booting one.
    pub target: Option<Target>,
}

pub struct Target {
    pub api_url: String,
    pub temporal_address: String,
    pub worker_pid: Option<u32>,
}

pub struct Stack {
    pub api_url: String,
    /// Tenant `acme`'s API key: a booted stack's own, or the dev key of a targeted
    /// `orderflow dev`.
    pub acme_key: String,
    pub temporal_address: String,
    /// The dev server's Prometheus endpoint (booted stacks only).
    pub metrics_url: Option<String>,
    pub settings: Settings,
    pub dir: PathBuf,
    worker_pid: Option<u32>,
    baseline_pid: u32,
    go_baseline_pid: u32,
    /// Every process of the stack by role, for CPU accounting.
    pids: Vec<(&'static str, u32)>,
    supervisor: Supervisor,
    children: Vec<Child>,
    server: Option<DevServer>,
}

/// The workspace binaries next to this one (same target directory).
fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.parent().context("exe dir")?.join(name);
    if !path.is_file() {
        bail!(
            "{} not found: build the workspace binaries first (`cargo build --workspace --bins`)",
            path.display()
        );
    }
    Ok(path)
}

impl Stack {
    pub async fn start(options: StackOptions) -> anyhow::Result<Stack> {
        std::fs::create_dir_all(&options.data_dir)?;
        let dir = options.data_dir.canonicalize()?;
        // Built before anything is booted: the first build takes a minute or two.
        let go_worker = tokio::task::spawn_blocking(crate::go_baseline::ensure).await??;
        let supervisor = Supervisor::new();
        let mut stack = match &options.target {
            Some(target) => Stack {
                api_url: target.api_url.clone(),
                acme_key: "dev-acme-key".into(),
                temporal_address: target.temporal_address.clone(),
                metrics_url: None,
                settings: Settings {
                    temporal_address: Some(target.temporal_address.clone()),
                    ..Settings::default()
                },
                dir,
                worker_pid: target.worker_pid,
                baseline_pid: 0,
                go_baseline_pid: 0,
                pids: target
                    .worker_pid
                    .map(|p| ("worker", p))
                    .into_iter()
                    .collect(),
                supervisor,
                children: Vec::new(),
                server: None,
            },
            None => Stack::boot(dir, supervisor, &options).await?,
        };
        // Both baselines get the orderflow worker's cache and slots (the Rust SDK has one
        // limit for activities and local activities; the Go flags take it for both).
        let worker = &stack.settings;
        let tuning = [
            "--temporal-address".to_string(),
            stack.temporal_address.clone(),
            "--max-cached-workflows".into(),
            worker.max_cached_workflows.to_string(),
            "--max-concurrent-workflow-tasks".into(),
            worker.max_concurrent_workflow_tasks.to_string(),
            "--max-concurrent-activities".into(),
            worker.max_concurrent_activities.to_string(),
        ];
        let mut args = vec!["baseline-worker".to_string()];
        args.extend(tuning.iter().cloned());
        let baseline = stack.spawn("baseline-worker", std::env::current_exe()?, args)?;
        stack.baseline_pid = baseline.id();
        stack.pids.push(("baseline-worker", baseline.id()));
        stack.children.push(baseline);
        let mut args = tuning.to_vec();
        args.extend([
            "--max-concurrent-local-activities".into(),
            worker.max_concurrent_activities.to_string(),
        ]);
        let go_baseline = stack.spawn("go-baseline-worker", go_worker, args)?;
        stack.go_baseline_pid = go_baseline.id();
        stack.pids.push(("go-baseline-worker", go_baseline.id()));
        stack.children.push(go_baseline);
        stack.wait_healthy().await?;
        Ok(stack)
    }

    async fn boot(
        dir: PathBuf,
        supervisor: Supervisor,
        options: &StackOptions,
    ) -> anyhow::Result<Stack> {
        let overrides = &options.overrides;
        // A dev server of its own, unless the stack runs on an existing Temporal (whose
        // database counters it cannot read then).
        let (server, temporal_address, metrics_url) = match &options.temporal {
            Some(address) => (None, address.clone(), None),
            None => {
                let (temporal_port, metrics_port) = (free_port(), free_port());
                let (db, log) = (dir.join("temporal.db"), dir.join("temporal.log"));
                let mut extra_args = vec!["--metrics-port".to_string(), metrics_port.to_string()];
                extra_args.extend(options.temporal_args.iter().cloned());
                let server = supervisor.run(move || {
                    DevServer::start(&DevServerOptions {
                        port: temporal_port,
                        db_file: Some(db),
                        log_file: Some(log),
                        extra_args,
                        ..Default::default()
                    })
                })?;
                let address = server.address.clone();
                let metrics = format!("http://127.0.0.1:{metrics_port}/metrics");
                (Some(server), address, Some(metrics))
            }
        };
        let (api_port, sim_port) = (free_port(), free_port());
        let api_url = format!("http://127.0.0.1:{api_port}");
        let sim_url = format!("http://127.0.0.1:{sim_port}");
        // Its own credentials: `orderflow serve` and the worker refuse the dev ones.
        let credentials = StackCredentials::generate();
        let mut settings = credentials.apply(Settings {
            database_url: format!("sqlite://{}", dir.join("orderflow.db").display()),
            temporal_address: Some(temporal_address.clone()),
            suppliers: vec![SupplierSettings {
                id: "sim".into(),
                base_url: sim_url,
                secret: credentials.sim_secret.as_str().into(),
                concurrent_amendments: false,
                peppol: None,
            }],
            // The benchmark is one tenant at full speed: no rate limit in the way.
            api: orderflow_config::ApiLimits {
                tenant_requests_per_second: 1_000_000,
                tenant_burst: 1_000_000,
                max_concurrent_requests: 100_000,
                ..Default::default()
            },
            // The bench's receivers are plain http on 127.0.0.1.
            webhook_allow_http: true,
            webhook_allow_private_networks: true,
            ..Settings::default()
        });
        settings = settings.with_overrides(overrides)?;
        std::fs::write(
            dir.join("config.json"),
            serde_json::to_vec_pretty(&settings)?,
        )?;
        let mut stack = Stack {
            api_url,
            acme_key: credentials.acme_key.clone(),
            temporal_address,
            metrics_url,
            settings,
            dir,
            worker_pid: None,
            baseline_pid: 0,
            go_baseline_pid: 0,
            pids: server.iter().map(|s| ("temporal", s.pid())).collect(),
            supervisor,
            children: Vec::new(),
            server,
        };
        let orderflow = binary("orderflow")?;
        let sim = stack.spawn(
            "sim",
            orderflow.clone(),
            vec![
                "supplier-sim".into(),
                "--port".into(),
                sim_port.to_string(),
                "--data-dir".into(),
                stack.dir.join("sim").display().to_string(),
                "--callback-url".into(),
                format!("{}/v1/supplier/sim/callbacks", stack.api_url),
                "--secret".into(),
                credentials.sim_secret.clone(),
            ],
        )?;
        let api = stack.spawn(
            "api",
            orderflow,
            vec!["serve".into(), "--port".into(), api_port.to_string()],
        )?;
        let worker_bin = match &options.worker_bin {
            Some(path) => path.clone(),
            None => binary("orderflow-worker")?,
        };
        stack.pids.extend([("sim", sim.id()), ("api", api.id())]);
        stack.children.extend([sim, api]);
        for n in 0..options.workers.max(1) {
            let log = if n == 0 {
                "worker".into()
            } else {
                format!("worker-{n}")
            };
            let worker = stack.spawn(&log, worker_bin.clone(), vec![])?;
            stack.worker_pid.get_or_insert(worker.id());
            stack.pids.push(("worker", worker.id()));
            stack.children.push(worker);
        }
        Ok(stack)
    }

    fn spawn(&self, name: &str, program: PathBuf, args: Vec<String>) -> anyhow::Result<Child> {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log")))?;
        let mut cmd = Command::new(&program);
        cmd.args(&args)
            .env("ORDERFLOW_CONFIG", self.dir.join("config.json"))
            .env_remove("ORDERFLOW_DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = self.supervisor.spawn(cmd);
        child.with_context(|| format!("spawning {name}"))
    }

    /// Waits for the API to report a polling worker, and for both baseline workers to poll.
    async fn wait_healthy(&self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let start = Instant::now();
        loop {
            let ok = http
                .get(format!("{}/healthz", self.api_url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            let polling = |log: &str, line: &str| {
                std::fs::read_to_string(self.dir.join(log)).is_ok_and(|l| l.contains(line))
            };
            let baseline_up = polling("baseline-worker.log", "baseline worker polling");
            let go_up = polling("go-baseline-worker.log", crate::go_baseline::POLLING_LINE);
            if ok && baseline_up && go_up {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(90) {
                bail!(
                    "the stack in {} did not become healthy within 90 s (API healthy: {ok}, \
                     baseline worker polling: {baseline_up}, Go baseline worker polling: \
                     {go_up}; see the .log files there)",
                    self.dir.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Resident memory of the orderflow worker, if known.
    pub fn worker_rss(&self) -> Option<u64> {
        self.worker_pid.and_then(rss_bytes)
    }

    pub fn baseline_rss(&self) -> Option<u64> {
        rss_bytes(self.baseline_pid)
    }

    pub fn go_baseline_rss(&self) -> Option<u64> {
        rss_bytes(self.go_baseline_pid)
    }

    /// CPU time (user + system) each role of the stack has used so far (several workers
    /// add up under one role).
    pub fn cpu(&self) -> Vec<(&'static str, Duration)> {
        let mut out: Vec<(&'static str, Duration)> = Vec::new();
        for (name, pid) in &self.pids {
            let Some(t) = cpu_time(*pid) else { continue };
            match out.iter_mut().find(|(n, _)| n == name) {
                Some((_, total)) => *total += t,
                None => out.push((name, t)),
            }
        }
        if let Some(me) = cpu_time(std::process::id()) {
            out.push(("bench-driver", me));
        }
        out
    }

    /// Stops every process and, unless `keep`, deletes the data directory.
    pub fn shutdown(mut self, keep: bool) {
        for child in &mut self.children {
            orderflow_devstack::terminate(child, Duration::from_secs(5));
        }
        drop(self.server.take());
        if !keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
    }
}

/// `VmRSS` of a process, in bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// `utime + stime` of a process (`/proc/PID/stat`, in clock ticks of 1/100 s on Linux).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: fields follow the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}
