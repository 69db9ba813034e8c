//! What the API answers when it is busy, slow or not configured for a feature, and the
//! amendment refusals its preview shows: each documented code, produced.

use super::*;
use orderflow_config::{ApiLimits, Secret};
use std::time::{Duration, Instant};

/// An app whose engine takes `delay` for every request, with `api` limits.
async fn slow_app(api: ApiLimits, delay: Duration) -> (Arc<App>, String) {
    let app = App::with_settings(Settings {
        api,
        ..test_settings()
    })
    .await;
    app.create(ACME, order("o-slow")).await;
    app.engine.slow_down(delay);
    (Arc::new(app), "/v1/orders/o-slow/cancel".to_string())
}

/// Waits until the engine has been asked `n` things (a request is inside the API).
async fn until_calls(app: &App, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.engine.calls().len() < n {
        assert!(
            Instant::now() < deadline,
            "the request never reached the engine"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_api_answers_503_overloaded_and_an_engine_failure_500_internal() {
    let api = ApiLimits {
        max_concurrent_requests: 1,
        ..ApiLimits::default()
    };
    let (app, cancel) = slow_app(api, Duration::from_secs(3)).await;
    let first = {
        let (app, cancel) = (app.clone(), cancel.clone());
        tokio::spawn(async move { app.post(&cancel, ACME, json!({ "reason": "x" })).await })
    };
    until_calls(&app, 2).await; // the start, then the cancel in flight
    let busy = app.get("/v1/orders/o-slow", ACME).await;
    busy.assert_error(503, "OVERLOADED");
    assert_eq!(busy.headers["retry-after"], "1");
    // The engine answered nothing the test scripted: the API's own fixed words, nothing of
    // the engine's.
    let failed = first.await.unwrap();
    failed.assert_error(500, "INTERNAL");
    assert!(
        !failed.body.to_string().contains("test engine"),
        "{}",
        failed.body
    );
    // Free again.
    assert_eq!(app.get("/v1/orders/o-slow", ACME).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_past_its_time_answers_503_request_timeout() {
    let api = ApiLimits {
        request_timeout_secs: 1,
        ..ApiLimits::default()
    };
    let (app, cancel) = slow_app(api, Duration::from_secs(5)).await;
    let late = app.post(&cancel, ACME, json!({ "reason": "x" })).await;
    late.assert_error(503, "REQUEST_TIMEOUT");
    assert_eq!(late.headers["retry-after"], "1");
    assert!(
        late.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("read the order")
    );
}

#[tokio::test]
async fn without_a_webhook_key_webhooks_are_503_webhooks_disabled() {
    let app = App::with_settings(Settings {
        webhook_key: Secret::default(),
        ..test_settings()
    })
    .await;
    let body = json!({ "url": "http://127.0.0.1:9/h", "topics": ["*"], "secret": "a-secret-of-enough-length" });
    app.post("/v1/webhooks", ACME, body)
        .await
        .assert_error(503, "WEBHOOKS_DISABLED");
}

#[tokio::test]
async fn the_preview_names_immutable_fields_and_empty_changes() {
    let app = App::new().await;
    app.create(ACME, order("o-prev")).await;
    let preview = |changes: Value| {
        let body = json!({ "order_ref": "PO-o-prev", "changes": changes });
        app.post("/v1/orders/o-prev/amendments:preview", ACME, body)
    };
    let p = preview(json!({ "supplier_id": "other" })).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(
        (&p.body["allowed"], &p.body["error"]["code"]),
        (&json!(false), &json!("IMMUTABLE_FIELD")),
        "{}",
        p.body
    );
    let p = preview(json!({})).await;
    assert_eq!(p.body["error"]["code"], "INVALID_CHANGES", "{}", p.body);
    // Nothing was sent to the engine but the start.
    assert_eq!(app.engine.calls().len(), 1);
}
