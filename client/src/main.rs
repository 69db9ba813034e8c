//! `orderflow`: operate orders from the command line, and run the API, the supplier
//! simulator or the whole local stack.

use anyhow::Context;
use clap::{Parser, Subcommand};
use orderflow_activities::config::Settings;
use orderflow_client::api_client::ApiClient;
use orderflow_client::timeline;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "orderflow",
    version,
    about = "Order-fulfilment orchestrator on Temporal"
)]
struct Cli {
    /// Base URL of the orderflow API.
    #[arg(
        long,
        global = true,
        env = "ORDERFLOW_API_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    api_url: String,
    /// Tenant API key (tenant commands).
    #[arg(
        long,
        global = true,
        env = "ORDERFLOW_API_KEY",
        default_value = "dev-acme-key",
        hide_env_values = true
    )]
    api_key: String,
    /// Operator token (suspend, resume, retry, withdraw).
    #[arg(
        long,
        global = true,
        env = "ORDERFLOW_OPERATOR_TOKEN",
        default_value = "dev-operator-token",
        hide_env_values = true
    )]
    operator_token: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole local stack: Temporal dev server + Web UI, API, worker, supplier simulator.
    Dev {
        #[arg(long, default_value = ".orderflow-dev")]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 8080)]
        api_port: u16,
        #[arg(long, default_value_t = 7233)]
        temporal_port: u16,
        #[arg(long, default_value_t = 8233)]
        ui_port: u16,
        #[arg(long, default_value_t = 8090)]
        sim_port: u16,
        /// Serve Prometheus metrics of the API and the worker at GET /metrics on this port.
        #[arg(long)]
        metrics_port: Option<u16>,
    },
    /// Serve the HTTP API (configuration: ORDERFLOW_CONFIG, ORDERFLOW_DATABASE_URL, TEMPORAL_*).
    Serve {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
    },
    /// Run the supplier simulator (a real HTTP supplier).
    SupplierSim {
        #[arg(long, default_value_t = 8090)]
        port: u16,
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        callback_url: String,
        #[arg(long, env = "ORDERFLOW_SIM_SECRET", hide_env_values = true)]
        secret: String,
    },
    /// Print the path of the Temporal CLI, building it first if needed.
    TemporalCli,
    /// Print the API's OpenAPI 3.1 document (the one served at `/openapi.json`).
    Openapi,
    /// Submit an order (from a JSON file, or from flags).
    Submit {
        /// JSON file with the order (`-` for stdin); flags below are ignored when given.
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long)]
        order_id: Option<String>,
        #[arg(long)]
        order_ref: Option<String>,
        #[arg(long, default_value = "sim")]
        supplier: String,
        #[arg(long = "type", default_value = "PROVIDE")]
        order_type: String,
        /// A line as PRODUCT:QUANTITY:UNIT_PRICE (repeatable).
        #[arg(long = "line")]
        lines: Vec<String>,
        /// An attribute as KEY=VALUE (repeatable), e.g. sim.steps=5.
        #[arg(long = "attr")]
        attributes: Vec<String>,
        #[arg(long)]
        recurring: bool,
        /// Create a draft (`"place": false`): stored only, placed later with `place`.
        #[arg(long, conflicts_with = "watch")]
        draft: bool,
        /// Follow the order's timeline until it ends.
        #[arg(long)]
        watch: bool,
    },
    /// Replace a draft with the order in a JSON file (PUT; drafts only).
    Update {
        order_id: String,
        /// JSON file with the whole order, as for `submit --file` (`-` for stdin).
        #[arg(long)]
        file: PathBuf,
    },
    /// Place a draft: start its fulfilment.
    Place {
        order_id: String,
        /// Follow the order's timeline until it ends.
        #[arg(long)]
        watch: bool,
    },
    /// Delete a draft (a placed order is cancelled, not deleted).
    Delete { order_id: String },
    /// Amend an order (or preview what an amendment would do).
    Amend {
        order_id: String,
        /// FIELD=VALUE (repeatable); VALUE is read as JSON when it parses, else as a string.
        /// An empty value removes the field.
        #[arg(long = "set")]
        set: Vec<String>,
        /// JSON file with the whole `changes` object (`-` for stdin).
        #[arg(long, conflicts_with = "set")]
        file: Option<PathBuf>,
        /// The order's order_ref (default: read from the order).
        #[arg(long)]
        order_ref: Option<String>,
        /// Only the revision given here may be amended (If-Match).
        #[arg(long)]
        if_match: Option<u32>,
        #[arg(long)]
        idempotency_key: Option<String>,
        /// Show what would happen, change nothing.
        #[arg(long)]
        preview: bool,
    },
    /// Cancel an order (or schedule an ACTIVE subscription's deactivation).
    Cancel {
        order_id: String,
        /// Why (required).
        #[arg(long)]
        reason: String,
        /// Required to cancel an unsolicited cease, e.g. CUSTOMER_RETAINED.
        #[arg(long)]
        reason_code: Option<String>,
        #[command(flatten)]
        when: Effective,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Reactivate an INACTIVE subscription, now or later (or drop a scheduled cancellation).
    Reactivate {
        order_id: String,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        when: Effective,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// What may change on an order now, and how.
    Capabilities { order_id: String },
    /// Show an order.
    Get {
        order_id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// List orders.
    List {
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        supplier: Option<String>,
    },
    /// List an order's events.
    Events { order_id: String },
    /// Follow an order live until it ends.
    Watch { order_id: String },
    /// Operator: hold an order.
    Suspend(OperatorArgs),
    /// Operator: resume a held order.
    Resume(OperatorArgs),
    /// Operator: retry the failed step of an order in ERROR_HANDLER.
    Retry(OperatorArgs),
    /// Operator: withdraw an order (PRE_QUALIFICATION_FAILED, ERROR_HANDLER or SUSPENDED).
    Withdraw(OperatorArgs),
}

/// When a cancellation or reactivation takes effect (default: now).
#[derive(clap::Args)]
struct Effective {
    /// YYYY-MM-DD (start of the day, UTC).
    #[arg(long, conflicts_with = "effective_at")]
    effective_date: Option<String>,
    /// RFC 3339, e.g. 2026-12-01T09:00:00Z.
    #[arg(long)]
    effective_at: Option<String>,
}

impl Effective {
    fn add_to(self, body: &mut Value) {
        if let Some(d) = self.effective_date {
            body["effective_date"] = json!(d);
        }
        if let Some(a) = self.effective_at {
            body["effective_at"] = json!(a);
        }
    }
}

/// POSTs a tenant's request with an optional Idempotency-Key and prints the answer.
async fn request(
    tenant: &ApiClient,
    path: &str,
    body: &Value,
    idempotency_key: Option<String>,
) -> anyhow::Result<()> {
    let headers: Vec<(&str, String)> = idempotency_key
        .map(|k| ("Idempotency-Key", k))
        .into_iter()
        .collect();
    let reply = tenant
        .send_with_headers(reqwest::Method::POST, path, Some(body), &headers)
        .await?;
    print(&reply.ok()?);
    Ok(())
}

#[derive(clap::Args)]
struct OperatorArgs {
    order_id: String,
    /// The order's tenant.
    #[arg(long, default_value = "acme")]
    tenant: String,
    #[arg(long)]
    reason: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // `serve` and `dev` log and trace as the configuration says; other commands log text.
    let (telemetry, service) = match &cli.command {
        Command::Serve { .. } => (Settings::load()?.telemetry, "orderflow-api"),
        Command::Dev { .. } => (Settings::load()?.telemetry, "orderflow-dev"),
        _ => (Default::default(), "orderflow"),
    };
    let _telemetry = orderflow_telemetry::init(&telemetry, service)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli))
}

