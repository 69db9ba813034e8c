use super::*;
use crate::SecretBox;
use crate::test_support::on_both_backends;
use orderflow_config::DEV_WEBHOOK_KEY;
use orderflow_domain::calls::RecordInput;
use orderflow_domain::ids::{OrderId, SupplierId, TenantId};
use orderflow_domain::model::{
    EventType, OrderDocument, OrderEvent, OrderState, OrderType, OrderView,
};

on_both_backends!(
    events_enqueue_once_per_matching_webhook_of_their_tenant,
    only_the_oldest_pending_delivery_of_a_webhook_is_claimed_and_only_once,
    concurrent_and_repeated_records_write_each_event_and_delivery_once,
    concurrent_dispatchers_claim_each_due_delivery_once,
    the_webhook_cap_holds_under_concurrent_creations,
    due_deliveries_skip_the_tenants_a_dispatcher_has_no_room_for,
    a_finished_delivery_can_be_sent_again_and_a_pending_one_cannot,
    another_event_under_a_known_seq_is_refused_and_changes_nothing,
    a_peppol_webhook_is_sent_peppol_notifications_of_its_topics_only,
);

/// A Peppol webhook hears of a supplier-path cancellation in Peppol's words; a core webhook
/// of the same tenant gets the same events as recorded.
async fn a_peppol_webhook_is_sent_peppol_notifications_of_its_topics_only(store: Store) {
    subscribe(&store, "acme", "core", &["*"]).await;
    subscribe_as(
        &store,
        "acme",
        "peppol",
        &["OrderCancellationSent"],
        WebhookDialect::Peppol,
    )
    .await;
    let listed = store.list_webhooks("acme").await.unwrap();
    let dialects: Vec<_> = listed.iter().map(|w| w.dialect).collect();
    assert_eq!(dialects, [WebhookDialect::Core, WebhookDialect::Peppol]);

    store
        .record(&record("acme", 1, EventType::StateChanged))
        .await
        .unwrap();
    let mut pending = record("acme", 2, EventType::CancellationPending);
    pending.event.detail = serde_json::json!({
        "cancellation_id": "c-1", "path": "SUPPLIER", "response_code": null
    });
    store.record(&pending).await.unwrap();
    let mut answered = record("acme", 3, EventType::CancellationRejected);
    answered.event.detail = serde_json::json!({
        "cancellation_id": "c-1", "path": "SUPPLIER", "response_code": "RE"
    });
    store.record(&answered).await.unwrap();

    assert_eq!(store.list_deliveries("core", 10).await.unwrap().len(), 3);
    let peppol = store.list_deliveries("peppol", 10).await.unwrap();
    assert_eq!(peppol.len(), 1, "{peppol:?}");
    assert_eq!(peppol[0].event_uuid, "acme-o1-e2");
    let sent = lease(&store, now_ms() + 1).await;
    let body = sent.iter().find(|d| d.webhook_id == "peppol").unwrap();
    let body: serde_json::Value = serde_json::from_str(&body.body).unwrap();
    assert_eq!(body["topic"], "OrderCancellationSent");
    assert_eq!(body["documentId"], "o1");
    assert_eq!(body["cancellationId"], "c-1");
}

/// A retried record of the same event is fine; another event under its `seq` (a diverged
/// replay) is refused, and neither the event, the order row nor the outbox changes.
async fn another_event_under_a_known_seq_is_refused_and_changes_nothing(store: Store) {
    subscribe(&store, "acme", "all", &["*"]).await;
    let first = record("acme", 1, EventType::OrderAcknowledged);
    store.record(&first).await.unwrap();
    store.record(&first).await.unwrap();

    let mut other = record("acme", 1, EventType::StateChanged);
    other.event.event_uuid = "acme-o1-diverged".into();
    other.view.revision = 9;
    let e = store.record(&other).await.unwrap_err().to_string();
    assert!(e.contains("already recorded as another event"), "{e}");
    // The same id under another type is another event too.
    let mut retyped = record("acme", 1, EventType::StateChanged);
    retyped.view.revision = 9;
    assert!(store.record(&retyped).await.is_err());
    // The same event under another seq.
    let mut moved = record("acme", 2, EventType::StateChanged);
    moved.event.event_uuid = first.event.event_uuid.clone();
    let e = store.record(&moved).await.unwrap_err().to_string();
    assert!(e.contains("under another seq"), "{e}");

    let events = store.events("acme", "o1", 0).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, EventType::OrderAcknowledged);
    let row = store.get_order("acme", "o1").await.unwrap().unwrap();
    assert_eq!((row.last_seq, row.revision), (1, 1));
    assert_eq!(store.list_deliveries("all", 10).await.unwrap().len(), 1);
}

