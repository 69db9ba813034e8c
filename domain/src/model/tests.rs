//! Order states by name, workflow ids, and a view taking a new document.
use super::*;

#[test]
fn every_state_reads_back_from_its_name() {
    for state in OrderState::ALL {
        assert_eq!(OrderState::parse(state.as_str()), Some(state));
    }
    for unknown in ["", "submitted", "DONE", "EXECUTION "] {
        assert_eq!(OrderState::parse(unknown), None, "{unknown:?}");
    }
}

#[test]
fn an_order_has_one_workflow_per_tenant_and_order() {
    let doc = OrderDocument::for_test("acme", "o-1", "PO-1", "sim", OrderType::Provide);
    assert_eq!(doc.workflow_id(), "order/acme/o-1");
    assert_eq!(workflow_id("globex", "o-1"), "order/globex/o-1");
    assert_eq!(doc.supplier_order_id(), "acme:o-1");
}

#[test]
fn a_view_takes_the_new_document_whole() {
    let doc = OrderDocument::for_test("acme", "o-1", "PO-1", "sim", OrderType::Provide);
    let view = OrderView::received(doc.clone(), "2026-01-01T00:00:00Z".into());
    let amended = OrderDocument {
        notes: Some("side door".into()),
        ..doc
    };
    let view = view.with_document(amended.clone());
    assert_eq!(view.document, amended);
}
