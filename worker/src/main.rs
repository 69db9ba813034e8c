//! `orderflow-worker`: runs order fulfilment against any Temporal endpoint
//! (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`) and the configured database.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    orderflow_worker::init_tracing();
    let settings = orderflow_config::Settings::load()?;
    orderflow_worker::run(settings, orderflow_worker::shutdown_signal()).await
}
