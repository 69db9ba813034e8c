use crate::test_support::on_both_backends;
use crate::{OrderFilter, Store};
use orderflow_domain::ids::{OrderId, SupplierId, TenantId};
use orderflow_domain::model::{OrderDocument, OrderState, OrderType, OrderView};

on_both_backends!(orders_list_newest_first_in_byte_order_with_optional_filters);

async fn orders_list_newest_first_in_byte_order_with_optional_filters(store: Store) {
    let at = |day: u32| format!("2026-01-0{day}T00:00:00.000Z");
    for (tenant, id, supplier, state, day) in [
        ("acme", "b", "sim", OrderState::Submitted, 1),
        ("acme", "B", "sim", OrderState::Submitted, 1),
        ("acme", "a", "other", OrderState::Start, 1),
        ("acme", "_z", "sim", OrderState::Submitted, 1),
        ("acme", "old", "sim", OrderState::Submitted, 0),
        ("globex", "g", "sim", OrderState::Submitted, 2),
    ] {
        let document = OrderDocument::new(
            TenantId::parse(tenant).unwrap(),
            OrderId::parse(id).unwrap(),
            "PO",
            SupplierId::parse(supplier).unwrap(),
            OrderType::Provide,
        );
        let view = OrderView::received(document, at(day)).in_state(state);
        store.insert_received(&view).await.unwrap();
    }
    let list = |tenant: Option<&str>, state: Option<&str>, supplier: Option<&str>| {
        let filter = OrderFilter {
            tenant_id: tenant.map(Into::into),
            state: state.map(Into::into),
            supplier_id: supplier.map(Into::into),
            limit: 100,
            ..OrderFilter::default()
        };
        let store = store.clone();
        async move {
            let orders = store.list_orders(&filter).await.unwrap().orders;
            orders
                .into_iter()
                .map(|o| o.document.order_id)
                .collect::<Vec<_>>()
        }
    };
    // Newest first; ties by order id in byte order, whatever the database's collation.
    assert_eq!(
        list(Some("acme"), None, None).await,
        ["b", "a", "_z", "B", "old"]
    );
    assert_eq!(list(None, None, None).await[0], "g");
    assert_eq!(
        list(Some("acme"), Some("SUBMITTED"), Some("sim")).await,
        ["b", "_z", "B", "old"]
    );
    assert_eq!(list(None, None, Some("other")).await, ["a"]);
    assert_eq!(list(None, Some("START"), None).await, ["a"]);
    let acknowledged = OrderFilter {
        gateway_state: Some("ACKNOWLEDGED".into()),
        limit: 100,
        ..OrderFilter::default()
    };
    assert_eq!(
        store.list_orders(&acknowledged).await.unwrap().orders.len(),
        6
    );
    let in_progress = OrderFilter {
        gateway_state: Some("IN_PROGRESS".into()),
        ..acknowledged
    };
    assert!(
        store
            .list_orders(&in_progress)
            .await
            .unwrap()
            .orders
            .is_empty()
    );
    let two = OrderFilter {
        limit: 2,
        ..OrderFilter::default()
    };
    assert_eq!(store.list_orders(&two).await.unwrap().orders.len(), 2);
}

on_both_backends!(
    pages_follow_the_cursor_and_skip_nothing_while_orders_are_added,
    the_feed_gives_every_event_once_in_a_stable_order,
);

fn received(tenant: &str, id: &str, at: &str) -> OrderView {
    let document = OrderDocument::new(
        TenantId::parse(tenant).unwrap(),
        OrderId::parse(id).unwrap(),
        "PO",
        SupplierId::parse("sim").unwrap(),
        OrderType::Provide,
    );
    OrderView::received(document, at.into())
}

