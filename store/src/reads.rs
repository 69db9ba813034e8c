//! What the API reads: orders, their events, amendments and requests, each as the JSON
//! body the workflow recorded. Listings and the change feed are in [`listing`] and [`feed`].

mod feed;
mod listing;

pub use feed::{FeedPage, FeedPosition};
pub use listing::{OrderCursor, OrderFilter, OrderPage};

use crate::Store;
use orderflow_domain::cancellation::OrderRequest;
use orderflow_domain::model::{Amendment, OrderEvent, OrderView};
use orderflow_domain::requests::PendingKind;
use sqlx::Row;

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

    /// Every amendment of the order, oldest first.
    pub async fn list_amendments(
        &self,
        tenant_id: &str,
        order_id: &str,
    ) -> anyhow::Result<Vec<Amendment>> {
        let mut all: Vec<Amendment> = self.bodies("amendments", "", tenant_id, order_id).await?;
        all.sort_by(|a, b| {
            (&a.requested_at, &a.amendment_id).cmp(&(&b.requested_at, &b.amendment_id))
        });
        Ok(all)
    }

    /// Every cancellation or reactivation (`kind`) of the order, oldest first.
    pub async fn list_requests(
        &self,
        tenant_id: &str,
        order_id: &str,
        kind: PendingKind,
    ) -> anyhow::Result<Vec<OrderRequest>> {
        let and = format!("AND kind = '{}'", kind.as_str());
        let mut all: Vec<OrderRequest> = self
            .bodies("order_requests", &and, tenant_id, order_id)
            .await?;
        all.sort_by(|a, b| (a.requested_at(), a.id()).cmp(&(b.requested_at(), b.id())));
        Ok(all)
    }

    /// The JSON bodies of one order's rows in `table` (a request table), decoded.
    async fn bodies<T: serde::de::DeserializeOwned>(
        &self,
        table: &str,
        and: &str,
        tenant_id: &str,
        order_id: &str,
    ) -> anyhow::Result<Vec<T>> {
        let sql = format!("SELECT body FROM {table} WHERE tenant_id = $1 AND order_id = $2 {and}");
        let rows = sqlx::query(&sql)
            .bind(tenant_id)
            .bind(order_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(serde_json::from_str(r.get::<&str, _>("body"))?))
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