fn print(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let tenant = ApiClient::new(&cli.api_url, &cli.api_key);
    let operator = ApiClient::new(&cli.api_url, &cli.operator_token);
    match cli.command {
        Command::Dev {
            data_dir,
            api_port,
            temporal_port,
            ui_port,
            sim_port,
            metrics_port,
        } => {
            orderflow_client::dev::run(orderflow_client::dev::DevOptions {
                data_dir,
                api_port,
                temporal_port,
                ui_port,
                sim_port,
                metrics_port,
            })
            .await
        }
        Command::Serve { port, bind } => {
            let settings = Settings::load()?;
            let listener = tokio::net::TcpListener::bind((bind.as_str(), port))
                .await
                .with_context(|| format!("binding {bind}:{port}"))?;
            orderflow_api::serve(listener, settings, orderflow_worker::shutdown_signal()).await
        }
        Command::SupplierSim {
            port,
            data_dir,
            callback_url,
            secret,
        } => {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .with_context(|| format!("binding 127.0.0.1:{port}"))?;
            eprintln!("supplier simulator on http://{}", listener.local_addr()?);
            orderflow_supplier_sim::serve(
                listener,
                orderflow_supplier_sim::SimConfig {
                    data_dir,
                    callback_url,
                    secret,
                },
                orderflow_worker::shutdown_signal(),
            )
            .await
        }
        Command::Openapi => {
            println!("{}", orderflow_api::openapi_document().to_pretty_json()?);
            Ok(())
        }
        Command::TemporalCli => {
            let path =
                tokio::task::spawn_blocking(orderflow_client::temporal_cli::ensure).await??;
            println!("{}", path.display());
            Ok(())
        }
        Command::Submit {
            file,
            order_id,
            order_ref,
            supplier,
            order_type,
            lines,
            attributes,
            recurring,
            draft,
            watch,
        } => {
            let mut body = match file {
                Some(path) => read_json(&path, "order")?,
                None => order_from_flags(
                    order_id, order_ref, supplier, order_type, lines, attributes, recurring,
                )?,
            };
            if draft {
                body.as_object_mut()
                    .context("the order must be a JSON object")?
                    .insert("place".into(), Value::Bool(false));
            }
            let order = tenant.post("/v1/orders", &body).await?.ok()?;
            print(&order);
            if watch {
                let id = order["order_id"].as_str().unwrap_or_default().to_string();
                watch_order(&tenant, &id).await?;
            }
            Ok(())
        }
        Command::Update { order_id, file } => {
            let body = read_json(&file, "order")?;
            print(
                &tenant
                    .put(&format!("/v1/orders/{order_id}"), &body)
                    .await?
                    .ok()?,
            );
            Ok(())
        }
        Command::Place { order_id, watch } => {
            let order = tenant
                .post(&format!("/v1/orders/{order_id}/place"), &json!({}))
                .await?
                .ok()?;
            print(&order);
            if watch {
                watch_order(&tenant, &order_id).await?;
            }
            Ok(())
        }
        Command::Delete { order_id } => {
            tenant
                .delete(&format!("/v1/orders/{order_id}"))
                .await?
                .ok()?;
            println!("draft {order_id} deleted");
            Ok(())
        }
        Command::Get {
            order_id,
            tenant: t,
        } => {
            let view = match t {
                Some(t) => {
                    operator
                        .get(&format!("/v1/orders/{order_id}?tenant_id={t}"))
                        .await?
                }
                None => tenant.get(&format!("/v1/orders/{order_id}")).await?,
            };
            print(&view.ok()?);
            Ok(())
        }
        Command::List { state, supplier } => {
            let mut query = vec![];
            if let Some(s) = state {
                query.push(format!("state={s}"));
            }
            if let Some(s) = supplier {
                query.push(format!("supplier_id={s}"));
            }
            let list = tenant
                .get(&format!("/v1/orders?{}", query.join("&")))
                .await?
                .ok()?;
            for o in list["orders"].as_array().into_iter().flatten() {
                println!(
                    "{:<40} {:<26} rev {:<3} {:<12} {}",
                    o["order_id"].as_str().unwrap_or(""),
                    o["state"].as_str().unwrap_or(""),
                    o["revision"],
                    o["supplier_id"].as_str().unwrap_or(""),
                    o["order_ref"].as_str().unwrap_or("")
                );
            }
            Ok(())
        }
        Command::Events { order_id } => {
            let events = tenant
                .get(&format!("/v1/orders/{order_id}/events"))
                .await?
                .ok()?;
            for e in events["events"].as_array().into_iter().flatten() {
                println!("{}", timeline::line(e));
            }
            Ok(())
        }
        Command::Watch { order_id } => watch_order(&tenant, &order_id).await,
        Command::Amend {
            order_id,
            set,
            file,
            order_ref,
            if_match,
            idempotency_key,
            preview,
        } => {
            let changes = match file {
                Some(path) => read_json(&path, "changes")?,
                None => changes_from_flags(&set)?,
            };
            let order_ref = match order_ref {
                Some(r) => r,
                None => {
                    let order = tenant.get(&format!("/v1/orders/{order_id}")).await?.ok()?;
                    order["order_ref"].as_str().unwrap_or_default().to_string()
                }
            };
            let body = json!({ "order_ref": order_ref, "changes": changes });
            let reply = if preview {
                tenant
                    .post(&format!("/v1/orders/{order_id}/amendments:preview"), &body)
                    .await?
            } else {
                let mut headers = vec![];
                if let Some(r) = if_match {
                    headers.push(("If-Match", r.to_string()));
                }
                if let Some(k) = idempotency_key {
                    headers.push(("Idempotency-Key", k));
                }
                tenant
                    .send_with_headers(
                        reqwest::Method::PATCH,
                        &format!("/v1/orders/{order_id}"),
                        Some(&body),
                        &headers,
                    )
                    .await?
            };
            print(&reply.ok()?);
            Ok(())
        }
        Command::Cancel {
            order_id,
            reason,
            reason_code,
            when,
            idempotency_key,
        } => {
            let mut body = json!({ "reason": reason });
            if let Some(code) = reason_code {
                body["reason_code"] = json!(code);
            }
            when.add_to(&mut body);
            let path = format!("/v1/orders/{order_id}/cancel");
            request(&tenant, &path, &body, idempotency_key).await
        }
        Command::Reactivate {
            order_id,
            reason,
            when,
            idempotency_key,
        } => {
            let mut body = json!({});
            if let Some(r) = reason {
                body["reason"] = json!(r);
            }
            when.add_to(&mut body);
            let path = format!("/v1/orders/{order_id}/reactivate");
            request(&tenant, &path, &body, idempotency_key).await
        }
        Command::Capabilities { order_id } => {
            print(
                &tenant
                    .get(&format!("/v1/orders/{order_id}/capabilities"))
                    .await?
                    .ok()?,
            );
            Ok(())
        }
        Command::Suspend(a) => operate(&operator, "suspend", a).await,
        Command::Resume(a) => operate(&operator, "resume", a).await,
        Command::Retry(a) => operate(&operator, "retry", a).await,
        Command::Withdraw(a) => operate(&operator, "withdraw", a).await,
    }
}

