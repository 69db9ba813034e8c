//! The orderflow HTTP API (SPEC §9). Reads come from the order database; changes go to the
//! order's workflow, which records them before answering (read-your-writes).

pub mod amendments;
pub mod callbacks;
pub mod cancellations;
pub mod drafts;
pub mod engine;
pub mod error;
pub mod extract;
pub mod orders;
pub mod webhooks;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use engine::Engine;
use orderflow_activities::config::{Settings, temporal_client};
use orderflow_activities::store::Store;
use serde_json::json;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub engine: Engine,
}

/// Request bodies above this are refused with 413 before they are read.
const BODY_LIMIT: usize = 1 << 20;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/v1/orders",
            post(orders::create_order).get(orders::list_orders),
        )
        .route(
            "/v1/orders/{id}",
            get(orders::get_order)
                .patch(amendments::amend_order)
                .put(drafts::update_draft)
                .delete(drafts::delete_draft),
        )
        .route("/v1/orders/{id}/place", post(drafts::place_draft))
        .route(
            "/v1/orders/{id}/capabilities",
            get(amendments::capabilities),
        )
        .route(
            "/v1/orders/{id}/amendments:preview",
            post(amendments::preview),
        )
        .route(
            "/v1/orders/{id}/amendments/{amendment_id}",
            get(amendments::get_amendment),
        )
        .route("/v1/orders/{id}/events", get(orders::list_events))
        .route("/v1/orders/{id}/cancel", post(cancellations::cancel_order))
        .route(
            "/v1/orders/{id}/reactivate",
            post(cancellations::reactivate_order),
        )
        .route(
            "/v1/orders/{id}/cancellations/{request_id}",
            get(cancellations::get_cancellation),
        )
        .route(
            "/v1/orders/{id}/reactivations/{request_id}",
            get(cancellations::get_reactivation),
        )
        .route("/v1/orders/{id}/{action}", post(orders::operator_action))
        .route(
            "/v1/webhooks",
            post(webhooks::create_webhook).get(webhooks::list_webhooks),
        )
        .route(
            "/v1/webhooks/{id}",
            get(webhooks::get_webhook).delete(webhooks::delete_webhook),
        )
        .route(
            "/v1/webhooks/{id}/deliveries",
            get(webhooks::list_deliveries),
        )
        .route(
            "/v1/supplier/{supplier_id}/callbacks",
            post(callbacks::supplier_callback),
        )
        .fallback(|| async {
            error::ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such endpoint")
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// 200 once the database answers, Temporal answers, and a worker polls the order queue.
async fn healthz(State(state): State<AppState>) -> (StatusCode, axum::Json<serde_json::Value>) {
    let db = state
        .store
        .ping()
        .await
        .map_err(|e| format!("database: {e}"));
    let engine = state.engine.check().await;
    match (db, engine) {
        (Ok(()), Ok(pollers)) if pollers > 0 => (
            StatusCode::OK,
            axum::Json(json!({ "status": "ok", "workers": pollers })),
        ),
        (db, engine) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({
                "status": "unavailable",
                "database": db.err().unwrap_or_else(|| "ok".into()),
                "engine": match engine {
                    Ok(0) => "no worker is polling the order task queue".to_string(),
                    Ok(_) => "ok".to_string(),
                    Err(e) => e,
                },
            })),
        ),
    }
}

/// Builds the API's state from settings: opens the database and connects to Temporal.
pub async fn state(settings: Settings) -> anyhow::Result<AppState> {
    let store = Store::connect(&settings.database_url).await?;
    let client = temporal_client(&settings).await?;
    let engine = Engine::new(client, settings.task_queue.clone());
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
    let app = router(state(settings).await?);
    tracing::info!(address = %listener.local_addr()?, "API listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
