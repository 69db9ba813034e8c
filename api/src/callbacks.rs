//! `POST /v1/supplier/{supplier_id}/callbacks`: suppliers report on work they accepted.
//! The signature is checked before anything else is read. An unsolicited cease, which opens
//! an order, is in [`unsolicited`].

mod unsolicited;

use unsolicited::unsolicited_cease;

use crate::AppState;
use crate::answers::{CallbackAnswer, ErrorBody};
use crate::engine::rule_error;
use crate::error::ApiError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use orderflow_activities::signing::sign;
use orderflow_domain::actor::Holder;
use orderflow_domain::amendment::late_acceptance;
use orderflow_domain::commands::CallbackKind;
use orderflow_domain::commands::StepCallback;
use orderflow_domain::commands::{
    AmendmentDecision, CancellationDecision, OperatorRequest, SupplierAmendment, SupplierCancel,
};
use orderflow_domain::model::OrderView;
use orderflow_domain::requests::{
    AmendDecision, OrderRequest, ResponseCode, Timing, check_decision,
};
use orderflow_domain::rules::{self, OperatorAction};
use orderflow_store::claims::CallbackClaim;
use serde::Deserialize;
use serde_json::Value;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

/// Signatures older (or further in the future) than this are refused, against replays.
const MAX_SKEW_SECS: i64 = 300;

/// Checks `orderflow-signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
pub fn verify_signature(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let bad = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SIGNATURE",
            "missing, stale or invalid callback signature",
        )
    };
    let timestamp: i64 = header("orderflow-timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or_else(bad)?;
    // abs_diff: a hostile timestamp such as i64::MIN cannot overflow the check.
    if now.abs_diff(timestamp) > MAX_SKEW_SECS.unsigned_abs() {
        return Err(bad());
    }
    let given = header("orderflow-signature")
        .and_then(|s| s.strip_prefix("v1="))
        .and_then(|s| hex::decode(s).ok())
        .ok_or_else(bad)?;
    let expected = hex::decode(sign(secret, timestamp, body)).map_err(|_| bad())?;
    if bool::from(expected.ct_eq(&given)) {
        Ok(())
    } else {
        Err(bad())
    }
}

/// A supplier's report. Which fields are needed depends on `type`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Callback {
    /// `STEP_DONE`, `STEP_FAILED`, `AMENDMENT_DECISION`, `SUPPLIER_AMEND`,
    /// `CANCELLATION_DECISION`, `SUPPLIER_CANCEL`, `HOLD`, `RESUME` or `UNSOLICITED_CEASE`.
    #[serde(rename = "type")]
    kind: String,
    /// Makes a repeat recognisable; without it the signed body is the identity.
    #[serde(default)]
    callback_id: Option<String>,
    tenant_id: String,
    order_id: String,
    /// STEP_DONE, STEP_FAILED.
    step_id: Option<String>,
    /// AMENDMENT_DECISION.
    amendment_id: Option<String>,
    /// AMENDMENT_DECISION: `ACCEPT` or `REJECT`.
    decision: Option<String>,
    /// CANCELLATION_DECISION.
    cancellation_id: Option<String>,
    /// CANCELLATION_DECISION: `AP` or `RE`.
    response_code: Option<String>,
    /// SUPPLIER_AMEND: the fields the supplier changed.
    #[schema(value_type = Option<Object>)]
    changes: Option<Value>,
    reason: Option<String>,
    /// UNSOLICITED_CEASE.
    order_ref: Option<String>,
    /// UNSOLICITED_CEASE.
    #[serde(default)]
    attributes: std::collections::BTreeMap<String, String>,
}

/// `POST /v1/supplier/{supplier_id}/callbacks`, signed by the supplier (not a bearer token).
#[utoipa::path(post, path = "/v1/supplier/{supplier_id}/callbacks", tag = "suppliers",
    request_body = Callback, security(()),
    params(("supplier_id" = String, Path, description = "The configured supplier"),
        ("orderflow-timestamp" = String, Header, description = "Unix seconds; at most 5 minutes old"),
        ("orderflow-signature" = String, Header, description = "`v1=` hex HMAC-SHA256(secret, timestamp + \".\" + body)")),
    responses(
        (status = 200, description = "Taken (HOLD, RESUME, a repeated UNSOLICITED_CEASE)", body = CallbackAnswer),
        (status = 201, description = "UNSOLICITED_CEASE opened an order", body = CallbackAnswer),
        (status = 202, description = "Taken; the order acts on it", body = CallbackAnswer),
        (status = 401, description = "`INVALID_SIGNATURE`: nothing was read or changed", body = ErrorBody),
        (status = 404, description = "No such order with this supplier, or no such request on it", body = ErrorBody),
        (status = 409, description = "`REQUEST_CLOSED`: a decision on a request that can no longer change (decided, superseded, failed, or expired on an order that has ended)", body = ErrorBody),
        (status = 422, description = "`UNSUPPORTED_CALLBACK`, `VALIDATION_FAILED`, `UNKNOWN_TENANT`", body = ErrorBody)))]
