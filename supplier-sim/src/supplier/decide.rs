//! What the simulated supplier decides for each operation: a pure function of its state,
//! the request and the order's `sim.*` knobs, so that the shared request handling (idempotency,
//! flakiness, the call log) is written once and the answers can be read in one place.

use serde_json::{Map, Value, json};

use super::Op;
use crate::journal::Entry;
use crate::knobs::{AmendMode, CancelMode, Knobs};
use crate::outbox::{new_callback, now_ms};

/// What a processed call answers and changes.
pub(super) struct Decision {
    pub(super) status: u16,
    pub(super) body: Value,
    /// State changes and scheduled callbacks, journaled together with the stored answer.
    pub(super) effects: Vec<Entry>,
    /// Simulated work done before answering (a synchronous step), outside every lock.
    pub(super) work_ms: Option<u64>,
}

impl Decision {
    fn answer(status: u16, body: Value) -> Decision {
        Decision {
            status,
            body,
            effects: Vec::new(),
            work_ms: None,
        }
    }
}

/// Readable names for plan steps, cycled when a plan has more steps than names.
const STEP_NAMES: [&str; 6] = [
    "Reserve capacity",
    "Schedule field engineer",
    "Install equipment",
    "Configure service",
    "Test and activate",
    "Confirm completion",
];

