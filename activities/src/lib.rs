//! The order's I/O with the outside world: the workflow's activities (supplier HTTP calls and
//! the `store.record` write), the supplier HTTP client that classifies answers for Temporal's
//! retries, and the webhook dispatcher with the one signature format shared by webhooks and
//! supplier callbacks.

pub mod dispatcher;
pub mod egress;
pub mod order_activities;
pub mod signing;
pub mod supplier;

pub use order_activities::OrderActivitiesImpl;
