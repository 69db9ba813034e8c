//! The Temporal dev server, started with orderflow's search attributes registered and the
//! dynamic configuration the benchmark measured, and stopped when dropped.

use crate::supervisor::{die_with_parent, terminate};
use crate::temporal_cli::ensure;
use anyhow::{Context, bail};
use orderflow_workflows::order_workflow::SEARCH_ATTRIBUTES;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
/// - A new timer is never due before the timer queue's read watermark, which the server keeps
///   `timerProcessorMaxTimeShift` (1 s by default) ahead of now, so every timer shorter than
///   that fires about a second late. Every order closes after a 1 ms timer (it closes in a
///   workflow task of its own): at the default an order alone took 1,160 ms p50 instead of
///   270 ms. A tighter watermark costs the timer queue more frequent reads, nothing else.
pub const DEV_DYNAMIC_CONFIG: [(&str, &str); 4] = [
    ("system.forceSearchAttributesCacheRefreshOnRead", "false"),
    ("system.enableActivityEagerExecution", "true"),
    ("history.transferProcessorMaxPollRPS", "1000"),
    ("history.timerProcessorMaxTimeShift", "\"10ms\""),
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
