//! The `orderflow` command line: every subcommand and its flags.

use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "orderflow",
    version,
    about = "Order-fulfilment orchestrator on Temporal"
)]
pub struct Cli {
    /// Base URL of the orderflow API.
    #[arg(
        long,
        global = true,
        env = "ORDERFLOW_API_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub api_url: String,
    /// Tenant API key (tenant commands).
    #[arg(
        long,
        global = true,
        env = "ORDERFLOW_API_KEY",
        default_value = "dev-acme-key",
        hide_env_values = true
    )]
    pub api_key: String,
    /// Operator token (suspend, resume, retry, withdraw).
    #[arg(
        long,
        global = true,
        env = "ORDERFLOW_OPERATOR_TOKEN",
        default_value = "dev-operator-token",
        hide_env_values = true
    )]
    pub operator_token: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the whole local stack: Temporal dev server + Web UI, API, worker, supplier simulator.
    /// With --temporal-address, everything but the dev server, on that Temporal.
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
        /// An existing Temporal (`host:port`) to run on instead of a dev server; API key and
        /// TLS come from TEMPORAL_* as for `serve`. Needs orderflow's search attributes.
        #[arg(long, conflicts_with_all = ["temporal_port", "ui_port"])]
        temporal_address: Option<String>,
        /// Namespace on --temporal-address (default: TEMPORAL_NAMESPACE, else `default`).
        #[arg(long, requires = "temporal_address")]
        temporal_namespace: Option<String>,
        /// Serve Prometheus metrics of the API and the worker at GET /metrics on this port.
        #[arg(long)]
        metrics_port: Option<u16>,
        /// Change a setting for this run, by its dotted path in the configuration file
        /// (repeatable): `--set workflow.cancellation_answer_timeout_secs=5`.
        #[arg(long = "set", value_name = "KEY=JSON")]
        set: Vec<orderflow_config::Override>,
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
pub struct Effective {
    /// YYYY-MM-DD: midnight in the order's time_zone (UTC when it has none).
    #[arg(long, conflicts_with = "effective_at")]
    pub effective_date: Option<String>,
    /// RFC 3339, e.g. 2026-12-01T09:00:00Z.
    #[arg(long)]
    pub effective_at: Option<String>,
}

impl Effective {
    pub fn add_to(self, body: &mut Value) {
        if let Some(d) = self.effective_date {
            body["effective_date"] = json!(d);
        }
        if let Some(a) = self.effective_at {
            body["effective_at"] = json!(a);
        }
    }
}

#[derive(clap::Args)]
pub struct OperatorArgs {
    pub order_id: String,
    /// The order's tenant.
    #[arg(long, default_value = "acme")]
    pub tenant: String,
    #[arg(long)]
    pub reason: Option<String>,
}
