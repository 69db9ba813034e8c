//! A receiver down for a minute across a worker restart loses nothing.

use super::*;

/// Durability: a receiver that refuses connections for a minute, while the worker
/// (which runs the dispatcher) is killed with SIGKILL and restarted, still gets every event,
/// signed and in order, once it is back. Its own stack: killing the shared stack's worker
/// would disturb the other webhook tests, which count attempts exactly.
#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_down_for_a_minute_across_a_worker_restart_loses_nothing() {
    let stack = &Stack::start("webhooks-durability").await;
    let acme = stack.acme();
    let (r, address) = down_receiver("acme-secret-for-a-receiver-that-is-down").await;
    let hook = subscribe(&acme, &r, &["*"]).await;
    let webhook_id = hook["webhook_id"].as_str().unwrap().to_string();
    let down_since = Instant::now();

    let (id, events) = completed_order(&acme, "wh-down").await;
    // Attempts have been made and failed: the oldest delivery (this order's first event) waits
    // for its next try, and the rest wait behind it.
    let start = Instant::now();
    let retried = loop {
        let listed = deliveries(&acme, &webhook_id).await;
        if let Some(d) = listed.iter().find(|d| d["attempts"].as_i64() >= Some(2)) {
            break d.clone();
        }
        assert!(
            start.elapsed() < T,
            "no failed attempts recorded: {listed:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(retried["status"], "PENDING", "{retried}");
    assert!(retried["last_error"].is_string(), "{retried}");

    // orderflow restarts without a chance to clean up; the outbox is in the database.
    stack.kill_worker(0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.start_worker();

    let outage = Duration::from_secs(60);
    tokio::time::sleep(outage.saturating_sub(down_since.elapsed())).await;
    assert!(r.all().is_empty(), "nothing can arrive while it is down");
    r.come_up(address).await;

    // Backoff doubles to about a minute by now, so allow for the next attempt and the rest.
    let got = wait_accepted(&r, &id, events.len(), Duration::from_secs(150)).await;
    let mut seen = std::collections::BTreeSet::new();
    let first_arrivals: Vec<String> = got
        .iter()
        .filter(|x| seen.insert(x.event_id.clone()))
        .map(|x| x.event_id.clone())
        .collect();
    assert_eq!(first_arrivals, uuids(&events), "every event, in order");
    assert!(got.iter().all(|x| x.signature_ok));
    let listed = deliveries(&acme, &webhook_id).await;
    let head = listed
        .iter()
        .find(|d| d["delivery_id"] == retried["delivery_id"])
        .unwrap();
    assert_eq!(head["status"], "DELIVERED", "{head}");
    assert!(head["attempts"].as_i64().unwrap() >= 3, "{head}");
}

/// A receiver that never accepts: each delivery is retried until its retry window (here a
/// few seconds) has passed since the first attempt, then it is FAILED with the last answer,
/// and deliveries behind it go on; a redelivery gives it a fresh window.
#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_never_accepted_fails_after_its_retry_window() {
    let stack = &Stack::start_with(
        "webhooks-retry-window",
        StackOptions {
            worker_settings: Some(|s| s.webhook_retry_hours = 0.002),
            ..StackOptions::default()
        },
    )
    .await;
    let acme = stack.acme();
    let r = receiver("acme-secret-for-a-receiver-that-never-accepts", usize::MAX).await;
    let hook = subscribe(&acme, &r, &["ORDER_ACKNOWLEDGED"]).await;
    let hook_id = hook["webhook_id"].as_str().unwrap();
    let (id, _) = completed_order(&acme, "wh-never").await;
    let failed = |acme: ApiClient| async move {
        let start = Instant::now();
        loop {
            let listed = deliveries(&acme, hook_id).await;
            if let Some(d) = listed.iter().find(|d| d["status"] == "FAILED") {
                return d.clone();
            }
            assert!(start.elapsed() < T, "never FAILED: {listed:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let d = failed(acme.clone()).await;
    assert_eq!(d["order_id"], id.as_str(), "{d}");
    assert!(d["attempts"].as_i64().unwrap() >= 2, "retried first: {d}");
    assert_eq!(d["last_status_code"], 500, "{d}");
    assert!(d["next_attempt_at"].is_null(), "{d}");
    let tried = r.all().len();
    assert!(tried as i64 >= d["attempts"].as_i64().unwrap());

    // Sent again: PENDING with a fresh window, tried again, and FAILED once more.
    let did = d["delivery_id"].as_i64().unwrap();
    let path = format!("/v1/webhooks/{hook_id}/deliveries/{did}/redeliver");
    let again = acme.post(&path, &json!({})).await.unwrap();
    assert_eq!(
        (again.status.as_u16(), &again.body["status"]),
        (202, &json!("PENDING")),
        "{}",
        again.body
    );
    let d = failed(acme.clone()).await;
    assert_eq!(d["delivery_id"], did);
    assert!(r.all().len() > tried, "tried again after the redelivery");
}
