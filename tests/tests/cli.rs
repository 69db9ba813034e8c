//! The `orderflow` CLI as a user runs it: each command a process against the real stack, its
//! output read as the user reads it and its exit code checked, refusals included.

use orderflow_tests::*;
use serde_json::{Value, json};
use std::process::Output;
use std::time::Duration;
use tokio::sync::OnceCell;

static STACK: OnceCell<Stack> = OnceCell::const_new();
const T: Duration = Duration::from_secs(60);

async fn stack() -> &'static Stack {
    shared_stack(&STACK, "cli").await
}

/// Runs `orderflow ARGS` as acme (and the operator, for operator commands).
async fn orderflow(stack: &Stack, args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(binary("orderflow"));
    command
        .args(args)
        .env("ORDERFLOW_API_URL", &stack.api_url)
        .env("ORDERFLOW_API_KEY", &stack.credentials.acme_key)
        .env(
            "ORDERFLOW_OPERATOR_TOKEN",
            &stack.credentials.operator_token,
        )
        .env_remove("ORDERFLOW_CONFIG")
        // As a user sees it: the error, no backtrace.
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    tokio::time::timeout(T, command.output())
        .await
        .unwrap_or_else(|_| panic!("orderflow {args:?} did not finish"))
        .unwrap()
}

