//! Order endpoints: submit, read, events, operator commands. Drafts are in `drafts`, lists
//! and the change feed in `listing`.

use crate::AppState;
use crate::amendments::{IdempotencyKey, idempotency_key};
use crate::answers::{ErrorBody, EventList, OrderAnswer};
use crate::drafts;
use crate::error::ApiError;
use crate::extract::{OptionalJson, StrictJson, StrictQuery};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use orderflow_config::Caller;
use orderflow_domain::actor::Holder;
use orderflow_domain::commands::OperatorRequest;
use orderflow_domain::ids::{OrderId, SupplierId, TenantId};
use orderflow_domain::model::{OrderDocument, OrderLine, OrderType, OrderView};
use orderflow_domain::rules::{self, OperatorAction};
use orderflow_store::claims::KeyClaim;
use orderflow_workflows::OrderWorkflowInput;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// Body of `POST /v1/orders` (and of `PUT /v1/orders/{id}`, which replaces a draft). The
/// tenant comes from the credentials, never from here.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// Unique per tenant; generated (UUIDv7) when absent.
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,128}$")]
    pub order_id: Option<String>,
    #[schema(min_length = 1, pattern = r"\S")]
    pub order_ref: String,
    /// A configured supplier (`UNKNOWN_SUPPLIER` otherwise).
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,128}$")]
    pub supplier_id: String,
    pub order_type: OrderType,
    #[serde(default)]
    pub unsolicited: bool,
    #[serde(default)]
    pub recurring: bool,
    #[schema(value_type = Option<Object>)]
    pub customer: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub contact: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub site: Option<Value>,
    /// A calendar date.
    #[schema(format = Date)]
    pub requested_date: Option<String>,
    pub notes: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub lines: Vec<OrderLine>,
    /// ISO 4217 (e.g. `EUR`): the view's amounts are in its minor units.
    #[schema(pattern = r"^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// IANA (e.g. `Europe/Paris`): an `effective_date` means midnight there (UTC when none).
    pub time_zone: Option<String>,
    /// `false` creates a DRAFT; absent or `true` places the order at once.
    pub place: Option<bool>,
}

impl NewOrder {
    /// The tenant's order document, checked like every order, placed or draft: no unsolicited
    /// cease, every field valid, a configured supplier. A missing `order_id` is generated.
    pub fn into_document(
        self,
        state: &AppState,
        tenant_id: String,
    ) -> Result<OrderDocument, ApiError> {
        if self.unsolicited {
            return Err(ApiError::unprocessable(
                "UNSOLICITED_NOT_ALLOWED",
                "unsolicited ceases are raised by suppliers, not tenants; remove 'unsolicited'",
            ));
        }
        let order = OrderDocument {
            order_id: OrderId::unchecked(
                self.order_id
                    .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            ),
            order_ref: self.order_ref,
            tenant_id: TenantId::unchecked(tenant_id),
            supplier_id: SupplierId::unchecked(self.supplier_id),
            order_type: self.order_type,
            unsolicited: false,
            recurring: self.recurring,
            customer: self.customer,
            contact: self.contact,
            site: self.site,
            requested_date: self.requested_date,
            notes: self.notes,
            attributes: self.attributes,
            lines: self.lines,
            currency: self.currency,
            time_zone: self.time_zone,
        };
        if let Err(errors) = rules::validate_order(&order) {
            return Err(ApiError::validation_failed("the order", &errors));
        }
        if state.settings.supplier(&order.supplier_id).is_none() {
            return Err(ApiError::unprocessable(
                "UNKNOWN_SUPPLIER",
                format!("supplier '{}' is not configured", order.supplier_id),
            )
            .with_details(json!({
                "known_suppliers": state.settings.suppliers.iter().map(|s| &s.id).collect::<Vec<_>>()
            })));
        }
        Ok(order)
    }
}