/// Several workers record events of one tenant at once, and a retried record can run
/// next to its original: every event and delivery is written once, nothing deadlocks,
/// and each order's events are queued in the order they were recorded.
async fn concurrent_and_repeated_records_write_each_event_and_delivery_once(store: Store) {
    subscribe(&store, "acme", "all", &["*"]).await;
    let orders: Vec<String> = (0..6).map(|i| format!("o{i}")).collect();
    let writers = orders.iter().map(|order| {
        let store = store.clone();
        let order = order.clone();
        async move {
            for seq in 1..=4 {
                let input = record_for("acme", &order, seq, EventType::StateChanged);
                let (a, b) = tokio::join!(store.record(&input), store.record(&input));
                a.unwrap();
                b.unwrap();
            }
        }
    });
    futures::future::join_all(writers).await;
    let deliveries = store.list_deliveries("all", 1000).await.unwrap();
    assert_eq!(deliveries.len(), 24);
    for order in &orders {
        // Newest first: seq 4, 3, 2, 1.
        let uuids: Vec<&str> = deliveries
            .iter()
            .filter(|d| &d.order_id == order)
            .map(|d| d.event_uuid.as_str())
            .collect();
        let expected: Vec<String> = (1..=4)
            .rev()
            .map(|s| format!("acme-{order}-e{s}"))
            .collect();
        assert_eq!(uuids, expected);
        assert_eq!(store.events("acme", order, 0).await.unwrap().len(), 4);
        let row = store.get_order("acme", order).await.unwrap().unwrap();
        assert_eq!(row.last_seq, 4);
    }
}

async fn concurrent_dispatchers_claim_each_due_delivery_once(store: Store) {
    for i in 0..6 {
        subscribe(&store, "acme", &format!("w{i}"), &["*"]).await;
    }
    store
        .record(&record("acme", 1, EventType::OrderAcknowledged))
        .await
        .unwrap();
    let now = now_ms() + 1;
    let claims = futures::future::join_all((0..4).map(|_| lease(&store, now))).await;
    let mut claimed: Vec<String> = claims.into_iter().flatten().map(|c| c.webhook_id).collect();
    claimed.sort();
    assert_eq!(claimed, ["w0", "w1", "w2", "w3", "w4", "w5"]);
}

const LEASE_MS: i64 = 60_000;

/// Leases due deliveries as one dispatcher would.
async fn lease(store: &Store, now: i64) -> Vec<LeasedDelivery> {
    store.lease_due_deliveries(now, LEASE_MS, 16).await.unwrap()
}

fn record(tenant: &str, seq: u64, event_type: EventType) -> RecordInput {
    record_for(tenant, "o1", seq, event_type)
}

fn record_for(tenant: &str, order_id: &str, seq: u64, event_type: EventType) -> RecordInput {
    let document = OrderDocument::new(
        TenantId::parse(tenant).unwrap(),
        OrderId::parse(order_id).unwrap(),
        "PO-1",
        SupplierId::parse("sim").unwrap(),
        OrderType::Provide,
    );
    let mut view = OrderView::received(document, "2026-01-01T00:00:00.000Z".into());
    view.last_seq = seq;
    RecordInput {
        view,
        event: OrderEvent {
            event_uuid: format!("{tenant}-{order_id}-e{seq}"),
            order_id: OrderId::parse(order_id).unwrap(),
            tenant_id: TenantId::parse(tenant).unwrap(),
            seq,
            event_type,
            state: OrderState::Submitted,
            gateway_state: Default::default(),
            previous_state: None,
            request_id: None,
            revision: 1,
            occurred_at: "2026-01-01T00:00:00.000Z".into(),
            detail: serde_json::Value::Null,
            actor: None,
        },
        amendment: None,
        requests: vec![],
    }
}

