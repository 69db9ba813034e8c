//! Refused input: each problem has its status and code, in the one error shape, and nothing
//! reaches the engine.

use super::*;

#[tokio::test]
async fn malformed_bodies_are_400_and_unknown_fields_422() {
    let app = App::new().await;
    let json = [("content-type", "application/json")];
    app.raw(
        Method::POST,
        "/v1/orders",
        Some(ACME),
        &json,
        b"{not json".to_vec(),
    )
    .await
    .assert_error(400, "MALFORMED_JSON");
    let no_type = serde_json::to_vec(&order("o1")).unwrap();
    app.raw(Method::POST, "/v1/orders", Some(ACME), &[], no_type)
        .await
        .assert_error(400, "MALFORMED_JSON");
    let mut unknown = order("o1");
    unknown["colour"] = json!("red");
    let answer = app.post("/v1/orders", ACME, unknown).await;
    answer.assert_error(422, "UNKNOWN_FIELD");
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    assert!(answer.body["error"]["details"]["reason"].is_string());
    let mut missing = order("o1");
    missing.as_object_mut().unwrap().remove("order_ref");
    app.post("/v1/orders", ACME, missing)
        .await
        .assert_error(400, "INVALID_FIELD");
    let too_big = vec![b' '; (1 << 20) + 1];
    app.raw(Method::POST, "/v1/orders", Some(ACME), &json, too_big)
        .await
        .assert_error(413, "PAYLOAD_TOO_LARGE");
    assert!(app.engine.calls().is_empty());
}

/// PostgreSQL's text cannot hold a NUL (SQLite's can): a request with one is refused on every
/// backend alike, before anything is written, wherever it carries it.
#[tokio::test]
async fn a_nul_character_anywhere_in_a_request_is_refused_and_makes_nothing() {
    let app = App::new().await;
    let mut with_nul = order("o-nul");
    with_nul["order_ref"] = json!("PO-\u{0}");
    app.post("/v1/orders", ACME, with_nul)
        .await
        .assert_error(400, "INVALID_FIELD");
    let mut key_with_nul = order("o-nul");
    key_with_nul["attributes"] = json!({ "a\u{0}": "b" });
    app.post("/v1/orders", ACME, key_with_nul)
        .await
        .assert_error(400, "INVALID_FIELD");
    let cancel = json!({ "productOrder": { "id": "o-\u{0}" } });
    app.post(
        "/tmf-api/productOrderingManagement/v5/cancelProductOrder",
        ACME,
        cancel,
    )
    .await
    .assert_error(400, "INVALID_FIELD");
    app.get("/v1/orders/o-nul%00", ACME)
        .await
        .assert_error(400, "INVALID_REQUEST");
    app.get("/v1/orders?order_ref=PO-%00", ACME)
        .await
        .assert_error(400, "INVALID_QUERY");
    assert!(app.engine.calls().is_empty());
    app.get("/v1/orders/o-nul", ACME)
        .await
        .assert_error(404, "NOT_FOUND");
    // A backslash followed by `u0000` is six characters of text, not a NUL.
    let mut text = order("o-text");
    text["notes"] = json!("C:\\u0000");
    app.create(ACME, text).await;
    let read = app.get("/v1/orders/o-text", ACME).await;
    assert_eq!(read.body["notes"], "C:\\u0000", "{}", read.body);
}

#[tokio::test]
async fn invalid_orders_are_422_with_what_is_wrong() {
    let app = App::new().await;
    let mut invalid = order("bad id!");
    invalid["requested_date"] = json!("tomorrow");
    let answer = app.post("/v1/orders", ACME, invalid).await;
    answer.assert_error(422, "VALIDATION_FAILED");
    let fields: Vec<&str> = answer.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["order_id", "requested_date"]);

    let mut elsewhere = order("o1");
    elsewhere["supplier_id"] = json!("acme-supplies");
    let answer = app.post("/v1/orders", ACME, elsewhere).await;
    answer.assert_error(422, "UNKNOWN_SUPPLIER");
    assert_eq!(
        answer.body["error"]["details"]["known_suppliers"],
        json!(["sim"])
    );

    let mut unsolicited = order("o1");
    unsolicited["unsolicited"] = json!(true);
    app.post("/v1/orders", ACME, unsolicited)
        .await
        .assert_error(422, "UNSOLICITED_NOT_ALLOWED");
    assert!(app.engine.calls().is_empty());
    app.get("/v1/orders/o1", ACME)
        .await
        .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn bad_queries_are_400_invalid_query() {
    let app = App::new().await;
    for path in [
        "/v1/orders?colour=red",
        "/v1/orders?state=NOPE",
        "/v1/orders?limit=0",
        "/v1/orders?limit=1001",
        "/v1/orders?limit=many",
    ] {
        app.get(path, ACME).await.assert_error(400, "INVALID_QUERY");
    }
    app.create(ACME, order("o1")).await;
    app.get("/v1/orders/o1/events?after_seq=-1", ACME)
        .await
        .assert_error(400, "INVALID_QUERY");
}

#[tokio::test]
async fn request_bodies_of_commands_are_checked_before_the_engine_is_asked() {
    let app = App::new().await;
    app.create(ACME, order("o1")).await;
    let started = app.engine.calls().len();
    app.post("/v1/orders/o1/cancel", ACME, json!({ "reason": "  " }))
        .await
        .assert_error(422, "REASON_REQUIRED");
    app.post(
        "/v1/orders/o1/cancel",
        ACME,
        json!({ "reason": "x", "colour": 1 }),
    )
    .await
    .assert_error(422, "UNKNOWN_FIELD");
    let patch = json!({ "changes": { "notes": "x" } });
    app.send(Method::PATCH, "/v1/orders/o1", ACME, &[], Some(patch))
        .await
        .assert_error(400, "INVALID_FIELD");
    assert_eq!(app.engine.calls().len(), started);
}

#[tokio::test]
async fn unknown_endpoints_and_actions_are_404_in_the_error_shape() {
    let app = App::new().await;
    app.get("/v1/nothing-here", ACME)
        .await
        .assert_error(404, "NOT_FOUND");
    app.create(ACME, order("o1")).await;
    app.post("/v1/orders/o1/explode?tenant_id=acme", OPERATOR, json!({}))
        .await
        .assert_error(404, "NOT_FOUND");
}
