//! The order lifecycle end to end on a real stack.

use orderflow_tests::*;
use std::time::Duration;
use tokio::sync::OnceCell;

static STACK: OnceCell<Stack> = OnceCell::const_new();
const T: Duration = Duration::from_secs(60);

async fn stack() -> &'static Stack {
    shared_stack(&STACK, "lifecycle").await
}

#[tokio::test(flavor = "multi_thread")]
async fn happy_path_completes_with_the_full_event_sequence() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("happy");
    let created = submit(
        &acme,
        &order(&id, &[("sim.steps", "3"), ("sim.step_ms", "20")]),
    )
    .await;
    assert_eq!(created["state"], "START");
    assert_eq!(created["tenant_id"], "acme");
    assert_eq!(created["revision"], 1);

    // Read-your-writes: the order is readable straight after 201.
    let read = acme.get(&format!("/v1/orders/{id}")).await.unwrap();
    assert_eq!(read.status, 200);

    let done = wait_state(&acme, &id, "COMPLETE", T).await;
    assert_eq!(done["transferred"], true);
    assert_eq!(done["plan"]["status"], "DONE");
    let steps = done["plan"]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert!(steps.iter().all(|s| s["status"] == "DONE"));
    assert_eq!(done["lines"][0]["unit_price"], "49.99");

    let events = events(&acme, &id).await;
    let types = assert_gapless(&events);
    assert_eq!(
        types,
        [
            "ORDER_ACKNOWLEDGED",
            "STATE_CHANGED",
            "STATE_CHANGED",
            "STATE_CHANGED",
            "STATE_CHANGED",
            "PLAN_STEP_COMPLETED",
            "PLAN_STEP_COMPLETED",
            "PLAN_STEP_COMPLETED",
            "STATE_CHANGED",
        ]
    );
    let states: Vec<&str> = events
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        [
            "START",
            "SUBMITTED",
            "FEASIBILITY",
            "PLAN_DEVELOPMENT",
            "EXECUTION",
            "EXECUTION",
            "EXECUTION",
            "EXECUTION",
            "COMPLETE"
        ]
    );
    assert_eq!(events.last().unwrap()["previous_state"], "EXECUTION");
    assert!(
        events
            .iter()
            .all(|e| e["tenant_id"] == "acme" && e["order_id"] == id)
    );

    // One supplier call per stage, each with its own stable key.
    let calls = stack.sim_calls("acme", &id).await;
    let paths: Vec<&str> = calls.iter().map(|c| c["path"].as_str().unwrap()).collect();
    assert_eq!(paths.len(), 7, "{paths:?}");
    assert!(calls.iter().all(|c| {
        c["idempotency_key"]
            .as_str()
            .unwrap()
            .starts_with(&format!("order/acme/{id}/"))
    }));

    // Operators find it in the Web UI by its search attributes.
    let client = stack.temporal().await;
    let query = format!(
        "OrderState = \"COMPLETE\" AND TenantId = \"acme\" AND WorkflowId = \"order/acme/{id}\""
    );
    let mut found = 0;
    for _ in 0..100 {
        found = client
            .count_workflows(query.clone(), Default::default())
            .await
            .unwrap()
            .count();
        if found == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(found, 1, "visibility query {query} found nothing");

    // The status query answers with the full order view.
    use orderflow_workflows::OrderWorkflow;
    let view = client
        .get_workflow_handle::<OrderWorkflow>(format!("order/acme/{id}"))
        .query(OrderWorkflow::status, (), Default::default())
        .await
        .unwrap();
    assert_eq!(view.state.as_str(), "COMPLETE");
    assert_eq!(view.last_seq, 9);
    maybe_record_history(stack, "acme", &id, "happy_path").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_failure_is_pre_qualification_failed_with_cause_validation() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("pqf-val");
    submit(&acme, &order(&id, &[("sim.validation", "fail")])).await;
    let o = wait_state(&acme, &id, "PRE_QUALIFICATION_FAILED", T).await;
    assert_eq!(o["cause"], "VALIDATION");
    assert_eq!(o["transferred"], false);
    assert!(o["state_reason"].as_str().is_some());
    // Never transferred: the supplier only saw the validation call.
    let calls = stack.sim_calls("acme", &id).await;
    assert!(calls.iter().all(|c| c["path"] != "/orders"), "{calls:?}");

    // An operator can withdraw it.
    let r = stack
        .operator()
        .post(
            &format!("/v1/orders/{id}/withdraw?tenant_id=acme"),
            &serde_json::json!({"reason": "bad data"}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["order"]["state"], "WITHDRAWN");
    let o = acme.get(&format!("/v1/orders/{id}")).await.unwrap().body;
    assert_eq!(o["state"], "WITHDRAWN");
    maybe_record_history(stack, "acme", &id, "pre_qualification_failed_withdrawn").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn infeasible_order_is_pre_qualification_failed_with_cause_feasibility() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("pqf-feas");
    submit(&acme, &order(&id, &[("sim.feasible", "false")])).await;
    let o = wait_state(&acme, &id, "PRE_QUALIFICATION_FAILED", T).await;
    assert_eq!(o["cause"], "FEASIBILITY");
    assert_eq!(o["transferred"], true);
    assert_eq!(o["previous_state"], "FEASIBILITY");
    assert!(o["plan"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn flaky_supplier_completes_with_one_effect_per_idempotency_key() {
    // A 5xx, a 408 and a 429 are each transient: retried under the same key until answered.
    let stack = stack().await;
    let ids = [500, 408, 429].map(|status| (status, new_id(&format!("flaky{status}"))));
    for (status, id) in &ids {
        let knobs = [
            ("sim.flaky", "2"),
            ("sim.step_ms", "0"),
            ("sim.flaky_status", &status.to_string()),
        ];
        submit(&stack.acme(), &order(id, &knobs)).await;
    }
    for (status, id) in &ids {
        assert_flaky_calls_completed_once(stack, id, *status).await;
    }
}

async fn assert_flaky_calls_completed_once(stack: &Stack, id: &str, failed_with: u64) {
    let acme = stack.acme();
    wait_state(&acme, id, "COMPLETE", T).await;
    let calls = stack.sim_calls("acme", id).await;
    let mut by_key: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for c in &calls {
        by_key
            .entry(c["idempotency_key"].as_str().unwrap().to_string())
            .or_default()
            .push(c["status"].as_u64().unwrap());
    }
    // 7 distinct calls (validate, transfer, feasibility, plan, 3 steps), each failed twice
    // and then succeeded exactly once.
    assert_eq!(by_key.len(), 7, "{by_key:?}");
    for (key, statuses) in &by_key {
        assert_eq!(
            statuses.iter().filter(|s| **s == failed_with).count(),
            2,
            "{key}: {statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s < 300).count(),
            1,
            "{key}: {statuses:?}"
        );
    }
    let types = assert_gapless(&events(&acme, id).await);
    assert_eq!(
        types.iter().filter(|t| *t == "PLAN_STEP_COMPLETED").count(),
        3
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_step_goes_to_error_handler_then_retry_and_withdraw() {
    let stack = stack().await;
    let acme = stack.acme();
    let op = stack.operator();
    let id = new_id("failstep");
    submit(
        &acme,
        &order(&id, &[("sim.fail_step", "2"), ("sim.step_ms", "0")]),
    )
    .await;
    let o = wait_state(&acme, &id, "ERROR_HANDLER", T).await;
    assert_eq!(o["previous_state"], "EXECUTION");
    assert!(
        o["state_reason"].as_str().unwrap().contains("step-2"),
        "{o}"
    );
    assert_eq!(o["plan"]["steps"][0]["status"], "DONE");
    assert_eq!(o["plan"]["steps"][1]["status"], "RUNNING");

    // Operator retry: back to EXECUTION, the step is tried again with a new key, fails again.
    let r = operate(&op, &id, "retry", serde_json::json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["order"]["state"], "EXECUTION");
    wait_for(&acme, &id, T, |o| {
        o["state"] == "ERROR_HANDLER" && o["last_seq"].as_u64() > Some(8)
    })
    .await;
    let calls = calls_to(stack, &id, "/steps/step-2").await;
    let step2_keys: std::collections::BTreeSet<&str> = calls
        .iter()
        .map(|c| c["idempotency_key"].as_str().unwrap())
        .collect();
    assert_eq!(
        step2_keys.len(),
        2,
        "operator retry uses a fresh key: {step2_keys:?}"
    );

    // Resume is refused (not suspended), withdraw ends it.
    let r = operate(&op, &id, "resume", serde_json::json!({})).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["error"]["code"], "NOT_SUSPENDED");
    let r = operate(
        &op,
        &id,
        "withdraw",
        serde_json::json!({"reason": "give up"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let o = wait_state(&acme, &id, "WITHDRAWN", T).await;
    assert_eq!(o["state_reason"], "give up");
    let types = assert_gapless(&events(&acme, &id).await);
    assert_eq!(types.last().unwrap(), "STATE_CHANGED");
    // Withdrawn is terminal: nothing more is allowed.
    let r = operate(&op, &id, "retry", serde_json::json!({})).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["error"]["code"], "NOT_RETRYABLE");
    maybe_record_history(stack, "acme", &id, "error_handler_retry_withdraw").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn suspend_and_resume_during_execution() {
    let stack = stack().await;
    let acme = stack.acme();
    let op = stack.operator();
    let id = new_id("suspend");
    submit(
        &acme,
        &order(&id, &[("sim.steps", "3"), ("sim.step_ms", "700")]),
    )
    .await;
    wait_state(&acme, &id, "EXECUTION", T).await;

    let r = operate(
        &op,
        &id,
        "suspend",
        serde_json::json!({"reason": "customer on holiday"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["order"]["state"], "SUSPENDED");
    // Read-your-writes after the 200.
    let o = acme.get(&format!("/v1/orders/{id}")).await.unwrap().body;
    assert_eq!(o["state"], "SUSPENDED");
    assert_eq!(o["previous_state"], "EXECUTION");

    // While held, no new step starts. A step call already scheduled may still reach the
    // supplier just after the hold: once the workflow has no activity left, count the calls,
    // then watch them for more than two step durations.
    wait_no_activity(stack, "acme", &id, T).await;
    assert_unchanged_for(
        "the step calls while suspended",
        Duration::from_secs(2),
        || calls_to(stack, &id, "/steps/"),
    )
    .await;
    let held = acme.get(&format!("/v1/orders/{id}")).await.unwrap().body;
    assert_eq!(held["state"], "SUSPENDED");
    // Suspending twice is refused.
    let r = operate(&op, &id, "suspend", serde_json::json!({})).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["error"]["code"], "NOT_SUSPENDABLE");

    let r = operate(&op, &id, "resume", serde_json::json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["order"]["state"], "EXECUTION");
    let done = wait_state(&acme, &id, "COMPLETE", T).await;
    assert!(
        done["plan"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "DONE")
    );
    let events = events(&acme, &id).await;
    let types = assert_gapless(&events);
    assert_eq!(
        types.iter().filter(|t| *t == "PLAN_STEP_COMPLETED").count(),
        3
    );
    let states: Vec<&str> = events
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert!(
        states.windows(2).any(|w| w == ["SUSPENDED", "EXECUTION"]) || states.contains(&"SUSPENDED")
    );
    maybe_record_history(stack, "acme", &id, "suspend_resume").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn asynchronous_steps_finish_by_signed_supplier_callback() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("async");
    submit(
        &acme,
        &order(&id, &[("sim.async_steps", "true"), ("sim.step_ms", "100")]),
    )
    .await;
    let done = wait_state(&acme, &id, "COMPLETE", T).await;
    assert!(
        done["plan"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "DONE")
    );
    let types = assert_gapless(&events(&acme, &id).await);
    assert_eq!(
        types.iter().filter(|t| *t == "PLAN_STEP_COMPLETED").count(),
        3
    );
    maybe_record_history(stack, "acme", &id, "async_steps").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn recurring_order_settles_active() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("recurring");
    let mut body = order(&id, &[("sim.step_ms", "0")]);
    body["recurring"] = serde_json::Value::Bool(true);
    submit(&acme, &body).await;
    let o = wait_state(&acme, &id, "ACTIVE", T).await;
    assert_eq!(o["recurring"], true);
    assert_eq!(o["plan"]["status"], "DONE");
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_prints_a_readable_timeline_until_the_order_ends() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("watch");
    submit(&acme, &order(&id, &[("sim.step_ms", "300")])).await;
    let out = orderflow_cli(stack, &["watch", &id], Duration::from_secs(60)).await;
    for expected in [
        "order acknowledged",
        "START → SUBMITTED",
        "PLAN_DEVELOPMENT → EXECUTION",
        "step-1 DONE",
        "step step-3 done",
        "EXECUTION → COMPLETE",
        &format!("order {id} ended: COMPLETE"),
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    // One line per event, in order, and nothing after the end.
    let seqs: Vec<u64> = out
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "{out}");
    assert!(out.trim_end().ends_with("ended: COMPLETE"), "{out}");
}

/// A supplier call refused for good at each stage parks the order in ERROR_HANDLER with the
/// stage it was in; the operator's retry goes back to that stage, repeats the call under a
/// fresh key, and the order completes.
#[tokio::test(flavor = "multi_thread")]
async fn an_operator_retry_goes_back_to_the_stage_that_failed() {
    let stack = stack().await;
    let acme = stack.acme();
    let stages = [
        ("validate", "/validate", "SUBMITTED"),
        ("transfer", "/orders", "SUBMITTED"),
        ("feasibility", "/feasibility", "FEASIBILITY"),
        ("plan", "/plan", "PLAN_DEVELOPMENT"),
        ("step", "/steps/step-1", "EXECUTION"),
    ];
    let mut ids = Vec::new();
    for (operation, _, _) in stages {
        let id = new_id(&format!("retry-{operation}"));
        let knobs = [("sim.refuse_once", operation), ("sim.step_ms", "0")];
        submit(&acme, &order(&id, &knobs)).await;
        ids.push(id);
    }
    for ((operation, path, stage), id) in stages.iter().zip(&ids) {
        let o = wait_state(&acme, id, "ERROR_HANDLER", T).await;
        assert_eq!(o["previous_state"], *stage, "{operation}: {o}");
        assert!(
            o["state_reason"].as_str().unwrap().contains("refused once"),
            "{operation}: {o}"
        );
        let r = operate(&stack.operator(), id, "retry", serde_json::json!({})).await;
        assert_eq!(
            (r.status.as_u16(), &r.body["order"]["state"]),
            (200, &serde_json::json!(stage)),
            "{operation}: {}",
            r.body
        );
        wait_state(&acme, id, "COMPLETE", T).await;
        let events = events(&acme, id).await;
        assert_gapless(&events);
        let states = states_entered(&events);
        let mut expected = vec![
            "SUBMITTED",
            "FEASIBILITY",
            "PLAN_DEVELOPMENT",
            "EXECUTION",
            "COMPLETE",
        ];
        let at = expected.iter().position(|s| s == stage).unwrap() + 1;
        expected.splice(at..at, ["ERROR_HANDLER", *stage]);
        assert_eq!(states, expected, "{operation}");
        let calls: Vec<_> = calls_to(stack, id, path)
            .await
            .into_iter()
            .filter(|c| *path != "/orders" || c["path"] == "/orders")
            .map(|c| (c["status"].as_u64().unwrap(), c["idempotency_key"].clone()))
            .collect();
        assert_eq!(calls.len(), 2, "{operation}: {calls:?}");
        assert_eq!(calls[0].0, 422, "{operation}: {calls:?}");
        assert!(calls[1].0 < 300, "{operation}: {calls:?}");
        assert_ne!(calls[0].1, calls[1].1, "{operation}: a fresh key");
    }
}
