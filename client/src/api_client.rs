//! A small client for the orderflow HTTP API, used by the CLI (and usable from Rust code).

use anyhow::{Context, bail};
use serde_json::Value;

#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// An API answer: status and JSON body.
pub struct Reply {
    pub status: reqwest::StatusCode,
    pub body: Value,
}

impl Reply {
    /// The body, or an error carrying the API's error code and message.
    pub fn ok(self) -> anyhow::Result<Value> {
        if self.status.is_success() {
            return Ok(self.body);
        }
        let error = &self.body["error"];
        bail!(
            "{} {}: {}",
            self.status.as_u16(),
            error["code"].as_str().unwrap_or("ERROR"),
            error["message"].as_str().unwrap_or(&self.body.to_string())
        )
    }
}

impl ApiClient {
    pub fn new(base: &str, token: &str) -> ApiClient {
        ApiClient {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Reply> {
        self.send_with_headers(method, path, body, &[]).await
    }

    /// Like [`ApiClient::send`], with extra headers (`If-Match`, `Idempotency-Key`).
    pub async fn send_with_headers(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> anyhow::Result<Reply> {
        let url = format!("{}{}", self.base, path);
        let mut request = self.http.request(method, &url).bearer_auth(&self.token);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the orderflow API at {url}; is `orderflow dev` or `orderflow serve` running? (set --api-url / ORDERFLOW_API_URL)"))?;
        let status = response.status();
        let text = response.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Reply { status, body })
    }

    /// Sends `body` as-is (for exercising the API with malformed input).
    pub async fn post_raw(
        &self,
        path: &str,
        body: &str,
        content_type: &str,
    ) -> anyhow::Result<Reply> {
        let response = self
            .http
            .post(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body.to_string())
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        Ok(Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        })
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Reply> {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Reply> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> anyhow::Result<Reply> {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<Reply> {
        self.send(reqwest::Method::DELETE, path, None).await
    }
}
