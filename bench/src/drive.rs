//! Drives work through the systems under test the same way: orderflow through its HTTP API
//! (as a tenant would), the two baselines through the Temporal client. Completion is awaited
//! the same way for all: a long poll on the workflow's close event.

use crate::baseline::{BASELINE_QUEUE, BaselineInput, BaselineWorkflow};
use crate::go_baseline::GO_BASELINE_QUEUE;
use anyhow::{Context, bail};
use orderflow_client::api_client::ApiClient;
use orderflow_domain::model::workflow_id;
use orderflow_workflows::OrderWorkflow;
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use temporalio_client::{
    Client, WorkflowExecuteUpdateOptions, WorkflowGetResultOptions, WorkflowQueryOptions,
    WorkflowStartOptions,
};

pub const TENANT: &str = "acme";

/// Which system a figure is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum System {
    Orderflow,
    /// The Rust SDK baseline (`baseline.rs`).
    Baseline,
    /// The same workflow on the Go SDK (`bench/go-baseline`), started with the same typed
    /// call: it is registered under the Rust workflow's type name.
    GoBaseline,
}

impl System {
    /// Every system, in the order figures are reported.
    pub const ALL: [System; 3] = [System::Orderflow, System::Baseline, System::GoBaseline];

    pub fn name(self) -> &'static str {
        match self {
            System::Orderflow => "orderflow",
            System::Baseline => "baseline",
            System::GoBaseline => "go-baseline",
        }
    }

    /// The task queue its workflows run on.
    pub fn task_queue(self) -> &'static str {
        match self {
            System::Orderflow => orderflow_config::TASK_QUEUE,
            System::Baseline => BASELINE_QUEUE,
            System::GoBaseline => GO_BASELINE_QUEUE,
        }
    }
}

/// Everything needed to talk to both systems.
#[derive(Clone)]
pub struct Driver {
    pub api: ApiClient,
    pub temporal: Client,
    /// Makes ids unique per benchmark run and phase.
    pub run: String,
}

/// An order body with the simulator knobs of the benchmark.
pub fn order_body(order_id: &str, knobs: &[(&str, String)]) -> Value {
    orderflow_client::sample::order(order_id, "benchmark order", knobs)
}

/// Knobs of an order that runs `steps` steps at once (`sim.step_ms=0`).
pub fn fast_knobs(steps: u32) -> Vec<(&'static str, String)> {
    vec![
        ("sim.steps", steps.to_string()),
        ("sim.step_ms", "0".into()),
    ]
}

/// Knobs of an order that parks in EXECUTION: its first step is taken on asynchronously and
/// its callback is due only after a day.
pub fn parked_knobs() -> Vec<(&'static str, String)> {
    vec![
        ("sim.steps", "3".into()),
        ("sim.async_steps", "true".into()),
        ("sim.step_ms", "86400000".into()),
    ]
}

/// The longest one benchmark workflow may take to finish (a 1,000-event one takes seconds).
const ORDER_DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);

impl Driver {
    pub fn id(&self, phase: &str, i: usize) -> String {
        format!("{}-{phase}-{i}", self.run)
    }

    /// Submits an order through the API.
    pub async fn submit(&self, order_id: &str, knobs: &[(&str, String)]) -> anyhow::Result<()> {
        let reply = self
            .api
            .post("/v1/orders", &order_body(order_id, knobs))
            .await?;
        if reply.status != 201 {
            bail!("submit {order_id}: {} {}", reply.status, reply.body);
        }
        Ok(())
    }

    fn order_handle(
        &self,
        order_id: &str,
    ) -> temporalio_client::WorkflowHandle<Client, OrderWorkflow> {
        self.temporal
            .get_workflow_handle::<OrderWorkflow>(workflow_id(TENANT, order_id))
    }

    fn baseline_handle(
        &self,
        id: &str,
    ) -> temporalio_client::WorkflowHandle<Client, BaselineWorkflow> {
        self.temporal.get_workflow_handle::<BaselineWorkflow>(id)
    }