/// The tenant a request acts for: the caller's own, or for the operator the `tenant_id`
/// query parameter.
pub(crate) fn acting_tenant(caller: &Caller, query: &TenantQuery) -> Result<String, ApiError> {
    match caller {
        Caller::Tenant(t) => Ok(t.clone()),
        Caller::Operator => query.tenant_id.clone().ok_or_else(|| {
            ApiError::bad_request(
                "TENANT_REQUIRED",
                "operators must name the order's tenant with ?tenant_id=",
            )
        }),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TenantQuery {
    /// Operators only: the order's tenant. Tenants act for themselves.
    pub tenant_id: Option<String>,
}

/// The API's timestamps: RFC 3339 UTC with milliseconds, like the workflow's.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Places an order: starts its workflow with the received order `view` (its document and
/// `created_at`). The one way an order starts, whether submitted directly or placed from a
/// draft. The order keeps its supplier's `concurrent_amendments` for life; `view` shows it.
pub async fn start_workflow(state: &AppState, view: &mut OrderView) -> Result<(), ApiError> {
    let mut settings = state.settings.workflow.clone();
    settings.concurrent_amendments = state
        .settings
        .supplier(&view.document.supplier_id)
        .is_some_and(|s| s.concurrent_amendments);
    view.concurrent_amendments = settings.concurrent_amendments;
    state
        .engine
        .start_order(OrderWorkflowInput {
            order: view.document.clone(),
            created_at: view.created_at.clone(),
            settings,
            carried: None,
            resume: None,
            // Told, not asked for: no patch markers in a new order's history.
            patches: orderflow_workflows::order_workflow::patches::all(),
        })
        .await
}

/// `POST /v1/orders`: 201 with the order, placed (START) or, with `"place": false`, a DRAFT.
/// With an `Idempotency-Key`, a repeat of the same request answers 200 with the order the
/// key made (never a second order); the key with another request is 422
/// `IDEMPOTENCY_KEY_REUSED`.
#[utoipa::path(post, path = "/v1/orders", tag = "orders", request_body = NewOrder,
    params(IdempotencyKey),
    responses(
        (status = 200, description = "A repeat (same Idempotency-Key and request): the order it made", body = OrderView,
            headers(("Location" = String, description = "The order's URL"))),
        (status = 201, description = "Placed (state START) or stored as a DRAFT", body = OrderView,
            headers(("Location" = String, description = "The order's URL"))),
        (status = 409, description = "`DUPLICATE_ORDER`, `REQUEST_IN_PROGRESS`", body = ErrorBody),
        (status = 422, description = "`VALIDATION_FAILED`, `UNKNOWN_SUPPLIER`, `UNKNOWN_FIELD`, `IDEMPOTENCY_KEY_REUSED`", body = ErrorBody),
    ))]
pub async fn create_order(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    StrictJson(body): StrictJson<NewOrder>,
) -> Result<Response, ApiError> {
    let tenant_id = crate::extract::tenant_only(caller, "orders are placed")?;
    let key = idempotency_key(&headers)?;
    let (status, view) = place_order(&state, tenant_id, key, body).await?;
    Ok(created(status, view))
}

