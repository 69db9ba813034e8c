//! `orderflow`: operate orders from the command line, and run the API, the supplier
//! simulator or the whole local stack.

mod cli;
mod commands;

use anyhow::Context;
use clap::Parser;
use cli::{Cli, Command};
use commands::{
    changes_from_flags, operate, order_from_flags, print, read_json, request, watch_order,
};
use orderflow_client::api_client::ApiClient;
use orderflow_client::timeline;
use orderflow_config::Settings;
use serde_json::{Value, json};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // `serve` and `dev` log and trace as the configuration says; other commands log text.
    let (telemetry, service) = match &cli.command {
        Command::Serve { .. } => (Settings::load()?.telemetry, "orderflow-api"),
        Command::Dev { .. } => (Settings::load_dev()?.telemetry, "orderflow-dev"),
        _ => (Default::default(), "orderflow"),
    };
    let _telemetry = orderflow_telemetry::init(&telemetry, service)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli))
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
            temporal_address,
            temporal_namespace,
            metrics_port,
            set,
        } => {
            orderflow_devstack::dev::run(orderflow_devstack::dev::DevOptions {
                data_dir,
                api_port,
                temporal_port,
                ui_port,
                sim_port,
                temporal_address,
                temporal_namespace,
                metrics_port,
                overrides: set,
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
            let path = tokio::task::spawn_blocking(orderflow_devstack::ensure).await??;
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
            // Every page (newest first), following the cursor.
            let mut cursor: Option<String> = None;
            loop {
                let mut page = query.clone();
                page.extend(cursor.take().map(|c| format!("cursor={c}")));
                let list = tenant
                    .get(&format!("/v1/orders?{}", page.join("&")))
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
                match list["next_cursor"].as_str() {
                    Some(next) => cursor = Some(next.to_string()),
                    None => return Ok(()),
                }
            }
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
