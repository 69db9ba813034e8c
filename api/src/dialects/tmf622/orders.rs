//! `productOrder`: `POST`, `GET /{id}`, `GET` (a list, with `fields`, `offset`, `limit` and
//! attribute filters) and `PATCH /{id}` (a JSON merge patch, as an amendment).

use super::resource::{self, ProductOrderCreate};
use crate::AppState;
use crate::amendments::{AmendBody, idempotency_key, if_match, tenant};
use crate::answers::ErrorBody;
use crate::error::ApiError;
use crate::extract::StrictJson;
use crate::orders::{load, place_order};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use orderflow_config::Caller;
use orderflow_domain::tmf622::{href, product_order, select};
use orderflow_store::OrderFilter;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use utoipa::IntoParams;

/// The largest page of `GET /productOrder`.
const MAX_LIMIT: usize = 1000;
/// Orders read from the store at a time while a list is filtered.
const SCAN_PAGE: i64 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Fields {
    /// Attributes to return, comma-separated (`id`, `href` and `@type` always come).
    pub fields: Option<String>,
}

fn json_answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// `POST /productOrder`: 201 with the ProductOrder, in state `acknowledged`.
#[utoipa::path(post, path = "/tmf-api/productOrderingManagement/v5/productOrder", tag = "tmf622",
    request_body = ProductOrderCreate,
    params(Fields, crate::amendments::IdempotencyKey),
    responses((status = 201, description = "The ProductOrder (TMF622 v5)", body = Object),
        (status = 422, description = "`INVALID_FIELD`, `VALIDATION_FAILED`, `UNKNOWN_SUPPLIER`", body = ErrorBody)))]
pub async fn create_product_order(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<Fields>,
    headers: HeaderMap,
    StrictJson(body): StrictJson<ProductOrderCreate>,
) -> Result<Response, ApiError> {
    let tenant_id = crate::extract::tenant_only(caller, "orders are placed")?;
    let key = idempotency_key(&headers)?;
    let supplier = state.settings.default_supplier(&tenant_id);
    let new = body.into_new_order(supplier, key.as_deref())?;
    let (status, view) = place_order(&state, tenant_id, key, new).await?;
    let body = select(product_order(&view), query.fields.as_deref());
    let location = href(view.document.order_id.as_str());
    Ok(crate::answers::located(status, body, &location))
}

/// `GET /productOrder/{id}`.
#[utoipa::path(get, path = "/tmf-api/productOrderingManagement/v5/productOrder/{id}", tag = "tmf622",
    params(("id" = String, Path, description = "The ProductOrder id (the orderflow order id)"), Fields),
    responses((status = 200, description = "The ProductOrder", body = Object), (status = 404, body = ErrorBody)))]
pub async fn get_product_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<Fields>,
) -> Result<Response, ApiError> {
    let tenant_id = tenant(caller)?;
    let view = load(&state, &tenant_id, &id).await?;
    Ok(json_answer(
        StatusCode::OK,
        select(product_order(&view), query.fields.as_deref()),
    ))
}

/// Does `resource` have `value` at the dotted `path`? An array matches if any element does.
fn matches(resource: &Value, path: &[&str], value: &str) -> bool {
    match (resource, path.split_first()) {
        (Value::Array(items), _) => items.iter().any(|i| matches(i, path, value)),
        (Value::Object(o), Some((first, rest))) => {
            o.get(*first).is_some_and(|v| matches(v, rest, value))
        }
        (Value::String(s), None) => s == value,
        (Value::Number(n), None) => n.to_string() == value,
        (Value::Bool(b), None) => b.to_string() == value,
        _ => false,
    }
}

/// `GET /productOrder?state=&offset=&limit=&fields=`: the tenant's ProductOrders, newest
/// first. Every other parameter filters by an attribute (`externalId.id=PO-1`,
/// `productOrderItem.action=add`). `X-Total-Count` counts every match, `X-Result-Count`
/// this page.
#[utoipa::path(get, path = "/tmf-api/productOrderingManagement/v5/productOrder", tag = "tmf622",
    params(Fields,
        ("offset" = Option<i32>, Query, minimum = 0, description = "Matches to skip (default 0)"),
        ("limit" = Option<i32>, Query, minimum = 1, maximum = 1000, description = "At most this many (default 100)"),
        ("state" = Option<String>, Query, description = "Only ProductOrders in this TMF622 state")),
    responses((status = 200, description = "ProductOrders", body = [Object],
        headers(("X-Total-Count" = u64, description = "Every match"), ("X-Result-Count" = u64, description = "This page")))))]
