//! The orderflow HTTP API. Reads come from the order database; changes go to the
//! order's workflow, which records them before answering (read-your-writes).

pub mod amendments;
pub mod answers;
pub mod callbacks;
pub mod cancellations;
pub mod dialects;
pub mod drafts;
pub mod engine;
pub mod error;
pub mod extract;
pub mod listing;
mod no_nul;
pub mod openapi;
pub mod order_engine;
pub mod orders;
pub mod protect;
pub mod webhooks;

use answers::Health;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::get;
use engine::TemporalEngine;
use order_engine::Engine;
use orderflow_config::{Settings, temporal_client};
use orderflow_store::Store;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    /// Temporal in production ([`state`]); any [`Engine`] in tests.
    pub engine: Arc<dyn Engine>,
}

/// Request bodies above this are refused with 413 before they are read.
pub(crate) const BODY_LIMIT: usize = orderflow_domain::limits::MAX_BODY_BYTES;

/// The API's routes, built from the annotated handlers so that `/openapi.json` documents
/// every one of them (a handler without `#[utoipa::path]` does not compile here).
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(livez))
        .routes(routes!(orders::create_order, listing::list_orders))
        .routes(routes!(listing::feed))
        .routes(routes!(listing::list_amendments))
        .routes(routes!(listing::list_cancellations))
        .routes(routes!(listing::list_reactivations))
        .routes(routes!(
            orders::get_order,
            amendments::amend_order,
            drafts::update_draft,
            drafts::delete_draft
        ))
        .routes(routes!(drafts::place_draft))
        .routes(routes!(amendments::capabilities))
        .routes(routes!(amendments::preview))
        .routes(routes!(amendments::get_amendment))
        .routes(routes!(orders::list_events))
        .routes(routes!(cancellations::cancel_order))
        .routes(routes!(cancellations::reactivate_order))
        .routes(routes!(cancellations::get_cancellation))
        .routes(routes!(cancellations::get_reactivation))
        .routes(routes!(orders::operator_action))
        .routes(routes!(webhooks::create_webhook, webhooks::list_webhooks))
        .routes(routes!(webhooks::get_webhook, webhooks::delete_webhook))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(callbacks::supplier_callback))
        .merge(dialects::routes())
}

/// The routes and their OpenAPI document.
fn parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = routes().split_for_parts();
    openapi::conventions(&mut document);
    (router, document)
}

/// The OpenAPI document of [`router`] (also `orderflow openapi` and `docs/openapi.json`).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    parts().1
}

pub fn router(state: AppState) -> Router {
    let guard = Arc::new(protect::Guard::new(state.settings.clone()));
    let (router, document) = parts();
    let document = Arc::new(document);
    router
        .route(
            "/openapi.json",
            get(move || std::future::ready(axum::Json(document.clone()))),
        )
        .fallback(|| async {
            error::ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such endpoint")
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(no_nul::refuse_nul))
        .layer(axum::middleware::from_fn_with_state(
            guard,
            protect::protect,
        ))
        .layer(axum::middleware::map_response(error::uniform))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(
            orderflow_telemetry::http::observe,
        ))
        .with_state(state)
}

/// 200 while the process is up: nothing else is checked (for a liveness probe, which must
/// not restart the API when Temporal or the database is away).
#[utoipa::path(get, path = "/livez", tag = "health", security(()),
    responses((status = 200, description = "The process is up", body = Health)))]
async fn livez() -> axum::Json<Health> {
    axum::Json(Health::status("ok"))
}

/// 200 once the database answers, Temporal answers, and a worker polls the order queue.
/// Anyone learns only ok / not ok; what is missing (and how many workers poll) is for the
/// operator token.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, description = "Ready", body = Health),
        (status = 503, description = "Not ready (details with the operator token)", body = Health)))]
async fn healthz(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> (StatusCode, axum::Json<Health>) {
    let operator = extract::bearer_caller(&headers, &state.settings)
        == Some(orderflow_config::Caller::Operator);
    let db = state
        .store
        .ping()
        .await
        .map_err(|e| format!("database: {e:#}"));
    let engine = state.engine.check().await;
    let ready = matches!((&db, &engine), (Ok(()), Ok(pollers)) if *pollers > 0);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut health = Health::status(if ready { "ok" } else { "unavailable" });
    if operator {
        health.workers = engine.as_ref().ok().copied();
        health.database = Some(db.err().unwrap_or_else(|| "ok".into()));
        health.engine = Some(match engine {
            Ok(0) => "no worker is polling the order task queue".to_string(),
            Ok(_) => "ok".to_string(),
            Err(e) => e,
        });
    }
    (status, axum::Json(health))
}

/// Builds the API's state from settings: opens the database and connects to Temporal.
pub async fn state(settings: Settings) -> anyhow::Result<AppState> {
    let store = Store::connect(&settings.database_url).await?;
    let client = temporal_client(&settings).await?;
    let engine = Arc::new(TemporalEngine::new(client, settings.task_queue.clone()));
    Ok(AppState {
        settings: Arc::new(settings),
        store,
        engine,
    })
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if let Some(address) = &settings.telemetry.metrics_address {
        orderflow_telemetry::serve_metrics(address).await?;
    }
    let app = router(state(settings).await?);
    tracing::info!(address = %listener.local_addr()?, "API listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
