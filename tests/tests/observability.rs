//! Observability on a real stack (API and worker in their own processes): after one order,
//! each process's `GET /metrics` shows orderflow's families with bounded labels and the
//! Temporal SDK's worker metrics; a real Prometheus scrapes both and loads the alert rules;
//! a local OTLP/HTTP receiver gets one trace holding the order's submit, its supplier calls
//! and its webhook delivery; the JSON logs name the order on its lines. The rules and the
//! dashboard are checked against the scraped metric names.

#[path = "observability/otlp.rs"]
mod otlp;
#[path = "observability/prom.rs"]
mod prom;

use orderflow_devstack::{Supervisor, free_port};
use orderflow_telemetry::{LogFormat, TelemetrySettings};
use orderflow_tests::*;
use prom::{Page, sample};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(90);

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// `promtool` from Debian's `prometheus` package (`.ci/run` installs it).
fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(repo_file("deploy/prometheus"))
        .output()
        .expect("promtool not found: install Debian's `prometheus` package");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}: {text}");
    text
}

#[test]
fn alert_rules_and_the_prometheus_config_pass_promtool() {
    assert!(promtool(&["check", "rules", "alerts.yml"]).contains("SUCCESS: 4 rules found"));
    promtool(&["test", "rules", "alerts.test.yml"]);
    promtool(&["check", "config", "prometheus.yml"]);
}

