//! Drafts: an order the tenant is still writing has no workflow, so the API owns its row until
//! it is placed ([`Store::claim_draft`]). Every draft write is conditional on the row still
//! being a DRAFT, so it can never touch an order that has been placed.

use crate::Store;
use crate::record::upsert_order;
use orderflow_domain::model::{OrderState, OrderView};
use sqlx::{AnyPool, Row};

impl Store {
    /// Stores a new draft (a view in state DRAFT, `last_seq` 0). Returns `false`, writing
    /// nothing, when the tenant already has an order with that id: a row with `last_seq` 0
    /// never replaces an existing row.
    pub async fn insert_draft(&self, draft: &OrderView) -> anyhow::Result<bool> {
        anyhow::ensure!(
            draft.state == OrderState::Draft,
            "insert_draft: not a draft"
        );
        let mut tx = self.pool.begin().await?;
        let inserted = upsert_order(&mut tx, draft).await? == 1;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Replaces a draft's view (its document and `updated_at`). Returns `false`, writing
    /// nothing, unless the row exists and is still a DRAFT.
    pub async fn update_draft(&self, draft: &OrderView) -> anyhow::Result<bool> {
        anyhow::ensure!(
            draft.state == OrderState::Draft,
            "update_draft: not a draft"
        );
        replace_unrecorded(&self.pool, draft, OrderState::Draft).await
    }

    /// Claims a draft for placing: in one transaction, moves its row from DRAFT to START
    /// (`updated_at` = `placed_at`) and returns the START view, whose document is the one to
    /// place. `None` when the order is missing or not a DRAFT (already placed or claimed).
    ///
    /// The conditional write comes first, so the transaction holds the write lock (SQLite) or
    /// the row lock (PostgreSQL) before it reads the draft: a concurrent PUT either lands
    /// before (and its document is placed) or finds the order no longer a DRAFT.
    pub async fn claim_draft(
        &self,
        tenant_id: &str,
        order_id: &str,
        placed_at: &str,
    ) -> anyhow::Result<Option<OrderView>> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query(
            "UPDATE orders SET state = $1, updated_at = $2
             WHERE tenant_id = $3 AND order_id = $4 AND state = $5 RETURNING view",
        )
        .bind(OrderState::Start.as_str())
        .bind(placed_at)
        .bind(tenant_id)
        .bind(order_id)
        .bind(OrderState::Draft.as_str())
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let draft: OrderView = serde_json::from_str(row.get::<&str, _>("view"))?;
        let placed = OrderView {
            updated_at: placed_at.to_string(),
            ..draft
        }
        .in_state(OrderState::Start);
        sqlx::query(
            "UPDATE orders SET view = $1, gateway_state = $4 WHERE tenant_id = $2 AND order_id = $3",
        )
        .bind(serde_json::to_string(&placed)?)
        .bind(tenant_id)
        .bind(order_id)
        .bind(placed.gateway_state.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(placed))
    }

    /// Undoes [`Store::claim_draft`] when the workflow could not be started: the row becomes
    /// `draft` again, but only while it is still START with nothing recorded (`last_seq` 0).
    /// Returns whether it did.
    pub async fn unclaim_draft(&self, draft: &OrderView) -> anyhow::Result<bool> {
        anyhow::ensure!(
            draft.state == OrderState::Draft,
            "unclaim_draft: not a draft"
        );
        replace_unrecorded(&self.pool, draft, OrderState::Start).await
    }

    /// Deletes a draft. Returns `false`, deleting nothing, unless the row exists and is
    /// still a DRAFT. A draft has no events, amendments or workflow, so the id is free again.
    pub async fn delete_draft(&self, tenant_id: &str, order_id: &str) -> anyhow::Result<bool> {
        let deleted =
            sqlx::query("DELETE FROM orders WHERE tenant_id = $1 AND order_id = $2 AND state = $3")
                .bind(tenant_id)
                .bind(order_id)
                .bind(OrderState::Draft.as_str())
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(deleted == 1)
    }
}

/// Replaces the row of an order nothing has been recorded for yet (`last_seq` 0), if it is
/// in state `expected`. Returns whether it did.
async fn replace_unrecorded(
    pool: &AnyPool,
    view: &OrderView,
    expected: OrderState,
) -> anyhow::Result<bool> {
    let d = &view.document;
    let written = sqlx::query(
        "UPDATE orders SET supplier_id = $1, order_ref = $2, state = $3, view = $4, updated_at = $5,
                           gateway_state = $9
         WHERE tenant_id = $6 AND order_id = $7 AND state = $8 AND last_seq = 0",
    )
    .bind(d.supplier_id.as_str())
    .bind(&d.order_ref)
    .bind(view.state.as_str())
    .bind(serde_json::to_string(view)?)
    .bind(&view.updated_at)
    .bind(d.tenant_id.as_str())
    .bind(d.order_id.as_str())
    .bind(expected.as_str())
    .bind(view.gateway_state.as_str())
    .execute(pool)
    .await?
    .rows_affected();
    Ok(written == 1)
}

#[cfg(test)]
mod tests;
