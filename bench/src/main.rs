//! `orderflow-bench`: how fast orderflow is, and what it costs, each figure against a baseline
//! measured in the same run on the same Temporal server (see `baseline.rs`, `go_baseline.rs`
//! and docs/BENCHMARKS.md). `--quick` takes about 3 minutes (on the debug build too) and ends with the line
//! `orders_per_s=X baseline_per_s=Y ratio=R go_baseline_per_s=G`.

mod baseline;
mod drive;
mod go_baseline;
mod markdown;
mod measure;
mod metrics;
mod replay;
mod report;
mod stack;
mod stats;
mod svg;

use clap::{Parser, Subcommand};
use drive::{Driver, System};
use measure::{PARK_ORDER, Segment, latencies, park, segment};
use report::{MemoryPoint, Results, ThroughputPoint};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "orderflow-bench",
    about = "Benchmarks orderflow against a same-run baseline"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    bench: BenchArgs,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// A short run (about 3 minutes): one concurrency level, 300 parked orders per system.
    #[arg(long)]
    quick: bool,
    /// Concurrency levels of the throughput sweep (clients, each with one order in flight).
    #[arg(long, value_delimiter = ',')]
    concurrency: Option<Vec<usize>>,
    /// Throughput runs per system and concurrency level (the systems take turns).
    #[arg(long)]
    segments: Option<usize>,
    /// Counted seconds of each throughput run (after its ramp-up: every client's first order).
    #[arg(long)]
    segment_secs: Option<u64>,
    /// Parked-order counts at which the workers' memory is read.
    #[arg(long, value_delimiter = ',')]
    park: Option<Vec<usize>>,
    /// Samples for each latency figure (amendments, queries).
    #[arg(long)]
    samples: Option<usize>,
    /// Where the stack keeps its data (deleted afterwards unless --keep).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long)]
    keep: bool,
    /// A setting by its dotted path in the config file: `--set max_cached_workflows=5000`,
    /// `--set workflow.supplier_max_attempts=3`.
    #[arg(long = "set", value_name = "KEY=JSON")]
    set: Vec<String>,
    /// More `temporal server start-dev` flags, one per occurrence, e.g.
    /// `--temporal-arg=--dynamic-config-value --temporal-arg=KEY=JSON`.
    #[arg(long = "temporal-arg", allow_hyphen_values = true)]
    temporal_args: Vec<String>,
    /// Run this `orderflow-worker` binary instead of the one built with the benchmark (to
    /// compare two versions on the same footing).
    #[arg(long)]
    worker_bin: Option<PathBuf>,
    /// Target an existing stack's API instead of booting one (with --temporal-address).
    #[arg(long, requires = "temporal_address")]
    api_url: Option<String>,
    /// An existing Temporal (`host:port`, e.g. `scripts/temporal-cluster`'s): alone, the
    /// benchmark boots the rest of the stack on it instead of a dev server; with --api-url,
    /// the targeted stack's Temporal.
    #[arg(long)]
    temporal_address: Option<String>,
    /// orderflow workers to boot (the first one's memory is read); they share the database.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    workers: u16,
    /// The existing stack's worker process, to read its memory.
    #[arg(long)]
    worker_pid: Option<u32>,
    /// Measure throughput only (no parked orders, latencies or replay): for profiling.
    #[arg(long)]
    throughput_only: bool,
    /// Write every figure as JSON.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the results table as Markdown.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Write SVG plots (throughput and latency against concurrency) into this directory.
    #[arg(long)]
    plots: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the baseline worker (started by the benchmark itself).
    BaselineWorker {
        #[arg(long)]
        temporal_address: String,
        #[arg(long)]
        max_cached_workflows: usize,
        #[arg(long)]
        max_concurrent_workflow_tasks: usize,
        #[arg(long)]
        max_concurrent_activities: usize,
    },
}

/// What one run measures.
struct Plan {
    concurrency: Vec<usize>,
    /// Throughput runs per system and level, and the length of each.
    segments: usize,
    segment: Duration,
    park: Vec<usize>,
    samples: usize,
    replays: usize,
}

impl Plan {
    fn from(args: &BenchArgs) -> Plan {
        let (concurrency, segments, secs, park, samples, replays) = if args.quick {
            (vec![QUICK_CONCURRENCY], 2, 5, vec![300], 60, 3)
        } else {
            (
                vec![1, 2, 4, 8, 16, 32, 64],
                4,
                8,
                vec![1_000, 10_000],
                300,
                9,
            )
        };
        Plan {
            concurrency: args.concurrency.clone().unwrap_or(concurrency),
            segments: args.segments.unwrap_or(segments),
            segment: Duration::from_secs(args.segment_secs.unwrap_or(secs)),
            park: args.park.clone().unwrap_or(park),
            samples: args.samples.unwrap_or(samples),
            replays,
        }
    }
}

