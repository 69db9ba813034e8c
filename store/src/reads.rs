//! What the API reads: orders, their events, amendments and requests, each as the JSON
//! body the workflow recorded.

use crate::Store;
use orderflow_domain::cancellation::OrderRequest;
use orderflow_domain::model::{Amendment, OrderEvent, OrderView};
use sqlx::Row;

/// Filters of `GET /v1/orders`.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    pub tenant_id: Option<String>,
    pub state: Option<String>,
    pub gateway_state: Option<String>,
    pub supplier_id: Option<String>,
    pub limit: i64,
}

impl Store {
    /// A cancellation or reactivation of the order, by id.
    pub async fn get_request(
        &self,
        tenant_id: &str,
        order_id: &str,
        request_id: &str,
    ) -> anyhow::Result<Option<OrderRequest>> {
        let row = sqlx::query(
            "SELECT body FROM order_requests WHERE tenant_id = $1 AND order_id = $2 AND request_id = $3",
        )
        .bind(tenant_id)
        .bind(order_id)
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok(serde_json::from_str(r.get::<&str, _>("body"))?))
            .transpose()
    }

    pub async fn get_amendment(
        &self,
        tenant_id: &str,
        order_id: &str,
        amendment_id: &str,
    ) -> anyhow::Result<Option<Amendment>> {
        let row = sqlx::query(
            "SELECT body FROM amendments WHERE tenant_id = $1 AND order_id = $2 AND amendment_id = $3",
        )
        .bind(tenant_id)
        .bind(order_id)
        .bind(amendment_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok(serde_json::from_str(r.get::<&str, _>("body"))?))
            .transpose()
    }

    pub async fn get_order(
        &self,
        tenant_id: &str,
        order_id: &str,
    ) -> anyhow::Result<Option<OrderView>> {
        let row = sqlx::query("SELECT view FROM orders WHERE tenant_id = $1 AND order_id = $2")
            .bind(tenant_id)
            .bind(order_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(serde_json::from_str(r.get::<&str, _>("view"))?))
            .transpose()
    }

    /// Orders matching the filter, newest first.
    pub async fn list_orders(&self, filter: &OrderFilter) -> anyhow::Result<Vec<OrderView>> {
        let rows = sqlx::query(
            "SELECT view FROM orders
             WHERE ($1 IS NULL OR tenant_id = $1) AND ($2 IS NULL OR state = $2)
               AND ($3 IS NULL OR supplier_id = $3) AND ($5 IS NULL OR gateway_state = $5)
             ORDER BY created_at DESC, order_id DESC LIMIT $4",
        )
        .bind(&filter.tenant_id)
        .bind(&filter.state)
        .bind(&filter.supplier_id)
        .bind(filter.limit)
        .bind(&filter.gateway_state)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(serde_json::from_str(r.get::<&str, _>("view"))?))
            .collect()
    }

    /// The order's events with `seq > after_seq`, in `seq` order.
    pub async fn events(
        &self,
        tenant_id: &str,
        order_id: &str,
        after_seq: u64,
    ) -> anyhow::Result<Vec<OrderEvent>> {
        let rows = sqlx::query(
            "SELECT body FROM order_events WHERE tenant_id = $1 AND order_id = $2 AND seq > $3 ORDER BY seq",
        )
        .bind(tenant_id)
        .bind(order_id)
        .bind(after_seq as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(serde_json::from_str(r.get::<&str, _>("body"))?))
            .collect()
    }
}

#[cfg(test)]
mod tests;