    /// Starts one unit of work and, unless `park`, waits for it to complete.
    pub async fn one(
        &self,
        system: System,
        id: &str,
        steps: u32,
        park: bool,
    ) -> anyhow::Result<()> {
        match system {
            System::Orderflow => {
                let knobs = if park {
                    parked_knobs()
                } else {
                    fast_knobs(steps)
                };
                self.submit(id, &knobs).await?;
                if !park {
                    // An order that cannot finish (parked in ERROR_HANDLER, say) fails the
                    // run instead of hanging it.
                    let handle = self.order_handle(id);
                    let result = handle.get_result(WorkflowGetResultOptions::default());
                    let view = tokio::time::timeout(ORDER_DEADLINE, result)
                        .await
                        .with_context(|| {
                            format!("order {id} did not finish in {ORDER_DEADLINE:?}")
                        })?
                        .with_context(|| format!("waiting for order {id}"))?;
                    if view.state.as_str() != "COMPLETE" {
                        bail!("order {id} ended in {}", view.state);
                    }
                }
            }
            System::Baseline | System::GoBaseline => {
                self.temporal
                    .start_workflow(
                        BaselineWorkflow::run,
                        BaselineInput { steps, park },
                        WorkflowStartOptions::new(system.task_queue(), id).build(),
                    )
                    .await
                    .with_context(|| format!("starting baseline {id}"))?;
                if !park {
                    // By workflow id alone, as an order's (the API answers no run id): the
                    // server looks the current run up for both.
                    let handle = self.baseline_handle(id);
                    tokio::time::timeout(
                        ORDER_DEADLINE,
                        handle.get_result(WorkflowGetResultOptions::default()),
                    )
                    .await
                    .with_context(|| format!("baseline {id} did not finish in {ORDER_DEADLINE:?}"))?
                    .with_context(|| format!("waiting for baseline {id}"))?;
                }
            }
        }
        Ok(())
    }

    /// How many of this run's workflows are parked (EXECUTION, waiting for a callback).
    /// Only this run's: visibility lags behind on a cluster, so workflows of an earlier phase
    /// or run could still show as parked for a while, and a count of them taken before
    /// parking could not be subtracted from one taken after.
    pub async fn parked(&self, system: System) -> anyhow::Result<usize> {
        // The ids of the park phases (`park-orderflow`, `park-baseline`, `park-go-baseline`;
        // see `Driver::id`); the task queue tells the two baselines apart.
        let prefix = format!("{}-park-", self.run);
        let (state, prefix) = match system {
            System::Orderflow => ("EXECUTION", workflow_id(TENANT, &prefix)),
            System::Baseline | System::GoBaseline => ("PARKED", prefix),
        };
        let query = format!(
            "OrderState = '{state}' AND ExecutionStatus = 'Running' AND TaskQueue = '{}' \
             AND WorkflowId STARTS_WITH '{prefix}'",
            system.task_queue()
        );
        let count = self
            .temporal
            .count_workflows(query, Default::default())
            .await?;
        Ok(count.count())
    }

