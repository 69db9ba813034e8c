//! The one error shape of the API: `{"error": {"code", "message", "details"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orderflow_domain::rule_code::RuleError;
use orderflow_domain::rules::FieldError;
use serde_json::{Value, json};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub details: Value,
    /// Seconds for a `Retry-After` header (429 and 503 answers).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            details: json!({}),
            retry_after: None,
        }
    }

    pub fn retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }

    /// 422 `VALIDATION_FAILED` naming every invalid field in `details.fields`.
    pub fn validation_failed(what: &str, errors: &[FieldError]) -> ApiError {
        let problems: Vec<String> = errors
            .iter()
            .map(|e| format!("{} {}", e.field, e.message))
            .collect();
        ApiError::unprocessable(
            "VALIDATION_FAILED",
            format!(
                "{what} has {} invalid field(s): {}",
                errors.len(),
                problems.join("; ")
            ),
        )
        .with_details(json!({ "fields": errors }))
    }

    /// `Err` 422 `VALIDATION_FAILED` if any size bound is broken (see
    /// `orderflow_domain::limits`).
    pub fn check_limits(
        what: &str,
        errors: impl IntoIterator<Item = Option<FieldError>>,
    ) -> Result<(), ApiError> {
        let errors: Vec<FieldError> = errors.into_iter().flatten().collect();
        match errors.is_empty() {
            true => Ok(()),
            false => Err(ApiError::validation_failed(what, &errors)),
        }
    }

    /// 429 `TOO_MANY_REQUESTS`, to be retried after `seconds`.
    pub fn too_many_requests(message: impl Into<String>, seconds: u64) -> ApiError {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", message)
            .retry_after(seconds)
    }

    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = details;
        self
    }

    pub fn not_found(order_id: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("order '{order_id}' not found"),
        )
    }

    /// Order ids are unique per tenant and never reused.
    pub fn duplicate_order(order_id: &str) -> ApiError {
        ApiError::conflict(
            "DUPLICATE_ORDER",
            format!("order '{order_id}' already exists; order ids are unique per tenant"),
        )
    }

    /// The order exists but its workflow has ended: it takes no more requests.
    pub fn order_closed(order_id: &str) -> ApiError {
        ApiError::conflict(
            "ORDER_CLOSED",
            format!("order '{order_id}' has ended and takes no more requests"),
        )
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "missing or invalid credentials: send 'Authorization: Bearer <key>'",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unprocessable(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 422 `INVALID_FIELD` naming `field`, with the field in `details.fields` as
    /// `VALIDATION_FAILED` lists them.
    pub fn invalid_field(field: &str, message: &str) -> ApiError {
        ApiError::unprocessable("INVALID_FIELD", format!("{field}: {message}"))
            .with_details(json!({ "fields": [{ "field": field, "message": message }] }))
    }

    pub fn conflict(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, message)
    }

    /// The workflow engine (Temporal) could not be reached or did not answer. `detail` (the
    /// engine's own text) is logged, never answered: the client gets `message`.
    pub fn unavailable(message: &str, detail: impl std::fmt::Display) -> ApiError {
        tracing::warn!(%detail, "{message}");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ENGINE_UNAVAILABLE",
            format!("{message}; retry shortly"),
        )
        .retry_after(1)
    }

    pub fn internal(error: impl std::fmt::Display) -> ApiError {
        tracing::error!(%error, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "internal error; the request may be retried",
        )
    }
}

/// A refused request, answered with the HTTP status its [`RuleCode`] stands for.
///
/// [`RuleCode`]: orderflow_domain::rule_code::RuleCode
impl From<RuleError> for ApiError {
    fn from(rule: RuleError) -> ApiError {
        let status = StatusCode::from_u16(rule.http_status()).unwrap_or(StatusCode::CONFLICT);
        ApiError::new(status, rule.code.as_str(), rule.message)
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> ApiError {
        ApiError::internal(format!("{e:#}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": { "code": self.code, "message": self.message, "details": self.details }
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// Answers that axum itself produces as plain text (a path that is not UTF-8, a method the
/// route does not have, a body over the limit) get the one error shape too, so every error a
/// client sees carries a code.
pub async fn uniform(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
        StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::REQUEST_TIMEOUT => "REQUEST_TIMEOUT",
        s if s.is_server_error() => "INTERNAL",
        _ => "INVALID_REQUEST",
    };
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut answer = ApiError::new(status, code, message).into_response();
    // Keep what axum said about the request, e.g. `Allow` on a 405.
    for (name, value) in parts.headers.iter() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}
