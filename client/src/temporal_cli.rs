//! Finding (or building) the Temporal CLI, which contains the dev server and the Web UI, and
//! starting the dev server with orderflow's search attributes registered.
//!
//! Lookup order: `TEMPORAL_CLI`, then `temporal` on `PATH`, then the cache
//! (`$ORDERFLOW_CACHE_DIR` or `~/.cache/orderflow`)/bin/temporal. If none exists it is built
//! into the cache with `go install github.com/temporalio/cli/cmd/temporal@v1.5.1` (later tags
//! carry a `replace` directive and cannot be installed that way).

use anyhow::{Context, bail};
use orderflow_workflows::order_workflow::SEARCH_ATTRIBUTES;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TEMPORAL_CLI_MODULE: &str = "github.com/temporalio/cli/cmd/temporal@v1.5.1";

/// Where built tools are kept: `$ORDERFLOW_CACHE_DIR` or `~/.cache/orderflow`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ORDERFLOW_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("orderflow")
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// Returns the path of a usable `temporal` binary, building it into the cache if needed.
pub fn ensure() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("TEMPORAL_CLI").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!(
                "TEMPORAL_CLI points at {}, which does not exist",
                path.display()
            );
        }
        return Ok(path);
    }
    if let Some(path) = on_path("temporal") {
        return Ok(path);
    }
    let bin = cache_dir().join("bin");
    let cached = bin.join("temporal");
    if cached.is_file() {
        return Ok(cached);
    }
    std::fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
    eprintln!(
        "Building the Temporal CLI into {} (one time, takes a few minutes)…",
        bin.display()
    );
    let status = Command::new("go")
        .args(["install", TEMPORAL_CLI_MODULE])
        .env("GOBIN", &bin)
        .env("CGO_ENABLED", "0")
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .context("running `go install` for the Temporal CLI: is Go installed and on PATH? (or set TEMPORAL_CLI to an existing binary)")?;
    if !status.success() || !cached.is_file() {
        bail!(
            "`go install {TEMPORAL_CLI_MODULE}` failed ({status}); set TEMPORAL_CLI to an existing binary instead"
        );
    }
    Ok(cached)
}

/// Dynamic configuration of the dev server (`extra_args` naming a key replace its value),
/// measured with `orderflow-bench` (docs/BENCHMARKS.md):
///
/// - Without `forceSearchAttributesCacheRefreshOnRead=false` the dev server reads the search
///   attribute definitions from its database on every use: about 40 extra database reads per
///   order. Ours are registered when the server starts, so its cache is always right.
/// - Eager activity execution hands an activity scheduled by a workflow task straight back to
///   the worker that completed the task, instead of through a task queue round trip: a fifth
///   fewer database operations per order.
/// - The history service reads its transfer queue (which hands every new workflow task to
///   matching) at most 20 times a second by default, so each of a 3-step order's 8 workflow
///   tasks could wait up to 50 ms for the next read. At 1,000 reads a second an order alone
///   takes about 80 ms from submit to COMPLETE.
pub const DEV_DYNAMIC_CONFIG: [(&str, &str); 3] = [
    ("system.forceSearchAttributesCacheRefreshOnRead", "false"),
    ("system.enableActivityEagerExecution", "true"),
    ("history.transferProcessorMaxPollRPS", "1000"),
];

/// Where and how to run the dev server.
#[derive(Default)]
pub struct DevServerOptions {
    pub port: u16,
    pub ui_port: Option<u16>,
    /// SQLite file for persistence; `None` keeps everything in memory.
    pub db_file: Option<PathBuf>,
    pub log_file: Option<PathBuf>,
    /// More `temporal server start-dev` flags (the benchmark's metrics port, tuning).
    pub extra_args: Vec<String>,
}

/// A running dev server; killed when dropped.
pub struct DevServer {
    child: Child,
    pub address: String,
}