/// The `address` a process logged for its `/metrics` (it binds port 0).
async fn metrics_address(stack: &Stack, log: &str) -> String {
    let path = stack.dir.join(log);
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(address) = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["message"] == "metrics at GET /metrics")
            .and_then(|l| l["address"].as_str().map(str::to_string))
        {
            return address;
        }
        assert!(start.elapsed() < T, "no metrics address in {log}:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Scrapes `address` until `ready` holds for the page.
async fn scrape_until(address: &str, what: &str, ready: impl Fn(&Page) -> bool) -> Page {
    let start = Instant::now();
    loop {
        let text = reqwest::get(format!("http://{address}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let page = prom::parse(&text);
        if ready(&page) {
            return page;
        }
        assert!(
            start.elapsed() < T,
            "{what} never showed on {address}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The receiver of the order's webhooks; answers 204.
async fn webhook_receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(|| async { axum::http::StatusCode::NO_CONTENT }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn one_order_shows_in_metrics_prometheus_one_trace_and_json_logs() {
    let spans = otlp::Receiver::start().await;
    let stack = Stack::start_with(
        "observability",
        StackOptions {
            telemetry: TelemetrySettings {
                metrics_address: Some("127.0.0.1:0".into()),
                otlp_endpoint: Some(spans.url.clone()),
                log_format: LogFormat::Json,
            },
            ..StackOptions::default()
        },
    )
    .await;
    let api_metrics = metrics_address(&stack, "api.log").await;
    let worker_metrics = metrics_address(&stack, "worker.log").await;
    let acme = stack.acme();
    let hook = json!({ "url": webhook_receiver().await, "topics": ["*"],
        "secret": "observability-test-secret-0123456789" });
    let reply = acme.post("/v1/webhooks", &hook).await.unwrap();
    assert_eq!(reply.status, 201, "{}", reply.body);

    // The order: two steps the supplier reports by callback.
    let id = new_id("obs");
    submit(
        &acme,
        &order(&id, &[("sim.steps", "2"), ("sim.async_steps", "true")]),
    )
    .await;
    wait_state(&acme, &id, "COMPLETE", T).await;
    // And one cancelled while a step runs: a decided request.
    let cancelled = new_id("obs-cancel");
    let slow = [("sim.steps", "1"), ("sim.step_ms", "30000")];
    submit(&acme, &order(&cancelled, &slow)).await;
    wait_state(&acme, &cancelled, "EXECUTION", T).await;
    let reply = acme
        .post(
            &format!("/v1/orders/{cancelled}/cancel"),
            &json!({ "reason": "observability test" }),
        )
        .await
        .unwrap();
    assert!(reply.status.is_success(), "{}", reply.body);
    wait_state(&acme, &cancelled, "CANCELLED", T).await;

    // The API's page: requests by route template, callbacks by type.
    let api = scrape_until(&api_metrics, "the order's API requests", |p| {
        sample(p, "orderflow_callbacks_total", &[("type", "STEP_DONE")]).is_some()
    })
    .await;
    let created = [
        ("method", "POST"),
        ("route", "/v1/orders"),
        ("status", "201"),
    ];
    assert!(sample(&api, "orderflow_http_requests_total", &created) >= Some(2.0));
    let got = [
        ("method", "GET"),
        ("route", "/v1/orders/{id}"),
        ("status", "200"),
    ];
    assert!(sample(&api, "orderflow_http_requests_total", &got) >= Some(1.0));
    assert!(
        sample(
            &api,
            "orderflow_http_request_duration_seconds_count",
            &[("route", "/v1/orders")]
        ) >= Some(2.0)
    );
    assert!(
        api.iter()
            .all(|s| s.labels.get("route").is_none_or(|r| !r.contains("obs-"))),
        "a raw path as a route label"
    );
    let callback = [("type", "STEP_DONE"), ("outcome", "accepted")];
    assert!(sample(&api, "orderflow_callbacks_total", &callback) >= Some(2.0));

    // The worker's page: supplier calls, transitions, requests, webhooks, the store's
    // gauges (read every 10 s) and the SDK's worker metrics.
    let worker = scrape_until(&worker_metrics, "the order's gauges", |p| {
        sample(p, "orderflow_orders", &[("state", "COMPLETE")]) == Some(1.0)
            && sample(p, "orderflow_orders", &[("state", "CANCELLED")]) == Some(1.0)
            && sample(p, "orderflow_webhook_deliveries_total", &[]).is_some()
    })
    .await;
    for call in ["validate", "transfer", "feasibility", "plan", "step"] {
        let labels = [("call", call), ("outcome", "ok")];
        assert!(
            sample(&worker, "orderflow_supplier_calls_total", &labels) >= Some(1.0),
            "{call}"
        );
        assert!(
            sample(
                &worker,
                "orderflow_supplier_call_duration_seconds_count",
                &[("call", call)]
            ) >= Some(1.0)
        );
    }
    for state in ["SUBMITTED", "EXECUTION", "COMPLETE", "CANCELLED"] {
        let labels = [("to_state", state)];
        assert!(sample(&worker, "orderflow_order_transitions_total", &labels) >= Some(1.0));
    }
    let decided = [("kind", "CANCELLATION"), ("outcome", "ACCEPTED")];
    assert_eq!(
        sample(&worker, "orderflow_requests_total", &decided),
        Some(1.0)
    );
    let delivered = [("outcome", "delivered")];
    assert!(sample(&worker, "orderflow_webhook_deliveries_total", &delivered) >= Some(1.0));
    assert!(sample(&worker, "orderflow_webhook_backlog", &[]).is_some());
    assert!(sample(&worker, "orderflow_webhook_oldest_pending_age_seconds", &[]).is_some());
    assert_eq!(
        sample(&worker, "orderflow_orders", &[("state", "ERROR_HANDLER")]),
        Some(0.0)
    );
    for family in [
        "temporal_workflow_task_execution_latency_seconds_count",
        "temporal_activity_execution_latency_seconds_count",
        "temporal_sticky_cache_size",
        "temporal_worker_task_slots_available",
        "temporal_num_pollers",
    ] {
        assert!(sample(&worker, family, &[]).is_some(), "{family}");
    }
    assert!(
        sample(
            &worker,
            "temporal_num_pollers",
            &[("poller_type", "workflow_task")]
        )
        .is_some()
    );

    // Every metric the dashboard and the alerts query is one the stack exports.
    let exported: BTreeSet<String> = api.iter().chain(&worker).map(prom::family).collect();
    for file in [
        "deploy/grafana/orderflow.json",
        "deploy/prometheus/alerts.yml",
    ] {
        let text = std::fs::read_to_string(repo_file(file)).unwrap();
        for name in prom::metric_names(&text) {
            assert!(
                exported.contains(&name),
                "{file} queries {name}, not exported"
            );
        }
    }

    scraped_by_prometheus(&stack, &[&api_metrics, &worker_metrics]).await;
    one_trace(&spans, &id).await;
    json_logs_name_the_order(&stack, &id);
}

/// A real Prometheus scrapes both processes and loads the alert rules.
async fn scraped_by_prometheus(stack: &Stack, targets: &[&str]) {
    let dir = stack.dir.join("prometheus");
    std::fs::create_dir_all(&dir).unwrap();
    let rules = repo_file("deploy/prometheus/alerts.yml");
    let config = json!({
        "global": { "scrape_interval": "1s", "evaluation_interval": "1s" },
        "rule_files": [rules.canonicalize().unwrap()],
        "scrape_configs": [{ "job_name": "orderflow", "static_configs": [{ "targets": targets }] }],
    });
    // JSON is YAML.
    std::fs::write(dir.join("prometheus.yml"), config.to_string()).unwrap();
    let port = free_port();
    let mut cmd = Command::new("prometheus");
    cmd.arg(format!(
        "--config.file={}",
        dir.join("prometheus.yml").display()
    ))
    .arg(format!(
        "--storage.tsdb.path={}",
        dir.join("data").display()
    ))
    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
    .stdout(std::fs::File::create(dir.join("prometheus.log")).unwrap())
    .stderr(std::fs::File::create(dir.join("prometheus.err")).unwrap());
    let supervisor = Supervisor::new();
    let mut child = supervisor
        .spawn(cmd)
        .expect("prometheus not found: install Debian's `prometheus` package");
    let query = |q: &str| {
        let url = format!("http://127.0.0.1:{port}/api/v1/query");
        let q = q.to_string();
        async move {
            let reply = reqwest::Client::new()
                .get(url)
                .query(&[("query", q)])
                .send()
                .await
                .ok()?;
            reply.json::<Value>().await.ok()
        }
    };
    let start = Instant::now();
    loop {
        let up = query("sum(up)").await;
        let orders = query(r#"orderflow_orders{state="COMPLETE"}"#).await;
        let pollers = query("temporal_num_pollers").await;
        let value = |v: &Option<Value>| v.as_ref().map(|v| v["data"]["result"].clone());
        if value(&up).is_some_and(|r| r[0]["value"][1] == "2")
            && value(&orders).is_some_and(|r| r[0]["value"][1] == "1")
            && value(&pollers).is_some_and(|r| r.as_array().is_some_and(|a| !a.is_empty()))
        {
            break;
        }
        assert!(
            start.elapsed() < T,
            "Prometheus never scraped the stack: up {up:?}, orders {orders:?}\n{}",
            std::fs::read_to_string(dir.join("prometheus.err")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let rules: Value = reqwest::get(format!("http://127.0.0.1:{port}/api/v1/rules"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let loaded = rules["data"]["groups"][0]["rules"].as_array().unwrap();
    assert_eq!(loaded.len(), 4, "{rules}");
    assert!(loaded.iter().all(|r| r["health"] == "ok"), "{rules}");
    let _ = child.kill();
    let _ = child.wait();
}

/// The order's submit, its supplier calls and its first webhook delivery share one trace,
/// which crosses the API and the worker through Temporal's headers.
async fn one_trace(spans: &otlp::Receiver, order_id: &str) {
    let start = Instant::now();
    loop {
        let all = spans.spans();
        let submit = all
            .iter()
            .find(|s| s.name == "POST /v1/orders" && s.service == "orderflow-api");
        if let Some(submit) = submit {
            let trace: Vec<&otlp::Span> = all
                .iter()
                .filter(|s| s.trace_id == submit.trace_id)
                .collect();
            let has = |name: &str, key: &str, value: &str| {
                trace
                    .iter()
                    .any(|s| s.name == name && s.attributes.get(key).is_some_and(|v| v == value))
            };
            let calls = ["validate", "transfer", "feasibility", "plan", "step"];
            if calls.iter().all(|c| has("supplier.call", "call", c))
                && has("webhook.deliver", "order_id", order_id)
                && has("store.record", "seq", "1")
            {
                assert!(
                    trace
                        .iter()
                        .any(|s| s.name == "StartWorkflow:OrderWorkflow")
                );
                assert!(trace.iter().any(|s| s.name.starts_with("RunActivity:")));
                // The activity spans (named by activity type) name the order.
                assert!(trace.iter().any(|s| s.attributes.contains_key("activity")
                    && s.attributes.get("order_id").is_some_and(|o| o == order_id)
                    && s.attributes.get("tenant_id").is_some_and(|t| t == "acme")));
                let services: BTreeSet<&str> = trace.iter().map(|s| s.service.as_str()).collect();
                assert!(services.contains("orderflow-worker"), "{services:?}");
                return;
            }
        }
        assert!(
            start.elapsed() < T,
            "no single trace of the order; spans: {:#?}",
            all.iter()
                .map(|s| (&s.name, &s.service, &s.trace_id))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Every JSON log line of the worker that names the order also names its tenant, workflow
/// and trace.
fn json_logs_name_the_order(stack: &Stack, order_id: &str) {
    let text = std::fs::read_to_string(stack.dir.join("worker.log")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let about: Vec<&Value> = lines.iter().filter(|l| l["order_id"] == order_id).collect();
    assert!(
        about.iter().any(|l| l["to_state"] == "COMPLETE"),
        "no log line of the order's completion:\n{text}"
    );
    for line in about {
        assert_eq!(line["tenant_id"], "acme", "{line}");
        assert_eq!(
            line["workflow_id"],
            format!("order/acme/{order_id}"),
            "{line}"
        );
        assert!(
            line["trace_id"].as_str().is_some_and(|t| t.len() == 32),
            "{line}"
        );
    }
}