/// A tenant's new order, from any interface: 201 with the order placed (or saved as a
/// draft), 200 with the order an `Idempotency-Key` already made.
pub async fn place_order(
    state: &AppState,
    tenant_id: String,
    key: Option<String>,
    body: NewOrder,
) -> Result<(StatusCode, OrderView), ApiError> {
    let place = body.place.unwrap_or(true);
    let digest = request_digest(&body)?;
    let mut order = body.into_document(state, tenant_id)?;
    let taken = state
        .store
        .get_order(&order.tenant_id, &order.order_id)
        .await?
        .is_some();
    if let Some(key) = &key {
        match keyed_order(state, &order, key, &digest, taken).await? {
            Keyed::Repeat(view) => return Ok((StatusCode::OK, *view)),
            Keyed::Place(order_id) => order.order_id = order_id,
        }
        // The id was free when the key was claimed, so an order under it now is the key's
        // order, written by a concurrent request with the same key: this is a repeat.
        if let Some(existing) = state
            .store
            .get_order(&order.tenant_id, &order.order_id)
            .await?
        {
            return Ok((StatusCode::OK, existing));
        }
    } else if taken {
        return Err(ApiError::duplicate_order(&order.order_id));
    }
    let mut view = OrderView::received(order, now());
    let view = if place {
        if let Err(e) = start_workflow(state, &mut view).await {
            // Another request with the same key started it a moment ago: answer with that
            // order.
            if key.is_some() && e.code == "DUPLICATE_ORDER" {
                let order_id = &view.document.order_id;
                let repeat = wait_for_order(state, &view.document.tenant_id, order_id).await?;
                return Ok((StatusCode::OK, repeat));
            }
            return Err(e);
        }
        // Read-your-writes: the order is readable as soon as we answer 201.
        state.store.insert_received(&view).await?;
        view
    } else {
        drafts::insert(state, view).await?
    };
    Ok((StatusCode::CREATED, view))
}

/// An order answer with its `Location`.
fn created(status: StatusCode, view: OrderView) -> Response {
    let location = format!("/v1/orders/{}", view.document.order_id);
    crate::answers::located(status, view, &location)
}

/// What an `Idempotency-Key` on `POST /v1/orders` decides.
enum Keyed {
    /// The key already made this order: answer with it.
    Repeat(Box<OrderView>),
    /// Place the order under this id: the key is new, or its first request chose the id and
    /// has not written the order yet (the workflow id makes it one order whoever starts it).
    Place(OrderId),
}

/// The digest a repeat must match: the request as parsed, so that whitespace does not count.
fn request_digest(body: &NewOrder) -> Result<String, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(ApiError::internal)?;
    Ok(orderflow_config::sha256_hex(&String::from_utf8_lossy(
        &bytes,
    )))
}

async fn keyed_order(
    state: &AppState,
    order: &OrderDocument,
    key: &str,
    digest: &str,
    taken: bool,
) -> Result<Keyed, ApiError> {
    let claim = state
        .store
        .claim_order_key(&order.tenant_id, key, digest, &order.order_id, &now())
        .await?;
    match claim {
        // The key is new but the order id the request asked for belongs to an order made
        // without it: the key must not come to name that order.
        KeyClaim::New if taken => {
            state
                .store
                .release_order_key(&order.tenant_id, key, &order.order_id)
                .await?;
            Err(ApiError::duplicate_order(&order.order_id))
        }
        KeyClaim::New => Ok(Keyed::Place(order.order_id.clone())),
        KeyClaim::Used {
            order_id,
            request_sha256,
        } if request_sha256 == digest => {
            match state.store.get_order(&order.tenant_id, &order_id).await? {
                Some(view) => Ok(Keyed::Repeat(Box::new(view))),
                None => Ok(Keyed::Place(OrderId::unchecked(order_id))),
            }
        }
        KeyClaim::Used { order_id, .. } => Err(ApiError::unprocessable(
            "IDEMPOTENCY_KEY_REUSED",
            format!(
                "this Idempotency-Key made order '{order_id}' from another request; use a new key"
            ),
        )),
    }
}

/// The order a concurrent request with the same key is placing, once its row is written
/// (within a few seconds).
async fn wait_for_order(
    state: &AppState,
    tenant_id: &str,
    order_id: &str,
) -> Result<OrderView, ApiError> {
    for _ in 0..50 {
        if let Some(view) = state.store.get_order(tenant_id, order_id).await? {
            return Ok(view);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(ApiError::conflict(
        "REQUEST_IN_PROGRESS",
        "a request with this Idempotency-Key is still placing the order; retry shortly",
    ))
}

/// The stored order, or 404 (also for another tenant's order).
pub async fn load(
    state: &AppState,
    tenant_id: &str,
    order_id: &str,
) -> Result<OrderView, ApiError> {
    state
        .store
        .get_order(tenant_id, order_id)
        .await?
        .ok_or_else(|| ApiError::not_found(order_id))
}

/// `GET /v1/orders/{id}`: the order as recorded (read-your-writes after any change).
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders", params(("id" = String, Path, description = "Order id"), TenantQuery),
    responses((status = 200, body = OrderView), (status = 404, description = "No such order for this tenant", body = ErrorBody)))]
