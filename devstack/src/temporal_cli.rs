//! Finding (or building) the Temporal CLI, which contains the dev server and the Web UI.
//!
//! Lookup order: `TEMPORAL_CLI`, then `temporal` on `PATH`, then the cache
//! (`$ORDERFLOW_CACHE_DIR` or `~/.cache/orderflow`)/bin/temporal. If none exists it is built
//! into the cache with `go install github.com/temporalio/cli/cmd/temporal@v1.5.1` (later tags
//! carry a `replace` directive and cannot be installed that way).

use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::{Command, Stdio};

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
