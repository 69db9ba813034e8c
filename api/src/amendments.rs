//! Amendment endpoints: `PATCH /v1/orders/{id}`, the amendment resource, preview
//! and capabilities. Decisions are made by the pure rules in `orderflow_domain::amendment`;
//! the workflow's Update validator applies them to the authoritative state, and preview and
//! capabilities apply them to the stored view.

use crate::AppState;
use crate::answers::{AmendmentAnswer, Capabilities, ErrorBody, Preview, RuleRefusal};
use crate::engine::rule_error;
use crate::error::ApiError;
use crate::extract::StrictJson;
use crate::orders::load;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use orderflow_config::Caller;
use orderflow_domain::amendment::{
    self, AmendPath, DOCUMENT_FIELDS, IMMUTABLE_FIELDS, PATCHABLE_WHILE_EXECUTING,
};
use orderflow_domain::cancellation::{self, CancelPath};
use orderflow_domain::commands::AmendRequest;
use orderflow_domain::model::Amendment;
use orderflow_domain::model::RequestState;
use orderflow_domain::rule_code::RuleCode;
use orderflow_domain::{limits, rules};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendBody {
    /// Must be the order's `order_ref` (a guard against amending the wrong order).
    pub order_ref: String,
    /// The fields to change and their new values, e.g. `{"notes": "…"}` (a JSON merge patch).
    pub changes: serde_json::Map<String, Value>,
}

pub(crate) fn tenant(caller: Caller) -> Result<String, ApiError> {
    crate::extract::tenant_only(
        caller,
        "amendments, cancellations and reactivations are requested",
    )
}

/// `If-Match: 3` or `If-Match: "3"`.
pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<u32>, ApiError> {
    let Some(value) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_HEADER",
                "If-Match must be the order's revision, e.g. \"3\"",
            )
        })
}

/// The `Idempotency-Key` header, documented once for every request that takes it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct IdempotencyKey {
    /// 1-200 printable ASCII characters, no space at either end; a repeated request answers
    /// with the first one's outcome.
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 200,
        pattern = r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$"
    )]
    #[allow(dead_code)] // read from the headers by `idempotency_key`
    key: Option<String>,
}

/// The key exactly as [`IdempotencyKey`] documents it: 1-200 printable ASCII characters, no
/// space at either end (a tab or a control character is refused, never trimmed away, so two
/// keys that differ are never taken for one).
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    let printable = bytes.iter().all(|b| (0x20..=0x7e).contains(b));
    let padded = bytes.first() == Some(&b' ') || bytes.last() == Some(&b' ');
    match std::str::from_utf8(bytes) {
        Ok(key) if printable && !padded && (1..=200).contains(&bytes.len()) => {
            Ok(Some(key.to_string()))
        }
        _ => Err(ApiError::bad_request(
            "INVALID_HEADER",
            "Idempotency-Key must be 1-200 printable ASCII characters, without a space at \
             either end",
        )),
    }
}

/// `PATCH /v1/orders/{id}`: 200 with the decided amendment, 202 while it is PENDING.
#[utoipa::path(patch, path = "/v1/orders/{id}", tag = "amendments", request_body = AmendBody,
    params(("id" = String, Path, description = "Order id"),
        ("If-Match" = Option<String>, Header, description = "The order's revision the change is based on, e.g. `\"3\"`; 412 otherwise", pattern = r#"^(W/)?"?[0-9]{1,9}"?$"#),
        IdempotencyKey),
    responses(
        (status = 200, description = "Accepted (restart path) or rejected", body = AmendmentAnswer),
        (status = 202, description = "PENDING: the supplier decides (patch path)", body = AmendmentAnswer),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`NOT_AMENDABLE`, `REQUEST_IN_PROGRESS`, `FIELD_NOT_AMENDABLE`", body = ErrorBody),
        (status = 412, description = "`REVISION_MISMATCH`", body = ErrorBody),
        (status = 422, description = "`ORDER_REF_MISMATCH`, `VALIDATION_FAILED`", body = ErrorBody)))]
