//! Deterministic order logic for orderflow: the order model, the lifecycle rules and the
//! order workflow. No I/O, no clocks: everything with a side effect is an activity.

pub mod activities;
pub mod amendment;
pub mod cancellation;
pub mod model;
pub mod order_workflow;
pub mod rules;

pub use order_workflow::{OrderWorkflow, OrderWorkflowInput, StepCallback, WorkflowSettings};

/// The task queue order workflows and their activities run on.
pub const TASK_QUEUE: &str = "orderflow-orders";
