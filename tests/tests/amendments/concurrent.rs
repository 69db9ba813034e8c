//! A supplier that decides several amendments at once (seed 000's gateway), on a stack of its
//! own whose supplier `sim` takes `concurrent_amendments`: PATCH amendments are PENDING side by
//! side, each decided (or EXPIRED) on its own, while a pending cancellation still blocks.

use super::*;
use orderflow_config::Settings;

static CONCURRENT: OnceCell<Stack> = OnceCell::const_new();

/// How long the supplier may keep an amendment PENDING on this stack: long enough for a test
/// to send three and decide them, short enough to wait out.
const ANSWER_TIMEOUT_SECS: u64 = 15;

async fn concurrent_stack() -> &'static Stack {
    fn concurrent(s: &mut Settings) {
        s.suppliers[0].concurrent_amendments = true;
    }
    let mut workflow = test_workflow_settings();
    workflow.amendment_answer_timeout_secs = ANSWER_TIMEOUT_SECS;
    let options = StackOptions {
        api_settings: Some(concurrent),
        workflow,
        ..StackOptions::default()
    };
    CONCURRENT
        .get_or_init(|| Stack::start_with("amendments-concurrent", options))
        .await
}

/// Sends a PATCH amendment the supplier leaves PENDING; its id.
async fn pending(acme: &ApiClient, id: &str, changes: Value) -> String {
    let r = patch(acme, id, changes, &[]).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["amendment"]["state"], "PENDING", "{}", r.body);
    assert_eq!(r.body["order"]["gateway_state"], "PENDING_AMENDMENT");
    r.body["amendment"]["amendment_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The order's amendments, oldest first: (id, state, late).
async fn amendments(acme: &ApiClient, id: &str) -> Vec<(String, String, bool)> {
    let r = acme
        .get(&format!("/v1/orders/{id}/amendments"))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let list = r.body["amendments"].as_array().unwrap();
    list.iter()
        .map(|a| {
            (
                a["amendment_id"].as_str().unwrap().to_string(),
                a["state"].as_str().unwrap().to_string(),
                a["late"] == true,
            )
        })
        .collect()
}

/// Waits until every amendment of `id` has left PENDING.
async fn settled(acme: &ApiClient, id: &str) -> Vec<(String, String, bool)> {
    let start = std::time::Instant::now();
    loop {
        let list = amendments(acme, id).await;
        if list.iter().all(|(_, state, _)| state != "PENDING") {
            return list;
        }
        assert!(start.elapsed() < T, "still pending: {list:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn states(list: &[(String, String, bool)]) -> Vec<&str> {
    list.iter().map(|(_, s, _)| s.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_supplier_decides_several_amendments_at_once_each_on_its_own() {
    let stack = concurrent_stack().await;
    let acme = stack.acme();
    let id = new_id("concurrent");
    let knobs = [
        ("sim.steps", "6"),
        ("sim.step_ms", "4000"),
        ("sim.amend", "pending-silent"),
    ];
    let placed = submit(&acme, &order(&id, &knobs)).await;
    assert_eq!(placed["concurrent_amendments"], true, "{placed}");
    wait_state(&acme, &id, "EXECUTION", T).await;

    let first = pending(&acme, &id, json!({ "notes": "first" })).await;
    let second = pending(&acme, &id, json!({ "notes": "second" })).await;
    let third = pending(&acme, &id, json!({ "requested_date": "2027-03-01" })).await;
    let o = acme.get(&format!("/v1/orders/{id}")).await.unwrap().body;
    assert_eq!(o["pending_request"]["amendment_id"], first.as_str(), "{o}");
    assert_eq!(o["revision"], 1);
    let caps = acme
        .get(&format!("/v1/orders/{id}/capabilities"))
        .await
        .unwrap()
        .body;
    assert_eq!(
        (&caps["amendable"], &caps["amend_path"]),
        (&json!(true), &json!("PATCH")),
        "another may be sent: {caps}"
    );
    // Each one reached the supplier, none waiting for another's answer.
    assert_eq!(calls_to(stack, &id, "/amendments").await.len(), 3);

    // The supplier decides out of order; each decision counts on its own.
    for (aid, verdict) in [(&third, "ACCEPT"), (&first, "REJECT"), (&second, "ACCEPT")] {
        let (status, answer) = stack.supplier_callback(&decision(&id, aid, verdict)).await;
        assert_eq!(status, 202, "{answer}");
    }
    let list = settled(&acme, &id).await;
    assert_eq!(states(&list), ["REJECTED", "ACCEPTED", "ACCEPTED"]);
    assert!(list.iter().all(|(_, _, late)| !late), "{list:?}");
    let o = wait_for(&acme, &id, T, |o| o["revision"] == 3).await;
    assert_eq!(
        (&o["notes"], &o["requested_date"], &o["pending_request"]),
        (&json!("second"), &json!("2027-03-01"), &Value::Null),
        "{o}"
    );
    assert_eq!(o["gateway_state"], "IN_PROGRESS");

    let done = wait_state(&acme, &id, "COMPLETE", T).await;
    assert_eq!(done["revision"], 3);
    let events = events(&acme, &id).await;
    let types = assert_gapless(&events);
    let count = |t: &str| types.iter().filter(|x| *x == t).count();
    assert_eq!(
        (
            count("AMENDMENT_PENDING"),
            count("AMENDMENT_ACCEPTED"),
            count("AMENDMENT_REJECTED")
        ),
        (3, 2, 1),
        "{types:?}"
    );
    let decided_by: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "AMENDMENT_ACCEPTED" || e["type"] == "AMENDMENT_REJECTED")
        .map(|e| e["actor"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(decided_by, ["SUPPLIER"; 3]);
    maybe_record_history(stack, "acme", &id, "amend_concurrent").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_amendments_expire_each_on_its_own_clock_and_a_cancellation_still_blocks() {
    let stack = concurrent_stack().await;
    let acme = stack.acme();
    let id = new_id("concurrent-expire");
    let knobs = [
        ("sim.steps", "10"),
        ("sim.step_ms", "4000"),
        ("sim.amend", "pending-silent"),
        ("sim.cancel", "pending-silent"),
    ];
    submit(&acme, &order(&id, &knobs)).await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let first = pending(&acme, &id, json!({ "notes": "first" })).await;
    // Sent a moment later, so due a moment later.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = pending(&acme, &id, json!({ "notes": "second" })).await;

    let list = settled(&acme, &id).await;
    assert_eq!(states(&list), ["EXPIRED", "EXPIRED"]);
    let read = |aid: &str| {
        let acme = &acme;
        let url = format!("/v1/orders/{id}/amendments/{aid}");
        async move { acme.get(&url).await.unwrap().body }
    };
    let (a, b) = (read(&first).await, read(&second).await);
    let at = |v: &Value, field: &str| {
        chrono::DateTime::parse_from_rfc3339(v[field].as_str().unwrap()).unwrap()
    };
    for x in [&a, &b] {
        let waited = at(x, "decided_at") - at(x, "requested_at");
        assert!(
            waited >= chrono::Duration::seconds(ANSWER_TIMEOUT_SECS as i64),
            "expired after its own full answer timeout: {x}"
        );
    }
    assert!(at(&a, "decided_at") < at(&b, "decided_at"), "{a} {b}");
    let types = assert_gapless(&events(&acme, &id).await);
    let expired = types.iter().filter(|t| *t == "AMENDMENT_EXPIRED").count();
    assert_eq!(expired, 2, "{types:?}");

    // A late ACCEPT of the first still applies.
    let (status, answer) = stack
        .supplier_callback(&decision(&id, &first, "ACCEPT"))
        .await;
    assert_eq!(status, 202, "{answer}");
    let o = wait_for(&acme, &id, T, |o| o["revision"] == 2).await;
    assert_eq!(o["notes"], "first");
    let list = amendments(&acme, &id).await;
    assert_eq!(list[0].1, "ACCEPTED");
    assert!(list[0].2, "marked late: {list:?}");

    // A PENDING cancellation blocks a new amendment even here.
    let r = acme
        .post(
            &format!("/v1/orders/{id}/cancel"),
            &json!({ "reason": "stop" }),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 202, "{}", r.body);
    let r = patch(&acme, &id, json!({ "notes": "third" }), &[]).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "REQUEST_IN_PROGRESS"));
}
