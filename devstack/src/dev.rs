//! `orderflow dev`: the whole local stack in one process tree — the Temporal dev server (with
//! the Web UI, persisting under the data dir), the supplier simulator as supplier `sim`, the
//! API, and a worker. A second start on the same data dir carries on every order. With
//! `temporal_address` it runs on that Temporal instead of a dev server of its own.

use crate::{DevServer, DevServerOptions};
use anyhow::Context;
use futures::FutureExt;
use orderflow_config::{DEV_SIM_SECRET, Settings, SupplierSettings};
use orderflow_supplier_sim::SimConfig;
use std::path::PathBuf;
use tokio::sync::watch;

pub struct DevOptions {
    pub data_dir: PathBuf,
    pub api_port: u16,
    pub temporal_port: u16,
    pub ui_port: u16,
    pub sim_port: u16,
    /// An existing Temporal (a cluster, Temporal Cloud) to run on instead of a dev server.
    pub temporal_address: Option<String>,
    pub temporal_namespace: Option<String>,
    /// One `GET /metrics` for the API and the worker (their own `metrics_address` is unset).
    pub metrics_port: Option<u16>,
    /// `--set KEY=JSON`, applied last, over everything above.
    pub overrides: Vec<orderflow_config::Override>,
}

pub async fn run(options: DevOptions) -> anyhow::Result<()> {
    let data_dir = &options.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let data_dir = data_dir.canonicalize()?;
    let server = match options.temporal_address {
        Some(_) => None,
        None => Some(tokio::task::block_in_place(|| {
            DevServer::start(&DevServerOptions {
                port: options.temporal_port,
                ui_port: Some(options.ui_port),
                db_file: Some(data_dir.join("temporal.db")),
                log_file: Some(data_dir.join("temporal.log")),
                ..Default::default()
            })
        })?),
    };

    let mut settings = Settings::load_dev()?;
    if std::env::var("ORDERFLOW_DATABASE_URL").map_or(true, |u| u.is_empty()) {
        settings.database_url = format!("sqlite://{}", data_dir.join("orderflow.db").display());
    }
    let mut namespace = String::from("default");
    match &server {
        // Its own dev server, whatever TEMPORAL_* in the shell points at.
        Some(server) => {
            settings.temporal_address = Some(server.address.clone());
            settings.temporal_namespace = None;
            settings.temporal_env_config = false;
        }
        // The given Temporal, with the API key and TLS settings of the environment.
        None => {
            settings.temporal_address = options.temporal_address.clone();
            settings.temporal_namespace = options.temporal_namespace.clone();
            settings.temporal_env_config = true;
            namespace = crate::search_attributes::check(&settings).await?;
        }
    }
    settings.telemetry.metrics_address = None;
    if let Some(port) = options.metrics_port {
        orderflow_telemetry::serve_metrics(&format!("127.0.0.1:{port}")).await?;
    }
    // Receivers on a developer's machine are plain http on 127.0.0.1 or the LAN; link-local
    // (metadata) and reserved addresses stay refused.
    settings.webhook_allow_http = true;
    settings.webhook_allow_private_networks = true;
    settings.suppliers = vec![SupplierSettings {
        id: "sim".into(),
        base_url: format!("http://127.0.0.1:{}", options.sim_port),
        secret: DEV_SIM_SECRET.into(),
        concurrent_amendments: false,
        peppol: Some(orderflow_config::PeppolParty::dev_sim()),
    }];
    let settings = settings.with_overrides(&options.overrides)?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };

    let sim_listener = tokio::net::TcpListener::bind(("127.0.0.1", options.sim_port))
        .await
        .with_context(|| format!("binding the simulator port {}", options.sim_port))?;
    let api_listener = tokio::net::TcpListener::bind(("127.0.0.1", options.api_port))
        .await
        .with_context(|| format!("binding the API port {}", options.api_port))?;
    // A part that fails stops the whole stack, saying why, rather than leaving it half up.
    let stop_on_error = |part: &'static str, stop: watch::Sender<bool>| {
        move |result: anyhow::Result<()>| {
            if let Err(e) = &result {
                tracing::error!("{part} failed: {e:#}; stopping the dev stack");
                let _ = stop.send(true);
            }
            result
        }
    };
    let sim = tokio::spawn(
        orderflow_supplier_sim::serve(
            sim_listener,
            SimConfig {
                data_dir: data_dir.join("sim"),
                callback_url: format!(
                    "http://127.0.0.1:{}/v1/supplier/sim/callbacks",
                    options.api_port
                ),
                secret: DEV_SIM_SECRET.into(),
            },
            stopped(),
        )
        .map(stop_on_error("the supplier simulator", stop_tx.clone())),
    );
    let api = tokio::spawn(
        orderflow_api::serve(api_listener, settings.clone(), stopped())
            .map(stop_on_error("the API", stop_tx.clone())),
    );

    println!("orderflow dev stack is up (data in {})", data_dir.display());
    println!("  API:          http://127.0.0.1:{}", options.api_port);
    match &server {
        Some(server) => {
            println!("  Temporal UI:  http://127.0.0.1:{}", options.ui_port);
            println!("  Temporal:     {}", server.address);
        }
        None => println!(
            "  Temporal:     {} (namespace {namespace})",
            settings.temporal_address.as_deref().unwrap_or_default(),
        ),
    }
    if let Some(port) = options.metrics_port {
        println!("  Metrics:      http://127.0.0.1:{port}/metrics");
    }
    println!(
        "  Supplier sim: http://127.0.0.1:{} (supplier id `sim`)",
        options.sim_port
    );
    println!(
        "  Tenants: acme (dev-acme-key), globex (dev-globex-key); operator: dev-operator-token"
    );
    println!("Press Ctrl-C to stop.");

    tokio::spawn(async move {
        orderflow_worker::shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let worker = orderflow_worker::run(settings, stopped()).await;
    let _ = api.await;
    let _ = sim.await;
    drop(server);
    println!("orderflow dev stack stopped.");
    worker
}
