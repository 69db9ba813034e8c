//! Every figure of a run, its ratio to the baseline, and how it is printed and plotted.

use crate::drive::System;
use crate::replay::ReplayFigure;
use crate::stats::{Summary, ratio};
use crate::svg::{Series, line_chart};
use orderflow_config::Settings;
use serde::Serialize;
use std::fmt::Write;
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
    /// Growth of the worker's resident memory since before the first order was parked,
    /// divided by the orders parked.
    pub orderflow_bytes_per_order: Option<f64>,
    pub baseline_bytes_per_order: Option<f64>,
}

#[derive(Debug, Default, Serialize)]
pub struct Headline {
    pub concurrency: usize,
    pub orders_per_s: f64,
    pub baseline_per_s: f64,
    pub ratio: f64,
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
    pub query_orderflow: Summary,
    pub query_baseline: Summary,
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
            query_orderflow: Summary::default(),
            query_baseline: Summary::default(),
            api_get: Summary::default(),
            memory: Vec::new(),
            replay_orderflow: None,
            replay_baseline: None,
            seconds: 0.0,
        }
    }

    fn point(&self, system: System, concurrency: usize) -> Option<&ThroughputPoint> {
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
        let (o, b) = (of(System::Orderflow), of(System::Baseline));
        self.headline = Headline {
            concurrency: c,
            orders_per_s: o,
            baseline_per_s: b,
            ratio: ratio(o, b),
        };
    }
}

fn kib(bytes: Option<f64>) -> String {
    bytes.map_or("n/a".into(), |b| format!("{:.1} KiB", b / 1024.0))
}

