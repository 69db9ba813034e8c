//! Who may call what: a bearer token of a configured tenant or the operator, tenant-only and
//! operator-only commands, and tenants that never see each other's orders.

use super::*;

#[tokio::test]
async fn requests_without_a_valid_bearer_token_are_401() {
    let app = App::new().await;
    for authorization in [
        None,
        Some("Bearer nope"),
        Some("Bearer "),
        Some("Basic ZGV2LWFjbWUta2V5"),
        Some("dev-acme-key"),
    ] {
        let headers: Vec<(&str, &str)> = authorization
            .map(|a| ("authorization", a))
            .into_iter()
            .collect();
        let answer = app
            .raw(Method::GET, "/v1/orders", None, &headers, vec![])
            .await;
        answer.assert_error(401, "UNAUTHORIZED");
    }
    let unauthenticated_post = app
        .raw(
            Method::POST,
            "/v1/orders",
            None,
            &[("content-type", "application/json")],
            serde_json::to_vec(&order("o1")).unwrap(),
        )
        .await;
    unauthenticated_post.assert_error(401, "UNAUTHORIZED");
    assert!(app.engine.calls().is_empty());
}

#[tokio::test]
async fn tenant_commands_refuse_the_operator_and_operator_commands_refuse_tenants() {
    let app = App::new().await;
    app.post("/v1/orders", OPERATOR, order("o1"))
        .await
        .assert_error(403, "FORBIDDEN");
    app.create(ACME, order("o1")).await;
    app.post("/v1/orders/o1/suspend?tenant_id=acme", ACME, json!({}))
        .await
        .assert_error(403, "FORBIDDEN");
    app.post("/v1/orders/o1/cancel", OPERATOR, json!({ "reason": "x" }))
        .await
        .assert_error(403, "FORBIDDEN");
    // Operators name the tenant they act for.
    app.get("/v1/orders/o1", OPERATOR)
        .await
        .assert_error(400, "TENANT_REQUIRED");
    let seen = app.get("/v1/orders/o1?tenant_id=acme", OPERATOR).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
}

#[tokio::test]
async fn a_tenant_never_sees_or_changes_another_tenants_orders() {
    let app = App::new().await;
    app.create(ACME, order("placed")).await;
    app.create(ACME, draft("drafted")).await;
    for id in ["placed", "drafted"] {
        for path in [
            format!("/v1/orders/{id}"),
            format!("/v1/orders/{id}/events"),
        ] {
            app.get(&path, GLOBEX).await.assert_error(404, "NOT_FOUND");
        }
        let patch = json!({ "order_ref": format!("PO-{id}"), "changes": { "notes": "x" } });
        app.send(
            Method::PATCH,
            &format!("/v1/orders/{id}"),
            GLOBEX,
            &[],
            Some(patch),
        )
        .await
        .assert_error(404, "NOT_FOUND");
        app.post(
            &format!("/v1/orders/{id}/cancel"),
            GLOBEX,
            json!({ "reason": "x" }),
        )
        .await
        .assert_error(404, "NOT_FOUND");
    }
    app.send(Method::DELETE, "/v1/orders/drafted", GLOBEX, &[], None)
        .await
        .assert_error(404, "NOT_FOUND");
    app.post("/v1/orders/drafted/place", GLOBEX, json!({}))
        .await
        .assert_error(404, "NOT_FOUND");
    let list = app.get("/v1/orders", GLOBEX).await;
    assert_eq!(list.body["orders"], json!([]));
    // Order ids are unique per tenant: globex may use the same one.
    app.create(GLOBEX, order("placed")).await;
    let acme = app.get("/v1/orders", ACME).await;
    assert_eq!(acme.body["orders"].as_array().unwrap().len(), 2);
    // Only the placed orders reached the engine, and the draft stayed a draft.
    let drafted = app.get("/v1/orders/drafted", ACME).await;
    assert_eq!(drafted.body["state"], "DRAFT");
    assert_eq!(app.engine.calls().len(), 2);
}
