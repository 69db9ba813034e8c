//! One measurement each: a closed-loop throughput segment with its CPU and server costs,
//! parking workflows, and request latencies on parked orders.

use crate::drive::{self, Driver, System};
use crate::report::Results;
use crate::stats::Summary;
use crate::{metrics, stack};
use std::time::{Duration, Instant};

/// Plan steps of a benchmark order: three, the size of a typical fulfilment plan.
const STEPS: u32 = 3;

/// The server's database counters, or none when the stack was not booted here.
async fn server_counters(stack: &stack::Stack) -> std::collections::BTreeMap<String, f64> {
    match &stack.metrics_url {
        Some(url) => metrics::scrape(url).await.unwrap_or_default(),
        None => Default::default(),
    }
}

/// CPU used by each process between two readings.
fn cpu_delta(
    before: &[(&'static str, Duration)],
    after: &[(&'static str, Duration)],
) -> Vec<(&'static str, Duration)> {
    after
        .iter()
        .map(|(name, t)| {
            let t0 = before
                .iter()
                .find(|b| b.0 == *name)
                .map_or(Duration::ZERO, |b| b.1);
            (*name, t.saturating_sub(t0))
        })
        .collect()
}

/// One closed-loop run of one system: what it completed and what it cost.
pub struct Segment {
    pub system: System,
    /// Seconds of the counted window, and the orders completed in it.
    pub window_secs: f64,
    pub completed: usize,
    /// Submit-to-completion latency of the orders completed in the window.
    pub latencies: Vec<Duration>,
    /// Orders completed in the whole run (window, ramp-up and drain), which the costs below
    /// are divided by.
    pub orders: usize,
    pub cpu: Vec<(&'static str, Duration)>,
    pub server_ops: std::collections::BTreeMap<String, f64>,
}

pub async fn segment(
    stack: &stack::Stack,
    driver: &Driver,
    system: System,
    concurrency: usize,
    length: Duration,
    phase: &str,
) -> anyhow::Result<Segment> {
    let before = (stack.cpu(), server_counters(stack).await);
    let (d, phase) = (driver.clone(), format!("{phase}-{}", system.name()));
    let timed = drive::closed_loop_for(concurrency, length, move |i| {
        let (d, id) = (d.clone(), d.id(&phase, i));
        async move { d.one(system, &id, STEPS, false).await }
    })
    .await?;
    let cpu = cpu_delta(&before.0, &stack.cpu());
    // The server publishes its counters about once a second.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let spans = timed.spans;
    let orders = spans.len().max(1);
    let server_ops = metrics::per_unit(&before.1, &server_counters(stack).await, orders);
    let (from, to) = (timed.ramp_end, timed.ramp_end + length);
    let counted: Vec<&drive::Span> = spans
        .iter()
        .filter(|(_, end)| *end >= from && *end <= to)
        .collect();
    Ok(Segment {
        system,
        window_secs: (to - from).as_secs_f64(),
        completed: counted.len(),
        latencies: counted.iter().map(|(s, e)| *e - *s).collect(),
        orders,
        cpu,
        server_ops,
    })
}

/// The order in which the systems park workflows and answer latency samples (the baselines
/// first, as before the Go baseline was added).
pub const PARK_ORDER: [System; 3] = [System::Baseline, System::GoBaseline, System::Orderflow];

/// Parks workflows `from..to` of the system and waits until all `to` are parked.
pub async fn park(driver: &Driver, system: System, from: usize, to: usize) -> anyhow::Result<()> {
    let d = driver.clone();
    let phase = format!("park-{}", system.name());
    drive::closed_loop(32, to - from, move |i| {
        let (d, id) = (d.clone(), d.id(&phase, from + i));
        async move { d.one(system, &id, STEPS, true).await }
    })
    .await?;
    let start = Instant::now();
    loop {
        let n = driver.parked(system).await?;
        if n >= to {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(1800) {
            anyhow::bail!("only {n} of {to} {} workflows parked", system.name());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Amendment and query latencies on parked orders, one request at a time.
pub async fn latencies(
    driver: &Driver,
    samples: usize,
    parked: usize,
    results: &mut Results,
    log: &impl Fn(&str),
) -> anyhow::Result<()> {
    let id = |system: System, i: usize| driver.id(&format!("park-{}", system.name()), i % parked);
    async fn timed(
        n: usize,
        f: impl AsyncFn(usize) -> anyhow::Result<()>,
    ) -> anyhow::Result<Vec<Duration>> {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let t = Instant::now();
            f(i).await?;
            out.push(t.elapsed());
        }
        Ok(out)
    }
    log("amendment round trips");
    for system in PARK_ORDER {
        let s = Summary::of(
            &timed(samples, async |i| {
                driver.update(system, &id(system, i), i).await
            })
            .await?,
        );
        *match system {
            System::Orderflow => &mut results.update_orderflow,
            System::Baseline => &mut results.update_baseline,
            System::GoBaseline => &mut results.update_go_baseline,
        } = s;
    }
    log("queries");
    for system in PARK_ORDER {
        let s = Summary::of(
            &timed(samples, async |i| {
                driver.query(system, &id(system, i)).await
            })
            .await?,
        );
        *match system {
            System::Orderflow => &mut results.query_orderflow,
            System::Baseline => &mut results.query_baseline,
            System::GoBaseline => &mut results.query_go_baseline,
        } = s;
    }
    results.api_get = Summary::of(
        &timed(samples, async |i| {
            driver.api_get(&id(System::Orderflow, i)).await
        })
        .await?,
    );
    Ok(())
}
