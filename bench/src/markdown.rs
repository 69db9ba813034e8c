//! The results as Markdown tables: every figure of orderflow beside the Rust baseline's and
//! the Go baseline's, with orderflow's ratio to each.

use crate::drive::System;
use crate::report::{Results, ThroughputPoint};
use crate::stats::{Summary, ratio};
use std::fmt::Write;

fn kib(bytes: Option<f64>) -> String {
    bytes.map_or("n/a".into(), |b| format!("{:.1} KiB", b / 1024.0))
}

/// The results tables: the main one, CPU and server operations per order at the headline
/// concurrency, and the sweep when more than one level was measured.
pub fn markdown(r: &Results) -> String {
    let mut out = String::new();
    let m = &r.machine;
    let _ = writeln!(
        out,
        "Run: {} mode, {} build, {} CPUs ({}), {:.0} GiB, Linux {}; every worker: {} cached workflows, {} workflow-task slots, {} activity slots; {:.0} s.\n",
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
    main_table(&mut out, r);
    cpu_table(&mut out, r);
    server_ops_table(&mut out, r);
    sweep_table(&mut out, r);
    out
}

fn main_table(out: &mut String, r: &Results) {
    let _ = writeln!(
        out,
        "| figure | orderflow | baseline | ratio | Go baseline | ratio to Go |"
    );
    let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: |");
    let h = &r.headline;
    let _ = writeln!(
        out,
        "| orders/s, submit to COMPLETE, 3-step plan, concurrency {} | {:.1} | {:.1} | **{:.2}** | {:.1} | {:.2} |",
        h.concurrency, h.orders_per_s, h.baseline_per_s, h.ratio, h.go_baseline_per_s, h.go_ratio
    );
    // A throughput-only run measures no latencies: no rows rather than rows of zeros.
    let lat = |out: &mut String, name: &str, o: &Summary, b: &Summary, g: &Summary| {
        if o.n == 0 {
            return;
        }
        for (p, ov, bv, gv) in [
            ("p50", o.p50_ms, b.p50_ms, g.p50_ms),
            ("p99", o.p99_ms, b.p99_ms, g.p99_ms),
        ] {
            let _ = writeln!(
                out,
                "| {name} {p} (n={}) | {ov:.1} ms | {bv:.1} ms | {:.2} | {gv:.1} ms | {:.2} |",
                o.n,
                ratio(ov, bv),
                ratio(ov, gv)
            );
        }
    };
    lat(
        out,
        "amendment round trip (PATCH → ACCEPTED)",
        &r.update_orderflow,
        &r.update_baseline,
        &r.update_go_baseline,
    );
    lat(
        out,
        "`status` query",
        &r.query_orderflow,
        &r.query_baseline,
        &r.query_go_baseline,
    );
    lat(
        out,
        "`GET /v1/orders/{id}` (database) vs baseline query",
        &r.api_get,
        &r.query_baseline,
        &r.query_go_baseline,
    );
    for p in &r.memory {
        let o = p.orderflow_bytes_per_order.unwrap_or(0.0);
        let _ = writeln!(
            out,
            "| worker RSS per open order, {} parked in EXECUTION | {} | {} | {:.2} | {} | {:.2} |",
            p.parked,
            kib(p.orderflow_bytes_per_order),
            kib(p.baseline_bytes_per_order),
            ratio(o, p.baseline_bytes_per_order.unwrap_or(0.0)),
            kib(p.go_baseline_bytes_per_order),
            ratio(o, p.go_baseline_bytes_per_order.unwrap_or(0.0))
        );
    }
    if let (Some(o), Some(b)) = (&r.replay_orderflow, &r.replay_baseline) {
        let _ = writeln!(
            out,
            "| replay of a 1,000-event history (measured: {} and {} events) | {:.1} ms | {:.1} ms | {:.2} | n/a | |",
            o.events,
            b.events,
            o.per_1000_events_ms,
            b.per_1000_events_ms,
            ratio(o.per_1000_events_ms, b.per_1000_events_ms)
        );
    }
}

/// CPU ms per order of every process, one row per system's runs.
fn cpu_table(out: &mut String, r: &Results) {
    let c = r.headline.concurrency;
    let Some(h) = r.throughput.iter().find(|p| p.concurrency == c) else {
        return;
    };
    let names: Vec<&str> = h.cpu_ms_per_order.keys().map(|n| n.as_str()).collect();
    let _ = writeln!(
        out,
        "\nCPU ms per order at concurrency {c} (all processes of the stack, per system's run):\n"
    );
    let _ = writeln!(out, "| system | {} | total |", names.join(" | "));
    let _ = writeln!(out, "| --- |{}", " ---: |".repeat(names.len() + 1));
    for system in System::ALL {
        if let Some(p) = r.point(system, c) {
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

/// The Temporal server's database operations per order, by kind, for each system.
fn server_ops_table(out: &mut String, r: &Results) {
    let c = r.headline.concurrency;
    let points: Vec<&ThroughputPoint> = System::ALL.iter().filter_map(|s| r.point(*s, c)).collect();
    let mut keys: Vec<&String> = points
        .iter()
        .flat_map(|p| p.server_ops_per_order.keys())
        .collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return;
    }
    let names: Vec<&str> = points.iter().map(|p| p.system.name()).collect();
    let _ = writeln!(
        out,
        "\nTemporal server database operations per order:\n\n| operation | {} |\n| --- |{}",
        names.join(" | "),
        " ---: |".repeat(names.len())
    );
    let row = |out: &mut String, name: &str, f: &dyn Fn(&ThroughputPoint) -> f64| {
        let cells: Vec<String> = points.iter().map(|p| format!("{:.2}", f(p))).collect();
        let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
    };
    for k in keys {
        row(out, k, &|p| {
            p.server_ops_per_order.get(k).copied().unwrap_or(0.0)
        });
    }
    row(out, "total", &|p| p.server_ops_per_order.values().sum());
}

/// Throughput and latency at every level, when there is more than one.
fn sweep_table(out: &mut String, r: &Results) {
    let mut levels: Vec<usize> = r.throughput.iter().map(|p| p.concurrency).collect();
    levels.dedup();
    if levels.len() < 2 {
        return;
    }
    let _ = writeln!(
        out,
        "\n| concurrency | orderflow orders/s | baseline /s | ratio | Go baseline /s | ratio to Go | orderflow p50 / p99 ms | baseline p50 / p99 ms | Go baseline p50 / p99 ms |"
    );
    let _ = writeln!(
        out,
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for c in levels {
        let (Some(o), Some(b), Some(g)) = (
            r.point(System::Orderflow, c),
            r.point(System::Baseline, c),
            r.point(System::GoBaseline, c),
        ) else {
            continue;
        };
        let _ = writeln!(
            out,
            "| {c} | {:.1} | {:.1} | {:.2} | {:.1} | {:.2} | {:.0} / {:.0} | {:.0} / {:.0} | {:.0} / {:.0} |",
            o.per_s,
            b.per_s,
            ratio(o.per_s, b.per_s),
            g.per_s,
            ratio(o.per_s, g.per_s),
            o.latency.p50_ms,
            o.latency.p99_ms,
            b.latency.p50_ms,
            b.latency.p99_ms,
            g.latency.p50_ms,
            g.latency.p99_ms
        );
    }
}