pub async fn list_product_orders(
    State(state): State<AppState>,
    caller: Caller,
    Query(mut query): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let tenant_id = tenant(caller)?;
    let number = |name: &str, default: usize| -> Result<usize, ApiError> {
        match query.get(name) {
            None => Ok(default),
            // The documented type, an int32 of 0 or more: anything else is refused, not clipped.
            Some(v) => v
                .parse::<i32>()
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "INVALID_QUERY",
                        format!("{name} must be a whole number from 0 to 2147483647, not '{v}'"),
                    )
                }),
        }
    };
    let offset = number("offset", 0)?;
    let limit = number("limit", 100)?;
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "INVALID_QUERY",
            format!("limit must be 1 to {MAX_LIMIT}"),
        ));
    }
    let fields = query.remove("fields");
    query.remove("offset");
    query.remove("limit");
    let filters: Vec<(Vec<&str>, &str)> = query
        .iter()
        .map(|(k, v)| (k.split('.').collect(), v.as_str()))
        .collect();
    // Newest first through the store's pages; only the window asked for is kept.
    let mut filter = OrderFilter {
        tenant_id: Some(tenant_id),
        limit: SCAN_PAGE,
        ..OrderFilter::default()
    };
    let (mut total, mut page) = (0usize, Vec::new());
    loop {
        let found = state.store.list_orders(&filter).await?;
        for view in &found.orders {
            let resource = product_order(view);
            if filters
                .iter()
                .all(|(path, value)| matches(&resource, path, value))
            {
                if total >= offset && page.len() < limit {
                    page.push(select(resource, fields.as_deref()));
                }
                total += 1;
            }
        }
        match found.next {
            Some(next) => filter.after = Some(next),
            None => break,
        }
    }
    let count = page.len();
    let mut response = json_answer(StatusCode::OK, Value::Array(page));
    let h = response.headers_mut();
    h.insert("x-total-count", HeaderValue::from(total));
    h.insert("x-result-count", HeaderValue::from(count));
    Ok(response)
}

/// `PATCH /productOrder/{id}` (`application/merge-patch+json`): an amendment under the core
/// rules (a restart before the plan runs, a patch the supplier decides after). 200 with the
/// ProductOrder when decided, 202 while the supplier decides.
#[utoipa::path(patch, path = "/tmf-api/productOrderingManagement/v5/productOrder/{id}", tag = "tmf622",
    request_body(content = Object, content_type = "application/merge-patch+json",
        description = "`requestedCompletionDate`, `note` and `productOrderItem` (all items, replaced)"),
    params(("id" = String, Path, description = "The ProductOrder id"), Fields, crate::amendments::IdempotencyKey),
    responses((status = 200, description = "Amended, or the amendment refused", body = Object),
        (status = 202, description = "The supplier decides", body = Object),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`NOT_AMENDABLE`, `REQUEST_IN_PROGRESS`, `FIELD_NOT_AMENDABLE`", body = ErrorBody),
        (status = 422, description = "`IMMUTABLE_FIELD`, `INVALID_FIELD`, `VALIDATION_FAILED`", body = ErrorBody)))]
pub async fn patch_product_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<Fields>,
    headers: HeaderMap,
    StrictJson(patch): StrictJson<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let tenant_id = tenant(caller)?;
    let current = load(&state, &tenant_id, &id).await?;
    let mut changes = Map::new();
    for (field, value) in patch {
        for (core, value) in core_changes(&field, value)? {
            changes.insert(core.to_string(), value);
        }
    }
    let body = AmendBody {
        order_ref: current.document.order_ref.clone(),
        changes,
    };
    let guard = (if_match(&headers)?, idempotency_key(&headers)?);
    let (status, answer) = crate::amendments::amend(&state, &tenant_id, &id, guard, body).await?;
    let resource = select(product_order(&answer.order), query.fields.as_deref());
    Ok(json_answer(status, resource))
}

/// The core changes of one patched TMF attribute (`null` removes it).
fn core_changes(field: &str, value: Value) -> Result<Vec<(&'static str, Value)>, ApiError> {
    let invalid = |e: serde_json::Error| ApiError::invalid_field(field, &e.to_string());
    Ok(match field {
        "requestedCompletionDate" => match &value {
            Value::Null => vec![("requested_date", Value::Null)],
            Value::String(at) => vec![(
                "requested_date",
                json!(at.chars().take(10).collect::<String>()),
            )],
            _ => return Err(ApiError::invalid_field(field, "must be a date-time string")),
        },
        "note" => {
            let notes: Vec<resource::Note> = serde_json::from_value(value).map_err(invalid)?;
            let text: Vec<&str> = notes.iter().map(|n| n.text.as_str()).collect();
            vec![(
                "notes",
                if text.is_empty() {
                    Value::Null
                } else {
                    json!(text.join(
                        "
"
                    ))
                },
            )]
        }
        "productOrderItem" => {
            let items: Vec<resource::ProductOrderItem> =
                serde_json::from_value(value).map_err(invalid)?;
            let items = resource::read_items(items)?;
            let mut changes = vec![(
                "lines",
                serde_json::to_value(items.lines).map_err(ApiError::internal)?,
            )];
            if !items.attributes.is_empty() {
                changes.push(("attributes", json!(items.attributes)));
            }
            changes
        }
        _ => {
            return Err(ApiError::unprocessable(
                "IMMUTABLE_FIELD",
                format!(
                    "'{field}' cannot be changed; a merge patch may change \
                     requestedCompletionDate, note and productOrderItem"
                ),
            ));
        }
    })
}
