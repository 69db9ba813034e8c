//! What the subcommands share: reading orders and changes from flags or files, sending a
//! request and printing the answer, and following an order live.

use crate::cli::OperatorArgs;
use anyhow::Context;
use orderflow_client::api_client::ApiClient;
use orderflow_client::timeline;
use serde_json::{Value, json};
use std::time::Duration;

pub fn print(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// POSTs a tenant's request with an optional Idempotency-Key and prints the answer.
pub async fn request(
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

pub fn order_from_flags(
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
pub fn read_json(path: &std::path::Path, what: &str) -> anyhow::Result<Value> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    serde_json::from_str(&text).with_context(|| format!("the {what} file is not valid JSON"))
}

/// `--set field=value` pairs as a `changes` object.
pub fn changes_from_flags(set: &[String]) -> anyhow::Result<Value> {
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

pub async fn operate(client: &ApiClient, action: &str, args: OperatorArgs) -> anyhow::Result<()> {
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
pub async fn watch_order(client: &ApiClient, order_id: &str) -> anyhow::Result<()> {
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