/// The headline concurrency of `--quick` (and of the last line of every run).
const QUICK_CONCURRENCY: usize = 32;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::BaselineWorker {
        temporal_address,
        max_cached_workflows,
        max_concurrent_workflow_tasks,
        max_concurrent_activities,
    }) = cli.command
    {
        return baseline::run_worker(
            &temporal_address,
            baseline::WorkerTuning {
                max_cached_workflows,
                max_concurrent_workflow_tasks,
                max_concurrent_activities,
            },
        )
        .await;
    }
    let args = cli.bench;
    let plan = Plan::from(&args);
    let started = Instant::now();
    let run = format!("b{}", uuid::Uuid::now_v7().simple());
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("orderflow-bench-{run}")));
    let overrides = args
        .set
        .iter()
        .map(|kv| kv.parse())
        .collect::<anyhow::Result<Vec<orderflow_config::Override>>>()?;
    let target = args.api_url.as_ref().map(|api_url| stack::Target {
        api_url: api_url.clone(),
        temporal_address: args.temporal_address.clone().unwrap_or_default(),
        worker_pid: args.worker_pid,
    });
    eprintln!("booting the stack in {}", data_dir.display());
    let stack = stack::Stack::start(stack::StackOptions {
        data_dir,
        overrides,
        temporal_args: args.temporal_args.clone(),
        worker_bin: args.worker_bin.clone(),
        temporal: args.temporal_address.clone(),
        workers: args.workers.into(),
        target,
    })
    .await?;
    let result = bench(&stack, &plan, &args, &run, started).await;
    let keep = args.keep || result.is_err();
    if keep {
        eprintln!("stack data kept in {}", stack.data_dir().display());
    }
    stack.shutdown(keep);
    let results = result?;
    if let Some(path) = &args.out {
        std::fs::write(path, serde_json::to_vec_pretty(&results)?)?;
    }
    if let Some(path) = &args.markdown {
        std::fs::write(path, markdown::markdown(&results))?;
    }
    if let Some(dir) = &args.plots {
        report::plots(&results, dir)?;
    }
    println!("{}", markdown::markdown(&results));
    let h = &results.headline;
    println!(
        "orders_per_s={:.1} baseline_per_s={:.1} ratio={:.2} go_baseline_per_s={:.1}",
        h.orders_per_s, h.baseline_per_s, h.ratio, h.go_baseline_per_s
    );
    Ok(())
}

async fn bench(
    stack: &stack::Stack,
    plan: &Plan,
    args: &BenchArgs,
    run: &str,
    started: Instant,
) -> anyhow::Result<Results> {
    let temporal = orderflow_config::temporal_client(&orderflow_config::Settings {
        temporal_address: Some(stack.temporal_address.clone()),
        ..Default::default()
    })
    .await?;
    let driver = Driver {
        api: orderflow_client::api_client::ApiClient::new(&stack.api_url, &stack.acme_key),
        temporal,
        run: run.to_string(),
    };
    let mut results = Results::new(args.quick, &stack.settings);
    let log = |what: &str| eprintln!("[{:>5.1}s] {what}", started.elapsed().as_secs_f64());

    // Warm every worker (connections, caches, the JIT-free but lazy parts of the SDKs).
    log("warming up");
    for system in PARK_ORDER {
        segment(stack, &driver, system, 8, Duration::from_secs(3), "warm").await?;
    }

    // Throughput, at each level: short runs of each system in turn, B-O-G-G-O-B-B-O-G… (B the
    // Rust baseline, G the Go one), so that the load other processes put on the shared machine
    // weighs on all alike and each is as often first as last. Each run is a closed loop;
    // orders/s counts the orders completed in the `segment` seconds after every client has
    // finished its first order (the ramp-up), and neither the ramp-up nor the drain of the
    // orders in flight at the window's end.
    for &c in &plan.concurrency {
        let mut runs: Vec<Segment> = Vec::new();
        for round in 0..plan.segments {
            let order = if round % 2 == 0 {
                [System::Baseline, System::Orderflow, System::GoBaseline]
            } else {
                [System::GoBaseline, System::Orderflow, System::Baseline]
            };
            for system in order {
                let phase = format!("c{c}r{round}");
                runs.push(segment(stack, &driver, system, c, plan.segment, &phase).await?);
            }
        }
        for system in System::ALL {
            let point = ThroughputPoint::of(system, c, runs.iter().filter(|r| r.system == system));
            log(&format!(
                "c={c:<3} {:<11} {:>6.1} orders/s  p50 {:>6.1} ms  p99 {:>6.1} ms",
                system.name(),
                point.per_s,
                point.latency.p50_ms,
                point.latency.p99_ms
            ));
            results.throughput.push(point);
        }
    }
    results.set_headline();
    if args.throughput_only {
        results.seconds = started.elapsed().as_secs_f64();
        return Ok(results);
    }

    // Parked orders: memory per open order, then latencies on them.
    let mut parked = 0;
    let rss = || {
        [
            stack.worker_rss(),
            stack.baseline_rss(),
            stack.go_baseline_rss(),
        ]
    };
    let rss0 = rss();
    for (index, &target) in plan.park.iter().enumerate() {
        log(&format!("parking {target} orders of each system"));
        for system in PARK_ORDER {
            park(&driver, system, parked, target).await?;
        }
        parked = target;
        // Let the last activities and cache inserts settle before reading memory.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let point = MemoryPoint::new(target, rss0, rss());
        let kib = |b: Option<f64>| b.unwrap_or(0.0) / 1024.0;
        log(&format!(
            "{target} parked: orderflow {:.1} KiB/order, baseline {:.1} KiB/order, go-baseline \
             {:.1} KiB/order",
            kib(point.orderflow_bytes_per_order),
            kib(point.baseline_bytes_per_order),
            kib(point.go_baseline_bytes_per_order)
        ));
        results.memory.push(point);
        if index == 0 {
            latencies(&driver, plan.samples, target, &mut results, &log).await?;
        }
    }

    log("replaying ~1,000-event histories");
    results.replay_orderflow =
        Some(replay::measure(&driver, System::Orderflow, 1_000, plan.replays).await?);
    results.replay_baseline =
        Some(replay::measure(&driver, System::Baseline, 1_000, plan.replays).await?);
    results.seconds = started.elapsed().as_secs_f64();
    log("done");
    Ok(results)
}