pub async fn get_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    StrictQuery(query): StrictQuery<TenantQuery>,
) -> Result<Json<OrderView>, ApiError> {
    let tenant = acting_tenant(&caller, &query)?;
    Ok(Json(load(&state, &tenant, &order_id).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Operators only: the order's tenant.
    pub tenant_id: Option<String>,
    /// Only events after this sequence number (for polling).
    #[param(minimum = 0)]
    pub after_seq: Option<i64>,
}

/// `GET /v1/orders/{id}/events`: the order's gapless event log, oldest first.
#[utoipa::path(get, path = "/v1/orders/{id}/events", tag = "orders", params(("id" = String, Path, description = "Order id"), EventsQuery),
    responses((status = 200, body = EventList), (status = 404, body = ErrorBody)))]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    StrictQuery(query): StrictQuery<EventsQuery>,
) -> Result<Json<EventList>, ApiError> {
    let tenant = acting_tenant(
        &caller,
        &TenantQuery {
            tenant_id: query.tenant_id,
        },
    )?;
    let after_seq = u64::try_from(query.after_seq.unwrap_or(0))
        .map_err(|_| ApiError::bad_request("INVALID_QUERY", "after_seq must be 0 or more"))?;
    load(&state, &tenant, &order_id).await?;
    let events = state.store.events(&tenant, &order_id, after_seq).await?;
    Ok(Json(EventList { events }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorBody {
    /// Shown in the order's `state_reason` and events.
    reason: Option<String>,
}

/// `POST /v1/orders/{id}/{suspend|resume|retry|withdraw}` (operator token only).
#[utoipa::path(post, path = "/v1/orders/{id}/{action}", tag = "operators",
    params(("id" = String, Path, description = "Order id"),
        ("action" = String, Path, description = "`suspend`, `resume`, `retry` or `withdraw`"),
        TenantQuery),
    request_body(content = Option<OperatorBody>, description = "Optional"),
    responses((status = 200, body = OrderAnswer),
        (status = 403, description = "Not the operator token", body = ErrorBody),
        (status = 404, description = "No such order or action", body = ErrorBody),
        (status = 409, description = "The order's state does not allow the command", body = ErrorBody)))]
pub async fn operator_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((order_id, action)): Path<(String, String)>,
    StrictQuery(query): StrictQuery<TenantQuery>,
    OptionalJson(body): OptionalJson<OperatorBody>,
) -> Result<Json<OrderAnswer>, ApiError> {
    let Some(action) = OperatorAction::parse(&action) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("no such order action '{action}'"),
        ));
    };
    if caller != Caller::Operator {
        return Err(ApiError::forbidden(format!(
            "'{}' is an operator command; use the operator token",
            action.as_str()
        )));
    }
    let tenant = acting_tenant(&caller, &query)?;
    ApiError::check_limits(
        "the command",
        [body
            .reason
            .as_deref()
            .and_then(|r| orderflow_domain::limits::check_reason("reason", r))],
    )?;
    let current = load(&state, &tenant, &order_id).await?;
    // A draft or an ended order has no running workflow to ask: answer from the rules.
    if !rules::has_running_workflow(current.state) {
        rules::check_operator_action(action, current.state).map_err(ApiError::from)?;
    }
    let order = state
        .engine
        .operator(
            &tenant,
            &order_id,
            OperatorRequest {
                action,
                reason: body.reason,
                by: Holder::Operator,
            },
        )
        .await?;
    Ok(Json(OrderAnswer { order }))
}
