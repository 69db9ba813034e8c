//! The order workflow: one durable Temporal execution per order, around the
//! [`orderflow_domain`] aggregate. No I/O, no clocks: everything with a side effect is an
//! activity, and time and ids come from the workflow context.

pub mod activities;
pub mod order_workflow;

pub use order_workflow::{OrderWorkflow, OrderWorkflowInput, StepCallback, WorkflowSettings};
