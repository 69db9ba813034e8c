//! The order timeline of `orderflow events` and `orderflow watch`: one readable line per event
//! (what changed, in words), and the plan as soon as the order has one.

use serde_json::Value;

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// ` (why)` when there is a reason, else nothing.
fn because(reason: &Value) -> String {
    match reason.as_str() {
        Some(r) if !r.is_empty() => format!(" ({r})"),
        _ => String::new(),
    }
}

/// What one event says, in words: `STATE_CHANGED` as `FEASIBILITY → PLAN_DEVELOPMENT`,
/// requests with their id, state and outcome.
pub fn describe(event: &Value) -> String {
    let d = &event["detail"];
    let state = text(event, "state");
    match text(event, "type") {
        "ORDER_ACKNOWLEDGED" => format!("order acknowledged ({state})"),
        "STATE_CHANGED" => {
            let from = event["previous_state"].as_str().unwrap_or("?");
            format!("{from} → {state}{}", because(&d["reason"]))
        }
        "PLAN_STEP_COMPLETED" => {
            format!("step {} done: {}", text(d, "step_id"), text(d, "name"))
        }
        kind if kind.starts_with("AMENDMENT_") => format!(
            "amendment {} {} via {}{}",
            text(d, "amendment_id"),
            text(d, "state"),
            text(d, "path"),
            because(&d["reason"])
        ),
        kind if kind.starts_with("CANCELLATION_") => {
            let mut line = format!(
                "cancellation {} {} via {}",
                text(d, "cancellation_id"),
                text(d, "state"),
                text(d, "path")
            );
            if let Some(code) = d["response_code"].as_str() {
                line.push_str(&format!(", supplier answered {code}"));
            }
            if let Some(at) = d["effective_at"]
                .as_str()
                .filter(|_| kind.ends_with("SCHEDULED"))
            {
                line.push_str(&format!(", effective {at}"));
            }
            line + &because(&d["decision_reason"]) + &format!(" [{state}]")
        }
        "ORDER_DEACTIVATED" => format!("subscription deactivated [{state}]"),
        "ORDER_REACTIVATED" => format!("subscription reactivated [{state}]"),
        "REACTIVATION_SCHEDULED" => {
            format!("reactivation scheduled for {}", text(d, "effective_at"))
        }
        "SCHEDULED_CANCELLATION_REMOVED" => "scheduled cancellation removed".to_string(),
        "SCHEDULED_REACTIVATION_REMOVED" => "scheduled reactivation removed".to_string(),
        "REACTIVATION_SUPERSEDED" => format!(
            "reactivation {} superseded{}",
            text(d, "reactivation_id"),
            because(&d["decision_reason"])
        ),
        "ORDER_CANCELLED_BY_SUPPLIER" => {
            format!(
                "cancelled by the supplier{} [{state}]",
                because(&d["reason"])
            )
        }
        "ORDER_AMENDED_BY_SUPPLIER" => {
            format!("amended by the supplier: {}", d["changes"])
        }
        other => format!("{other} [{state}]"),
    }
}

/// One timeline line: `#seq time  what happened  (revision)`.
pub fn line(event: &Value) -> String {
    format!(
        "#{:<3} {}  {}  (rev {})",
        event["seq"].as_u64().unwrap_or(0),
        text(event, "occurred_at"),
        describe(event),
        event["revision"]
    )
}

/// The plan as indented lines, one per step with its status.
pub fn plan(order: &Value) -> Vec<String> {
    let Some(steps) = order["plan"]["steps"].as_array() else {
        return Vec::new();
    };
    steps
        .iter()
        .map(|s| {
            let ponr = if s["point_of_no_return"] == true {
                "  (point of no return)"
            } else {
                ""
            };
            format!(
                "      {} {:<8} {}{ponr}",
                text(s, "step_id"),
                text(s, "status"),
                text(s, "name")
            )
        })
        .collect()
}

/// Has the order ended, so a watch can stop?
pub fn ended(order: &Value) -> bool {
    matches!(
        order["state"].as_str(),
        Some("COMPLETE" | "CANCELLED" | "WITHDRAWN")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_read_as_sentences() {
        let change = json!({"type": "STATE_CHANGED", "state": "EXECUTION",
            "previous_state": "PLAN_DEVELOPMENT", "detail": null, "seq": 5, "revision": 1,
            "occurred_at": "2026-11-23T10:00:00.000Z"});
        assert_eq!(describe(&change), "PLAN_DEVELOPMENT → EXECUTION");
        assert_eq!(
            line(&change),
            "#5   2026-11-23T10:00:00.000Z  PLAN_DEVELOPMENT → EXECUTION  (rev 1)"
        );
        let cancel = json!({"type": "CANCELLATION_REJECTED", "state": "EXECUTION",
            "detail": {"cancellation_id": "c1", "state": "REJECTED", "path": "SUPPLIER",
                "response_code": "RE", "decision_reason": "past point of no return"}});
        assert_eq!(
            describe(&cancel),
            "cancellation c1 REJECTED via SUPPLIER, supplier answered RE (past point of no return) [EXECUTION]"
        );
        let scheduled = json!({"type": "CANCELLATION_SCHEDULED", "state": "ACTIVE",
            "detail": {"cancellation_id": "c2", "state": "SCHEDULED", "path": "SUBSCRIPTION",
                "response_code": null, "effective_at": "2026-12-01T00:00:00Z"}});
        assert!(describe(&scheduled).contains("effective 2026-12-01T00:00:00Z"));
        let step = json!({"type": "PLAN_STEP_COMPLETED", "state": "EXECUTION",
            "detail": {"step_id": "step-1", "name": "Reserve capacity"}});
        assert_eq!(describe(&step), "step step-1 done: Reserve capacity");
    }

    #[test]
    fn plans_and_endings() {
        let order = json!({"state": "EXECUTION", "plan": {"steps": [
            {"step_id": "step-1", "name": "Reserve", "status": "DONE", "point_of_no_return": false},
            {"step_id": "step-2", "name": "Install", "status": "RUNNING", "point_of_no_return": true}
        ]}});
        let lines = plan(&order);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].contains("RUNNING") && lines[1].contains("point of no return"));
        assert!(!ended(&order));
        assert!(ended(&json!({"state": "CANCELLED"})));
        assert!(!ended(&json!({"state": "INACTIVE"})));
    }
}
