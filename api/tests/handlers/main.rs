//! The fast tier of the API's tests: the handlers over the real `Router`, with the real store
//! on a SQLite file in a temporary directory and a test double for the order engine
//! ([`engine::TestEngine`]). No server and no Temporal, so the whole binary runs in seconds.
//! What the engine does with a request is the integration tests' business; these check what
//! the API itself answers: authentication, tenant isolation, validation codes and the error
//! shape, headers, and how the engine's answers and outages become HTTP answers.

mod answers;
mod auth;
mod documented;
mod engine;
mod headers;
mod limits;
mod validation;
mod webhooks;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use engine::TestEngine;
use http_body_util::BodyExt;
use orderflow_api::AppState;
use orderflow_api::engine::rule_error;
use orderflow_api::error::ApiError;
use orderflow_config::Settings;
use orderflow_domain::rules::RuleError;
use orderflow_store::Store;
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

pub const ACME: &str = "dev-acme-key";
pub const GLOBEX: &str = "dev-globex-key";
pub const OPERATOR: &str = "dev-operator-token";

/// The API with the dev settings, a fresh database and a test engine.
pub struct App {
    router: Router,
    pub engine: Arc<TestEngine>,
    _dir: tempfile::TempDir,
}

/// An HTTP answer, its body parsed as JSON (`null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    /// Asserts the status and the one error shape: `{"error": {"code", "message", "details"}}`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "{}",
            self.body
        );
        let error = &self.body["error"];
        assert!(error["message"].is_string(), "{}", self.body);
        assert!(error["details"].is_object(), "{}", self.body);
        assert_eq!(
            self.body.as_object().map(|o| o.len()),
            Some(1),
            "{}",
            self.body
        );
    }
}

/// The dev settings: the dev credentials, webhooks to plain http on loopback allowed as in
/// the test stacks.
pub fn test_settings() -> Settings {
    Settings::dev()
}

impl App {
    pub async fn new() -> App {
        App::with_settings(test_settings()).await
    }

    pub async fn with_settings(settings: Settings) -> App {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("api.db").display());
        let engine = Arc::new(TestEngine::default());
        let state = AppState {
            settings: Arc::new(settings),
            store: Store::connect(&url).await.unwrap(),
            engine: engine.clone(),
        };
        App {
            router: orderflow_api::router(state),
            engine,
            _dir: dir,
        }
    }

    /// Sends a request with raw body bytes; `token` becomes `Authorization: Bearer`.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Sends a request with a JSON body (or none).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let mut all = headers.to_vec();
        let bytes = match body {
            Some(body) => {
                all.push(("content-type", "application/json"));
                serde_json::to_vec(&body).unwrap()
            }
            None => vec![],
        };
        self.raw(method, path, Some(token), &all, bytes).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.send(Method::GET, path, token, &[], None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.send(Method::POST, path, token, &[], Some(body)).await
    }

    /// Submits `body` as `token`'s tenant and asserts it was accepted.
    pub async fn create(&self, token: &str, body: Value) -> Value {
        let answer = self.post("/v1/orders", token, body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.body
    }
}

/// A valid order for the dev supplier `sim`.
pub fn order(order_id: &str) -> Value {
    json!({
        "order_id": order_id,
        "order_ref": format!("PO-{order_id}"),
        "supplier_id": "sim",
        "order_type": "PROVIDE",
        "notes": "handler test",
        "lines": [
            { "line_id": "l1", "product_code": "FIBRE-1G", "quantity": 1, "unit_price": "49.99", "action": "ADD" }
        ]
    })
}

/// The same order as a draft (`"place": false`).
pub fn draft(order_id: &str) -> Value {
    let mut body = order(order_id);
    body["place"] = json!(false);
    body
}