pub async fn amend_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    StrictJson(body): StrictJson<AmendBody>,
) -> Result<(StatusCode, Json<AmendmentAnswer>), ApiError> {
    let tenant_id = tenant(caller)?;
    let expected_revision = if_match(&headers)?;
    let idempotency_key = idempotency_key(&headers)?;
    let (status, answer) = amend(
        &state,
        &tenant_id,
        &order_id,
        (expected_revision, idempotency_key),
        body,
    )
    .await?;
    Ok((status, Json(answer)))
}

/// A tenant's amendment of its order, from any interface, with the request's `If-Match`
/// revision and `Idempotency-Key`: 200 when decided, 202 while PENDING.
pub async fn amend(
    state: &AppState,
    tenant_id: &str,
    order_id: &str,
    (expected_revision, idempotency_key): (Option<u32>, Option<String>),
    body: AmendBody,
) -> Result<(StatusCode, AmendmentAnswer), ApiError> {
    let changes = Value::Object(body.changes);
    ApiError::check_limits(
        "the amendment",
        [
            limits::check_short_text("order_ref", &body.order_ref),
            limits::check_object("changes", &changes),
        ],
    )?;
    let current = load(state, tenant_id, order_id).await?;
    // A draft or an ended order has no running workflow to ask: answer from the rules.
    if !rules::has_running_workflow(current.state) {
        amendment::check_amendment(&current, current.pending_kind(), &body.order_ref, &changes)
            .map_err(rule_error)?;
    }
    let outcome = state
        .engine
        .amend(
            tenant_id,
            order_id,
            AmendRequest {
                amendment_id: uuid::Uuid::now_v7().to_string(),
                order_ref: body.order_ref,
                changes,
                expected_revision,
                idempotency_key,
                requested_at: crate::orders::now(),
            },
        )
        .await?;
    let status = if outcome.amendment.state == RequestState::Pending {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        AmendmentAnswer {
            amendment: outcome.amendment,
            order: outcome.order,
        },
    ))
}

/// `GET /v1/orders/{id}/amendments/{amendment_id}`.
#[utoipa::path(get, path = "/v1/orders/{id}/amendments/{amendment_id}", tag = "amendments",
    params(("id" = String, Path, description = "Order id"), ("amendment_id" = String, Path)),
    responses((status = 200, body = Amendment), (status = 404, body = ErrorBody)))]
pub async fn get_amendment(
    State(state): State<AppState>,
    caller: Caller,
    Path((order_id, amendment_id)): Path<(String, String)>,
) -> Result<Json<Amendment>, ApiError> {
    let tenant_id = tenant(caller)?;
    load(&state, &tenant_id, &order_id).await?;
    let found = state
        .store
        .get_amendment(&tenant_id, &order_id, &amendment_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("amendment '{amendment_id}' of order '{order_id}' not found"),
            )
        })?;
    Ok(Json(found))
}

/// `POST /v1/orders/{id}/amendments:preview`: what the same PATCH would do now. Changes
/// nothing.
#[utoipa::path(post, path = "/v1/orders/{id}/amendments:preview", tag = "amendments", request_body = AmendBody,
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, body = Preview), (status = 404, body = ErrorBody)))]
pub async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    StrictJson(body): StrictJson<AmendBody>,
) -> Result<Json<Preview>, ApiError> {
    let tenant_id = tenant(caller)?;
    let view = load(&state, &tenant_id, &order_id).await?;
    let changes = Value::Object(body.changes);
    let refused = amendment::fields_refused_while_executing(&view.document, &changes);
    Ok(Json(
        match amendment::check_amendment(&view, view.pending_kind(), &body.order_ref, &changes) {
            Ok((path, document)) => {
                let mut order = view.clone().with_document(document);
                if path == AmendPath::Restart {
                    order.revision += 1;
                }
                Preview {
                    allowed: true,
                    path: Some(path),
                    status: Some(if path == AmendPath::Restart {
                        RequestState::Accepted
                    } else {
                        RequestState::Pending
                    }),
                    order,
                    refused_fields: vec![],
                    error: None,
                }
            }
            Err(e) => Preview {
                allowed: false,
                path: amendment::amend_path(&view, view.pending_kind()).ok(),
                status: None,
                refused_fields: if e.code == RuleCode::FieldNotAmendable {
                    refused
                } else {
                    vec![]
                },
                order: view,
                error: Some(RuleRefusal {
                    code: e.code,
                    message: e.message,
                }),
            },
        },
    ))
}

