//! The marketplace's view of an order (seed 002): its own names for the states a consumer
//! acts on (placed, not yet with the supplier; canceled by whom), the orderflow state in lower
//! case otherwise. A pure function of the order view, so the dialect and its tests read the
//! same table.

use crate::actor::ActorType;
use crate::model::{OrderState, OrderView};
use crate::rules;

/// The marketplace state of an order: `draft`, `placed` and `transfer_failed` (placed, the
/// supplier has not received it: a consumer may cancel it), `canceled_by_consumer` (cancelled
/// before the supplier had it), `canceled_by_supplier` (cancelled once it had it: the supplier
/// accepted the cancellation or cancelled on its own), else the orderflow state in lower case.
pub fn state(view: &OrderView) -> String {
    use OrderState::*;
    let untransferred = !view.transferred && rules::has_running_workflow(view.state);
    let name = match view.state {
        Draft => "draft",
        Cancelled if view.cancelled_by == Some(ActorType::Operator) => "cancelled",
        Cancelled if view.transferred => "canceled_by_supplier",
        Cancelled => "canceled_by_consumer",
        // The supplier refused or never took the order: the transfer failed.
        PreQualificationFailed | ErrorHandler if untransferred => "transfer_failed",
        _ if untransferred => "placed",
        other => return other.as_str().to_ascii_lowercase(),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OrderDocument, OrderType};

    fn view(state: OrderState, transferred: bool, by: Option<ActorType>) -> OrderView {
        let doc = OrderDocument::for_test("acme", "o-1", "PO-1", "sim", OrderType::Provide);
        let mut v = OrderView::received(doc, "2026-01-01T00:00:00Z".into());
        v.state = state;
        v.transferred = transferred;
        v.cancelled_by = by;
        v
    }

    #[test]
    fn every_state_has_its_marketplace_name() {
        use OrderState::*;
        for state in OrderState::ALL {
            for transferred in [false, true] {
                let got = super::state(&view(state, transferred, Some(ActorType::Tenant)));
                let want = match (state, transferred) {
                    (Draft, _) => "draft".to_string(),
                    (Cancelled, false) => "canceled_by_consumer".to_string(),
                    (Cancelled, true) => "canceled_by_supplier".to_string(),
                    (PreQualificationFailed | ErrorHandler, false) => "transfer_failed".into(),
                    (Start | Submitted | Feasibility | PlanDevelopment | Execution, false)
                    | (Suspended | Active | Inactive, false) => "placed".to_string(),
                    (other, _) => other.as_str().to_ascii_lowercase(),
                };
                assert_eq!(got, want, "{state} transferred {transferred}");
            }
        }
    }

    #[test]
    fn the_supplier_cancelling_on_its_own_and_an_operator_are_told_apart() {
        let by_supplier = view(OrderState::Cancelled, true, Some(ActorType::Supplier));
        assert_eq!(state(&by_supplier), "canceled_by_supplier");
        let by_operator = view(OrderState::Cancelled, true, Some(ActorType::Operator));
        assert_eq!(state(&by_operator), "cancelled");
        assert_eq!(state(&view(OrderState::Execution, true, None)), "execution");
        assert_eq!(
            state(&view(OrderState::PlanDevelopment, true, None)),
            "plan_development"
        );
    }
}
