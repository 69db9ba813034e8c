//! Derived fields for rows recorded before they existed, filled in once at start-up with the
//! same rules as every new record, so no SQL copy of a rule is needed. Each step rewrites
//! only rows still missing the field, so processes starting together, or a restart midway,
//! write the same values again and nothing else.

use crate::Store;
use orderflow_domain::gateway::GatewayState;
use orderflow_domain::model::{OrderEvent, OrderView};
use sqlx::Row;

/// Rows rewritten per round trip.
const BATCH: i64 = 500;

impl Store {
    /// Fills in `gateway_state` on order rows (column and view) and on events recorded before
    /// it existed, and the `pending_request` column. An old event's gateway state is derived from its state alone: which
    /// request was open then is not in it.
    pub(crate) async fn backfill(&self) -> anyhow::Result<()> {
        const NAME: &str = "gateway_state";
        let done = sqlx::query("SELECT name FROM backfills WHERE name = $1")
            .bind(NAME)
            .fetch_optional(&self.pool)
            .await?;
        if done.is_some() {
            return Ok(());
        }
        loop {
            let rows = sqlx::query(
                "SELECT tenant_id, order_id, view FROM orders
                 WHERE gateway_state = '' OR pending_request = '' LIMIT $1",
            )
            .bind(BATCH)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let view: OrderView = serde_json::from_str(row.get::<&str, _>("view"))?;
                let view = view.refreshed();
                sqlx::query(
                    "UPDATE orders SET gateway_state = $1, view = $2, pending_request = $5
                     WHERE tenant_id = $3 AND order_id = $4
                       AND (gateway_state = '' OR pending_request = '')",
                )
                .bind(view.gateway_state.as_str())
                .bind(serde_json::to_string(&view)?)
                .bind(row.get::<&str, _>("tenant_id"))
                .bind(row.get::<&str, _>("order_id"))
                .bind(crate::record::pending_column(&view))
                .execute(&self.pool)
                .await?;
            }
        }
        loop {
            let rows = sqlx::query(
                "SELECT event_uuid, body FROM order_events
                 WHERE body NOT LIKE '%\"gateway_state\"%' LIMIT $1",
            )
            .bind(BATCH)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let mut event: OrderEvent = serde_json::from_str(row.get::<&str, _>("body"))?;
                event.gateway_state = GatewayState::of(event.state, None);
                sqlx::query("UPDATE order_events SET body = $1 WHERE event_uuid = $2")
                    .bind(serde_json::to_string(&event)?)
                    .bind(row.get::<&str, _>("event_uuid"))
                    .execute(&self.pool)
                    .await?;
            }
        }
        sqlx::query("INSERT INTO backfills (name, done_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(NAME)
            .bind(chrono::Utc::now().to_rfc3339())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use crate::test_support::on_both_backends;
    use orderflow_domain::calls::RecordInput;
    use orderflow_domain::ids::{OrderId, SupplierId, TenantId};
    use orderflow_domain::model::{
        EventType, OrderDocument, OrderEvent, OrderState, OrderType, OrderView,
    };
    use serde_json::Value;
    use sqlx::Row;

    on_both_backends!(rows_recorded_before_the_gateway_state_get_it_once);

    /// Strips `gateway_state` out of a JSON body, as an older orderflow wrote it.
    fn old(body: &impl serde::Serialize) -> String {
        let mut v = serde_json::to_value(body).unwrap();
        v.as_object_mut().unwrap().remove("gateway_state");
        v.to_string()
    }

    async fn rows_recorded_before_the_gateway_state_get_it_once(store: Store) {
        let document = OrderDocument::new(
            TenantId::parse("acme").unwrap(),
            OrderId::parse("o-1").unwrap(),
            "PO",
            SupplierId::parse("sim").unwrap(),
            OrderType::Provide,
        );
        let mut view = OrderView::received(document, "2026-01-01T00:00:00Z".into())
            .in_state(OrderState::Execution);
        view.last_seq = 1;
        let event = OrderEvent {
            event_uuid: "e-1".into(),
            order_id: view.document.order_id.clone(),
            tenant_id: view.document.tenant_id.clone(),
            seq: 1,
            event_type: EventType::StateChanged,
            state: OrderState::Suspended,
            gateway_state: Default::default(),
            previous_state: None,
            request_id: None,
            revision: 1,
            occurred_at: "2026-01-01T00:00:00Z".into(),
            detail: Value::Null,
            actor: None,
        };
        let input = RecordInput {
            view: view.clone(),
            event: event.clone(),
            amendment: None,
            requests: vec![],
        };
        store.record(&input).await.unwrap();
        // What an older orderflow left: no gateway state anywhere, and no backfill run.
        for (sql, body) in [
            (
                "UPDATE orders SET gateway_state = '', pending_request = '', view = $1",
                old(&view),
            ),
            ("UPDATE order_events SET body = $1", old(&event)),
        ] {
            sqlx::query(sql)
                .bind(body)
                .execute(&store.pool)
                .await
                .unwrap();
        }
        sqlx::query("DELETE FROM backfills")
            .execute(&store.pool)
            .await
            .unwrap();

        store.backfill().await.unwrap();
        let got = store.get_order("acme", "o-1").await.unwrap().unwrap();
        assert_eq!(got.gateway_state.as_str(), "IN_PROGRESS");
        let column: String = sqlx::query("SELECT gateway_state FROM orders")
            .fetch_one(&store.pool)
            .await
            .unwrap()
            .get("gateway_state");
        assert_eq!(column, "IN_PROGRESS");
        let pending: String = sqlx::query("SELECT pending_request FROM orders")
            .fetch_one(&store.pool)
            .await
            .unwrap()
            .get("pending_request");
        assert_eq!(pending, "NONE");
        let events = store.events("acme", "o-1", 0).await.unwrap();
        assert_eq!(events[0].gateway_state.as_str(), "HELD");
        // Once done, it is not run again: a row that lost its field stays as it is.
        sqlx::query("UPDATE orders SET gateway_state = ''")
            .execute(&store.pool)
            .await
            .unwrap();
        store.backfill().await.unwrap();
        let column: String = sqlx::query("SELECT gateway_state FROM orders")
            .fetch_one(&store.pool)
            .await
            .unwrap()
            .get("gateway_state");
        assert_eq!(column, "");
    }
}
