//! PostgreSQL for tests: [`database`] answers the URL of a new, empty database.
//!
//! The server is `ORDERFLOW_TEST_POSTGRES_URL` when set (any server where that user may
//! `CREATE DATABASE`), else a throwaway cluster this process starts once: `initdb` into a
//! temp dir and `postgres` listening only on a Unix socket in that dir (so no TCP port can
//! collide with another process), found on `PATH` or in Debian's
//! `/usr/lib/postgresql/<version>/bin`. PostgreSQL refuses to run as root, so under root the
//! cluster runs as the `postgres` user (which Debian's package creates), or the user named by
//! `ORDERFLOW_TEST_POSTGRES_USER`.
//!
//! The server is spawned from a thread that lives as long as the process, with
//! `PR_SET_PDEATHSIG`, so it dies with the test process; clusters left behind by earlier
//! runs are deleted the next time one starts.

use anyhow::{Context, bail};
use sqlx::{Connection, Executor, PgConnection};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

const DIR_PREFIX: &str = "orderflow-pg-";

/// A server this process may create databases on.
#[derive(Clone, Debug)]
struct Server {
    /// URL of a database to connect to for `CREATE DATABASE`.
    admin_url: url::Url,
    /// Where the server logs, for failure messages (managed clusters only).
    log: Option<PathBuf>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

/// The URL of a new database, named after `label`, on the test server. Panics with a hint
/// when no PostgreSQL is available.
pub async fn database(label: &str) -> String {
    match try_database(label).await {
        Ok(url) => url,
        Err(e) => panic!(
            "no PostgreSQL for the tests: {e:#}\nInstall Debian's `postgresql` package \
             (`apt-get install postgresql`), or set ORDERFLOW_TEST_POSTGRES_URL to a server \
             where that user may CREATE DATABASE."
        ),
    }
}

async fn try_database(label: &str) -> anyhow::Result<String> {
    let server = tokio::task::spawn_blocking(|| {
        SERVER
            .get_or_init(|| server().map_err(|e| format!("{e:#}")))
            .clone()
    })
    .await?
    .map_err(anyhow::Error::msg)?;
    let mut admin = connect_when_ready(&server).await?;
    let name = database_name(label);
    // Like most production databases, sort text linguistically by default (ICU `en-US`):
    // what relies on byte order must say so in its schema. Servers without ICU get their
    // default.
    let icu = format!(
        "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' \
         LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
    );
    if admin.execute(icu.as_str()).await.is_err() {
        admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .with_context(|| format!("creating database {name}"))?;
    }
    admin.close().await.ok();
    let mut url = server.admin_url.clone();
    url.set_path(&name);
    Ok(url.to_string())
}

/// `t_<label>_<random>`, lower case, within PostgreSQL's 63-byte limit.
fn database_name(label: &str) -> String {
    let label: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(30)
        .collect();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("t_{label}_{}", &random[..16])
}

/// A fresh server may still be starting: retry for a while.
async fn connect_when_ready(server: &Server) -> anyhow::Result<PgConnection> {
    let start = Instant::now();
    loop {
        match PgConnection::connect(server.admin_url.as_str()).await {
            Ok(conn) => return Ok(conn),
            Err(e) if start.elapsed() < Duration::from_secs(60) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => {
                let log = server
                    .log
                    .as_ref()
                    .and_then(|p| std::fs::read_to_string(p).ok())
                    .unwrap_or_default();
                bail!(
                    "PostgreSQL at {} did not answer: {e}\n{log}",
                    server.admin_url
                );
            }
        }
    }
}

fn server() -> anyhow::Result<Server> {
    if let Some(url) = std::env::var("ORDERFLOW_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        let admin_url = url::Url::parse(&url).context("parsing ORDERFLOW_TEST_POSTGRES_URL")?;
        return Ok(Server {
            admin_url,
            log: None,
        });
    }
    start_cluster()
}

/// Directory holding `initdb` and `postgres`: `ORDERFLOW_TEST_POSTGRES_BIN`, `PATH`, then the
/// newest `/usr/lib/postgresql/<version>/bin` (Debian keeps them off `PATH`).
fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("ORDERFLOW_TEST_POSTGRES_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(paths) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&paths).find(|d| has_both(d))
    {
        return Ok(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| has_both(bin))
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => Ok(bin),
        None => bail!("initdb and postgres are neither on PATH nor in /usr/lib/postgresql/*/bin"),
    }
}

/// The uid and gid to run PostgreSQL as: none (ourselves) unless we are root.
fn run_as() -> anyhow::Result<Option<(u32, u32)>> {
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = std::env::var("ORDERFLOW_TEST_POSTGRES_USER").unwrap_or_else(|_| "postgres".into());
    let c_name = std::ffi::CString::new(name.clone())?;
    // getpwnam's answer lives in static storage; it is read at once, before any other call.
    let pw = unsafe { libc::getpwnam(c_name.as_ptr()) };
    if pw.is_null() {
        bail!(
            "running as root, and there is no user `{name}` to run PostgreSQL as \
             (set ORDERFLOW_TEST_POSTGRES_USER)"
        );
    }
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Ok(Some((uid, gid)))
}

fn start_cluster() -> anyhow::Result<Server> {
    let bin = bin_dir()?;
    remove_stale_clusters();
    let dir = tempfile::Builder::new()
        .prefix(DIR_PREFIX)
        .tempdir()
        .context("creating the cluster's directory")?
        .keep();
    let user = run_as()?;
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .with_context(|| format!("handing {} to the postgres user", dir.display()))?;
    }
    let data = dir.join("data");
    let command = |program: &str, log: &str| -> anyhow::Result<Command> {
        // An inherited descriptor: the child writes to it whatever user it runs as.
        let log = std::fs::File::create(dir.join(log))?;
        let mut cmd = Command::new(bin.join(program));
        cmd.current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if let Some((uid, gid)) = user {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid);
        }
        Ok(cmd)
    };

    let status = command("initdb", "initdb.log")?
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
        .status()
        .context("running initdb")?;
    if !status.success() {
        let log = std::fs::read_to_string(dir.join("initdb.log")).unwrap_or_default();
        bail!("initdb failed ({status}):\n{log}");
    }

    let mut cmd = command("postgres", "postgres.log")?;
    cmd.arg("-D")
        .arg(&data)
        .args(["-c", "listen_addresses=", "-k"])
        .arg(&dir)
        // A throwaway cluster: durability buys nothing, speed does.
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
        .args(["-c", "full_page_writes=off", "-c", "max_connections=200"]);
    die_with_parent(&mut cmd);
    spawn_from_lasting_thread(cmd).context("starting postgres")?;
    // `host` naming a directory means that directory's Unix socket (libpq's convention,
    // which sqlx follows).
    let mut admin_url = url::Url::parse("postgres://postgres@localhost/postgres")?;
    admin_url
        .query_pairs_mut()
        .append_pair("host", &dir.display().to_string());
    Ok(Server {
        admin_url,
        log: Some(dir.join("postgres.log")),
    })
}

