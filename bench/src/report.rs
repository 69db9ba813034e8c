//! Every figure of a run, its ratio to the baselines, and how it is plotted (the tables are
//! in `markdown.rs`).

use crate::drive::System;
use crate::replay::ReplayFigure;
use crate::stats::{Summary, ratio};
use crate::svg::{Series, line_chart};
use orderflow_config::Settings;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Serialize)]
pub struct ThroughputPoint {
    pub system: System,
    pub concurrency: usize,
    /// Orders completed in the counted windows, and their total length.
    pub orders: usize,
    pub seconds: f64,
    pub per_s: f64,
    /// Submit to completion, per order.
    pub latency: Summary,
    /// CPU time each process of the stack spent per order during the run (the idle system's
    /// processes too: they poll).
    pub cpu_ms_per_order: std::collections::BTreeMap<String, f64>,
    /// The Temporal server's database operations per order, by kind.
    pub server_ops_per_order: std::collections::BTreeMap<String, f64>,
}

#[derive(Debug, Serialize)]
pub struct MemoryPoint {
    pub parked: usize,
    pub orderflow_rss_bytes: Option<u64>,
    pub baseline_rss_bytes: Option<u64>,
    pub go_baseline_rss_bytes: Option<u64>,
    /// Growth of the worker's resident memory since before the first order was parked,
    /// divided by the orders parked.
    pub orderflow_bytes_per_order: Option<f64>,
    pub baseline_bytes_per_order: Option<f64>,
    pub go_baseline_bytes_per_order: Option<f64>,
}