impl DevServer {
    pub fn start(options: &DevServerOptions) -> anyhow::Result<DevServer> {
        let cli = ensure()?;
        let mut cmd = Command::new(&cli);
        cmd.args(["server", "start-dev", "--ip", "127.0.0.1", "--port"])
            .arg(options.port.to_string())
            .args(["--log-level", "warn"])
            .args([
                "--sqlite-pragma",
                "journal_mode=WAL",
                "--sqlite-pragma",
                "synchronous=NORMAL",
            ]);
        match options.ui_port {
            Some(ui) => cmd.args(["--ui-port", &ui.to_string()]),
            None => cmd.arg("--headless"),
        };
        if let Some(db) = &options.db_file {
            cmd.arg("--db-filename").arg(db);
        }
        for name in SEARCH_ATTRIBUTES {
            cmd.args(["--search-attribute", &format!("{name}=Keyword")]);
        }
        for (key, value) in DEV_DYNAMIC_CONFIG {
            if !options.extra_args.iter().any(|a| a.starts_with(key)) {
                cmd.args(["--dynamic-config-value", &format!("{key}={value}")]);
            }
        }
        cmd.args(&options.extra_args);
        let log = match &options.log_file {
            Some(path) => Stdio::from(
                std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?,
            ),
            None => Stdio::null(),
        };
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", cli.display()))?;
        let mut server = DevServer {
            child,
            address: format!("127.0.0.1:{}", options.port),
        };
        server.wait_ready(options.port, Duration::from_secs(60))?;
        Ok(server)
    }

    /// Waits until the dev server itself listens on `port`. Another process may hold the
    /// port (a free port picked a moment ago can be taken by then): the server then exits,
    /// and a plain connect would talk to the other process instead.
    fn wait_ready(&mut self, port: u16, timeout: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the Temporal dev server exited ({status}) before listening on {}; is the port in use?",
                    self.address
                );
            }
            if listens(self.child.id(), port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!(
            "the Temporal dev server did not listen on {} within {timeout:?}",
            self.address
        )
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server with SIGKILL, as a crash would (no clean shutdown).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        terminate(&mut self.child, Duration::from_secs(10));
    }
}

/// Stops a child: SIGTERM, then SIGKILL if it has not exited within `grace`.
pub fn terminate(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let start = Instant::now();
    while start.elapsed() < grace {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Has the kernel kill the child if the thread that spawned it dies, so a crashed parent
/// never leaves a server behind.
pub fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Spawns children from one thread that lives as long as the process. `PR_SET_PDEATHSIG`
/// fires when the *thread* that spawned a child exits, and a tokio worker thread may exit at
/// any time; this one never does, so children die with the process and only then.
pub struct Supervisor {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
}

impl Supervisor {
    pub fn new() -> Supervisor {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("supervisor".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
                // Keep the thread (the children's parent) alive after the sender is gone.
                loop {
                    std::thread::park();
                }
            })
            .expect("spawning the supervisor thread");
        Supervisor {
            jobs: std::sync::Mutex::new(tx),
        }
    }

    /// Runs `f` on the supervisor thread (to start a [`DevServer`] there, say).
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        self.jobs
            .lock()
            .unwrap()
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .expect("supervisor alive");
        rx.recv().expect("supervisor answered")
    }

    /// Spawns `cmd` from the supervisor thread, to die with this process.
    pub fn spawn(&self, mut cmd: Command) -> std::io::Result<Child> {
        self.run(move || {
            die_with_parent(&mut cmd);
            cmd.spawn()
        })
    }
}

impl Default for Supervisor {
    fn default() -> Self {
        Supervisor::new()
    }
}

/// Whether process `pid` has a listening TCP socket on `port` (from `/proc`: the socket
/// inodes listening on the port, and the process's open file descriptors).
fn listens(pid: u32, port: u16) -> bool {
    let port = format!(":{port:04X}");
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    // local_address, state (0A: LISTEN), inode.
                    (fields.len() > 9 && fields[1].ends_with(&port) && fields[3] == "0A")
                        .then(|| format!("socket:[{}]", fields[9]))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    if inodes.is_empty() {
        return false;
    }
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .any(|target| inodes.iter().any(|i| target.as_os_str() == i.as_str()))
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding an ephemeral port")
}