/// `PR_SET_PDEATHSIG` fires when the spawning *thread* ends, so the server is spawned from a
/// thread that never does.
fn spawn_from_lasting_thread(mut cmd: Command) -> anyhow::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("postgres-parent".into())
        .spawn(move || {
            let child = cmd.spawn();
            let _ = tx.send(child.as_ref().map(|_| ()).map_err(|e| e.to_string()));
            let _child = child;
            loop {
                std::thread::park();
            }
        })?;
    rx.recv()?.map_err(anyhow::Error::msg)
}

/// Has the kernel kill the child when its parent thread dies. Set after the child changed
/// its user (std applies `uid`/`gid` before `pre_exec` hooks), since a credential change
/// clears it.
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// Deletes clusters of earlier test runs: their postmaster is gone (killed with its test
/// process), or they never started and are old.
fn remove_stale_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(DIR_PREFIX) {
            continue;
        }
        let path = entry.path();
        let pid: Option<i32> = std::fs::read_to_string(path.join("data/postmaster.pid"))
            .ok()
            .and_then(|t| t.lines().next()?.trim().parse().ok());
        // EPERM: the process exists but belongs to another user.
        let alive = pid.is_some_and(|pid| {
            let answered = unsafe { libc::kill(pid, 0) };
            answered == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
        });
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .unwrap_or_default();
        let stale = match pid {
            Some(_) => !alive,
            None => age > Duration::from_secs(600),
        };
        if stale {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}
