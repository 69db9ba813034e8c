//! Deliveries: signed, in order, only for the subscribed topics and tenant; a failing
//! receiver gets every event later, and deleting the webhook stops them.

use super::*;

#[tokio::test]
async fn events_arrive_signed_in_order_for_the_subscribed_topics_and_tenant_only() {
    let stack = stack().await;
    let (acme, globex) = (stack.acme(), stack.globex());
    let all = receiver("acme-secret-for-all-events", 0).await;
    // A secret in the Standard Webhooks format (whsec_ + base64 key) is signed with its key.
    let steps = receiver("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 0).await;
    let other = receiver("globex-secret-for-its-events", 0).await;
    let all_hook = subscribe(&acme, &all, &["*"]).await;
    subscribe(&acme, &steps, &["PLAN_STEP_COMPLETED"]).await;
    subscribe(&globex, &other, &["*"]).await;

    let listed = acme.get("/v1/webhooks").await.unwrap();
    assert_eq!(listed.status, 200);
    assert!(
        listed.body["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["webhook_id"] == all_hook["webhook_id"])
    );
    assert!(!listed.body.to_string().contains("acme-secret"));
    assert!(!listed.body.to_string().contains("whsec_"));
    let theirs = globex.get("/v1/webhooks").await.unwrap();
    assert!(
        !theirs.body["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["webhook_id"] == all_hook["webhook_id"])
    );

    let (id, events) = completed_order(&acme, "wh").await;
    let (globex_id, globex_events) = completed_order(&globex, "wh-globex").await;

    // Every event of the order, in seq order, signed, with its uuid as the event id.
    let got = wait_accepted(&all, &id, events.len(), T).await;
    let bodies: Vec<Value> = got.iter().map(|r| r.body.clone()).collect();
    assert_eq!(bodies, events, "bodies are the events, in order");
    for r in &got {
        assert!(r.signature_ok, "bad signature: {r:?}");
        assert_eq!(r.event_id, r.body["event_uuid"].as_str().unwrap());
    }

    // Only the subscribed topic.
    let step_events: Vec<Value> = events
        .iter()
        .filter(|e| e["type"] == "PLAN_STEP_COMPLETED")
        .cloned()
        .collect();
    assert_eq!(step_events.len(), 2);
    let got_steps = wait_accepted(&steps, &id, step_events.len(), T).await;
    assert_eq!(
        uuids(&got_steps.iter().map(|r| r.body.clone()).collect::<Vec<_>>()),
        uuids(&step_events)
    );
    assert!(
        steps
            .all()
            .iter()
            .all(|r| r.body["type"] == "PLAN_STEP_COMPLETED" && r.signature_ok)
    );

    // Each tenant gets its own events only.
    let got_globex = wait_accepted(&other, &globex_id, globex_events.len(), T).await;
    // By the time globex's order (finished after acme's) is delivered, a repeat of acme's
    // would have arrived; each delivery below also says it took one attempt.
    assert_eq!(all.accepted(&id).len(), got.len(), "unexpected repeats");
    assert!(got_globex.iter().all(|r| r.signature_ok));
    assert!(
        other.all().iter().all(|r| r.body["tenant_id"] == "globex"),
        "acme event sent to globex"
    );
    assert!(
        all.all().iter().all(|r| r.body["tenant_id"] == "acme"),
        "globex event sent to acme"
    );
    assert!(all.accepted(&globex_id).is_empty());

    // The deliveries resource, newest first.
    let webhook_id = all_hook["webhook_id"].as_str().unwrap();
    let listed = deliveries(&acme, webhook_id).await;
    let mine: Vec<&Value> = listed
        .iter()
        .filter(|d| d["order_id"] == id.as_str())
        .collect();
    assert_eq!(mine.len(), events.len());
    let mut expected = uuids(&events);
    expected.reverse();
    assert_eq!(
        mine.iter()
            .map(|d| d["event_uuid"].as_str().unwrap().to_string())
            .collect::<Vec<_>>(),
        expected
    );
    for d in mine {
        assert_eq!(d["status"], "DELIVERED", "{d}");
        assert_eq!(d["attempts"], 1, "{d}");
        assert_eq!(d["last_status_code"], 204, "{d}");
        assert!(
            d["delivered_at"].is_string() && d["next_attempt_at"].is_null(),
            "{d}"
        );
        assert!(
            d["delivery_id"].is_number() && d["event_type"].is_string(),
            "{d}"
        );
    }
}

#[tokio::test]
async fn a_failing_receiver_gets_every_event_later_and_delete_stops_deliveries() {
    let stack = stack().await;
    let acme = stack.acme();
    let r = receiver("acme-secret-for-a-flaky-receiver", 3).await;
    let hook = subscribe(&acme, &r, &["*"]).await;
    let webhook_id = hook["webhook_id"].as_str().unwrap().to_string();

    let (id, events) = completed_order(&acme, "wh-retry").await;
    let got = wait_accepted(&r, &id, events.len(), T).await;
    assert_eq!(
        uuids(&got.iter().map(|r| r.body.clone()).collect::<Vec<_>>()),
        uuids(&events),
        "in order despite the retries"
    );
    assert!(got.iter().all(|r| r.signature_ok));
    let refused: Vec<Received> = r.all().into_iter().filter(|r| r.answered == 500).collect();
    assert_eq!(refused.len(), 3);
    // The refused event was sent again (the same event id) and then delivered.
    let first = &refused[0].event_id;
    assert!(
        r.all()
            .iter()
            .any(|x| &x.event_id == first && x.answered == 204)
    );
    let listed = deliveries(&acme, &webhook_id).await;
    let retried = listed
        .iter()
        .find(|d| d["event_uuid"] == first.as_str())
        .expect("the retried delivery is listed");
    assert_eq!(retried["status"], "DELIVERED", "{retried}");
    assert_eq!(retried["attempts"], 4, "{retried}");
    assert_eq!(retried["last_status_code"], 204, "{retried}");

    // Deleted: nothing more arrives.
    let gone = acme
        .delete(&format!("/v1/webhooks/{webhook_id}"))
        .await
        .unwrap();
    assert_eq!(gone.status, 204, "{}", gone.body);
    let again = acme
        .delete(&format!("/v1/webhooks/{webhook_id}"))
        .await
        .unwrap();
    assert_eq!(again.status, 404);
    let after = acme
        .get(&format!("/v1/webhooks/{webhook_id}/deliveries"))
        .await
        .unwrap();
    assert_eq!(after.status, 404);
    // A webhook still registered gets the next order's events: by then the dispatcher has
    // passed them, and the deleted one got none of them.
    let before = r.all().len();
    let control = receiver("acme-secret-for-a-control-receiver", 0).await;
    subscribe(&acme, &control, &["*"]).await;
    let (later, later_events) = completed_order(&acme, "wh-after-delete").await;
    wait_accepted(&control, &later, later_events.len(), T).await;
    assert!(r.accepted(&later).is_empty());
    assert_eq!(r.all().len(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_can_be_sent_again() {
    let stack = stack().await;
    let acme = stack.acme();
    let r = receiver("redeliver-secret", 0).await;
    let hook = subscribe(&acme, &r, &["ORDER_ACKNOWLEDGED"]).await;
    let hook_id = hook["webhook_id"].as_str().unwrap();
    let (id, _) = completed_order(&acme, "redeliver").await;
    let first = wait_accepted(&r, &id, 1, T).await;
    let delivery = deliveries(&acme, hook_id)
        .await
        .into_iter()
        .find(|d| d["order_id"] == id.as_str())
        .unwrap();
    let did = delivery["delivery_id"].as_i64().unwrap();
    let wait_delivered = || async {
        let start = Instant::now();
        loop {
            let d = deliveries(&acme, hook_id).await;
            let d = d.into_iter().find(|d| d["delivery_id"] == did).unwrap();
            if d["status"] == "DELIVERED" {
                return d;
            }
            assert!(start.elapsed() < T, "{d}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    wait_delivered().await;

    // Sent again: the receiver gets the same event (same id, so it can tell a repeat).
    let path = format!("/v1/webhooks/{hook_id}/deliveries/{did}/redeliver");
    let again = acme.post(&path, &json!({})).await.unwrap();
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(again.body["status"], "PENDING", "{}", again.body);
    let got = wait_accepted(&r, &id, 2, T).await;
    assert_eq!(got[1].event_id, first[0].event_id);
    assert!(got[1].signature_ok);
    let d = wait_delivered().await;
    assert_eq!(d["attempts"], 1, "a fresh window: {d}");

    // Unknown deliveries, another tenant's webhook, the operator: refused, nothing sent.
    for (client, path, status) in [
        (
            &acme,
            format!("/v1/webhooks/{hook_id}/deliveries/999999999/redeliver"),
            404,
        ),
        (
            &acme,
            format!("/v1/webhooks/{hook_id}/deliveries/x/redeliver"),
            404,
        ),
        (&stack.globex(), path.clone(), 404),
        (&stack.operator(), path.clone(), 403),
    ] {
        let reply = client.post(&path, &json!({})).await.unwrap();
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
    }
    assert_eq!(r.accepted(&id).len(), 2);
}