/// `GET /v1/orders/{id}/capabilities`: what may change now, by which path, and why not.
#[utoipa::path(get, path = "/v1/orders/{id}/capabilities", tag = "amendments",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, body = Capabilities), (status = 404, body = ErrorBody)))]
pub async fn capabilities(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
) -> Result<Json<Capabilities>, ApiError> {
    let tenant_id = tenant(caller)?;
    let view = load(&state, &tenant_id, &order_id).await?;
    let mutable: Vec<&str> = DOCUMENT_FIELDS
        .iter()
        .copied()
        .filter(|f| !IMMUTABLE_FIELDS.contains(f))
        .collect();
    let (amendable, path, fields, reason) = match amendment::amend_path(&view, view.pending_kind())
    {
        Ok(AmendPath::Restart) => (true, Some(AmendPath::Restart), mutable, None),
        Ok(AmendPath::Patch) => (
            true,
            Some(AmendPath::Patch),
            PATCHABLE_WHILE_EXECUTING.to_vec(),
            None,
        ),
        Err(e) => (false, None, vec![], Some(e.message)),
    };
    // An unsolicited cease is cancellable with an allowed reason code: ask with one of them.
    let codes = &state.settings.workflow.unsolicited_cancel_reason_codes;
    let cancel = cancellation::cancel_path(
        &view,
        view.pending_kind(),
        codes.first().map(String::as_str),
        codes,
    );
    let reactivatable = cancellation::check_reactivation(&view);
    let past_ponr = view.point_of_no_return_passed();
    let cancel_reason = match &cancel {
        Err(e) => Some(e.message.clone()),
        Ok(CancelPath::Supplier) if past_ponr => Some(format!(
            "order {order_id} has passed its plan's point of no return: the cancellation goes \
             to the supplier, who is expected to refuse it (RE)"
        )),
        Ok(_) => None,
    };
    Ok(Json(Capabilities {
        amendable,
        amend_path: path,
        patchable_fields: fields.into_iter().map(String::from).collect(),
        cancellable: cancel.is_ok(),
        cancel_path: cancel.as_ref().ok().copied(),
        cancel_reason_codes: view.document.unsolicited.then(|| codes.clone()),
        reactivatable: reactivatable.is_ok(),
        point_of_no_return_passed: past_ponr,
        reason,
        cancel_reason,
        reactivate_reason: reactivatable.err().map(|e| e.message),
        revision: view.revision,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn key(value: &[u8]) -> Result<Option<String>, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert("idempotency-key", HeaderValue::from_bytes(value).unwrap());
        idempotency_key(&headers)
    }

    /// The rule is the documented pattern's: what the OpenAPI document refuses, the API refuses.
    #[test]
    fn a_key_is_what_the_document_says_or_refused() {
        assert_eq!(idempotency_key(&HeaderMap::new()).unwrap(), None);
        for good in [&b"k"[..], b"order 1/retry~2", &[b'x'; 200]] {
            assert_eq!(key(good).unwrap().unwrap().as_bytes(), good);
        }
        for bad in [
            &b"a\tb"[..],
            b"\t",
            b"a ",
            b" a",
            b"caf\xc3\xa9",
            &[b'x'; 201],
        ] {
            assert!(key(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
