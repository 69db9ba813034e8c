//! Every side effect of orderflow: supplier HTTP calls, database writes, and the typed
//! configuration that says where those go.

pub mod config;
pub mod observe;
pub mod order_activities;
pub mod secrets;
pub mod signing;
pub mod store;
pub mod supplier;
pub mod webhooks;

#[cfg(test)]
mod test_support;

pub use order_activities::OrderActivitiesImpl;
