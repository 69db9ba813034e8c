//! The settings an order keeps for its whole life: how supplier calls are timed and retried,
//! how long the supplier has to answer a request, when a long history continues as new, and
//! which reason codes may cancel an unsolicited cease. They travel in the workflow input, so
//! changing the configuration never changes the rules of an order already running.

use serde::{Deserialize, Serialize};

/// How supplier calls are retried before the order goes to ERROR_HANDLER. Part of the
/// workflow input so a running order keeps the policy it started with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkflowSettings {
    pub supplier_call_timeout_secs: u64,
    /// A worker that stops heartbeating for this long is presumed dead; its call is retried.
    #[serde(default = "default_heartbeat_timeout_secs")]
    pub supplier_heartbeat_timeout_secs: u64,
    pub supplier_max_attempts: u32,
    pub supplier_initial_interval_ms: u64,
    pub supplier_max_interval_ms: u64,
    /// How long a supplier may keep an amendment PENDING before it counts as rejected.
    #[serde(default = "default_amendment_answer_timeout_secs")]
    pub amendment_answer_timeout_secs: u64,
    /// How long `PATCH` waits for the supplier's answer before replying 202 PENDING.
    #[serde(default = "default_amendment_reply_wait_ms")]
    pub amendment_reply_wait_ms: u64,
    /// How long a supplier may keep a cancellation PENDING before it counts as rejected.
    #[serde(default = "default_amendment_answer_timeout_secs")]
    pub cancellation_answer_timeout_secs: u64,
    /// An order continues as new once its run's history has this many events (or the server
    /// suggests it, which Temporal does from 4 MB or 4,096 events by default), at the first
    /// point where it waits with nothing in flight, in any phase; so a long-lived or much
    /// amended order keeps a short history. 2,000 keeps a replay (after a cache eviction or a
    /// worker restart) short and each run far below Temporal's limits (50 MB, 51,200 events).
    /// Runs recorded before `continue-as-new-any-phase` do so only while a subscription is
    /// parked.
    #[serde(default = "default_continue_as_new_after_events")]
    pub continue_as_new_after_events: u32,
    /// The `reason_code`s that may cancel an unsolicited cease.
    #[serde(default = "default_unsolicited_reason_codes")]
    pub unsolicited_cancel_reason_codes: Vec<String>,
    /// The order's supplier decides several PATCH amendments at once (seed 000's gateway),
    /// so a new one may be sent while others are PENDING; otherwise one at a time (seed
    /// 001). Copied from the supplier's setting when the order is placed, kept for its life.
    #[serde(default)]
    pub concurrent_amendments: bool,
}

fn default_continue_as_new_after_events() -> u32 {
    2_000
}

fn default_unsolicited_reason_codes() -> Vec<String> {
    crate::cancellation::DEFAULT_UNSOLICITED_REASON_CODES
        .map(String::from)
        .to_vec()
}

fn default_amendment_answer_timeout_secs() -> u64 {
    7 * 24 * 3600
}

fn default_amendment_reply_wait_ms() -> u64 {
    3_000
}

impl Default for WorkflowSettings {
    /// About 6 minutes of back-off (1 s doubling to 60 s, 12 attempts): a supplier that is
    /// down briefly delays orders, it does not send them to an operator.
    fn default() -> Self {
        WorkflowSettings {
            supplier_call_timeout_secs: 60,
            supplier_heartbeat_timeout_secs: default_heartbeat_timeout_secs(),
            supplier_max_attempts: 12,
            supplier_initial_interval_ms: 1_000,
            supplier_max_interval_ms: 60_000,
            amendment_answer_timeout_secs: default_amendment_answer_timeout_secs(),
            amendment_reply_wait_ms: default_amendment_reply_wait_ms(),
            cancellation_answer_timeout_secs: default_amendment_answer_timeout_secs(),
            continue_as_new_after_events: default_continue_as_new_after_events(),
            unsolicited_cancel_reason_codes: default_unsolicited_reason_codes(),
            concurrent_amendments: false,
        }
    }
}

fn default_heartbeat_timeout_secs() -> u64 {
    5
}

#[cfg(test)]
mod tests;
