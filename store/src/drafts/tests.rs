use crate::test_support::on_both_backends;
use crate::{OrderFilter, Store};
use orderflow_domain::ids::{OrderId, SupplierId, TenantId};
use orderflow_domain::model::{OrderDocument, OrderState, OrderType, OrderView};

on_both_backends!(
    a_draft_is_inserted_once_edited_and_deleted_while_it_is_a_draft,
    a_placed_order_is_not_a_draft_any_more,
);

fn draft(order_id: &str, order_ref: &str) -> OrderView {
    let document = OrderDocument::new(
        TenantId::parse("acme").unwrap(),
        OrderId::parse(order_id).unwrap(),
        order_ref,
        SupplierId::parse("sim").unwrap(),
        OrderType::Provide,
    );
    OrderView::received(document, "2026-01-01T00:00:00.000Z".into()).in_state(OrderState::Draft)
}
async fn a_draft_is_inserted_once_edited_and_deleted_while_it_is_a_draft(store: Store) {
    assert!(store.insert_draft(&draft("d1", "PO-1")).await.unwrap());
    assert!(!store.insert_draft(&draft("d1", "PO-other")).await.unwrap());
    assert_eq!(
        store.get_order("acme", "d1").await.unwrap().unwrap(),
        draft("d1", "PO-1")
    );

    assert!(store.update_draft(&draft("d1", "PO-2")).await.unwrap());
    let stored = store.get_order("acme", "d1").await.unwrap().unwrap();
    assert_eq!(stored.document.order_ref, "PO-2");
    assert!(!store.update_draft(&draft("nope", "PO-2")).await.unwrap());

    assert!(store.delete_draft("acme", "d1").await.unwrap());
    assert!(!store.delete_draft("acme", "d1").await.unwrap());
    assert_eq!(store.get_order("acme", "d1").await.unwrap(), None);
    // The id is free again.
    assert!(store.insert_draft(&draft("d1", "PO-3")).await.unwrap());
}

async fn a_placed_order_is_not_a_draft_any_more(store: Store) {
    // An order placed directly (START, last_seq 0) is never taken for a draft.
    let mut received = draft("p1", "PO-1");
    received.state = OrderState::Start;
    store.insert_received(&received).await.unwrap();
    assert!(!store.insert_draft(&draft("p1", "PO-1")).await.unwrap());
    assert!(!store.update_draft(&draft("p1", "PO-2")).await.unwrap());
    assert!(!store.delete_draft("acme", "p1").await.unwrap());
    assert_eq!(
        store.claim_draft("acme", "p1", "later").await.unwrap(),
        None
    );

    store.insert_draft(&draft("d1", "PO-1")).await.unwrap();
    let placed = store
        .claim_draft("acme", "d1", "2026-01-02T00:00:00.000Z")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(placed.state, OrderState::Start);
    assert_eq!(placed.updated_at, "2026-01-02T00:00:00.000Z");
    assert_eq!(placed.document, draft("d1", "PO-1").document);
    assert_eq!(
        store.get_order("acme", "d1").await.unwrap(),
        Some(placed.clone())
    );
    let listed = store
        .list_orders(&OrderFilter {
            state: Some("START".into()),
            limit: 10,
            ..OrderFilter::default()
        })
        .await
        .unwrap()
        .orders;
    assert_eq!(listed.len(), 2);
    // Claimed: no second claim, no edit, no delete.
    assert_eq!(store.claim_draft("acme", "d1", "x").await.unwrap(), None);
    assert!(!store.update_draft(&draft("d1", "PO-2")).await.unwrap());
    assert!(!store.delete_draft("acme", "d1").await.unwrap());

    // Unclaiming restores the draft while nothing has been recorded...
    let back = placed.clone().in_state(OrderState::Draft);
    assert!(store.unclaim_draft(&back).await.unwrap());
    assert_eq!(store.get_order("acme", "d1").await.unwrap(), Some(back));
    // ...and never once the workflow has written.
    store.claim_draft("acme", "d1", "x").await.unwrap().unwrap();
    let mut recorded = placed.clone().in_state(OrderState::Submitted);
    recorded.last_seq = 1;
    store.insert_received(&recorded).await.unwrap();
    let back = placed.in_state(OrderState::Draft);
    assert!(!store.unclaim_draft(&back).await.unwrap());
    assert_eq!(
        store.get_order("acme", "d1").await.unwrap().unwrap().state,
        OrderState::Submitted
    );
}
