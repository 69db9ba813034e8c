//! How the handlers turn the engine's answers into HTTP: decided requests are 200, pending or
//! scheduled ones 202, refusals keep their code, and an engine that cannot be reached is 503
//! `ENGINE_UNAVAILABLE` with nothing changed (a draft stays a draft).

use super::*;
use engine::Call;
use orderflow_domain::commands::{AmendOutcome, CancelOutcome, ReactivateOutcome};
use orderflow_domain::model::OrderView;

/// The order as stored, as the engine would return it.
async fn view(app: &App, id: &str) -> OrderView {
    serde_json::from_value(app.get(&format!("/v1/orders/{id}"), ACME).await.body).unwrap()
}

fn amendment(view: &OrderView, state: &str) -> AmendOutcome {
    serde_json::from_value(json!({
        "amendment": {
            "amendment_id": "a1", "state": state, "path": "PATCH",
            "changes": { "notes": "x" }, "reason": null,
            "requested_at": "2026-01-01T00:00:00.000Z", "decided_at": null, "revision": null
        },
        "order": view,
    }))
    .unwrap()
}

fn cancellation(view: &OrderView, state: &str) -> CancelOutcome {
    serde_json::from_value(json!({
        "cancellation": {
            "cancellation_id": "c1", "state": state, "path": "SUPPLIER", "response_code": null,
            "reason": "x", "reason_code": null, "effective_at": null,
            "requested_at": "2026-01-01T00:00:00.000Z", "decided_at": null,
            "decision_reason": null, "event_uuid": "e1"
        },
        "event_uuid": "e1",
        "order": view,
    }))
    .unwrap()
}

fn reactivation(view: &OrderView, state: &str) -> ReactivateOutcome {
    serde_json::from_value(json!({
        "reactivation": {
            "reactivation_id": "r1", "state": state, "reason": null, "effective_at": null,
            "requested_at": "2026-01-01T00:00:00.000Z", "decided_at": null,
            "decision_reason": null, "event_uuid": null
        },
        "event_uuid": null,
        "order": view,
    }))
    .unwrap()
}

#[tokio::test]
async fn placing_starts_the_workflow_with_the_received_order() {
    let app = App::new().await;
    let created = app.create(ACME, order("o1")).await;
    assert_eq!(created["state"], "START");
    let [Call::Start(input)] = &app.engine.calls()[..] else {
        panic!("{:?}", app.engine.calls());
    };
    assert_eq!(input.order.order_id, "o1");
    assert_eq!(input.order.tenant_id, "acme");
    assert_eq!(input.created_at, created["created_at"].as_str().unwrap());
    // Read-your-writes: stored before the 201.
    assert_eq!(app.get("/v1/orders/o1", ACME).await.body, created);
    app.post("/v1/orders", ACME, order("o1"))
        .await
        .assert_error(409, "DUPLICATE_ORDER");
}

#[tokio::test]
async fn a_start_the_engine_refuses_as_a_duplicate_is_409() {
    let app = App::new().await;
    app.engine
        .start
        .answer(|| Err(ApiError::duplicate_order("o1")));
    app.post("/v1/orders", ACME, order("o1"))
        .await
        .assert_error(409, "DUPLICATE_ORDER");
    app.get("/v1/orders/o1", ACME)
        .await
        .assert_error(404, "NOT_FOUND");
    // Placing a draft whose workflow exists already finishes the placing.
    app.create(ACME, draft("d1")).await;
    let placed = app.post("/v1/orders/d1/place", ACME, json!({})).await;
    assert_eq!(placed.status, StatusCode::OK, "{}", placed.body);
    assert_eq!(placed.body["state"], "START");
}

#[tokio::test]
async fn an_unreachable_engine_is_503_and_changes_nothing() {
    let app = App::new().await;
    app.create(ACME, order("placed")).await;
    app.create(ACME, draft("drafted")).await;
    app.engine.go_down();
    app.post("/v1/orders", ACME, order("o2"))
        .await
        .assert_error(503, "ENGINE_UNAVAILABLE");
    app.get("/v1/orders/o2", ACME)
        .await
        .assert_error(404, "NOT_FOUND");
    // A draft that could not be placed is still a draft, and may be edited or placed again.
    app.post("/v1/orders/drafted/place", ACME, json!({}))
        .await
        .assert_error(503, "ENGINE_UNAVAILABLE");
    assert_eq!(
        app.get("/v1/orders/drafted", ACME).await.body["state"],
        "DRAFT"
    );
    let edited = app
        .send(
            Method::PUT,
            "/v1/orders/drafted",
            ACME,
            &[],
            Some(draft("drafted")),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    let patch = json!({ "order_ref": "PO-placed", "changes": { "notes": "x" } });
    app.send(Method::PATCH, "/v1/orders/placed", ACME, &[], Some(patch))
        .await
        .assert_error(503, "ENGINE_UNAVAILABLE");
    app.post("/v1/orders/placed/cancel", ACME, json!({ "reason": "x" }))
        .await
        .assert_error(503, "ENGINE_UNAVAILABLE");
    // A tenant learns only that it is down; the operator learns why.
    let health = app.get("/healthz", ACME).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.body, json!({ "status": "unavailable" }));
    let health = app.get("/healthz", OPERATOR).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.body["engine"], "the test engine is down");
    assert_eq!(health.body["database"], "ok");
    // Liveness is the process alone.
    let live = app.raw(Method::GET, "/livez", None, &[], vec![]).await;
    assert_eq!(
        (live.status, live.body),
        (StatusCode::OK, json!({ "status": "ok" }))
    );
}

