//! The order workflow: one durable Temporal execution per order, around the
//! [`orderflow_domain`] aggregate. No I/O, no clocks: everything with a side effect is an
//! activity, and time and ids come from the workflow context.

pub mod activities;
pub mod order_workflow;

/// The order domain, re-exported under the paths the other crates use.
pub use orderflow_domain::{
    amendment, calls, cancellation, commands, ids, model, requests, rule_code, rules,
};

pub use order_workflow::{OrderWorkflow, OrderWorkflowInput, StepCallback, WorkflowSettings};

/// The task queue order workflows and their activities run on.
pub const TASK_QUEUE: &str = "orderflow-orders";
