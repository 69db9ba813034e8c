//! `GET /v1/orders`: newest first, in pages. A page ends at a cursor, the key of its last
//! order (`created_at`, then `order_id` in byte order), and the next page starts strictly
//! after it. The key of an order never changes and a new order sorts before every cursor
//! already handed out, so paging never skips or repeats an order while others are inserted.

use crate::Store;
use orderflow_domain::model::OrderView;
use sqlx::Row;

/// Where a page of orders ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderCursor {
    pub created_at: String,
    pub order_id: String,
}

/// Filters of `GET /v1/orders`; every one is optional. Times are RFC 3339 as stored
/// (`2026-01-01T00:00:00.000Z`), compared as text.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    pub tenant_id: Option<String>,
    pub order_ref: Option<String>,
    pub state: Option<String>,
    pub gateway_state: Option<String>,
    /// `AMENDMENT`, `CANCELLATION`, `REACTIVATION` or `NONE`.
    pub pending_request: Option<String>,
    pub supplier_id: Option<String>,
    pub created_after: Option<String>,
    pub created_before: Option<String>,
    pub updated_after: Option<String>,
    /// Only orders after this one (the previous page's end).
    pub after: Option<OrderCursor>,
    pub limit: i64,
}

/// One page of orders, and where the next one starts (`None`: this was the last).
#[derive(Clone, Debug)]
pub struct OrderPage {
    pub orders: Vec<OrderView>,
    pub next: Option<OrderCursor>,
}

impl Store {
    /// The orders matching the filter, newest first, one page.
    pub async fn list_orders(&self, filter: &OrderFilter) -> anyhow::Result<OrderPage> {
        let (after_at, after_id) = match &filter.after {
            Some(c) => (Some(c.created_at.as_str()), Some(c.order_id.as_str())),
            None => (None, None),
        };
        // One row more than the page tells whether another page follows.
        let rows = sqlx::query(
            "SELECT view, created_at, order_id FROM orders
             WHERE ($1 IS NULL OR tenant_id = $1) AND ($2 IS NULL OR state = $2)
               AND ($3 IS NULL OR supplier_id = $3) AND ($4 IS NULL OR gateway_state = $4)
               AND ($5 IS NULL OR order_ref = $5) AND ($6 IS NULL OR pending_request = $6)
               AND ($7 IS NULL OR created_at > $7) AND ($8 IS NULL OR created_at < $8)
               AND ($9 IS NULL OR updated_at > $9)
               AND ($10 IS NULL OR created_at < $10 OR (created_at = $10 AND order_id < $11))
             ORDER BY created_at DESC, order_id DESC LIMIT $12",
        )
        .bind(&filter.tenant_id)
        .bind(&filter.state)
        .bind(&filter.supplier_id)
        .bind(&filter.gateway_state)
        .bind(&filter.order_ref)
        .bind(&filter.pending_request)
        .bind(&filter.created_after)
        .bind(&filter.created_before)
        .bind(&filter.updated_after)
        .bind(after_at)
        .bind(after_id)
        .bind(filter.limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let more = rows.len() as i64 > filter.limit;
        let rows = &rows[..rows.len().min(filter.limit.max(0) as usize)];
        let next = match rows.last() {
            Some(last) if more => Some(OrderCursor {
                created_at: last.get::<String, _>("created_at"),
                order_id: last.get::<String, _>("order_id"),
            }),
            _ => None,
        };
        let orders = rows
            .iter()
            .map(|r| Ok(serde_json::from_str(r.get::<&str, _>("view"))?))
            .collect::<anyhow::Result<_>>()?;
        Ok(OrderPage { orders, next })
    }
}