async fn subscribe(store: &Store, tenant: &str, id: &str, topics: &[&str]) {
    subscribe_as(store, tenant, id, topics, WebhookDialect::Core).await;
}

async fn subscribe_as(
    store: &Store,
    tenant: &str,
    id: &str,
    topics: &[&str],
    dialect: WebhookDialect,
) {
    let keys = SecretBox::from_hex(DEV_WEBHOOK_KEY).unwrap();
    let webhook = Webhook {
        webhook_id: id.into(),
        url: "http://127.0.0.1:9/none".into(),
        topics: topics.iter().map(|t| t.to_string()).collect(),
        dialect,
        created_at: "2026-01-01T00:00:00.000Z".into(),
    };
    let sealed = keys.seal(id, "0123456789abcdef").unwrap();
    store
        .create_webhook(tenant, &webhook, &sealed)
        .await
        .unwrap();
}

async fn events_enqueue_once_per_matching_webhook_of_their_tenant(store: Store) {
    subscribe(&store, "acme", "all", &["*", "STATE_CHANGED"]).await;
    subscribe(&store, "acme", "steps", &["PLAN_STEP_COMPLETED"]).await;
    subscribe(&store, "globex", "other", &["*"]).await;
    store
        .record(&record("acme", 1, EventType::OrderAcknowledged))
        .await
        .unwrap();
    store
        .record(&record("acme", 2, EventType::PlanStepCompleted))
        .await
        .unwrap();
    // A retried record enqueues nothing more.
    store
        .record(&record("acme", 2, EventType::PlanStepCompleted))
        .await
        .unwrap();
    let types = |d: Vec<Delivery>| d.into_iter().map(|d| d.event_type).collect::<Vec<_>>();
    assert_eq!(
        types(store.list_deliveries("all", 100).await.unwrap()),
        ["PLAN_STEP_COMPLETED", "ORDER_ACKNOWLEDGED"]
    );
    assert_eq!(
        types(store.list_deliveries("steps", 100).await.unwrap()),
        ["PLAN_STEP_COMPLETED"]
    );
    assert!(
        store
            .list_deliveries("other", 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.delete_webhook("acme", "all").await.unwrap());
    assert!(!store.delete_webhook("globex", "steps").await.unwrap());
    assert!(store.list_deliveries("all", 100).await.unwrap().is_empty());
}

async fn only_the_oldest_pending_delivery_of_a_webhook_is_claimed_and_only_once(store: Store) {
    subscribe(&store, "acme", "all", &["*"]).await;
    store
        .record(&record("acme", 1, EventType::OrderAcknowledged))
        .await
        .unwrap();
    store
        .record(&record("acme", 2, EventType::StateChanged))
        .await
        .unwrap();
    let now = now_ms() + 1;
    let claimed = lease(&store, now).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].event_uuid, "acme-o1-e1");
    assert_eq!(
        claimed[0].body,
        serde_json::to_string(&record("acme", 1, EventType::OrderAcknowledged).event).unwrap()
    );
    // Leased: another dispatcher gets nothing, and the later event waits its turn.
    assert!(lease(&store, now).await.is_empty());
    // A failed attempt backs off; a lease that ran out can be claimed again.
    let c = claimed.into_iter().next().unwrap();
    let failed = Outcome::Failed {
        status: Some(500),
        error: "x".into(),
        retry_at: Some(now + 1_000),
    };
    store.finish_delivery(&c, now, now, failed).await.unwrap();
    let d = store.list_deliveries("all", 100).await.unwrap();
    assert_eq!(
        (d[1].status.as_str(), d[1].attempts, d[1].last_status_code),
        ("PENDING", 1, Some(500))
    );
    assert!(lease(&store, now).await.is_empty());
    let again = lease(&store, now + 2_000).await;
    assert_eq!(again[0].event_uuid, "acme-o1-e1");
    let delivered = Outcome::Delivered { status: 204 };
    store
        .finish_delivery(&again[0], now, now + 2_000, delivered)
        .await
        .unwrap();
    let next = lease(&store, now + LEASE_MS * 2).await;
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].event_uuid, "acme-o1-e2");
    let d = store.list_deliveries("all", 100).await.unwrap();
    assert_eq!((d[1].status.as_str(), d[1].attempts), ("DELIVERED", 2));
    assert!(d[1].delivered_at.is_some() && d[1].next_attempt_at.is_none());
}

