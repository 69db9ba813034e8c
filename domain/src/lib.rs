//! The order domain of orderflow, with no Temporal in it: the order model, ids that parse, the
//! rule codes with their HTTP statuses, the lifecycle, amendment and cancellation rules, and
//! the [`Order`] aggregate whose transitions say what to record.
//!
//! Everything here runs inside deterministic workflow code as well as in the API, so it does no
//! I/O and reads no clock or randomness: callers pass "now" in as a value. That also makes the
//! rules testable in milliseconds without a server.

pub mod actor;
pub mod amendment;
pub mod calls;
pub mod cancellation;
pub mod commands;
pub mod gateway;
pub mod ids;
pub mod limits;
pub mod marketplace;
pub mod model;
pub mod money;
pub mod order;
pub mod peppol;
pub mod repeats;
pub mod requests;
pub mod rule_code;
pub mod rules;
pub mod settings;
pub mod tmf622;
pub mod webhooks;

pub use ids::{OrderId, ParseError, Price, SupplierId, TenantId};
pub use order::{Change, Checked, EventDetail, Lapse, Order};
pub use rule_code::{RuleCode, RuleError};
pub use settings::WorkflowSettings;