fn order_from_flags(
    order_id: Option<String>,
    order_ref: Option<String>,
    supplier: String,
    order_type: String,
    lines: Vec<String>,
    attributes: Vec<String>,
    recurring: bool,
) -> anyhow::Result<Value> {
    let order_ref = order_ref.context("give --order-ref (or --file with the whole order)")?;
    let lines = if lines.is_empty() {
        vec!["WIDGET:1:10.00".to_string()]
    } else {
        lines
    };
    let lines: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let parts: Vec<&str> = spec.split(':').collect();
            let [product, quantity, price] = parts[..] else {
                anyhow::bail!("--line '{spec}' must be PRODUCT:QUANTITY:UNIT_PRICE");
            };
            let quantity: u32 = quantity.parse().with_context(|| format!("--line '{spec}': quantity"))?;
            Ok(json!({ "line_id": format!("l{}", i + 1), "product_code": product, "quantity": quantity, "unit_price": price, "action": "ADD" }))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut attrs = serde_json::Map::new();
    for kv in attributes {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--attr '{kv}' must be KEY=VALUE"))?;
        attrs.insert(k.to_string(), Value::String(v.to_string()));
    }
    let mut body = json!({
        "order_ref": order_ref,
        "supplier_id": supplier,
        "order_type": order_type,
        "recurring": recurring,
        "attributes": attrs,
        "lines": lines,
    });
    if let Some(id) = order_id {
        body["order_id"] = Value::String(id);
    }
    Ok(body)
}

