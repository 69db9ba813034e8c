//! The HTTP API's contract: authentication, tenant isolation, bad input, operator rules.

use orderflow_tests::*;
use serde_json::json;
use std::time::Duration;
use tokio::sync::OnceCell;

static STACK: OnceCell<Stack> = OnceCell::const_new();

async fn stack() -> &'static Stack {
    shared_stack(&STACK, "api").await
}

fn code(reply: &Reply) -> &str {
    reply.body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {}", reply.body))
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_or_bad_credentials_are_401() {
    let stack = stack().await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/v1/orders", stack.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");
    let r = stack.client("not-a-key").get("/v1/orders").await.unwrap();
    assert_eq!(r.status, 401);
    let r = stack
        .client("not-a-key")
        .post("/v1/orders", &order(&new_id("x"), &[]))
        .await
        .unwrap();
    assert_eq!(r.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn tenants_never_see_each_others_orders() {
    let stack = stack().await;
    let (acme, globex) = (stack.acme(), stack.globex());
    let id = new_id("iso");
    submit(&acme, &order(&id, &[])).await;
    wait_state(&acme, &id, "COMPLETE", Duration::from_secs(60)).await;

    let r = globex.get(&format!("/v1/orders/{id}")).await.unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(code(&r), "NOT_FOUND");
    let r = globex
        .get(&format!("/v1/orders/{id}/events"))
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    let listed = globex.get("/v1/orders").await.unwrap().body;
    assert!(
        listed["orders"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["tenant_id"] == "globex")
    );
    let listed = acme.get("/v1/orders?state=COMPLETE").await.unwrap().body;
    assert!(
        listed["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["order_id"] == id)
    );

    // The same order id is free for another tenant: ids are unique per tenant.
    submit(&globex, &order(&id, &[])).await;
    let o = wait_state(&globex, &id, "COMPLETE", Duration::from_secs(60)).await;
    assert_eq!(o["tenant_id"], "globex");
    let acme_view = acme.get(&format!("/v1/orders/{id}")).await.unwrap().body;
    assert_eq!(acme_view["order_ref"], format!("PO-{id}"));
    assert_eq!(acme_view["tenant_id"], "acme");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_clearly_and_creates_nothing() {
    let stack = stack().await;
    let acme = stack.acme();

    let id = new_id("bad");
    let r = acme
        .post_raw("/v1/orders", "{not json", "application/json")
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(code(&r), "MALFORMED_JSON");

    let mut missing = order(&id, &[]);
    missing.as_object_mut().unwrap().remove("order_ref");
    let r = acme.post("/v1/orders", &missing).await.unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("order_ref")
    );

    let mut unknown = order(&id, &[]);
    unknown["colour"] = json!("blue");
    let r = acme.post("/v1/orders", &unknown).await.unwrap();
    assert_eq!(r.status, 422);
    assert_eq!(code(&r), "UNKNOWN_FIELD");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );

    // The tenant comes from the credentials, never from the body.
    let mut spoof = order(&id, &[]);
    spoof["tenant_id"] = json!("globex");
    let r = acme.post("/v1/orders", &spoof).await.unwrap();
    assert_eq!(r.status, 422);

    let mut invalid = order(&id, &[]);
    invalid["requested_date"] = json!("2026-13-45");
    invalid["lines"][0]["unit_price"] = json!("12,50");
    invalid["lines"][0]["quantity"] = json!(0);
    let r = acme.post("/v1/orders", &invalid).await.unwrap();
    assert_eq!(r.status, 422);
    assert_eq!(code(&r), "VALIDATION_FAILED");
    let fields: Vec<&str> = r.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["requested_date", "lines[0].quantity", "lines[0].unit_price"]
    );

    let mut wrong_type = order(&id, &[]);
    wrong_type["order_type"] = json!("TELEPORT");
    let r = acme.post("/v1/orders", &wrong_type).await.unwrap();
    assert_eq!(r.status, 400);

    let mut supplier = order(&id, &[]);
    supplier["supplier_id"] = json!("nobody");
    let r = acme.post("/v1/orders", &supplier).await.unwrap();
    assert_eq!(r.status, 422);
    assert_eq!(code(&r), "UNKNOWN_SUPPLIER");

    let mut unsolicited = order(&id, &[]);
    unsolicited["unsolicited"] = json!(true);
    let r = acme.post("/v1/orders", &unsolicited).await.unwrap();
    assert_eq!(r.status, 422);

    // Nothing of the above exists: no order, no workflow.
    let r = acme.get(&format!("/v1/orders/{id}")).await.unwrap();
    assert_eq!(r.status, 404);
    let client = stack.temporal().await;
    let n = client
        .count_workflows(
            format!("WorkflowId = \"order/acme/{id}\""),
            Default::default(),
        )
        .await
        .unwrap()
        .count();
    assert_eq!(n, 0);

    // A good order then goes through, and its id cannot be used again.
    submit(&acme, &order(&id, &[])).await;
    let r = acme.post("/v1/orders", &order(&id, &[])).await.unwrap();
    assert_eq!(r.status, 409);
    assert_eq!(code(&r), "DUPLICATE_ORDER");

    let r = acme.get("/v1/orders?state=NOPE").await.unwrap();
    assert_eq!(r.status, 400);
    let r = acme.get("/v1/orders/does-not-exist").await.unwrap();
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn generated_order_ids_and_location() {
    let stack = stack().await;
    let acme = stack.acme();
    let mut body = order("unused", &[]);
    body.as_object_mut().unwrap().remove("order_id");
    let created = submit(&acme, &body).await;
    let id = created["order_id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_commands_need_the_operator_token_and_a_valid_state() {
    let stack = stack().await;
    let (acme, op) = (stack.acme(), stack.operator());
    let id = new_id("ops");
    submit(&acme, &order(&id, &[])).await;
    wait_state(&acme, &id, "COMPLETE", Duration::from_secs(60)).await;

    let r = acme
        .post(&format!("/v1/orders/{id}/withdraw"), &json!({}))
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    let r = op
        .post(&format!("/v1/orders/{id}/withdraw"), &json!({}))
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(code(&r), "TENANT_REQUIRED");
    let r = operate(&op, &id, "withdraw", serde_json::json!({})).await;
    assert_eq!(r.status, 409);
    assert_eq!(code(&r), "NOT_WITHDRAWABLE");
    let r = op
        .post(
            &format!("/v1/orders/{id}/suspend?tenant_id=globex"),
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    let r = operate(&op, &id, "explode", serde_json::json!({})).await;
    assert_eq!(r.status, 404);
    // Operators can read any tenant's order by naming the tenant.
    let r = op
        .get(&format!("/v1/orders/{id}?tenant_id=acme"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let events = events(&acme, &id).await;
    assert_gapless(&events);
}

#[tokio::test(flavor = "multi_thread")]
async fn health_reports_a_polling_worker() {
    let stack = stack().await;
    // Without credentials: ok, and nothing more.
    let r: serde_json::Value = reqwest::get(format!("{}/healthz", stack.api_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r, json!({ "status": "ok" }));
    let r = stack.operator().get("/healthz").await.unwrap();
    assert_eq!(r.body["status"], "ok");
    assert!(r.body["workers"].as_u64().unwrap() >= 1, "{}", r.body);
    let r = reqwest::get(format!("{}/livez", stack.api_url))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn supplier_callbacks_must_be_signed() {
    let stack = stack().await;
    let http = reqwest::Client::new();
    let body =
        json!({"type": "STEP_DONE", "tenant_id": "acme", "order_id": "x", "step_id": "step-1"})
            .to_string();
    let url = format!("{}/v1/supplier/sim/callbacks", stack.api_url);
    let r = http.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let r = http
        .post(&url)
        .header("orderflow-timestamp", ts.to_string())
        .header(
            "orderflow-signature",
            format!("v1={}", orderflow_supplier_sim_sign("wrong", ts, &body)),
        )
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(&url)
        .header("orderflow-timestamp", ts.to_string())
        .header(
            "orderflow-signature",
            format!(
                "v1={}",
                orderflow_supplier_sim_sign(&stack.credentials.sim_secret, ts, &body)
            ),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "a well-signed callback for an unknown order"
    );
}

fn orderflow_supplier_sim_sign(secret: &str, ts: i64, body: &str) -> String {
    orderflow_supplier_sim::sign(secret, ts, body.as_bytes())
}

/// Errors axum itself raises (body too large, wrong method, a path that is not UTF-8, a
/// query of the wrong type) carry the same error shape and codes as ours, and change nothing.
#[tokio::test(flavor = "multi_thread")]
async fn every_error_has_the_error_shape() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("big");
    let mut big = order(&id, &[]);
    big["notes"] = json!("x".repeat(orderflow_domain::limits::MAX_BODY_BYTES));
    let r = acme.post("/v1/orders", &big).await.unwrap();
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(code(&r), "PAYLOAD_TOO_LARGE");
    assert_eq!(
        acme.get(&format!("/v1/orders/{id}")).await.unwrap().status,
        404
    );
    // The callback endpoint reads raw bytes (to check the signature): same limit, same shape.
    let r = acme
        .post_raw(
            "/v1/supplier/sim/callbacks",
            &"x".repeat(orderflow_domain::limits::MAX_BODY_BYTES + 1),
            "application/json",
        )
        .await
        .unwrap();
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(code(&r), "PAYLOAD_TOO_LARGE");

    let r = acme
        .send(reqwest::Method::PUT, "/v1/webhooks", Some(&json!({})))
        .await
        .unwrap();
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(code(&r), "METHOD_NOT_ALLOWED");
    let r = acme.get("/v1/orders/%FF%FE").await.unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(code(&r), "INVALID_REQUEST");
    for query in [
        "after_seq=-1",
        "after_seq=x",
        "after_seq=9223372036854775808",
    ] {
        let r = acme
            .get(&format!("/v1/orders/{id}/events?{query}"))
            .await
            .unwrap();
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(code(&r), "INVALID_QUERY", "{query}");
    }
    let r = acme.get("/v1/orders?limit=ten").await.unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(code(&r), "INVALID_QUERY");
    let r = acme.get("/v1/nothing-here").await.unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(code(&r), "NOT_FOUND");
}