#[tokio::test]
async fn healthz_is_200_with_the_pollers_while_the_engine_is_up() {
    let app = App::new().await;
    let health = app.raw(Method::GET, "/healthz", None, &[], vec![]).await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.body);
    assert_eq!(health.body, json!({ "status": "ok" }));
    let health = app.get("/healthz", OPERATOR).await;
    assert_eq!(
        health.body,
        json!({ "status": "ok", "workers": 1, "database": "ok", "engine": "ok" })
    );
}

#[tokio::test]
async fn pending_and_scheduled_requests_are_202_and_decided_ones_200() {
    let app = App::new().await;
    app.create(ACME, order("o1")).await;
    let v = view(&app, "o1").await;
    let patch = || Some(json!({ "order_ref": "PO-o1", "changes": { "notes": "x" } }));
    for (state, status) in [("PENDING", 202), ("ACCEPTED", 200), ("REJECTED", 200)] {
        let outcome = amendment(&v, state);
        app.engine.amend.answer(move || Ok(outcome.clone()));
        let answer = app
            .send(Method::PATCH, "/v1/orders/o1", ACME, &[], patch())
            .await;
        assert_eq!(answer.status.as_u16(), status, "{state}: {}", answer.body);
        assert_eq!(answer.body["amendment"]["state"], state);
        assert_eq!(answer.body["order"]["order_id"], "o1");
    }
    for (state, status) in [("PENDING", 202), ("SCHEDULED", 202), ("ACCEPTED", 200)] {
        let outcome = cancellation(&v, state);
        app.engine.cancel.answer(move || Ok(outcome.clone()));
        let answer = app
            .post("/v1/orders/o1/cancel", ACME, json!({ "reason": "x" }))
            .await;
        assert_eq!(answer.status.as_u16(), status, "{state}: {}", answer.body);
        assert_eq!(answer.body["cancellation"]["state"], state);
        assert_eq!(answer.body["event_uuid"], "e1");
    }
    for (state, status) in [("SCHEDULED", 202), ("ACCEPTED", 200)] {
        let outcome = reactivation(&v, state);
        app.engine.reactivate.answer(move || Ok(outcome.clone()));
        let answer = app.post("/v1/orders/o1/reactivate", ACME, json!({})).await;
        assert_eq!(answer.status.as_u16(), status, "{state}: {}", answer.body);
        assert_eq!(answer.body["reactivation"]["state"], state);
    }
}

#[tokio::test]
async fn the_engines_refusals_keep_their_status_and_code() {
    let app = App::new().await;
    app.create(ACME, order("o1")).await;
    app.engine.cancel.answer(|| {
        Err(rule_error(RuleError::new(
            orderflow_domain::rule_code::RuleCode::NotCancellable,
            "past the point of no return",
        )))
    });
    app.post("/v1/orders/o1/cancel", ACME, json!({ "reason": "x" }))
        .await
        .assert_error(409, "NOT_CANCELLABLE");
    app.engine.amend.answer(|| Err(ApiError::not_found("o1")));
    let patch = json!({ "order_ref": "PO-o1", "changes": { "notes": "x" } });
    app.send(Method::PATCH, "/v1/orders/o1", ACME, &[], Some(patch))
        .await
        .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn orders_without_a_running_workflow_are_answered_without_the_engine() {
    let app = App::new().await;
    app.create(ACME, draft("d1")).await;
    let patch = json!({ "order_ref": "PO-d1", "changes": { "notes": "x" } });
    let answer = app
        .send(Method::PATCH, "/v1/orders/d1", ACME, &[], Some(patch))
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
    let answer = app
        .post("/v1/orders/d1/suspend?tenant_id=acme", OPERATOR, json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
    assert!(app.engine.calls().is_empty());
}

#[tokio::test]
async fn operator_commands_answer_the_order_the_engine_returns() {
    let app = App::new().await;
    app.create(ACME, order("o1")).await;
    let mut suspended = view(&app, "o1").await;
    suspended.state_reason = Some("checking".into());
    let answer_view = suspended.clone();
    app.engine.operator.answer(move || Ok(answer_view.clone()));
    let answer = app
        .post(
            "/v1/orders/o1/suspend?tenant_id=acme",
            OPERATOR,
            json!({ "reason": "checking" }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["order"]["state_reason"], "checking");
    let Some(Call::Operator(id, request)) = app.engine.calls().pop() else {
        panic!("{:?}", app.engine.calls());
    };
    assert_eq!(
        (id.as_str(), request.reason.as_deref()),
        ("o1", Some("checking"))
    );
}

#[tokio::test]
async fn supplier_callbacks_need_a_valid_signature() {
    let app = App::new().await;
    let body = serde_json::to_vec(&json!({ "type": "STEP_DONE" })).unwrap();
    let answer = app
        .raw(
            Method::POST,
            "/v1/supplier/sim/callbacks",
            None,
            &[("content-type", "application/json")],
            body,
        )
        .await;
    answer.assert_error(401, "INVALID_SIGNATURE");
    assert!(app.engine.calls().is_empty());
}