pub async fn supplier_callback(
    state: State<AppState>,
    supplier_id: Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<CallbackAnswer>), ApiError> {
    let result = take_callback(state, supplier_id, headers, body.clone()).await;
    let outcome = result
        .as_ref()
        .map_or_else(|e| e.code.as_str(), |_| "accepted");
    orderflow_telemetry::metrics::callback(&body, outcome);
    result
}

async fn take_callback(
    State(state): State<AppState>,
    Path(supplier_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<CallbackAnswer>), ApiError> {
    let supplier = state.settings.supplier(&supplier_id).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SIGNATURE",
            "unknown supplier",
        )
    })?;
    verify_signature(
        supplier.secret.expose(),
        &headers,
        &body,
        chrono::Utc::now().timestamp(),
    )?;
    let callback: Callback = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("MALFORMED_JSON", format!("callback body: {e}")))?;
    // A repeated callback without an id of its own is recognised by its signed body.
    let callback_id = callback
        .callback_id
        .clone()
        .unwrap_or_else(|| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&body)));
    let claim = state
        .store
        .claim_callback(&supplier_id, &callback_id, &crate::orders::now())
        .await?;
    match claim {
        CallbackClaim::New => {}
        // A retry or a replay: the first outcome, and nothing changes.
        CallbackClaim::Done { answer, .. } => {
            let answer = serde_json::from_str(&answer).map_err(ApiError::internal)?;
            return Ok((StatusCode::OK, Json(answer)));
        }
        CallbackClaim::InProgress => {
            return Err(ApiError::conflict(
                "REQUEST_IN_PROGRESS",
                "this callback is being handled; send it again shortly",
            )
            .retry_after(1));
        }
    }
    let result = act(&state, &supplier_id, callback, callback_id.clone()).await;
    let store = &state.store;
    match &result {
        Ok((status, Json(answer))) => {
            let answer = serde_json::to_string(answer).map_err(ApiError::internal)?;
            store
                .finish_callback(&supplier_id, &callback_id, status.as_u16(), &answer)
                .await?;
        }
        // Nothing was taken: the supplier's retry is handled afresh.
        Err(_) => store.release_callback(&supplier_id, &callback_id).await?,
    }
    result
}

