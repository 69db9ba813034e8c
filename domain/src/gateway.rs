//! The gateway view of an order (seeds/000): the coarser states a telecom gateway's clients
//! read, with the request the supplier is deciding shown over the lifecycle state underneath.
//! `docs/lifecycle.md` has the table, next to the TMF622 states built on it.

use crate::model::{OrderState, OrderView};
use crate::requests::PendingKind;
use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GatewayState {
    Draft,
    /// Received, not yet with the supplier's fulfilment (START, SUBMITTED).
    #[default]
    Acknowledged,
    /// With the supplier: FEASIBILITY, PLAN_DEVELOPMENT, EXECUTION.
    InProgress,
    /// Waiting on the tenant or an operator: PRE_QUALIFICATION_FAILED, ERROR_HANDLER.
    Pending,
    /// SUSPENDED.
    Held,
    /// A PENDING amendment, whatever the state underneath.
    PendingAmendment,
    /// A PENDING cancellation, whatever the state underneath (it wins over an amendment).
    PendingCancellation,
    Completed,
    Active,
    Inactive,
    Cancelled,
    Withdrawn,
    /// The workflow was ended outside orderflow (TERMINATED); seeds/000 has no state for it.
    Failed,
}

impl GatewayState {
    pub const ALL: [GatewayState; 13] = [
        GatewayState::Draft,
        GatewayState::Acknowledged,
        GatewayState::InProgress,
        GatewayState::Pending,
        GatewayState::Held,
        GatewayState::PendingAmendment,
        GatewayState::PendingCancellation,
        GatewayState::Completed,
        GatewayState::Active,
        GatewayState::Inactive,
        GatewayState::Cancelled,
        GatewayState::Withdrawn,
        GatewayState::Failed,
    ];

    /// The gateway state of an order in `state` with `pending` open. A scheduled reactivation
    /// is not something the supplier decides, so it shows the state underneath.
    pub fn of(state: OrderState, pending: Option<PendingKind>) -> GatewayState {
        use OrderState::*;
        match pending {
            Some(PendingKind::Cancellation) => return GatewayState::PendingCancellation,
            Some(PendingKind::Amendment) => return GatewayState::PendingAmendment,
            Some(PendingKind::Reactivation) | None => {}
        }
        match state {
            Draft => GatewayState::Draft,
            Start | Submitted => GatewayState::Acknowledged,
            Feasibility | PlanDevelopment | Execution => GatewayState::InProgress,
            PreQualificationFailed | ErrorHandler => GatewayState::Pending,
            Suspended => GatewayState::Held,
            Complete => GatewayState::Completed,
            Active => GatewayState::Active,
            Inactive => GatewayState::Inactive,
            Cancelled => GatewayState::Cancelled,
            Withdrawn => GatewayState::Withdrawn,
            Terminated => GatewayState::Failed,
        }
    }

    /// The gateway state of the view, from its state and `pending_request`.
    pub fn of_view(view: &OrderView) -> GatewayState {
        GatewayState::of(view.state, view.pending_kind())
    }

    /// The wire name, e.g. `PENDING_AMENDMENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayState::Draft => "DRAFT",
            GatewayState::Acknowledged => "ACKNOWLEDGED",
            GatewayState::InProgress => "IN_PROGRESS",
            GatewayState::Pending => "PENDING",
            GatewayState::Held => "HELD",
            GatewayState::PendingAmendment => "PENDING_AMENDMENT",
            GatewayState::PendingCancellation => "PENDING_CANCELLATION",
            GatewayState::Completed => "COMPLETED",
            GatewayState::Active => "ACTIVE",
            GatewayState::Inactive => "INACTIVE",
            GatewayState::Cancelled => "CANCELLED",
            GatewayState::Withdrawn => "WITHDRAWN",
            GatewayState::Failed => "FAILED",
        }
    }

    /// Parses a wire name (the `gateway_state` filter).
    pub fn parse(s: &str) -> Option<GatewayState> {
        GatewayState::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

impl std::fmt::Display for GatewayState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_maps_and_requests_show_over_it() {
        for state in OrderState::ALL {
            let under = GatewayState::of(state, None);
            assert_eq!(under.to_string(), under.as_str());
            assert_eq!(
                GatewayState::of(state, Some(PendingKind::Reactivation)),
                under
            );
            assert_eq!(
                GatewayState::of(state, Some(PendingKind::Amendment)),
                GatewayState::PendingAmendment
            );
            assert_eq!(
                GatewayState::of(state, Some(PendingKind::Cancellation)),
                GatewayState::PendingCancellation
            );
        }
        assert_eq!(
            GatewayState::of(OrderState::PreQualificationFailed, None),
            GatewayState::Pending
        );
        assert_eq!(
            GatewayState::of(OrderState::Suspended, None),
            GatewayState::Held
        );
    }

    #[test]
    fn wire_names_round_trip() {
        for g in GatewayState::ALL {
            assert_eq!(serde_json::to_value(g).unwrap(), g.as_str());
            assert_eq!(GatewayState::parse(g.as_str()), Some(g));
        }
        assert_eq!(GatewayState::parse("in_progress"), None);
    }
}
