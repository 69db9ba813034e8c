//! What a test stack runs: its processes, database, settings and limits ([`StackOptions`]).

use crate::Database;
use orderflow_config::Settings;
use orderflow_domain::WorkflowSettings;

/// What a stack runs.
#[derive(Clone, Debug)]
pub struct StackOptions {
    pub database: Database,
    /// Worker processes polling the one task queue.
    pub workers: usize,
    /// API processes; the simulator calls back into the last one.
    pub apis: usize,
    /// Supplier-call retries and timeouts given to each order.
    pub workflow: WorkflowSettings,
    /// The Temporal dev server keeps its state in a SQLite file under the stack's directory,
    /// so that [`crate::Stack::restart_all`] finds every workflow again; otherwise it is in memory.
    pub persistent: bool,
    /// `metrics_address`, `otlp_endpoint`, `log_format` of every process.
    pub telemetry: orderflow_telemetry::TelemetrySettings,
    /// The API's rate, concurrency and time limits.
    pub api: orderflow_config::ApiLimits,
    /// Changes to the settings of the API processes only, or of the workers only: a stack
    /// whose API and workers disagree (e.g. an API that registers a loopback webhook that
    /// the workers then refuse to send to, as after DNS rebinding).
    pub api_settings: Option<fn(&mut Settings)>,
    pub worker_settings: Option<fn(&mut Settings)>,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            database: Database::from_env(),
            workers: 1,
            apis: 1,
            workflow: test_workflow_settings(),
            persistent: false,
            telemetry: Default::default(),
            // Many tests poll one tenant's orders at once: far above what they send.
            api: orderflow_config::ApiLimits {
                tenant_requests_per_second: 5_000,
                tenant_burst: 10_000,
                ..Default::default()
            },
            api_settings: None,
            worker_settings: None,
        }
    }
}

/// Supplier-call retries kept short so failure paths finish in seconds.
pub fn test_workflow_settings() -> WorkflowSettings {
    WorkflowSettings {
        supplier_call_timeout_secs: 8,
        supplier_heartbeat_timeout_secs: 3,
        supplier_max_attempts: 4,
        supplier_initial_interval_ms: 100,
        supplier_max_interval_ms: 500,
        amendment_answer_timeout_secs: 6,
        amendment_reply_wait_ms: 1_000,
        cancellation_answer_timeout_secs: 6,
        // Small, so every subscription in the tests continues as new a few times.
        continue_as_new_after_events: 100,
        ..WorkflowSettings::default()
    }
}
