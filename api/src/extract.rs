//! Request extractors: the caller's identity and strict JSON bodies with our error format.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use orderflow_config::{Caller, Settings};
use serde::de::DeserializeOwned;
use serde_json::json;

/// Who the `Authorization: Bearer` header says is calling; `None` without a valid one. The
/// one reading of credentials: the extractor, the rate limiter and `/healthz` share it.
pub fn bearer_caller(headers: &HeaderMap, settings: &Settings) -> Option<Caller> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    settings.authenticate(token.trim())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        bearer_caller(&parts.headers, &state.settings).ok_or_else(ApiError::unauthorized)
    }
}

/// A JSON body whose problems are answered in the API's error format: 400 for malformed JSON
/// or a missing/mistyped field, 422 for an unknown field (named in the message).
pub struct StrictJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for StrictJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(StrictJson(value)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

fn json_error(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    match rejection {
        JsonRejection::JsonSyntaxError(_) => syntax_error(&text),
        JsonRejection::MissingJsonContentType(_) => ApiError::bad_request(
            "MALFORMED_JSON",
            "send the body as JSON with 'Content-Type: application/json'",
        ),
        JsonRejection::JsonDataError(_) => data_error(text),
        _ => ApiError::bad_request("MALFORMED_JSON", text),
    }
}

pub(crate) fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        format!("request bodies are limited to {} bytes", crate::BODY_LIMIT),
    )
}

fn syntax_error(text: &str) -> ApiError {
    ApiError::bad_request(
        "MALFORMED_JSON",
        format!("request body is not valid JSON: {text}"),
    )
}

/// Valid JSON of the wrong shape: an unknown field is 422 naming it, anything else (a missing
/// or mistyped field) 400.
fn data_error(text: String) -> ApiError {
    if text.contains("unknown field") {
        ApiError::unprocessable("UNKNOWN_FIELD", text.clone())
            .with_details(json!({ "reason": text }))
    } else {
        ApiError::bad_request("INVALID_FIELD", text)
    }
}

/// Like [`StrictJson`], but an empty body means `T::default()`: for commands whose fields are
/// all optional (`reactivate`, operator commands), so `curl -X POST` without a body works.
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                _ => ApiError::bad_request("MALFORMED_JSON", e.body_text()),
            })?;
        // No body, or JSON `null`: nothing to say, so the defaults.
        if body.iter().all(u8::is_ascii_whitespace)
            || serde_json::from_slice::<serde_json::Value>(&body).is_ok_and(|v| v.is_null())
        {
            return Ok(OptionalJson(T::default()));
        }
        serde_json::from_slice(&body)
            .map(OptionalJson)
            .map_err(|e| match e.classify() {
                serde_json::error::Category::Data => data_error(e.to_string()),
                _ => syntax_error(&e.to_string()),
            })
    }
}

/// Query parameters whose problems (an unknown parameter, a wrong type) are answered in the
/// API's error format: 400 `INVALID_QUERY` naming the parameter.
pub struct StrictQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for StrictQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| StrictQuery(value))
            .map_err(|e| ApiError::bad_request("INVALID_QUERY", e.body_text()))
    }
}

/// The tenant behind a tenant-only request; the operator token gets 403 saying that
/// `what` (e.g. "orders are placed") needs the tenant's key.
pub fn tenant_only(caller: Caller, what: &str) -> Result<String, ApiError> {
    match caller {
        Caller::Tenant(t) => Ok(t),
        Caller::Operator => Err(ApiError::forbidden(format!(
            "{what} with the tenant's key, not the operator token"
        ))),
    }
}