/// Acts on a callback claimed for the first time.
async fn act(
    state: &AppState,
    supplier_id: &str,
    callback: Callback,
    callback_id: String,
) -> Result<(StatusCode, Json<CallbackAnswer>), ApiError> {
    let kind = CallbackKind::parse(&callback.kind);
    if kind == Some(CallbackKind::UnsolicitedCease) {
        return unsolicited_cease(state, supplier_id, callback).await;
    }
    let order = state
        .store
        .get_order(&callback.tenant_id, &callback.order_id)
        .await?
        .filter(|o| o.document.supplier_id == supplier_id)
        .ok_or_else(|| ApiError::not_found(&callback.order_id))?;
    let Some(kind) = kind else {
        return Err(ApiError::unprocessable(
            "UNSUPPORTED_CALLBACK",
            format!(
                "callback type '{}' is not handled by this version",
                callback.kind
            ),
        ));
    };
    match kind {
        CallbackKind::StepDone | CallbackKind::StepFailed => {
            let step_id = callback.step_id.ok_or_else(|| {
                ApiError::bad_request("INVALID_FIELD", "step callbacks need 'step_id'")
            })?;
            state
                .engine
                .step_callback(
                    &order.document.tenant_id,
                    &order.document.order_id,
                    StepCallback {
                        step_id,
                        done: kind == CallbackKind::StepDone,
                        reason: callback.reason,
                    },
                )
                .await?;
            Ok((StatusCode::ACCEPTED, Json(CallbackAnswer::accepted())))
        }
        CallbackKind::AmendmentDecision => {
            let (Some(amendment_id), Some(decision)) = (callback.amendment_id, callback.decision)
            else {
                return Err(ApiError::bad_request(
                    "INVALID_FIELD",
                    "amendment decisions need 'amendment_id' and 'decision'",
                ));
            };
            let Some(decision) = AmendDecision::decided(&decision) else {
                return Err(ApiError::bad_request(
                    "INVALID_FIELD",
                    "'decision' must be ACCEPT or REJECT",
                ));
            };
            let accept = decision == AmendDecision::Accept;
            let amendment = state
                .store
                .get_amendment(&callback.tenant_id, &callback.order_id, &amendment_id)
                .await?
                .ok_or_else(|| request_not_found("amendment", &order, &amendment_id))?;
            let timing = check_decision(
                "amendment",
                &amendment_id,
                amendment.state,
                rules::is_terminal(order.state),
            )
            .map_err(rule_error)?;
            if timing == Timing::Late && accept {
                late_acceptance(&order, &amendment_id, &amendment.changes).map_err(rule_error)?;
            }
            state
                .engine
                .amendment_decision(
                    &order.document.tenant_id,
                    &order.document.order_id,
                    AmendmentDecision {
                        amendment_id,
                        accept,
                        reason: callback.reason,
                    },
                )
                .await?;
            Ok((StatusCode::ACCEPTED, Json(CallbackAnswer::accepted())))
        }
        CallbackKind::SupplierAmend => {
            let changes = callback.changes.ok_or_else(|| {
                ApiError::bad_request("INVALID_FIELD", "supplier amendments need 'changes'")
            })?;
            // Refuse a change that cannot apply before it reaches the order.
            orderflow_domain::amendment::merge_changes(&order.document, &changes)
                .map_err(rule_error)?;
            state
                .engine
                .supplier_amend(
                    &order.document.tenant_id,
                    &order.document.order_id,
                    SupplierAmendment {
                        callback_id,
                        changes,
                        reason: callback.reason,
                    },
                )
                .await?;
            Ok((StatusCode::ACCEPTED, Json(CallbackAnswer::accepted())))
        }
        CallbackKind::CancellationDecision => {
            let (Some(cancellation_id), Some(code)) =
                (callback.cancellation_id, callback.response_code)
            else {
                return Err(ApiError::bad_request(
                    "INVALID_FIELD",
                    "cancellation decisions need 'cancellation_id' and 'response_code'",
                ));
            };
            let Some(code) = ResponseCode::decided(&code) else {
                return Err(ApiError::bad_request(
                    "INVALID_FIELD",
                    "'response_code' must be AP or RE",
                ));
            };
            let Some(OrderRequest::Cancellation(cancellation)) = state
                .store
                .get_request(&callback.tenant_id, &callback.order_id, &cancellation_id)
                .await?
            else {
                return Err(request_not_found("cancellation", &order, &cancellation_id));
            };
            check_decision(
                "cancellation",
                &cancellation_id,
                cancellation.state,
                rules::is_terminal(order.state),
            )
            .map_err(rule_error)?;
            state
                .engine
                .cancellation_decision(
                    &order.document.tenant_id,
                    &order.document.order_id,
                    CancellationDecision {
                        cancellation_id,
                        accept: code == ResponseCode::Accepted,
                        reason: callback.reason,
                    },
                )
                .await?;
            Ok((StatusCode::ACCEPTED, Json(CallbackAnswer::accepted())))
        }
        CallbackKind::SupplierCancel => {
            state
                .engine
                .supplier_cancel(
                    &order.document.tenant_id,
                    &order.document.order_id,
                    SupplierCancel {
                        callback_id,
                        reason: callback.reason,
                    },
                )
                .await?;
            Ok((StatusCode::ACCEPTED, Json(CallbackAnswer::accepted())))
        }
        // The supplier holds or releases the order: the operator's commands, for the
        // supplier's own hold (an operator's hold is not the supplier's to lift).
        CallbackKind::Hold | CallbackKind::Resume => {
            let action = if kind == CallbackKind::Hold {
                OperatorAction::Suspend
            } else {
                OperatorAction::Resume
            };
            let reason = callback.reason.unwrap_or_else(|| {
                format!(
                    "{} by the supplier",
                    if action == OperatorAction::Suspend {
                        "held"
                    } else {
                        "resumed"
                    }
                )
            });
            let view = state
                .engine
                .operator(
                    &order.document.tenant_id,
                    &order.document.order_id,
                    OperatorRequest {
                        action,
                        reason: Some(reason),
                        by: Holder::Supplier,
                    },
                )
                .await?;
            Ok((
                StatusCode::OK,
                Json(CallbackAnswer {
                    state: Some(view.state),
                    ..CallbackAnswer::accepted()
                }),
            ))
        }
        // Taken before the order is looked up: it opens an order.
        CallbackKind::UnsolicitedCease => unsolicited_cease(state, supplier_id, callback).await,
    }
}

/// A decision names a request the order does not have.
fn request_not_found(what: &str, order: &OrderView, id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("order '{}' has no {what} '{id}'", order.document.order_id),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    fn signed(secret: &str, ts: i64, body: &[u8]) -> HeaderMap {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{ts}.").as_bytes());
        mac.update(body);
        let mut h = HeaderMap::new();
        h.insert("orderflow-timestamp", ts.to_string().parse().unwrap());
        h.insert(
            "orderflow-signature",
            format!("v1={}", hex::encode(mac.finalize().into_bytes()))
                .parse()
                .unwrap(),
        );
        h
    }

    #[test]
    fn signatures_are_checked() {
        let body = br#"{"type":"STEP_DONE"}"#;
        let now = 1_700_000_000;
        assert!(verify_signature("s", &signed("s", now, body), body, now).is_ok());
        assert!(verify_signature("s", &signed("other", now, body), body, now).is_err());
        assert!(verify_signature("s", &signed("s", now, body), b"{}", now).is_err());
        assert!(verify_signature("s", &signed("s", now - 301, body), body, now).is_err());
        assert!(verify_signature("s", &HeaderMap::new(), body, now).is_err());
    }
}