/// Eight creations at once against a cap of three: exactly three are stored, and the cap
/// is per tenant.
async fn the_webhook_cap_holds_under_concurrent_creations(store: Store) {
    let keys = SecretBox::from_hex(DEV_WEBHOOK_KEY).unwrap();
    let create = |tenant: &'static str, i: usize| {
        let (store, keys) = (store.clone(), keys.clone());
        async move {
            let webhook = Webhook {
                webhook_id: format!("{tenant}-{i}"),
                url: "http://127.0.0.1:9/none".into(),
                topics: vec!["*".into()],
                dialect: WebhookDialect::Core,
                created_at: "2026-01-01T00:00:00.000Z".into(),
            };
            let sealed = keys.seal(&webhook.webhook_id, "0123456789abcdef").unwrap();
            store
                .create_webhook_within(tenant, &webhook, &sealed, 3)
                .await
                .unwrap()
        }
    };
    let stored = futures::future::join_all((0..8).map(|i| create("acme", i))).await;
    assert_eq!(stored.iter().filter(|s| **s).count(), 3, "{stored:?}");
    assert_eq!(store.list_webhooks("acme").await.unwrap().len(), 3);
    assert!(create("globex", 0).await);
}

/// A dispatcher asks only for tenants it has room for, and leasing takes each once.
async fn due_deliveries_skip_the_tenants_a_dispatcher_has_no_room_for(store: Store) {
    subscribe(&store, "acme", "a", &["*"]).await;
    subscribe(&store, "globex", "g", &["*"]).await;
    for tenant in ["acme", "globex"] {
        store
            .record(&record(tenant, 1, EventType::OrderAcknowledged))
            .await
            .unwrap();
    }
    let now = now_ms() + 1;
    let tenants = |due: &[DueDelivery]| {
        let mut t: Vec<String> = due.iter().map(|d| d.delivery.tenant_id.clone()).collect();
        t.sort();
        t
    };
    let due = store.due_deliveries(now, 16, &[]).await.unwrap();
    assert_eq!(tenants(&due), ["acme", "globex"]);
    let skip = ["acme".to_string(), "initech".to_string()];
    let due = store.due_deliveries(now, 16, &skip).await.unwrap();
    assert_eq!(tenants(&due), ["globex"]);
    let first = store.lease_delivery(due[0].clone(), now, LEASE_MS).await;
    assert_eq!(first.unwrap().unwrap().webhook_id, "g");
    assert!(
        store
            .lease_delivery(due[0].clone(), now, LEASE_MS)
            .await
            .unwrap()
            .is_none()
    );
}

async fn a_finished_delivery_can_be_sent_again_and_a_pending_one_cannot(store: Store) {
    subscribe(&store, "acme", "all", &["*"]).await;
    store
        .record(&record("acme", 1, EventType::OrderAcknowledged))
        .await
        .unwrap();
    let now = now_ms() + 1;
    let id = store.list_deliveries("all", 10).await.unwrap()[0].delivery_id;
    // Pending: already on its way.
    assert_eq!(store.redeliver("all", id, now).await.unwrap(), Some(false));
    let given_up = Outcome::Failed {
        status: Some(500),
        error: "x".into(),
        retry_at: None,
    };
    let leased = lease(&store, now).await;
    store
        .finish_delivery(&leased[0], now, now, given_up)
        .await
        .unwrap();
    assert_eq!(
        store.get_delivery("all", id).await.unwrap().unwrap().status,
        "FAILED"
    );
    // Failed: pending again at once, with a fresh count, and leased like any delivery.
    assert_eq!(
        store.redeliver("all", id, now + 5).await.unwrap(),
        Some(true)
    );
    let d = store.get_delivery("all", id).await.unwrap().unwrap();
    assert_eq!((d.status.as_str(), d.attempts), ("PENDING", 0));
    assert_eq!(lease(&store, now + 5).await[0].delivery_id, id);
    // Unknown ids and another webhook's deliveries are not found.
    assert_eq!(store.redeliver("all", id + 1000, now).await.unwrap(), None);
    assert_eq!(store.redeliver("other", id, now).await.unwrap(), None);
}
