use super::*;
use crate::gateway::GatewayState;
use crate::model::{OrderDocument, OrderType};
use crate::requests::PendingRequest;

fn view(state: OrderState) -> OrderView {
    let doc = OrderDocument::for_test("acme", "po-1", "PO-1", "sim", OrderType::Provide);
    let mut v = OrderView::received(doc, "2026-12-03T10:00:00Z".into());
    v.state = state;
    v
}

fn event(event_type: EventType, previous: Option<OrderState>, detail: Value) -> OrderEvent {
    OrderEvent {
        event_uuid: "e-1".into(),
        order_id: "po-1".parse().unwrap(),
        tenant_id: "acme".parse().unwrap(),
        seq: 4,
        event_type,
        state: OrderState::Execution,
        gateway_state: GatewayState::default(),
        previous_state: previous,
        request_id: None,
        revision: 1,
        occurred_at: "2026-12-03T10:00:05Z".into(),
        detail,
        actor: None,
    }
}

fn cancellation(path: &str, state: &str, code: Option<&str>) -> Value {
    json!({ "cancellation_id": "c-1", "path": path, "state": state, "response_code": code,
            "reason": "moved", "reason_code": null, "effective_at": null, "decision_reason": null })
}

fn kinds(ns: &[Notification]) -> Vec<&str> {
    ns.iter().map(|n| n.event_type).collect()
}

#[test]
fn an_order_is_created_then_changes_state_only_when_its_tmf_name_does() {
    let created = notifications(
        &event(EventType::OrderAcknowledged, None, Value::Null),
        &view(OrderState::Start),
    );
    assert_eq!(kinds(&created), [PRODUCT_ORDER_CREATE]);
    let body = &created[0].body;
    assert_eq!(body["eventId"], "e-1");
    assert_eq!(body["eventType"], PRODUCT_ORDER_CREATE);
    assert_eq!(body["event"]["productOrder"]["id"], "po-1");
    assert_eq!(body["event"]["productOrder"]["state"], "acknowledged");

    let moved = event(
        EventType::StateChanged,
        Some(OrderState::Submitted),
        Value::Null,
    );
    let n = notifications(&moved, &view(OrderState::Feasibility));
    assert_eq!(kinds(&n), [PRODUCT_ORDER_STATE_CHANGE]);
    assert_eq!(n[0].body["event"]["productOrder"]["state"], "inProgress");
    // FEASIBILITY to PLAN_DEVELOPMENT is inProgress both sides: nothing to tell.
    let same = event(
        EventType::StateChanged,
        Some(OrderState::Feasibility),
        Value::Null,
    );
    assert!(notifications(&same, &view(OrderState::PlanDevelopment)).is_empty());
    // A step done changes nothing TMF622 shows.
    assert!(
        notifications(
            &event(EventType::PlanStepCompleted, None, Value::Null),
            &view(OrderState::Execution)
        )
        .is_empty()
    );
}

#[test]
fn a_supplier_cancellation_creates_a_task_and_assesses_then_decides() {
    let mut pending = view(OrderState::Execution);
    pending.pending_request = Some(PendingRequest::Cancellation {
        cancellation_id: "c-1".into(),
        requested_at: "2026-12-03T10:00:05Z".into(),
        state: RequestState::Pending,
    });
    let sent = event(
        EventType::CancellationPending,
        None,
        cancellation("SUPPLIER", "PENDING", None),
    );
    let n = notifications(&sent, &pending);
    assert_eq!(kinds(&n), [CANCEL_CREATE, PRODUCT_ORDER_STATE_CHANGE]);
    assert_eq!(
        n[0].body["event"]["cancelProductOrder"]["state"],
        "inProgress"
    );
    assert_eq!(n[0].body["event"]["cancelProductOrder"]["id"], "po-1~c-1");
    assert_eq!(
        n[1].body["event"]["productOrder"]["state"],
        "assessingCancellation"
    );
    assert_eq!((n[0].id.as_str(), n[1].id.as_str()), ("e-1", "e-1:1"));
    assert_eq!(n[1].body["eventId"], "e-1:1");

    let accepted = event(
        EventType::CancellationAccepted,
        Some(OrderState::Execution),
        cancellation("SUPPLIER", "ACCEPTED", Some("AP")),
    );
    let n = notifications(&accepted, &view(OrderState::Cancelled));
    assert_eq!(kinds(&n), [CANCEL_STATE_CHANGE, PRODUCT_ORDER_STATE_CHANGE]);
    assert_eq!(n[0].body["event"]["cancelProductOrder"]["state"], "done");
    assert_eq!(
        n[0].body["event"]["cancelProductOrder"]["effectiveCancellationDate"],
        "2026-12-03T10:00:05Z"
    );
    assert_eq!(n[1].body["event"]["productOrder"]["state"], "cancelled");

    let refused = event(
        EventType::CancellationRejected,
        None,
        cancellation("SUPPLIER", "REJECTED", Some("RE")),
    );
    let n = notifications(&refused, &view(OrderState::Execution));
    assert_eq!(kinds(&n), [CANCEL_STATE_CHANGE, PRODUCT_ORDER_STATE_CHANGE]);
    assert_eq!(
        n[0].body["event"]["cancelProductOrder"]["state"],
        "rejected"
    );
    assert_eq!(n[1].body["event"]["productOrder"]["state"], "inProgress");
}

#[test]
fn a_cancellation_decided_at_once_is_created_done_and_an_amendment_changes_attributes() {
    let at_once = event(
        EventType::CancellationAccepted,
        Some(OrderState::Feasibility),
        cancellation("CONSUMER", "ACCEPTED", None),
    );
    let n = notifications(&at_once, &view(OrderState::Cancelled));
    assert_eq!(kinds(&n), [CANCEL_CREATE, PRODUCT_ORDER_STATE_CHANGE]);
    assert_eq!(n[0].body["event"]["cancelProductOrder"]["state"], "done");

    let amended = event(EventType::AmendmentAccepted, None, Value::Null);
    assert_eq!(
        kinds(&notifications(&amended, &view(OrderState::Execution))),
        [PRODUCT_ORDER_ATTRIBUTE_VALUE_CHANGE]
    );
}