impl MemoryPoint {
    /// From the workers' resident memory (orderflow, baseline, Go baseline) before the first
    /// order was parked and with `parked` of each parked.
    pub fn new(parked: usize, before: [Option<u64>; 3], after: [Option<u64>; 3]) -> MemoryPoint {
        let per = |i: usize| {
            let grown = after[i]?.saturating_sub(before[i]?);
            Some(grown as f64 / parked.max(1) as f64)
        };
        MemoryPoint {
            parked,
            orderflow_rss_bytes: after[0],
            baseline_rss_bytes: after[1],
            go_baseline_rss_bytes: after[2],
            orderflow_bytes_per_order: per(0),
            baseline_bytes_per_order: per(1),
            go_baseline_bytes_per_order: per(2),
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Headline {
    pub concurrency: usize,
    pub orders_per_s: f64,
    pub baseline_per_s: f64,
    /// Orderflow over the Rust baseline: the figure the goal is set on.
    pub ratio: f64,
    pub go_baseline_per_s: f64,
    /// Orderflow over the Go baseline.
    pub go_ratio: f64,
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
    /// `debug` or `release`: the profile the binaries were built with.
    pub build: &'static str,
}

impl ThroughputPoint {
    /// One system's figures at one level, from its runs.
    pub fn of<'a>(
        system: System,
        concurrency: usize,
        runs: impl Iterator<Item = &'a crate::measure::Segment>,
    ) -> ThroughputPoint {
        let runs: Vec<&crate::measure::Segment> = runs.collect();
        let seconds: f64 = runs.iter().map(|r| r.window_secs).sum();
        let completed: usize = runs.iter().map(|r| r.completed).sum();
        let orders: usize = runs.iter().map(|r| r.orders).sum();
        let latencies: Vec<std::time::Duration> = runs
            .iter()
            .flat_map(|r| r.latencies.iter().copied())
            .collect();
        let mut cpu = std::collections::BTreeMap::new();
        let mut server_ops = std::collections::BTreeMap::new();
        for r in &runs {
            for (name, d) in &r.cpu {
                *cpu.entry(name.to_string()).or_insert(0.0) += d.as_secs_f64() * 1e3;
            }
            for (k, v) in &r.server_ops {
                // Per order of that run: weigh by its orders.
                *server_ops.entry(k.clone()).or_insert(0.0) += v * r.orders as f64;
            }
        }
        for v in cpu.values_mut().chain(server_ops.values_mut()) {
            *v /= orders.max(1) as f64;
        }
        ThroughputPoint {
            system,
            concurrency,
            orders: completed,
            seconds,
            per_s: ratio(completed as f64, seconds),
            latency: Summary::of(&latencies),
            cpu_ms_per_order: cpu,
            server_ops_per_order: server_ops,
        }
    }
}

impl Machine {
    fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let field = |text: &str, name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        let mem_kb: f64 = field(&meminfo, "MemTotal")
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: field(&cpuinfo, "model name"),
            memory_gib: mem_kb / 1024.0 / 1024.0,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            build: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Results {
    pub mode: &'static str,
    pub machine: Machine,
    pub max_cached_workflows: usize,
    pub max_concurrent_workflow_tasks: usize,
    pub max_concurrent_activities: usize,
    pub headline: Headline,
    pub throughput: Vec<ThroughputPoint>,
    pub update_orderflow: Summary,
    pub update_baseline: Summary,
    pub update_go_baseline: Summary,
    pub query_orderflow: Summary,
    pub query_baseline: Summary,
    pub query_go_baseline: Summary,
    /// `GET /v1/orders/{id}` (served from the database, no Temporal call).
    pub api_get: Summary,
    pub memory: Vec<MemoryPoint>,
    pub replay_orderflow: Option<ReplayFigure>,
    pub replay_baseline: Option<ReplayFigure>,
    pub seconds: f64,
}

impl Results {
    pub fn new(quick: bool, settings: &Settings) -> Results {
        Results {
            mode: if quick { "quick" } else { "full" },
            machine: Machine::read(),
            max_cached_workflows: settings.max_cached_workflows,
            max_concurrent_workflow_tasks: settings.max_concurrent_workflow_tasks,
            max_concurrent_activities: settings.max_concurrent_activities,
            headline: Headline::default(),
            throughput: Vec::new(),
            update_orderflow: Summary::default(),
            update_baseline: Summary::default(),
            update_go_baseline: Summary::default(),
            query_orderflow: Summary::default(),
            query_baseline: Summary::default(),
            query_go_baseline: Summary::default(),
            api_get: Summary::default(),
            memory: Vec::new(),
            replay_orderflow: None,
            replay_baseline: None,
            seconds: 0.0,
        }
    }

    pub fn point(&self, system: System, concurrency: usize) -> Option<&ThroughputPoint> {
        self.throughput
            .iter()
            .find(|p| p.system == system && p.concurrency == concurrency)
    }

    /// The headline is the level closest to the quick run's, so runs compare.
    pub fn set_headline(&mut self) {
        let Some(c) = self
            .throughput
            .iter()
            .map(|p| p.concurrency)
            .min_by_key(|c| c.abs_diff(crate::QUICK_CONCURRENCY))
        else {
            return;
        };
        let of = |s| self.point(s, c).map_or(0.0, |p| p.per_s);
        let (o, b, g) = (
            of(System::Orderflow),
            of(System::Baseline),
            of(System::GoBaseline),
        );
        self.headline = Headline {
            concurrency: c,
            orders_per_s: o,
            baseline_per_s: b,
            ratio: ratio(o, b),
            go_baseline_per_s: g,
            go_ratio: ratio(o, g),
        };
    }
}

/// `throughput.svg` and `latency.svg` against concurrency.
pub fn plots(r: &Results, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let series = |system: System, f: &dyn Fn(&ThroughputPoint) -> f64| -> Vec<(f64, f64)> {
        r.throughput
            .iter()
            .filter(|p| p.system == system)
            .map(|p| (p.concurrency as f64, f(p)))
            .collect()
    };
    // Each system's line name and colours (throughput or p50, p99); the baselines dashed.
    let styles = [
        (System::Orderflow, "orderflow", "#1f77b4", "#d62728"),
        (System::Baseline, "baseline", "#7f7f7f", "#ff7f0e"),
        (System::GoBaseline, "Go baseline", "#2ca02c", "#9467bd"),
    ];
    let mut per_s = Vec::new();
    let mut latency = Vec::new();
    for (system, name, color, p99_color) in styles {
        let dashed = system != System::Orderflow;
        let line = |name: String, color, f: &dyn Fn(&ThroughputPoint) -> f64| Series {
            name,
            color,
            dashed,
            points: series(system, f),
        };
        let label = match system {
            System::Orderflow => name.to_string(),
            System::Baseline => format!("{name} (no-op workflow, same activities)"),
            System::GoBaseline => format!("{name} (the same workflow on the Go SDK)"),
        };
        per_s.push(line(label, color, &|p| p.per_s));
        latency.push(line(format!("{name} p50"), color, &|p| p.latency.p50_ms));
        latency.push(line(format!("{name} p99"), p99_color, &|p| {
            p.latency.p99_ms
        }));
    }
    let x = "concurrency (clients, one order in flight each)";
    let throughput = line_chart(
        "Orders completed per second (3-step plan, sim.step_ms=0)",
        x,
        "orders/s",
        &per_s,
    );
    std::fs::write(dir.join("throughput.svg"), throughput)?;
    let latency = line_chart("Submit-to-COMPLETE latency", x, "ms", &latency);
    std::fs::write(dir.join("latency.svg"), latency)?;
    Ok(())
}