/// The results table (Markdown), every figure with its baseline and ratio.
pub fn markdown(r: &Results) -> String {
    let mut out = String::new();
    let m = &r.machine;
    let _ = writeln!(
        out,
        "Run: {} mode, {} build, {} CPUs ({}), {:.0} GiB, Linux {}; worker: {} cached workflows, {} workflow-task slots, {} activity slots; {:.0} s.\n",
        r.mode,
        m.build,
        m.cpus,
        m.cpu_model,
        m.memory_gib,
        m.kernel,
        r.max_cached_workflows,
        r.max_concurrent_workflow_tasks,
        r.max_concurrent_activities,
        r.seconds
    );
    let _ = writeln!(out, "| figure | orderflow | baseline | ratio |");
    let _ = writeln!(out, "| --- | ---: | ---: | ---: |");
    let h = &r.headline;
    let _ = writeln!(
        out,
        "| orders/s, submit to COMPLETE, 3-step plan, concurrency {} | {:.1} | {:.1} | **{:.2}** |",
        h.concurrency, h.orders_per_s, h.baseline_per_s, h.ratio
    );
    let lat = |out: &mut String, name: &str, o: &Summary, b: &Summary| {
        for (p, ov, bv) in [("p50", o.p50_ms, b.p50_ms), ("p99", o.p99_ms, b.p99_ms)] {
            let _ = writeln!(
                out,
                "| {name} {p} (n={}) | {ov:.1} ms | {bv:.1} ms | {:.2} |",
                o.n,
                ratio(ov, bv)
            );
        }
    };
    lat(
        &mut out,
        "amendment round trip (PATCH → ACCEPTED)",
        &r.update_orderflow,
        &r.update_baseline,
    );
    lat(
        &mut out,
        "`status` query",
        &r.query_orderflow,
        &r.query_baseline,
    );
    lat(
        &mut out,
        "`GET /v1/orders/{id}` (database) vs baseline query",
        &r.api_get,
        &r.query_baseline,
    );
    for p in &r.memory {
        let _ = writeln!(
            out,
            "| worker RSS per open order, {} parked in EXECUTION | {} | {} | {:.2} |",
            p.parked,
            kib(p.orderflow_bytes_per_order),
            kib(p.baseline_bytes_per_order),
            ratio(
                p.orderflow_bytes_per_order.unwrap_or(0.0),
                p.baseline_bytes_per_order.unwrap_or(0.0)
            )
        );
    }
    if let (Some(o), Some(b)) = (&r.replay_orderflow, &r.replay_baseline) {
        let _ = writeln!(
            out,
            "| replay of a 1,000-event history (measured: {} and {} events) | {:.1} ms | {:.1} ms | {:.2} |",
            o.events,
            b.events,
            o.per_1000_events_ms,
            b.per_1000_events_ms,
            ratio(o.per_1000_events_ms, b.per_1000_events_ms)
        );
    }
    if let Some(h) = r
        .throughput
        .iter()
        .find(|p| p.concurrency == r.headline.concurrency)
    {
        let names: Vec<&String> = h.cpu_ms_per_order.keys().collect();
        let _ = writeln!(
            out,
            "\nCPU ms per order at concurrency {} (all processes of the stack, per system's run):\n",
            h.concurrency
        );
        let _ = writeln!(
            out,
            "| system | {} | total |",
            names
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(out, "| --- |{}", " ---: |".repeat(names.len() + 1));
        for system in [System::Orderflow, System::Baseline] {
            if let Some(p) = r.point(system, h.concurrency) {
                let cells: Vec<String> = names
                    .iter()
                    .map(|n| format!("{:.1}", p.cpu_ms_per_order.get(*n).copied().unwrap_or(0.0)))
                    .collect();
                let total: f64 = p.cpu_ms_per_order.values().sum();
                let _ = writeln!(
                    out,
                    "| {} | {} | {total:.1} |",
                    system.name(),
                    cells.join(" | ")
                );
            }
        }
    }
    if let (Some(o), Some(b)) = (
        r.point(System::Orderflow, r.headline.concurrency),
        r.point(System::Baseline, r.headline.concurrency),
    ) {
        let mut keys: Vec<&String> = o
            .server_ops_per_order
            .keys()
            .chain(b.server_ops_per_order.keys())
            .collect();
        keys.sort();
        keys.dedup();
        if !keys.is_empty() {
            let _ = writeln!(
                out,
                "\nTemporal server database operations per order:\n\n| operation | orderflow | baseline |\n| --- | ---: | ---: |"
            );
            let get = |p: &ThroughputPoint, k: &String| {
                p.server_ops_per_order.get(k).copied().unwrap_or(0.0)
            };
            for k in keys {
                let _ = writeln!(out, "| {k} | {:.2} | {:.2} |", get(o, k), get(b, k));
            }
            let total = |p: &ThroughputPoint| p.server_ops_per_order.values().sum::<f64>();
            let _ = writeln!(out, "| total | {:.2} | {:.2} |", total(o), total(b));
        }
    }
    if r.throughput.len() > 2 {
        let _ = writeln!(
            out,
            "\n| concurrency | orderflow orders/s | baseline /s | ratio | orderflow p50 / p99 ms | baseline p50 / p99 ms |"
        );
        let _ = writeln!(out, "| ---: | ---: | ---: | ---: | ---: | ---: |");
        let mut levels: Vec<usize> = r.throughput.iter().map(|p| p.concurrency).collect();
        levels.dedup();
        for c in levels {
            if let (Some(o), Some(b)) =
                (r.point(System::Orderflow, c), r.point(System::Baseline, c))
            {
                let _ = writeln!(
                    out,
                    "| {c} | {:.1} | {:.1} | {:.2} | {:.0} / {:.0} | {:.0} / {:.0} |",
                    o.per_s,
                    b.per_s,
                    ratio(o.per_s, b.per_s),
                    o.latency.p50_ms,
                    o.latency.p99_ms,
                    b.latency.p50_ms,
                    b.latency.p99_ms
                );
            }
        }
    }
    out
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
    let (blue, grey, red, orange) = ("#1f77b4", "#7f7f7f", "#d62728", "#ff7f0e");
    let throughput = line_chart(
        "Orders completed per second (3-step plan, sim.step_ms=0)",
        "concurrency (clients, one order in flight each)",
        "orders/s",
        &[
            Series {
                name: "orderflow".into(),
                color: blue,
                dashed: false,
                points: series(System::Orderflow, &|p| p.per_s),
            },
            Series {
                name: "baseline (no-op workflow, same activities)".into(),
                color: grey,
                dashed: true,
                points: series(System::Baseline, &|p| p.per_s),
            },
        ],
    );
    std::fs::write(dir.join("throughput.svg"), throughput)?;
    let latency = line_chart(
        "Submit-to-COMPLETE latency",
        "concurrency (clients, one order in flight each)",
        "ms",
        &[
            Series {
                name: "orderflow p50".into(),
                color: blue,
                dashed: false,
                points: series(System::Orderflow, &|p| p.latency.p50_ms),
            },
            Series {
                name: "orderflow p99".into(),
                color: red,
                dashed: false,
                points: series(System::Orderflow, &|p| p.latency.p99_ms),
            },
            Series {
                name: "baseline p50".into(),
                color: grey,
                dashed: true,
                points: series(System::Baseline, &|p| p.latency.p50_ms),
            },
            Series {
                name: "baseline p99".into(),
                color: orange,
                dashed: true,
                points: series(System::Baseline, &|p| p.latency.p99_ms),
            },
        ],
    );
    std::fs::write(dir.join("latency.svg"), latency)?;
    Ok(())
}
