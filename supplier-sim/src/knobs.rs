//! The `sim.*` order attributes that steer the simulator.
//!
//! Unknown or unparsable values fall back to the defaults rather than failing the call: the
//! attributes belong to the tenant's order, and a typo there should not look like a supplier
//! outage.

use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmendMode {
    Accept,
    Reject,
    PendingAccept,
    PendingReject,
    /// Answers PENDING and never decides (`pending-silent`).
    PendingSilent,
    /// Refuses to take the amendment at all: HTTP 422 (`refuse`).
    Refuse,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelMode {
    Ap,
    Re,
    PendingAp,
    PendingRe,
    /// Answers PENDING and never decides (`pending-silent`).
    PendingSilent,
    /// Refuses to take the cancellation at all: HTTP 422 (`refuse`).
    Refuse,
}

#[derive(Clone, Debug)]
pub struct Knobs {
    /// `sim.validation=fail`
    pub validation_fails: bool,
    /// `sim.feasible` (default true)
    pub feasible: bool,
    /// `sim.steps` (default 3)
    pub steps: u32,
    /// `sim.step_ms` (default 50)
    pub step_ms: u64,
    /// `sim.async_steps` (default false)
    pub async_steps: bool,
    /// `sim.point_of_no_return` (none by default)
    pub point_of_no_return: Option<u32>,
    /// `sim.amend` (default accept)
    pub amend: AmendMode,
    /// `sim.cancel` (default AP)
    pub cancel: CancelMode,
    /// `sim.fail_step` (none by default)
    pub fail_step: Option<u32>,
    /// `sim.flaky` (default 0)
    pub flaky: u32,
    /// `sim.flaky_status`: the status of each `sim.flaky` failure, one of 408, 429, 500, 502,
    /// 503, 504 (default 500; anything else is 500): the transient answers a client retries.
    pub flaky_status: u16,
    /// `sim.answer_ms` (default 500)
    pub answer_ms: u64,
    /// `sim.refuse_once=validate|transfer|feasibility|plan|step`: the first call of that
    /// operation for the order is refused for good (422); later ones (an operator's retry,
    /// under a fresh key) go through.
    pub refuse_once: Option<String>,
    /// `sim.notify=refuse`: deactivations and reactivations are refused with HTTP 422.
    pub notify_refused: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            validation_fails: false,
            feasible: true,
            steps: 3,
            step_ms: 50,
            async_steps: false,
            point_of_no_return: None,
            amend: AmendMode::Accept,
            cancel: CancelMode::Ap,
            fail_step: None,
            flaky: 0,
            flaky_status: 500,
            refuse_once: None,
            answer_ms: 500,
            notify_refused: false,
        }
    }
}

impl Knobs {
    /// Reads the knobs from an order document's `attributes` map (absent keys → defaults).
    pub fn from_order(order: Option<&Value>) -> Knobs {
        let attrs = order
            .and_then(|o| o.get("attributes"))
            .and_then(Value::as_object);
        Knobs::from_attributes(attrs)
    }

    pub fn from_attributes(attrs: Option<&Map<String, Value>>) -> Knobs {
        let d = Knobs::default();
        let Some(attrs) = attrs else {
            return d;
        };
        // Attributes are strings per the order schema; numbers and booleans are tolerated.
        let get = |key: &str| -> Option<String> {
            match attrs.get(key)? {
                Value::String(s) => Some(s.trim().to_ascii_lowercase()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            }
        };
        let num = |key: &str| get(key).and_then(|v| v.parse::<u64>().ok());
        Knobs {
            validation_fails: get("sim.validation").is_some_and(|v| v == "fail"),
            feasible: get("sim.feasible").is_none_or(|v| v != "false"),
            steps: num("sim.steps").map_or(d.steps, |n| n.min(1000) as u32),
            step_ms: num("sim.step_ms").unwrap_or(d.step_ms),
            async_steps: get("sim.async_steps").is_some_and(|v| v == "true"),
            point_of_no_return: num("sim.point_of_no_return")
                .map(|n| n.min(u32::MAX as u64) as u32),
            amend: match get("sim.amend").as_deref() {
                Some("reject") => AmendMode::Reject,
                Some("pending-accept") => AmendMode::PendingAccept,
                Some("pending-reject") => AmendMode::PendingReject,
                Some("pending-silent") => AmendMode::PendingSilent,
                Some("refuse") => AmendMode::Refuse,
                _ => AmendMode::Accept,
            },
            cancel: match get("sim.cancel").as_deref() {
                Some("re") => CancelMode::Re,
                Some("pending-ap") => CancelMode::PendingAp,
                Some("pending-re") => CancelMode::PendingRe,
                Some("pending-silent") => CancelMode::PendingSilent,
                Some("refuse") => CancelMode::Refuse,
                _ => CancelMode::Ap,
            },
            fail_step: num("sim.fail_step").map(|n| n.min(u32::MAX as u64) as u32),
            flaky: num("sim.flaky").map_or(0, |n| n.min(u32::MAX as u64) as u32),
            flaky_status: match num("sim.flaky_status") {
                Some(n @ (408 | 429 | 500 | 502 | 503 | 504)) => n as u16,
                _ => 500,
            },
            answer_ms: num("sim.answer_ms").unwrap_or(d.answer_ms),
            refuse_once: get("sim.refuse_once"),
            notify_refused: get("sim.notify").is_some_and(|v| v == "refuse"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_when_absent() {
        let k = Knobs::from_order(Some(&json!({"order_id": "x"})));
        assert!(!k.validation_fails && k.feasible && !k.async_steps);
        assert_eq!((k.steps, k.step_ms, k.answer_ms, k.flaky), (3, 50, 500, 0));
        assert_eq!(k.flaky_status, 500);
        assert_eq!(k.point_of_no_return, None);
        assert_eq!(k.fail_step, None);
        assert_eq!(k.amend, AmendMode::Accept);
        assert_eq!(k.cancel, CancelMode::Ap);
    }

    #[test]
    fn parses_values() {
        let k = Knobs::from_order(Some(&json!({"attributes": {
            "sim.validation": "fail", "sim.feasible": "false", "sim.steps": "5",
            "sim.step_ms": "7", "sim.async_steps": "true", "sim.point_of_no_return": "2",
            "sim.amend": "pending-reject", "sim.cancel": "pending-AP", "sim.fail_step": "4",
            "sim.flaky": "2", "sim.answer_ms": "9", "other": "ignored"
        }})));
        assert!(k.validation_fails && !k.feasible && k.async_steps);
        assert_eq!((k.steps, k.step_ms, k.answer_ms, k.flaky), (5, 7, 9, 2));
        assert_eq!(k.point_of_no_return, Some(2));
        assert_eq!(k.fail_step, Some(4));
        assert_eq!(k.amend, AmendMode::PendingReject);
        assert_eq!(k.cancel, CancelMode::PendingAp);
    }

    #[test]
    fn garbage_falls_back_to_defaults() {
        let k = Knobs::from_order(Some(&json!({"attributes": {
            "sim.steps": "many", "sim.cancel": "maybe", "sim.flaky": "-1"
        }})));
        assert_eq!(k.steps, 3);
        assert_eq!(k.cancel, CancelMode::Ap);
        assert_eq!(k.flaky, 0);
    }
}
