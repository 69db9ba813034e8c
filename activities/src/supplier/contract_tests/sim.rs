//! The simulator, which plays the supplier in every other test, against the document: it
//! runs in-process on a random port, the real client sends it the real requests, and each
//! answer must fit the documented schema of its status and be read by `wire`. Its callbacks
//! go to a recorder that checks their signature (with the API's own `sign`) and their body.

use super::samples::{amend_call, call, cancel_call, client, document, notice_call};
use super::{Contract, read};
use crate::supplier::wire::{self, Request};
use axum::http::HeaderMap;
use orderflow_domain::model::OrderDocument;
use orderflow_workflows::activities::SupplierCall;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(super) const SECRET: &str = "contract-secret";

type Received = Arc<Mutex<Vec<(HeaderMap, axum::body::Bytes)>>>;

/// Serves `router` on a random local port; its base URL.
async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// Takes every callback as orderflow does when all is well: 202 `{"accepted": true}`.
async fn recorder() -> (String, Received) {
    let received = Received::default();
    let kept = received.clone();
    let router = axum::Router::new().route(
        "/v1/supplier/sim/callbacks",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            kept.lock().unwrap().push((headers, body));
            async {
                (
                    axum::http::StatusCode::ACCEPTED,
                    axum::Json(json!({"accepted": true})),
                )
            }
        }),
    );
    (serve(router).await, received)
}

struct Supplier {
    contract: Contract,
    client: crate::supplier::SupplierClient,
    base: String,
    /// Each call's path and key, in order.
    sent: Mutex<Vec<(String, String)>>,
}

impl Supplier {
    /// Sends `request` for `call` as the activity does; the answer must be one the document
    /// allows for its status, and is read as `wire` reads it (`Err`: the client's failure).
    async fn send(&self, call: &SupplierCall, request: Request) -> Result<(Value, String), String> {
        let (_, operation) = self.contract.operation(&request.path);
        let op = operation["operationId"].as_str().unwrap();
        let key = (request.path.clone(), call.idempotency_key.clone());
        self.sent.lock().unwrap().push(key);
        let answer = self
            .client
            .post(call, &request.path, request.body.clone())
            .await
            .map_err(|e| super::brief(&e))?;
        let response = self.contract.response(operation, answer.status.as_u16());
        let schema = Contract::json_schema(response);
        let what = format!("{op}: the simulator's {} answer", answer.status);
        self.contract.check(schema, &answer.body, &what);
        let read = read(op, &request.path, answer.body.clone());
        Ok((answer.body, read.unwrap_or_else(|e| panic!("{what}: {e}"))))
    }

    /// Every call orderflow makes of an order, in the order it makes them; what validation
    /// made of the order.
    async fn run(&self, id: &str, document: OrderDocument) -> Result<String, String> {
        let doc = Some(document);
        let validate = call(id, "validate", doc.clone());
        let verdict = self.send(&validate, wire::validate(&validate)).await?.1;
        let transfer = call(id, "transfer", doc);
        self.send(&transfer, wire::transfer(&transfer)).await?;
        let feasibility = call(id, "feasibility", None);
        self.send(&feasibility, wire::feasibility(&feasibility))
            .await?;
        let plan = call(id, "plan", None);
        let (proposal, _) = self.send(&plan, wire::plan(&plan)).await?;
        // A repeat under the same key gets the stored answer, not a new plan.
        let (again, _) = self.send(&plan, wire::plan(&plan)).await?;
        assert_eq!(
            proposal, again,
            "{id}: a repeated key must replay the answer"
        );
        let step = call(id, proposal["steps"][0]["step_id"].as_str().unwrap(), None);
        self.send(&step, wire::step(&step)).await?;
        self.refusable(id).await?;
        Ok(verdict)
    }