/// Reads a JSON document from a file, or from stdin for `-`.
fn read_json(path: &std::path::Path, what: &str) -> anyhow::Result<Value> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    serde_json::from_str(&text).with_context(|| format!("the {what} file is not valid JSON"))
}

/// `--set field=value` pairs as a `changes` object.
fn changes_from_flags(set: &[String]) -> anyhow::Result<Value> {
    if set.is_empty() {
        anyhow::bail!("give at least one --set FIELD=VALUE, or --file changes.json");
    }
    let mut changes = serde_json::Map::new();
    for kv in set {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--set '{kv}' must be FIELD=VALUE"))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        changes.insert(k.to_string(), value);
    }
    Ok(Value::Object(changes))
}

async fn operate(client: &ApiClient, action: &str, args: OperatorArgs) -> anyhow::Result<()> {
    let body = json!({ "reason": args.reason });
    let reply = client
        .post(
            &format!(
                "/v1/orders/{}/{action}?tenant_id={}",
                args.order_id, args.tenant
            ),
            &body,
        )
        .await?
        .ok()?;
    print(&reply);
    Ok(())
}

/// Follows the order live: each event in words as it happens, and the plan with each step's
/// status whenever it changes, until the order ends (a draft has nothing to follow yet).
async fn watch_order(client: &ApiClient, order_id: &str) -> anyhow::Result<()> {
    let mut after = 0u64;
    let mut shown_plan = Vec::new();
    loop {
        let events = client
            .get(&format!("/v1/orders/{order_id}/events?after_seq={after}"))
            .await?
            .ok()?;
        for e in events["events"].as_array().into_iter().flatten() {
            println!("{}", timeline::line(e));
            after = e["seq"].as_u64().unwrap_or(after);
        }
        let order = client.get(&format!("/v1/orders/{order_id}")).await?.ok()?;
        let plan = timeline::plan(&order);
        if plan != shown_plan {
            println!(
                "    plan {}:",
                order["plan"]["plan_id"].as_str().unwrap_or("")
            );
            for step in &plan {
                println!("{step}");
            }
            shown_plan = plan;
        }
        let state = order["state"].as_str().unwrap_or_default();
        if state == "DRAFT" {
            println!("order {order_id} is a draft: place it with `orderflow place {order_id}`");
            return Ok(());
        }
        if timeline::ended(&order) && order["last_seq"].as_u64() == Some(after) {
            let reason = order["state_reason"]
                .as_str()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            println!("order {order_id} ended: {state}{reason}");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
