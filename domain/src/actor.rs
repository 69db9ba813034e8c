//! Who did it: every event and request says which party acted, so a tenant can tell its own
//! cancellation from the supplier's and an operator can see who holds an order.

use crate::model::OrderDocument;
use serde::{Deserialize, Serialize};

/// The kinds of party that act on an order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActorType {
    Tenant,
    Operator,
    Supplier,
    /// orderflow itself: the lifecycle moving on, a timer, a timeout.
    #[default]
    System,
}

/// A party that acted, as events and requests show it: `{"type": "SUPPLIER", "id": "sim"}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(rename = "type")]
    pub kind: ActorType,
    /// The tenant id, `operator`, the supplier id, or `orderflow`.
    pub id: String,
}

impl Actor {
    /// The party of kind `kind` on the order `document`: its tenant, its supplier, the
    /// operator or orderflow.
    pub fn on(kind: ActorType, document: &OrderDocument) -> Actor {
        let id = match kind {
            ActorType::Tenant => document.tenant_id.to_string(),
            ActorType::Supplier => document.supplier_id.to_string(),
            ActorType::Operator => "operator".to_string(),
            ActorType::System => "orderflow".to_string(),
        };
        Actor { kind, id }
    }
}

/// Who holds a SUSPENDED order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Holder {
    Operator,
    Supplier,
}

impl Holder {
    pub fn actor_type(self) -> ActorType {
        match self {
            Holder::Operator => ActorType::Operator,
            Holder::Supplier => ActorType::Supplier,
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Holder::Operator => "an operator",
            Holder::Supplier => "the supplier",
        }
    }
}

/// One hold on an order: the order stays SUSPENDED while any stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub by: Holder,
    pub reason: Option<String>,
    /// RFC 3339.
    pub since: String,
}
