//! The Go SDK baseline worker (`bench/go-baseline`): the Rust baseline's workflow written with
//! the Go SDK, on its own task queue, so a run shows what the same workflow costs on the other
//! widely used SDK next to the Rust one. It is built with `go build` into the cache
//! (`$ORDERFLOW_CACHE_DIR` or `~/.cache/orderflow`)/bin/orderflow-go-baseline-HASH, where HASH
//! covers its sources and the Go version, so a changed source or toolchain builds anew and an
//! unchanged one is reused.

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Go worker's task queue (its `TaskQueue` constant).
pub const GO_BASELINE_QUEUE: &str = "orderflow-bench-go-baseline";

/// What the Go worker prints once it polls.
pub const POLLING_LINE: &str = "go baseline worker polling";

/// Where Go is looked for after `PATH`: the official tarball's place.
const GO_FALLBACK: &str = "/usr/local/go/bin/go";

/// The module's sources, in the crate (known at compile time, so the binary finds them
/// wherever it is run from in this checkout).
pub fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("go-baseline")
}

/// `go` on `PATH`, else [`GO_FALLBACK`].
fn go_binary() -> anyhow::Result<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("go"))
            .find(|candidate| candidate.is_file())
    });
    match on_path {
        Some(go) => Ok(go),
        None if Path::new(GO_FALLBACK).is_file() => Ok(PathBuf::from(GO_FALLBACK)),
        None => bail!(
            "Go is needed to build the Go baseline worker ({}) and was found neither on PATH \
             nor at {GO_FALLBACK}: install Go 1.26 or newer",
            source_dir().display()
        ),
    }
}

/// The files that make the worker: go.mod, go.sum and the `.go` files, sorted by name.
fn sources(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading the Go baseline's sources in {}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "go.mod" || name == "go.sum" || name.ends_with(".go") {
            files.push(path);
        }
    }
    files.sort();
    if !files.iter().any(|f| f.ends_with("go.mod")) {
        bail!("{} has no go.mod", dir.display());
    }
    Ok(files)
}

/// The cache key: the sources' names and contents and `go version`, hashed.
fn key(files: &[PathBuf], go_version: &str) -> anyhow::Result<String> {
    let mut hash = Sha256::new();
    hash.update(go_version.as_bytes());
    for file in files {
        let text = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        hash.update(
            file.file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or_default(),
        );
        hash.update((text.len() as u64).to_le_bytes());
        hash.update(&text);
    }
    Ok(hex::encode(&hash.finalize()[..8]))
}

/// Returns the built Go baseline worker, building it into the cache if needed (blocking: the
/// first build downloads the Go SDK through the module proxy and takes a minute or two).
pub fn ensure() -> anyhow::Result<PathBuf> {
    let dir = source_dir();
    let go = go_binary()?;
    let version = Command::new(&go)
        .arg("version")
        .output()
        .with_context(|| format!("running `{} version`", go.display()))?;
    if !version.status.success() {
        bail!(
            "`{} version` failed: is the Go installation complete?",
            go.display()
        );
    }
    let files = sources(&dir)?;
    let bin_dir = orderflow_devstack::cache_dir().join("bin");
    let binary = bin_dir.join(format!(
        "orderflow-go-baseline-{}",
        key(&files, &String::from_utf8_lossy(&version.stdout))?
    ));
    if binary.is_file() {
        return Ok(binary);
    }
    std::fs::create_dir_all(&bin_dir).with_context(|| format!("creating {}", bin_dir.display()))?;
    eprintln!("building the Go baseline worker into {}", binary.display());
    // Built beside its final name and renamed, so an interrupted build leaves no binary behind
    // that a later run would take for a good one.
    let partial = bin_dir.join(format!(
        ".{}.partial-{}",
        binary
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("go-baseline"),
        std::process::id()
    ));
    let status = Command::new(&go)
        // No VCS stamp: a fresh clone owned by another user would make `go build` fail on it.
        .args(["build", "-trimpath", "-buildvcs=false", "-o"])
        .arg(&partial)
        .arg(".")
        .current_dir(&dir)
        .env("CGO_ENABLED", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .with_context(|| format!("running `{} build` in {}", go.display(), dir.display()))?;
    if !status.success() {
        let _ = std::fs::remove_file(&partial);
        bail!(
            "`go build` of the Go baseline worker in {} failed ({status}); it needs Go 1.26 or \
             newer and the Go module proxy (or a module cache holding go.temporal.io/sdk)",
            dir.display()
        );
    }
    std::fs::rename(&partial, &binary)
        .with_context(|| format!("moving the Go baseline worker to {}", binary.display()))?;
    Ok(binary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_follows_the_sources_and_the_toolchain() {
        let dir = source_dir();
        let files = sources(&dir).unwrap();
        assert!(files.iter().any(|f| f.ends_with("main.go")));
        let a = key(&files, "go version go1.26.8").unwrap();
        assert_eq!(a, key(&files, "go version go1.26.8").unwrap());
        assert_ne!(a, key(&files, "go version go1.27.0").unwrap());
        assert_eq!(a.len(), 16);
    }
}
