//! Reading at scale: `GET /v1/orders` in pages with filters, the lists of an order's requests,
//! and `GET /v1/events`, the tenant's change feed across its orders. Cursors are opaque to
//! clients (hex of the store's position), so the store may change how it pages.

use crate::AppState;
use crate::amendments::tenant;
use crate::answers::{
    AmendmentList, CancellationList, ErrorBody, FeedList, OrderList, ReactivationList,
};
use crate::error::ApiError;
use crate::extract::StrictQuery;
use crate::orders::load;
use axum::Json;
use axum::extract::{Path, State};
use orderflow_config::Caller;
use orderflow_domain::gateway::GatewayState;
use orderflow_domain::model::OrderState;
use orderflow_domain::requests::{OrderRequest, PendingKind};
use orderflow_store::{FeedPosition, OrderCursor, OrderFilter};
use serde::Deserialize;
use utoipa::IntoParams;

/// The largest page; also the default of the feed.
const MAX_PAGE: i64 = 1000;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only orders in this state, e.g. `EXECUTION`.
    #[param(value_type = Option<OrderState>)]
    pub state: Option<String>,
    /// Only orders in this gateway state, e.g. `PENDING_AMENDMENT`.
    #[param(value_type = Option<GatewayState>)]
    pub gateway_state: Option<String>,
    /// Only orders with this open request: `AMENDMENT`, `CANCELLATION`, `REACTIVATION`, or
    /// `NONE` for none.
    pub pending_request: Option<String>,
    /// Only orders with this reference.
    pub order_ref: Option<String>,
    pub supplier_id: Option<String>,
    /// Only orders created after this instant (RFC 3339).
    pub created_after: Option<String>,
    /// Only orders created before this instant (RFC 3339).
    pub created_before: Option<String>,
    /// Only orders changed after this instant (RFC 3339).
    pub updated_after: Option<String>,
    /// Operators only: one tenant's orders (all tenants when absent).
    pub tenant_id: Option<String>,
    /// 1–1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

fn invalid(message: String) -> ApiError {
    ApiError::bad_request("INVALID_QUERY", message)
}

/// `value` if it is one of `names`, else an error listing them.
fn one_of(field: &str, value: Option<String>, names: &[&str]) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if !names.contains(&v.as_str()) => Err(invalid(format!(
            "unknown {field} '{v}'; use one of {}",
            names.join(", ")
        ))),
        v => Ok(v),
    }
}

/// An RFC 3339 instant, written as the store writes its times so that text order is time
/// order.
fn instant(field: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    value
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(&v)
                .map(|t| {
                    t.with_timezone(&chrono::Utc)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                })
                .map_err(|_| {
                    invalid(format!(
                        "{field} must be an RFC 3339 instant such as 2026-01-31T09:00:00Z"
                    ))
                })
        })
        .transpose()
}

fn page_size(limit: Option<i64>, default: i64) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(default);
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(invalid(format!("limit must be between 1 and {MAX_PAGE}")))
    }
}

/// A cursor as the client sees it: the hex of its parts joined by a newline.
fn encode(parts: &[&str]) -> String {
    hex::encode(parts.join("\n"))
}

fn decode(cursor: &str, parts: usize) -> Result<Vec<String>, ApiError> {
    let bad = || invalid("cursor is not one this API gave out; start again without it".into());
    let bytes = hex::decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let split: Vec<String> = text.split('\n').map(String::from).collect();
    if split.len() == parts {
        Ok(split)
    } else {
        Err(bad())
    }
}

/// `GET /v1/orders`: the newest orders first, a page at a time (`next_cursor`). Paging never
/// skips or repeats an order while others are created.
#[utoipa::path(get, path = "/v1/orders", tag = "orders", params(ListQuery),
    responses((status = 200, body = OrderList), (status = 400, description = "`INVALID_QUERY`", body = ErrorBody)))]
