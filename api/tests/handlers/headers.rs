//! Headers the API reads and writes: `Location` on creation, `Allow` on a wrong method,
//! `If-Match` (the revision a change is based on) and `Idempotency-Key`, passed to the engine
//! as given and refused when malformed.

use super::*;
use engine::Call;

#[tokio::test]
async fn created_orders_and_drafts_have_a_location() {
    let app = App::new().await;
    for body in [order("placed"), draft("drafted")] {
        let id = body["order_id"].as_str().unwrap().to_string();
        let answer = app.post("/v1/orders", ACME, body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        assert_eq!(answer.headers[header::LOCATION], format!("/v1/orders/{id}"));
    }
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = App::new().await;
    let answer = app
        .send(Method::DELETE, "/v1/orders", ACME, &[], None)
        .await;
    answer.assert_error(405, "METHOD_NOT_ALLOWED");
    let allow = answer.headers[header::ALLOW].to_str().unwrap();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
}

/// The `If-Match` and `Idempotency-Key` of the amendments the engine received.
fn amend_headers(app: &App) -> Vec<(Option<u32>, Option<String>)> {
    app.engine
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Amend(_, r) => Some((r.expected_revision, r.idempotency_key)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn if_match_and_idempotency_key_reach_the_engine_as_given() {
    let app = App::new().await;
    app.create(ACME, order("o1")).await;
    app.engine
        .amend
        .answer(|| Err(ApiError::internal("unused")));
    let patch = || Some(json!({ "order_ref": "PO-o1", "changes": { "notes": "x" } }));
    for headers in [
        vec![("if-match", "3")],
        vec![("if-match", "\"4\""), ("idempotency-key", "k-1")],
        vec![("if-match", "W/\"5\"")],
        vec![],
    ] {
        app.send(Method::PATCH, "/v1/orders/o1", ACME, &headers, patch())
            .await;
    }
    assert_eq!(
        amend_headers(&app),
        [
            (Some(3), None),
            (Some(4), Some("k-1".to_string())),
            (Some(5), None),
            (None, None)
        ]
    );
}

#[tokio::test]
async fn malformed_if_match_and_idempotency_keys_are_400_and_never_sent() {
    let app = App::new().await;
    app.create(ACME, order("o1")).await;
    let long = "k".repeat(201);
    let patch = || Some(json!({ "order_ref": "PO-o1", "changes": { "notes": "x" } }));
    for headers in [
        vec![("if-match", "three")],
        vec![("if-match", "\"-1\"")],
        vec![("idempotency-key", "  ")],
        vec![("idempotency-key", long.as_str())],
    ] {
        app.send(Method::PATCH, "/v1/orders/o1", ACME, &headers, patch())
            .await
            .assert_error(400, "INVALID_HEADER");
    }
    for path in ["/v1/orders/o1/cancel", "/v1/orders/o1/reactivate"] {
        let body = Some(json!({ "reason": "x" }));
        app.send(Method::POST, path, ACME, &[("idempotency-key", "")], body)
            .await
            .assert_error(400, "INVALID_HEADER");
    }
    assert!(amend_headers(&app).is_empty());
}

#[tokio::test]
async fn a_revision_mismatch_from_the_engine_is_412() {
    let app = App::new().await;
    app.create(ACME, order("o1")).await;
    app.engine.amend.answer(|| {
        Err(rule_error(RuleError::new(
            orderflow_domain::rule_code::RuleCode::RevisionMismatch,
            "the order is at revision 2, not 1",
        )))
    });
    let patch = Some(json!({ "order_ref": "PO-o1", "changes": { "notes": "x" } }));
    let answer = app
        .send(
            Method::PATCH,
            "/v1/orders/o1",
            ACME,
            &[("if-match", "1")],
            patch,
        )
        .await;
    answer.assert_error(412, "REVISION_MISMATCH");
    assert_eq!(
        answer.body["error"]["message"],
        "the order is at revision 2, not 1"
    );
}

#[tokio::test]
async fn cancellations_and_reactivations_pass_their_idempotency_key() {
    let app = App::new().await;
    app.create(ACME, order("o1")).await;
    app.engine
        .cancel
        .answer(|| Err(ApiError::internal("unused")));
    app.engine
        .reactivate
        .answer(|| Err(ApiError::internal("unused")));
    let key = [("idempotency-key", "again")];
    let body = || Some(json!({ "reason": "x" }));
    app.send(Method::POST, "/v1/orders/o1/cancel", ACME, &key, body())
        .await;
    app.send(Method::POST, "/v1/orders/o1/reactivate", ACME, &key, body())
        .await;
    let keys: Vec<Option<String>> = app
        .engine
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Cancel(_, r) => Some(r.idempotency_key),
            Call::Reactivate(_, r) => Some(r.idempotency_key),
            _ => None,
        })
        .collect();
    assert_eq!(keys, [Some("again".to_string()), Some("again".to_string())]);
}