pub(super) fn decide(
    st: &crate::journal::State,
    op: &Op,
    id: &str,
    body: &Map<String, Value>,
    knobs: &Knobs,
) -> Result<Decision, String> {
    // The order a callback refers to: the one just received, else the stored one.
    let order = body
        .get("order")
        .filter(|o| o.is_object())
        .or_else(|| st.orders.get(id));
    let id_field = |field: &str| -> Result<String, String> {
        body.get(field)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or(format!("body must contain a non-empty string \"{field}\""))
    };

    Ok(match op {
        Op::Service { deactivate } => {
            let request_id = id_field("request_id")?;
            let at = id_field("effective_at")?;
            if knobs.notify_refused {
                Decision::answer(
                    422,
                    json!({"error": "this supplier takes no subscription changes (sim.notify=refuse)"}),
                )
            } else {
                let active = !deactivate;
                let status = if active { "ACTIVE" } else { "INACTIVE" };
                let mut d = Decision::answer(
                    200,
                    json!({"status": status, "request_id": request_id, "effective_at": at}),
                );
                d.effects.push(Entry::Service {
                    id: id.to_owned(),
                    active,
                    at,
                });
                d
            }
        }
        Op::Validate => {
            if knobs.validation_fails {
                Decision::answer(
                    200,
                    json!({"result": "FAIL", "reason": "order rejected by supplier validation (sim.validation=fail)"}),
                )
            } else {
                Decision::answer(200, json!({"result": "PASS"}))
            }
        }
        Op::Transfer => {
            let order = body.get("order").cloned().unwrap_or_default();
            let mut d =
                Decision::answer(201, json!({"status": "RECEIVED", "supplier_order_id": id}));
            d.effects.push(Entry::Order {
                id: id.to_owned(),
                order,
            });
            d
        }
        Op::Feasibility => {
            if knobs.feasible {
                Decision::answer(200, json!({"feasible": true}))
            } else {
                Decision::answer(
                    200,
                    json!({"feasible": false, "reason": "supplier cannot fulfil the order (sim.feasible=false)"}),
                )
            }
        }
        Op::Plan => {
            let steps: Vec<Value> = (1..=knobs.steps)
                .map(|n| {
                    let base = STEP_NAMES[(n as usize - 1) % STEP_NAMES.len()];
                    let name = if (n as usize) <= STEP_NAMES.len() {
                        base.to_owned()
                    } else {
                        format!("{base} ({n})")
                    };
                    json!({
                        "step_id": format!("step-{n}"),
                        "name": name,
                        "point_of_no_return": knobs.point_of_no_return == Some(n),
                    })
                })
                .collect();
            Decision::answer(
                200,
                json!({"plan_id": uuid::Uuid::new_v4().to_string(), "steps": steps}),
            )
        }
        Op::Step(step_id) => {
            let n = step_id
                .strip_prefix("step-")
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|n| *n >= 1)
                .ok_or(format!("step id must be step-N, got {step_id:?}"))?;
            let started = Entry::StepStarted {
                id: id.to_owned(),
                step: n,
            };
            let mut d = if knobs.fail_step == Some(n) {
                Decision::answer(
                    422,
                    json!({"status": "FAILED", "reason": format!("step {n} failed permanently (sim.fail_step)")}),
                )
            } else if knobs.async_steps {
                let mut d = Decision::answer(202, json!({"status": "ACCEPTED"}));
                let due = now_ms() + knobs.step_ms as i64;
                d.effects
                    .push(new_callback("STEP_DONE", id, order, due, json!({"step_id": step_id})).1);
                d
            } else {
                let mut d = Decision::answer(200, json!({"status": "DONE"}));
                d.work_ms = Some(knobs.step_ms);
                d
            };
            d.effects.insert(0, started);
            d
        }
        Op::Amendment => {
            let amendment_id = id_field("amendment_id")?;
            let pending = |decision: &str, reason: Option<&str>| {
                let mut d = Decision::answer(202, json!({"decision": "PENDING"}));
                let mut extra = json!({"amendment_id": amendment_id, "decision": decision});
                if let Some(r) = reason {
                    extra["reason"] = json!(r);
                }
                let due = now_ms() + knobs.answer_ms as i64;
                d.effects
                    .push(new_callback("AMENDMENT_DECISION", id, order, due, extra).1);
                d
            };
            const REJECTED: &str = "amendment rejected by supplier (sim.amend)";
            match knobs.amend {
                AmendMode::Accept => Decision::answer(200, json!({"decision": "ACCEPT"})),
                AmendMode::Reject => {
                    Decision::answer(200, json!({"decision": "REJECT", "reason": REJECTED}))
                }
                AmendMode::PendingAccept => pending("ACCEPT", None),
                AmendMode::PendingReject => pending("REJECT", Some(REJECTED)),
                AmendMode::PendingSilent => Decision::answer(202, json!({"decision": "PENDING"})),
                AmendMode::Refuse => Decision::answer(
                    422,
                    json!({"error": "this supplier takes no amendments (sim.amend=refuse)"}),
                ),
            }
        }
        Op::Cancellation => {
            let cancellation_id = id_field("cancellation_id")?;
            let past_ponr = knobs.point_of_no_return.is_some_and(|p| {
                st.steps
                    .get(id)
                    .is_some_and(|started| started.range(p..).next().is_some())
            });
            let pending = |code: &str, reason: Option<&str>| {
                let mut d = Decision::answer(202, json!({"response_code": "PENDING"}));
                let mut extra = json!({"cancellation_id": cancellation_id, "response_code": code});
                if let Some(r) = reason {
                    extra["reason"] = json!(r);
                }
                let due = now_ms() + knobs.answer_ms as i64;
                d.effects
                    .push(new_callback("CANCELLATION_DECISION", id, order, due, extra).1);
                d
            };
            const REFUSED: &str = "cancellation refused by supplier (sim.cancel)";
            if past_ponr {
                Decision::answer(
                    200,
                    json!({"response_code": "RE", "reason": "past point of no return"}),
                )
            } else {
                match knobs.cancel {
                    CancelMode::Ap => Decision::answer(200, json!({"response_code": "AP"})),
                    CancelMode::Re => {
                        Decision::answer(200, json!({"response_code": "RE", "reason": REFUSED}))
                    }
                    CancelMode::PendingAp => pending("AP", None),
                    CancelMode::PendingRe => pending("RE", Some(REFUSED)),
                    CancelMode::PendingSilent => {
                        Decision::answer(202, json!({"response_code": "PENDING"}))
                    }
                    CancelMode::Refuse => Decision::answer(
                        422,
                        json!({"error": "this supplier takes no cancellations (sim.cancel=refuse)"}),
                    ),
                }
            }
        }
    })
}