/// Runs a command that must succeed and print one JSON document; that document.
async fn json_of(stack: &Stack, args: &[&str]) -> Value {
    let out = orderflow(stack, args).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "orderflow {args:?}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

/// Runs a command that must fail; its standard error.
async fn refused(stack: &Stack, args: &[&str]) -> String {
    let out = orderflow(stack, args).await;
    assert_eq!(out.status.code(), Some(1), "orderflow {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `orderflow submit` of order `id` (order_ref `PO-{id}`) with more flags; the order.
async fn submit_flags(stack: &Stack, id: &str, flags: &[&str]) -> Value {
    let order_ref = format!("PO-{id}");
    let mut args = vec!["submit", "--order-id", id, "--order-ref", &order_ref];
    args.extend_from_slice(flags);
    json_of(stack, &args).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_from_submit_to_cancel_through_the_cli() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("cli");
    let order_ref = format!("PO-{id}");
    let placed = submit_flags(
        stack,
        &id,
        &[
            "--line",
            "FIBRE-1G:2:49.99",
            "--attr",
            "sim.step_ms=60000",
            "--attr",
            "sim.cancel=pending-ap",
            "--attr",
            "sim.answer_ms=2000",
        ],
    )
    .await;
    assert_eq!(placed["order_id"], id.as_str(), "{placed}");
    assert_eq!(placed["lines"][0]["quantity"], 2);
    assert_eq!(placed["attributes"]["sim.step_ms"], "60000");
    wait_state(&acme, &id, "EXECUTION", T).await;

    let got = json_of(stack, &["get", &id]).await;
    assert_eq!(got["state"], "EXECUTION");
    // The operator reads it with the tenant named.
    let got = json_of(stack, &["get", &id, "--tenant", "acme"]).await;
    assert_eq!(got["order_ref"], order_ref.as_str());

    // --set: a JSON value where it parses, else a string; an empty value removes the field.
    let amended = json_of(
        stack,
        &[
            "amend",
            &id,
            "--set",
            "notes=ring twice",
            "--set",
            "contact={\"name\":\"Road Runner\"}",
        ],
    )
    .await;
    assert_eq!(amended["amendment"]["path"], "PATCH", "{amended}");
    let o = wait_for(&acme, &id, T, |o| o["revision"] == 2).await;
    assert_eq!(o["notes"], "ring twice");
    assert_eq!(o["contact"]["name"], "Road Runner");
    let preview = json_of(stack, &["amend", &id, "--set", "notes=", "--preview"]).await;
    assert_eq!(preview["path"], "PATCH", "{preview}");
    let stale = refused(
        stack,
        &["amend", &id, "--set", "notes=x", "--if-match", "1"],
    )
    .await;
    assert!(stale.starts_with("Error: 412 REVISION_MISMATCH"), "{stale}");
    assert_eq!(stale.lines().count(), 1, "one line, no backtrace: {stale}");
    let frozen = refused(stack, &["amend", &id, "--set", "order_id=other"]).await;
    assert!(
        frozen.starts_with("Error: 422 FIELD_NOT_AMENDABLE") && frozen.contains("order_id"),
        "{frozen}"
    );

    let caps = json_of(stack, &["capabilities", &id]).await;
    assert_eq!(caps["cancellable"], true, "{caps}");

    // Operator commands.
    let held = json_of(stack, &["suspend", &id, "--reason", "audit"]).await;
    assert_eq!(held["order"]["state"], "SUSPENDED", "{held}");
    let again = refused(stack, &["suspend", &id]).await;
    assert!(again.contains("NOT_SUSPENDABLE"), "{again}");
    let resumed = json_of(stack, &["resume", &id]).await;
    assert_eq!(resumed["order"]["state"], "EXECUTION", "{resumed}");

    // The supplier decides later; the same key meanwhile answers with the same cancellation.
    let cancel = [
        "cancel",
        &id,
        "--reason",
        "changed my mind",
        "--idempotency-key",
        "k1",
    ];
    let cancelled = json_of(stack, &cancel).await;
    assert_eq!(cancelled["cancellation"]["state"], "PENDING", "{cancelled}");
    let repeat = json_of(stack, &cancel).await;
    assert_eq!(
        repeat["cancellation"]["cancellation_id"],
        cancelled["cancellation"]["cancellation_id"]
    );
    let reused = [
        "cancel",
        &id,
        "--reason",
        "other",
        "--idempotency-key",
        "k1",
    ];
    let other = refused(stack, &reused).await;
    assert!(
        other.starts_with("Error: 422 IDEMPOTENCY_KEY_REUSED"),
        "{other}"
    );
    let o = wait_state(&acme, &id, "CANCELLED", T).await;
    assert_eq!(o["cancelled_by"], "TENANT");
    // And after the order has ended (its workflow closed): the first answer, decided now.
    let after = json_of(stack, &cancel).await;
    assert_eq!(
        (
            &after["cancellation"]["cancellation_id"],
            &after["cancellation"]["state"]
        ),
        (
            &cancelled["cancellation"]["cancellation_id"],
            &json!("ACCEPTED")
        ),
        "{after}"
    );
    assert_eq!(after["order"]["state"], "CANCELLED");
    // The key with other content, before and after the end alike.
    let other = refused(stack, &reused).await;
    assert!(
        other.starts_with("Error: 422 IDEMPOTENCY_KEY_REUSED"),
        "{other}"
    );
    let fresh = refused(
        stack,
        &[
            "cancel",
            &id,
            "--reason",
            "again",
            "--idempotency-key",
            "k2",
        ],
    )
    .await;
    assert!(fresh.starts_with("Error: 409 NOT_CANCELLABLE"), "{fresh}");

    let listed = orderflow(stack, &["list", "--state", "CANCELLED"]).await;
    assert!(listed.status.success());
    let listed = String::from_utf8_lossy(&listed.stdout);
    let line = listed
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| {
            panic!("{id} not listed: {listed}");
        });
    assert!(
        line.contains("CANCELLED") && line.contains(&order_ref),
        "{line}"
    );

    let events = orderflow(stack, &["events", &id]).await;
    assert!(events.status.success());
    let events = String::from_utf8_lossy(&events.stdout);
    let shown = events.lines().count();
    let recorded = orderflow_tests::events(&acme, &id).await.len();
    assert_eq!(shown, recorded, "one line per event: {events}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_deactivated_and_reactivated_through_the_cli() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("cli-sub");
    submit_flags(stack, &id, &["--recurring", "--attr", "sim.step_ms=0"]).await;
    wait_state(&acme, &id, "ACTIVE", T).await;
    let off = json_of(stack, &["cancel", &id, "--reason", "pause"]).await;
    assert_eq!(off["order"]["state"], "INACTIVE", "{off}");
    let later = json_of(
        stack,
        &["reactivate", &id, "--effective-date", "2099-01-01"],
    )
    .await;
    assert_eq!(later["reactivation"]["state"], "SCHEDULED", "{later}");
    let rid = later["reactivation"]["reactivation_id"].as_str().unwrap();
    let r = acme
        .get(&format!("/v1/orders/{id}/reactivations/{rid}"))
        .await
        .unwrap();
    assert_eq!(
        (r.status.as_u16(), &r.body["state"]),
        (200, &"SCHEDULED".into())
    );
    let now = json_of(
        stack,
        &[
            "reactivate",
            &id,
            "--reason",
            "back",
            "--idempotency-key",
            "r1",
        ],
    )
    .await;
    assert_eq!(now["order"]["state"], "ACTIVE", "{now}");
    let bad = refused(stack, &["reactivate", &id, "--effective-date", "soon"]).await;
    assert!(bad.contains("422") || bad.contains("INVALID"), "{bad}");
}

#[tokio::test(flavor = "multi_thread")]
async fn drafts_refusals_and_the_document_through_the_cli() {
    let stack = stack().await;
    let id = new_id("cli-draft");
    let draft = submit_flags(stack, &id, &["--draft"]).await;
    assert_eq!(draft["state"], "DRAFT");
    let deleted = orderflow(stack, &["delete", &id]).await;
    assert!(deleted.status.success(), "{deleted:?}");
    let missing = refused(stack, &["get", &id]).await;
    assert!(missing.contains("NOT_FOUND"), "{missing}");
    // Bad flags are refused before any request, saying what to write.
    let line = refused(
        stack,
        &["submit", "--order-ref", "PO-x", "--line", "WIDGET"],
    )
    .await;
    assert!(line.contains("PRODUCT:QUANTITY:UNIT_PRICE"), "{line}");
    // A wrong key is the API's refusal, in its words.
    let mut command = tokio::process::Command::new(binary("orderflow"));
    let out = command
        .args(["list"])
        .env("ORDERFLOW_API_URL", &stack.api_url)
        .env("ORDERFLOW_API_KEY", "not-a-key")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("UNAUTHORIZED"));

    // `openapi` prints the document the API serves.
    let printed = json_of(stack, &["openapi"]).await;
    let served: Value = reqwest::get(format!("{}/openapi.json", stack.api_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(printed, served);
}
