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
            let orders = store.list_orders(&filter).await.unwrap();
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
    assert_eq!(store.list_orders(&acknowledged).await.unwrap().len(), 6);
    let in_progress = OrderFilter {
        gateway_state: Some("IN_PROGRESS".into()),
        ..acknowledged
    };
    assert!(store.list_orders(&in_progress).await.unwrap().is_empty());
    let two = OrderFilter {
        limit: 2,
        ..OrderFilter::default()
    };
    assert_eq!(store.list_orders(&two).await.unwrap().len(), 2);
}