    /// The calls a supplier may refuse outright.
    async fn refusable(&self, id: &str) -> Result<(), String> {
        let amend = amend_call(id);
        self.send(&amend.call, wire::amend(&amend)).await?;
        let cancel = cancel_call(id, None);
        self.send(&cancel.call, wire::cancel(&cancel)).await?;
        for (kind, reason) in [("deactivate", Some("moving")), ("reactivate", None)] {
            let notice = notice_call(id, kind, reason);
            self.send(&notice.call, wire::notify(&notice)).await?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn the_simulator_answers_and_calls_back_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let (callbacks, received) = recorder().await;
    let config = orderflow_supplier_sim::SimConfig {
        data_dir: dir.path().to_path_buf(),
        callback_url: format!("{callbacks}/v1/supplier/sim/callbacks"),
        secret: SECRET.into(),
    };
    let base = serve(orderflow_supplier_sim::app(config).await.unwrap()).await;
    let s = Supplier {
        contract: Contract::load(),
        client: client(&base),
        base,
        sent: Mutex::default(),
    };
    let quick = json!({"sim.steps": "1", "sim.step_ms": "0", "sim.answer_ms": "0"});
    let with = |extra: Value| {
        let mut attributes = quick.clone();
        attributes
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        attributes
    };
    // Every answer of every call the simulator can give, one order per way of answering.
    let later = json!({"sim.validation": "fail", "sim.feasible": "false",
        "sim.async_steps": "true", "sim.amend": "pending-accept", "sim.cancel": "pending-ap"});
    let orders = [
        ("yes", with(json!({})), "passed: true"),
        ("later", with(later), "passed: false"),
        (
            "no",
            with(json!({"sim.amend": "reject", "sim.cancel": "re"})),
            "passed: true",
        ),
    ];
    for (id, attributes, verdict) in orders {
        let validated = s.run(id, document(id, attributes)).await.unwrap();
        assert!(validated.contains(verdict), "{id}: {validated}");
    }

    // Refusals: the client reads the simulator's `error` (or `reason`) into its failure.
    let refusing = with(json!({"sim.fail_step": "1", "sim.amend": "refuse",
        "sim.cancel": "refuse", "sim.notify": "refuse"}));
    let transfer = call("refuse", "transfer", Some(document("refuse", refusing)));
    s.send(&transfer, wire::transfer(&transfer)).await.unwrap();
    let step = call("refuse", "step-1", None);
    let unknown = call("unknown", "feasibility", None);
    let amend = amend_call("refuse");
    let cancel = cancel_call("refuse", None);
    let notice = notice_call("refuse", "deactivate", None);
    let refused = [
        s.send(&step, wire::step(&step)).await,
        s.send(&unknown, wire::feasibility(&unknown)).await,
        s.send(&amend.call, wire::amend(&amend)).await,
        s.send(&cancel.call, wire::cancel(&cancel)).await,
        s.send(&notice.call, wire::notify(&notice)).await,
    ];
    for failure in refused {
        let failure = failure.unwrap_err();
        assert!(failure.contains("SupplierRejected"), "{failure}");
        assert!(
            !failure.contains("no reason given"),
            "the reason was not read: {failure}"
        );
    }

    // The simulator received each call under the key it was sent with.
    let calls: Vec<Value> = reqwest::get(format!("{}/admin/calls", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let received_keys: Vec<(String, String)> = calls
        .iter()
        .map(|c| {
            assert_eq!(c["method"], "POST");
            let key = c["idempotency_key"].as_str().unwrap_or_default();
            (c["path"].as_str().unwrap().to_string(), key.to_string())
        })
        .collect();
    assert_eq!(received_keys, *s.sent.lock().unwrap());

    // The callbacks the supplier makes on its own.
    let admin = reqwest::Client::new();
    let actions = [
        ("orders/acme:yes/hold", json!({"reason": "site access"})),
        ("orders/acme:yes/resume", json!({})),
        (
            "orders/acme:yes/amend",
            json!({"changes": {"notes": "supplier note"}}),
        ),
        ("orders/acme:yes/cancel", json!({"reason": "out of stock"})),
        (
            "unsolicited-cease",
            json!({"tenant_id": "acme", "order_id": "cease-1", "order_ref": "CEASE-1",
                   "reason": "line retired", "attributes": {"sim.steps": "1"}}),
        ),
    ];
    for (action, body) in actions {
        let url = format!("{}/admin/{action}", s.base);
        let status = admin.post(url).json(&body).send().await.unwrap().status();
        assert_eq!(status, 202, "{action}");
    }
    let expected = [
        "STEP_DONE",
        "AMENDMENT_DECISION",
        "CANCELLATION_DECISION",
        "HOLD",
        "RESUME",
        "SUPPLIER_AMEND",
        "SUPPLIER_CANCEL",
        "UNSOLICITED_CEASE",
    ];
    let seen = callbacks_of(&s.contract, &received, expected.len()).await;
    let mut seen: Vec<String> = seen
        .iter()
        .map(|b| b["type"].as_str().unwrap().into())
        .collect();
    seen.sort();
    let mut expected = expected.map(String::from).to_vec();
    expected.sort();
    assert_eq!(seen, expected);
}

/// Waits for `count` callbacks; checks each one's signature and body.
async fn callbacks_of(contract: &Contract, received: &Received, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while received.lock().unwrap().len() < count {
        assert!(tokio::time::Instant::now() < deadline, "callbacks missing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = received.lock().unwrap().clone();
    received
        .iter()
        .map(|(headers, bytes)| {
            let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_string();
            let timestamp: i64 = header("orderflow-timestamp").parse().unwrap();
            let signature = crate::signing::signature_header(SECRET, timestamp, bytes);
            assert_eq!(header("orderflow-signature"), signature);
            let body: Value = serde_json::from_slice(bytes).unwrap();
            contract.check(contract.callback_schema(), &body, "a callback");
            body
        })
        .collect()
}