async fn pages_follow_the_cursor_and_skip_nothing_while_orders_are_added(store: Store) {
    // Ties on created_at too: the cursor orders by id within one instant.
    for i in 0..7 {
        let at = format!("2026-01-01T00:00:0{}.000Z", i / 2);
        store
            .insert_received(&received("acme", &format!("o{i}"), &at))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut filter = OrderFilter {
        tenant_id: Some("acme".into()),
        limit: 3,
        ..OrderFilter::default()
    };
    loop {
        let page = store.list_orders(&filter).await.unwrap();
        seen.extend(page.orders.iter().map(|o| o.document.order_id.to_string()));
        // Orders created meanwhile are newer: they never show on a later page.
        let fresh = format!("new{}", seen.len());
        store
            .insert_received(&received("acme", &fresh, "2026-02-01T00:00:00.000Z"))
            .await
            .unwrap();
        match page.next {
            Some(next) => filter.after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["o6", "o5", "o4", "o3", "o2", "o1", "o0"]);
    // The filters: the open request and the times.
    let none = OrderFilter {
        tenant_id: Some("acme".into()),
        pending_request: Some("NONE".into()),
        created_before: Some("2026-01-01T00:00:01.000Z".into()),
        limit: 100,
        ..OrderFilter::default()
    };
    let ids: Vec<_> = store
        .list_orders(&none)
        .await
        .unwrap()
        .orders
        .into_iter()
        .map(|o| o.document.order_id.to_string())
        .collect();
    assert_eq!(ids, ["o1", "o0"]);
    let amending = OrderFilter {
        pending_request: Some("AMENDMENT".into()),
        ..none
    };
    assert!(
        store
            .list_orders(&amending)
            .await
            .unwrap()
            .orders
            .is_empty()
    );
}

async fn the_feed_gives_every_event_once_in_a_stable_order(store: Store) {
    use orderflow_domain::calls::RecordInput;
    use orderflow_domain::model::{EventType, OrderEvent};
    let record = |tenant: &str, id: &str, seq: u64| {
        let mut view = received(tenant, id, "2026-01-01T00:00:00.000Z");
        view.last_seq = seq;
        RecordInput {
            event: OrderEvent {
                event_uuid: format!("{tenant}-{id}-{seq}"),
                order_id: view.document.order_id.clone(),
                tenant_id: view.document.tenant_id.clone(),
                seq,
                event_type: EventType::StateChanged,
                state: OrderState::Submitted,
                gateway_state: Default::default(),
                previous_state: None,
                request_id: None,
                revision: 1,
                occurred_at: "2026-01-01T00:00:00.000Z".into(),
                detail: serde_json::Value::Null,
                actor: None,
            },
            view,
            amendment: None,
            requests: vec![],
        }
    };
    // Two orders of acme written concurrently (each in seq order, as its workflow does), and
    // one of globex's beside them.
    let mut writes = Vec::new();
    for (tenant, id) in [("acme", "a"), ("acme", "b"), ("globex", "g")] {
        let store = store.clone();
        let inputs: Vec<_> = (1..=20).map(|seq| record(tenant, id, seq)).collect();
        writes.push(tokio::spawn(async move {
            for input in inputs {
                store.record(&input).await.unwrap();
            }
        }));
    }
    // Read the feed while the writes go on, three at a time.
    let mut seen = Vec::new();
    let mut at = crate::FeedPosition::default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while seen.len() < 40 {
        let page = store.feed("acme", at, 3).await.unwrap();
        seen.extend(page.events.iter().map(|e| e.event_uuid.clone()));
        at = page.next;
        assert!(std::time::Instant::now() < deadline, "{seen:?}");
    }
    for w in writes {
        w.await.unwrap();
    }
    assert!(store.feed("acme", at, 100).await.unwrap().events.is_empty());
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 40, "every event once: {seen:?}");
    assert!(seen.iter().all(|e| e.starts_with("acme-")));
    // Each order's events in seq order, and the whole feed again reads the same.
    for id in ["a", "b"] {
        let seqs: Vec<u64> = seen
            .iter()
            .filter(|e| e.starts_with(&format!("acme-{id}-")))
            .map(|e| e.rsplit('-').next().unwrap().parse().unwrap())
            .collect();
        let mut sorted = seqs.clone();
        sorted.sort();
        assert_eq!(seqs, sorted);
    }
    let again = store.feed("acme", Default::default(), 100).await.unwrap();
    let again: Vec<_> = again.events.iter().map(|e| e.event_uuid.clone()).collect();
    assert_eq!(again, seen);
}