pub async fn list_orders(
    State(state): State<AppState>,
    caller: Caller,
    StrictQuery(query): StrictQuery<ListQuery>,
) -> Result<Json<OrderList>, ApiError> {
    let states = OrderState::ALL.map(|s| s.as_str());
    let gateway_states = GatewayState::ALL.map(|g| g.as_str());
    let mut pending = [
        PendingKind::Amendment,
        PendingKind::Cancellation,
        PendingKind::Reactivation,
    ]
    .map(|k| k.as_str())
    .to_vec();
    pending.push("NONE");
    let after = match &query.cursor {
        Some(c) => {
            let mut parts = decode(c, 2)?;
            let order_id = parts.pop().unwrap_or_default();
            let created_at = parts.pop().unwrap_or_default();
            Some(OrderCursor {
                created_at,
                order_id,
            })
        }
        None => None,
    };
    let filter = OrderFilter {
        tenant_id: match caller {
            Caller::Tenant(t) => Some(t),
            Caller::Operator => query.tenant_id,
        },
        state: one_of("state", query.state, &states)?,
        gateway_state: one_of("gateway_state", query.gateway_state, &gateway_states)?,
        pending_request: one_of("pending_request", query.pending_request, &pending)?,
        order_ref: query.order_ref,
        supplier_id: query.supplier_id,
        created_after: instant("created_after", query.created_after)?,
        created_before: instant("created_before", query.created_before)?,
        updated_after: instant("updated_after", query.updated_after)?,
        after,
        limit: page_size(query.limit, 100)?,
    };
    let page = state.store.list_orders(&filter).await?;
    Ok(Json(OrderList {
        orders: page.orders,
        next_cursor: page.next.map(|c| encode(&[&c.created_at, &c.order_id])),
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// The previous page's `next_cursor`; absent: from the tenant's first event.
    pub cursor: Option<String>,
    /// 1–1000, default 1000.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// `GET /v1/events`: the tenant's change feed, every event of every order exactly once, in
/// a stable order, for systems that poll instead of taking webhooks. Keep `next_cursor` and
/// ask again with it; an empty page means nothing new yet.
#[utoipa::path(get, path = "/v1/events", tag = "orders", params(FeedQuery),
    responses((status = 200, body = FeedList),
        (status = 400, description = "`INVALID_QUERY`", body = ErrorBody),
        (status = 403, description = "The operator token: the feed is a tenant's", body = ErrorBody)))]
pub async fn feed(
    State(state): State<AppState>,
    caller: Caller,
    StrictQuery(query): StrictQuery<FeedQuery>,
) -> Result<Json<FeedList>, ApiError> {
    let tenant_id = crate::extract::tenant_only(caller, "the change feed is read")?;
    let after = match &query.cursor {
        Some(c) => {
            let parts = decode(c, 2)?;
            let number = |s: &str| {
                s.parse::<i64>().map_err(|_| {
                    invalid("cursor is not one this API gave out; start again without it".into())
                })
            };
            FeedPosition(number(&parts[0])?, number(&parts[1])?)
        }
        None => FeedPosition::default(),
    };
    let limit = page_size(query.limit, MAX_PAGE)?;
    let page = state.store.feed(&tenant_id, after, limit).await?;
    Ok(Json(FeedList {
        events: page.events,
        next_cursor: encode(&[&page.next.0.to_string(), &page.next.1.to_string()]),
    }))
}

/// `GET /v1/orders/{id}/amendments`: every amendment of the order, oldest first.
#[utoipa::path(get, path = "/v1/orders/{id}/amendments", tag = "amendments",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, body = AmendmentList), (status = 404, body = ErrorBody)))]
pub async fn list_amendments(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
) -> Result<Json<AmendmentList>, ApiError> {
    let tenant_id = tenant(caller)?;
    load(&state, &tenant_id, &order_id).await?;
    let amendments = state.store.list_amendments(&tenant_id, &order_id).await?;
    Ok(Json(AmendmentList { amendments }))
}

/// `GET /v1/orders/{id}/cancellations`: every cancellation of the order, oldest first.
#[utoipa::path(get, path = "/v1/orders/{id}/cancellations", tag = "cancellations",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, body = CancellationList), (status = 404, body = ErrorBody)))]
pub async fn list_cancellations(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
) -> Result<Json<CancellationList>, ApiError> {
    let all = requests(&state, caller, &order_id, PendingKind::Cancellation).await?;
    let cancellations = all
        .into_iter()
        .filter_map(|r| match r {
            OrderRequest::Cancellation(c) => Some(c),
            OrderRequest::Reactivation(_) => None,
        })
        .collect();
    Ok(Json(CancellationList { cancellations }))
}

/// `GET /v1/orders/{id}/reactivations`: every reactivation of the order, oldest first.
#[utoipa::path(get, path = "/v1/orders/{id}/reactivations", tag = "cancellations",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, body = ReactivationList), (status = 404, body = ErrorBody)))]
pub async fn list_reactivations(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
) -> Result<Json<ReactivationList>, ApiError> {
    let all = requests(&state, caller, &order_id, PendingKind::Reactivation).await?;
    let reactivations = all
        .into_iter()
        .filter_map(|r| match r {
            OrderRequest::Reactivation(r) => Some(r),
            OrderRequest::Cancellation(_) => None,
        })
        .collect();
    Ok(Json(ReactivationList { reactivations }))
}

/// The caller's order's cancellations or reactivations, oldest first (404 for an order that
/// is not the caller's).
async fn requests(
    state: &AppState,
    caller: Caller,
    order_id: &str,
    kind: PendingKind,
) -> Result<Vec<OrderRequest>, ApiError> {
    let tenant_id = tenant(caller)?;
    load(state, &tenant_id, order_id).await?;
    Ok(state
        .store
        .list_requests(&tenant_id, order_id, kind)
        .await?)
}
