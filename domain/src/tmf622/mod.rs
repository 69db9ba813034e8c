//! TM Forum TMF622 (Product Ordering v5) names for orderflow's states, as the table in
//! `docs/lifecycle.md` gives them: a ProductOrder's `state`, its items' `state`, and a
//! CancelProductOrder task's `state`. Pure functions of the order view and the request, so
//! the dialect and its tests read one table.

mod events;
mod resource;

pub use events::{EVENT_TYPES, notifications};
pub use resource::{cancel_task, href, product_order, select, task_href, task_id};

use crate::model::{LineAction, OrderState, OrderView, PqfCause, RequestState};
use crate::requests::PendingKind;

/// The dialect's base path; every `href` starts with it.
pub const BASE: &str = "/tmf-api/productOrderingManagement/v5";

/// The TMF622 `state` of a ProductOrder.
pub fn state(view: &OrderView) -> &'static str {
    use OrderState::*;
    if view.pending_kind() == Some(PendingKind::Cancellation) {
        return "assessingCancellation";
    }
    match view.state {
        Draft => "draft",
        Start | Submitted => "acknowledged",
        Feasibility | PlanDevelopment | Execution => "inProgress",
        PreQualificationFailed if view.cause == Some(PqfCause::Validation) => "rejected",
        PreQualificationFailed => "pending",
        ErrorHandler | Suspended => "held",
        Complete | Active | Inactive => "completed",
        Cancelled => "cancelled",
        Withdrawn | Terminated => "failed",
    }
}

/// The TMF622 action of a line.
pub fn action(action: LineAction) -> &'static str {
    match action {
        LineAction::Add => "add",
        LineAction::Modify => "modify",
        LineAction::Cancel => "delete",
        LineAction::NoChange => "noChange",
    }
}

/// The line action of a TMF622 action, if it is one.
pub fn line_action(name: &str) -> Option<LineAction> {
    Some(match name {
        "add" => LineAction::Add,
        "modify" => LineAction::Modify,
        "delete" => LineAction::Cancel,
        "noChange" => LineAction::NoChange,
        _ => return None,
    })
}

/// The TMF622 `state` of a CancelProductOrder task, from its cancellation's state.
pub fn cancel_state(state: RequestState) -> &'static str {
    match state {
        RequestState::Scheduled => "acknowledged",
        RequestState::Pending => "inProgress",
        RequestState::Accepted => "done",
        RequestState::Rejected => "rejected",
        RequestState::Superseded | RequestState::Expired | RequestState::Failed => {
            "terminatedWithError"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OrderDocument, OrderType};
    use crate::requests::PendingRequest;

    fn view(state: OrderState) -> OrderView {
        let doc = OrderDocument::for_test("acme", "o-1", "PO-1", "sim", OrderType::Provide);
        let mut v = OrderView::received(doc, "2026-01-01T00:00:00Z".into());
        v.state = state;
        v
    }

    /// The table of docs/lifecycle.md, row by row.
    #[test]
    fn every_state_has_its_tmf622_name() {
        use OrderState::*;
        for (s, want) in [
            (Draft, "draft"),
            (Start, "acknowledged"),
            (Submitted, "acknowledged"),
            (Feasibility, "inProgress"),
            (PlanDevelopment, "inProgress"),
            (Execution, "inProgress"),
            (ErrorHandler, "held"),
            (Suspended, "held"),
            (Complete, "completed"),
            (Active, "completed"),
            (Inactive, "completed"),
            (Cancelled, "cancelled"),
            (Withdrawn, "failed"),
            (Terminated, "failed"),
        ] {
            assert_eq!(state(&view(s)), want, "{s:?}");
        }
        let mut pqf = view(PreQualificationFailed);
        pqf.cause = Some(PqfCause::Feasibility);
        assert_eq!(state(&pqf), "pending");
        pqf.cause = Some(PqfCause::Validation);
        assert_eq!(state(&pqf), "rejected");
    }

    #[test]
    fn a_cancellation_at_the_supplier_is_assessing_cancellation() {
        let mut v = view(OrderState::Execution);
        v.pending_request = Some(PendingRequest::Cancellation {
            cancellation_id: "c-1".into(),
            requested_at: "2026-01-01T00:00:00Z".into(),
            state: RequestState::Pending,
        });
        assert_eq!(state(&v), "assessingCancellation");
        v.pending_request = Some(PendingRequest::Amendment {
            amendment_id: "a-1".into(),
            requested_at: "2026-01-01T00:00:00Z".into(),
            state: RequestState::Pending,
        });
        assert_eq!(state(&v), "inProgress");
    }

    #[test]
    fn actions_and_cancel_states_map_both_ways() {
        for a in [
            LineAction::Add,
            LineAction::Modify,
            LineAction::Cancel,
            LineAction::NoChange,
        ] {
            assert_eq!(line_action(action(a)), Some(a));
        }
        assert_eq!(line_action("remove"), None);
        assert_eq!(cancel_state(RequestState::Pending), "inProgress");
        assert_eq!(cancel_state(RequestState::Accepted), "done");
        assert_eq!(cancel_state(RequestState::Rejected), "rejected");
        assert_eq!(cancel_state(RequestState::Expired), "terminatedWithError");
        assert_eq!(cancel_state(RequestState::Scheduled), "acknowledged");
    }
}