    /// One amendment (orderflow: `PATCH` of `notes` on an order in EXECUTION, decided by the
    /// supplier at once) or its baseline stand-in (an Update running the same activities).
    pub async fn update(&self, system: System, id: &str, i: usize) -> anyhow::Result<()> {
        match system {
            System::Orderflow => {
                let body = json!({
                    "order_ref": format!("PO-{id}"),
                    "changes": { "notes": format!("amended by the benchmark ({i})") },
                });
                let reply = self
                    .api
                    .send(
                        reqwest::Method::PATCH,
                        &format!("/v1/orders/{id}"),
                        Some(&body),
                    )
                    .await?;
                if reply.status != 200 || reply.body["amendment"]["state"] != "ACCEPTED" {
                    bail!("amend {id}: {} {}", reply.status, reply.body);
                }
            }
            System::Baseline | System::GoBaseline => {
                self.baseline_handle(id)
                    .execute_update(
                        BaselineWorkflow::touch,
                        i as u32,
                        WorkflowExecuteUpdateOptions::default(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// One `status` query of the workflow.
    pub async fn query(&self, system: System, id: &str) -> anyhow::Result<()> {
        match system {
            System::Orderflow => {
                self.order_handle(id)
                    .query(OrderWorkflow::status, (), WorkflowQueryOptions::default())
                    .await?;
            }
            System::Baseline | System::GoBaseline => {
                self.baseline_handle(id)
                    .query(
                        BaselineWorkflow::status,
                        (),
                        WorkflowQueryOptions::default(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// One read of the order through the API (served from the database).
    pub async fn api_get(&self, id: &str) -> anyhow::Result<()> {
        let reply = self.api.get(&format!("/v1/orders/{id}")).await?;
        if reply.status != 200 {
            bail!("get {id}: {} {}", reply.status, reply.body);
        }
        Ok(())
    }
}

/// Runs `total` jobs with `concurrency` workers, each starting its next job as soon as the
/// previous one finishes (a closed loop).
pub async fn closed_loop<F, Fut>(concurrency: usize, total: usize, job: F) -> anyhow::Result<()>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    run_loop(concurrency, Some(total), None, job)
        .await
        .map(|_| ())
}

/// One job's start and end.
pub type Span = (Instant, Instant);

/// What a timed closed loop did: every job's span, and the end of its ramp-up.
pub struct Timed {
    pub spans: Vec<Span>,
    /// When the last client finished its first job. Every client starts at once, so until then
    /// the system serves a burst rather than the steady loop; the counted window begins here.
    pub ramp_end: Instant,
}

/// Like [`closed_loop`], until `window` after its ramp-up ([`Timed::ramp_end`]): no job
/// starts after that, the jobs in flight finish. A fixed ramp-up would count part of the burst
/// whenever an order takes longer than it (seconds, at high concurrency), which favours the
/// system with the shorter latency.
pub async fn closed_loop_for<F, Fut>(
    concurrency: usize,
    window: Duration,
    job: F,
) -> anyhow::Result<Timed>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let ramp = Arc::new(Ramp::new(concurrency.max(1), window));
    let spans = run_loop(concurrency, None, Some(ramp.clone()), job).await?;
    let ramp_end = ramp.end().unwrap_or_else(Instant::now);
    Ok(Timed { spans, ramp_end })
}

/// Counts the clients that finished a first job; the loop's deadline is `window` after the
/// last of them.
struct Ramp {
    clients: usize,
    window: Duration,
    first_done: AtomicUsize,
    end: std::sync::OnceLock<Instant>,
}

impl Ramp {
    fn new(clients: usize, window: Duration) -> Self {
        Self {
            clients,
            window,
            first_done: AtomicUsize::new(0),
            end: std::sync::OnceLock::new(),
        }
    }

    fn first_job_done(&self) {
        if self.first_done.fetch_add(1, Ordering::SeqCst) + 1 == self.clients {
            let _ = self.end.set(Instant::now());
        }
    }

    fn end(&self) -> Option<Instant> {
        self.end.get().copied()
    }

    fn past_deadline(&self) -> bool {
        self.end()
            .is_some_and(|end| Instant::now() >= end + self.window)
    }
}

async fn run_loop<F, Fut>(
    concurrency: usize,
    total: Option<usize>,
    ramp: Option<Arc<Ramp>>,
    job: F,
) -> anyhow::Result<Vec<Span>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (next, job, ramp) = (next.clone(), job.clone(), ramp.clone());
        workers.push(tokio::spawn(async move {
            let mut spans = Vec::new();
            loop {
                if ramp.as_ref().is_some_and(|r| r.past_deadline()) {
                    return anyhow::Ok(spans);
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if total.is_some_and(|t| i >= t) {
                    return anyhow::Ok(spans);
                }
                let t = Instant::now();
                job(i).await?;
                spans.push((t, Instant::now()));
                if spans.len() == 1
                    && let Some(r) = &ramp
                {
                    r.first_job_done();
                }
            }
        }));
    }
    let mut spans = Vec::new();
    for w in workers {
        spans.extend(w.await??);
    }
    Ok(spans)
}
