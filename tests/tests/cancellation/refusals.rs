//! Cancellations that are refused and change nothing, unsolicited ceases, and a supplier
//! that holds, resumes and cancels on its own.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn refusals_change_nothing() {
    let stack = stack().await;
    let acme = stack.acme();
    // A draft was never placed: it is deleted, not cancelled.
    let draft = new_id("draft");
    let mut body = order(&draft, &[]);
    body["place"] = json!(false);
    submit(&acme, &body).await;
    let r = cancel(&acme, &draft, json!({ "reason": "x" })).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_CANCELLABLE"));
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("DELETE")
    );
    let r = reactivate(&acme, &draft, json!({})).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_REACTIVATABLE"));
    // Terminal states.
    let done = new_id("done");
    submit(&acme, &order(&done, &[("sim.step_ms", "0")])).await;
    wait_state(&acme, &done, "COMPLETE", T).await;
    let r = cancel(&acme, &done, json!({ "reason": "late" })).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_CANCELLABLE"));
    // Withdrawn by an operator: ended.
    let failed = new_id("failed");
    submit(&acme, &order(&failed, &[("sim.fail_step", "1")])).await;
    wait_state(&acme, &failed, "ERROR_HANDLER", T).await;
    let withdrawn = operate(&stack.operator(), &failed, "withdraw", json!({})).await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    let r = cancel(&acme, &failed, json!({ "reason": "x" })).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_CANCELLABLE"));

    // Bad requests, on a live order.
    let live = executing(&acme, "live", &[("sim.step_ms", "3000")]).await;
    let before = events(&acme, &live).await.len();
    for (body, status, want) in [
        (json!({ "reason": "  " }), 422, "REASON_REQUIRED"),
        (json!({}), 400, "INVALID_FIELD"),
        (
            json!({ "reason": "x", "colour": "red" }),
            422,
            "UNKNOWN_FIELD",
        ),
        (
            json!({ "reason": "x", "effective_date": "2026-02-30" }),
            422,
            "INVALID_FIELD",
        ),
        (
            json!({ "reason": "x", "effective_date": "2030-01-01", "effective_at": "2030-01-01T00:00:00Z" }),
            422,
            "INVALID_FIELD",
        ),
        (
            json!({ "reason": "x", "effective_at": in_secs(3600) }),
            422,
            "SCHEDULE_NOT_ALLOWED",
        ),
    ] {
        let r = cancel(&acme, &live, body.clone()).await;
        assert_eq!(
            (r.status.as_u16(), code(&r)),
            (status, want),
            "{body}: {}",
            r.body
        );
    }
    let r = acme
        .send(
            reqwest::Method::POST,
            &format!("/v1/orders/{live}/cancel"),
            None,
        )
        .await
        .unwrap();
    assert!(r.status == 400, "{}", r.body);
    // Someone else's order, the operator token, an unknown order.
    let r = cancel(&stack.globex(), &live, json!({ "reason": "mine now" })).await;
    assert_eq!((r.status.as_u16(), code(&r)), (404, "NOT_FOUND"));
    let r = cancel(&stack.operator(), &live, json!({ "reason": "x" })).await;
    assert_eq!(r.status, 403);
    let r = cancel(&acme, "no-such-order", json!({ "reason": "x" })).await;
    assert_eq!(r.status, 404);
    // Reactivation of a non-subscription.
    let r = reactivate(&acme, &live, json!({})).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_REACTIVATABLE"));
    // Nothing was written.
    assert_eq!(events(&acme, &live).await.len(), before);
    assert_eq!(
        acme.get(&format!("/v1/orders/{live}")).await.unwrap().body["state"],
        "EXECUTION"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsolicited_cease_is_visible_never_amendable_and_cancellable_with_a_code() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("cease");
    sim_admin(
        stack,
        "/admin/unsolicited-cease",
        json!({
            "tenant_id": "acme", "order_id": id, "order_ref": "CEASE-REF-1",
            "reason": "line retired",
            "attributes": { "sim.step_ms": "5000" }
        }),
    )
    .await;
    let o = wait_state(&acme, &id, "EXECUTION", T).await;
    assert_eq!(o["unsolicited"], true);
    assert_eq!(o["order_type"], "CEASE");
    assert_eq!(o["order_ref"], "CEASE-REF-1");
    assert_eq!(o["transferred"], true);
    // Only its tenant sees it; it was never transferred by us nor validated.
    assert_eq!(
        stack
            .globex()
            .get(&format!("/v1/orders/{id}"))
            .await
            .unwrap()
            .status,
        404
    );
    assert!(calls_to(stack, &id, "/validate").await.is_empty());
    let types = assert_gapless(&events(&acme, &id).await);
    assert_eq!(types[0], "ORDER_ACKNOWLEDGED");

    let amend = acme
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/orders/{id}"),
            Some(&json!({ "order_ref": "CEASE-REF-1", "changes": { "notes": "x" } })),
        )
        .await
        .unwrap();
    assert_eq!(
        (amend.status.as_u16(), code(&amend)),
        (409, "NOT_AMENDABLE")
    );
    let caps = acme
        .get(&format!("/v1/orders/{id}/capabilities"))
        .await
        .unwrap()
        .body;
    assert_eq!(caps["amendable"], false);
    assert_eq!(caps["cancellable"], true);
    assert_eq!(caps["cancel_reason_codes"][0], "CUSTOMER_RETAINED");
    for body in [
        json!({ "reason": "keep it" }),
        json!({ "reason": "keep it", "reason_code": "CHANGED_MIND" }),
    ] {
        let r = cancel(&acme, &id, body).await;
        assert_eq!(
            (r.status.as_u16(), code(&r)),
            (409, "REASON_CODE_NOT_ALLOWED")
        );
    }
    let r = cancel(
        &acme,
        &id,
        json!({ "reason": "customer stays", "reason_code": "CUSTOMER_RETAINED" }),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["cancellation"]["path"], "SUPPLIER");
    assert_eq!(r.body["order"]["state"], "CANCELLED");
    maybe_record_history(stack, "acme", &id, "unsolicited_cease_cancelled").await;

    // The same cease raised again changes nothing: answered with the order as it stands.
    let (status, answer) = stack
        .supplier_callback(&json!({ "type": "UNSOLICITED_CEASE", "tenant_id": "acme",
            "order_id": id, "order_ref": "CEASE-REF-1" }))
        .await;
    assert_eq!(
        (status, &answer["order"]["state"]),
        (200, &json!("CANCELLED")),
        "{answer}"
    );
    assert_eq!(
        acme.get(&format!("/v1/orders/{id}")).await.unwrap().body["state"],
        "CANCELLED"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_supplier_holds_resumes_and_cancels_on_its_own() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = executing(&acme, "supplier", &[("sim.step_ms", "1500")]).await;
    let path = format!("/admin/orders/acme:{id}");
    sim_admin(
        stack,
        &format!("{path}/hold"),
        json!({ "reason": "site access" }),
    )
    .await;
    let o = wait_state(&acme, &id, "SUSPENDED", T).await;
    assert_eq!(o["state_reason"], "site access");
    sim_admin(stack, &format!("{path}/resume"), json!({})).await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    sim_admin(
        stack,
        &format!("{path}/cancel"),
        json!({ "reason": "out of stock" }),
    )
    .await;
    let o = wait_state(&acme, &id, "CANCELLED", T).await;
    assert_eq!(o["state_reason"], "out of stock");
    let types = assert_gapless(&events(&acme, &id).await);
    assert_eq!(types.last().unwrap(), "ORDER_CANCELLED_BY_SUPPLIER");
    maybe_record_history(stack, "acme", &id, "supplier_hold_resume_cancel").await;
    // The order ended: the tenant's cancel is refused, nothing is left running.
    let r = cancel(&acme, &id, json!({ "reason": "x" })).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_CANCELLABLE"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_in_error_handler_after_transfer_is_cancelled_with_its_supplier() {
    let stack = stack().await;
    let acme = stack.acme();
    // The supplier refuses (RE): the order stays in ERROR_HANDLER for the operator.
    let refused = new_id("eh-re");
    submit(
        &acme,
        &order(&refused, &[("sim.fail_step", "1"), ("sim.cancel", "RE")]),
    )
    .await;
    let o = wait_state(&acme, &refused, "ERROR_HANDLER", T).await;
    assert_eq!(o["transferred"], true);
    let caps = acme
        .get(&format!("/v1/orders/{refused}/capabilities"))
        .await
        .unwrap()
        .body;
    assert_eq!(
        (&caps["cancellable"], &caps["cancel_path"]),
        (&json!(true), &json!("SUPPLIER")),
        "{caps}"
    );
    assert_eq!(
        (&caps["point_of_no_return_passed"], &caps["cancel_reason"]),
        (&json!(false), &Value::Null),
        "{caps}"
    );
    let r = cancel(&acme, &refused, json!({ "reason": "no longer needed" })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = &r.body["cancellation"];
    assert_eq!(
        (&c["state"], &c["path"], &c["response_code"]),
        (&json!("REJECTED"), &json!("SUPPLIER"), &json!("RE")),
        "{c}"
    );
    assert_eq!(r.body["order"]["state"], "ERROR_HANDLER");
    // The operator can still move it on.
    let retried = operate(&stack.operator(), &refused, "withdraw", json!({})).await;
    assert_eq!(retried.status, 200, "{}", retried.body);

    // The supplier accepts (AP): CANCELLED, and the operator has nothing left to do.
    let accepted = new_id("eh-ap");
    submit(&acme, &order(&accepted, &[("sim.fail_step", "1")])).await;
    wait_state(&acme, &accepted, "ERROR_HANDLER", T).await;
    let r = cancel(&acme, &accepted, json!({ "reason": "no longer needed" })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = &r.body["cancellation"];
    assert_eq!(
        (&c["state"], &c["response_code"]),
        (&json!("ACCEPTED"), &json!("AP")),
        "{c}"
    );
    assert_eq!(r.body["order"]["state"], "CANCELLED");
    let types = assert_gapless(&events(&acme, &accepted).await);
    assert!(
        types.iter().any(|t| t == "CANCELLATION_ACCEPTED"),
        "{types:?}"
    );
    let retry = operate(&stack.operator(), &accepted, "retry", json!({})).await;
    assert_eq!(retry.status, 409, "{}", retry.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn holds_have_owners_and_every_event_says_who_acted() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = executing(
        &acme,
        "holds",
        &[("sim.steps", "3"), ("sim.step_ms", "2000")],
    )
    .await;
    let callback = |kind: &str| {
        json!({ "type": kind, "tenant_id": "acme", "order_id": id, "reason": format!("supplier {kind}"),
            "callback_id": new_id("cb") })
    };
    let r = operate(
        &stack.operator(),
        &id,
        "suspend",
        json!({ "reason": "audit" }),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), &r.body["order"]["state"]),
        (200, &json!("SUSPENDED")),
        "{}",
        r.body
    );
    // The supplier holds it too, then lifts its own hold: still SUSPENDED, the operator's stands.
    let (status, answer) = stack.supplier_callback(&callback("HOLD")).await;
    assert_eq!(
        (status, &answer["state"]),
        (200, &json!("SUSPENDED")),
        "{answer}"
    );
    let o = acme.get(&format!("/v1/orders/{id}")).await.unwrap().body;
    let holders: Vec<_> = o["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["by"].clone())
        .collect();
    assert_eq!(holders, [json!("OPERATOR"), json!("SUPPLIER")], "{o}");
    assert_eq!(o["holds"][1]["reason"], "supplier HOLD");
    assert!(o["holds"][0]["since"].is_string());
    let (status, answer) = stack.supplier_callback(&callback("RESUME")).await;
    assert_eq!(
        (status, &answer["state"]),
        (200, &json!("SUSPENDED")),
        "{answer}"
    );
    // Only the operator holds it now: the supplier cannot lift that.
    let (status, answer) = stack.supplier_callback(&callback("RESUME")).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("HELD_BY_OPERATOR")),
        "{answer}"
    );
    let o = acme.get(&format!("/v1/orders/{id}")).await.unwrap().body;
    assert_eq!(o["state"], "SUSPENDED");
    let r = operate(&stack.operator(), &id, "resume", json!({})).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["order"]["state"]),
        (200, &json!("EXECUTION")),
        "{}",
        r.body
    );
    assert_eq!(r.body["order"]["holds"], json!([]));
    // Only the supplier holds it: the operator's resume cannot lift that hold.
    let (status, answer) = stack.supplier_callback(&callback("HOLD")).await;
    assert_eq!(
        (status, &answer["state"]),
        (200, &json!("SUSPENDED")),
        "{answer}"
    );
    let r = operate(&stack.operator(), &id, "resume", json!({})).await;
    assert_eq!(
        (r.status.as_u16(), r.body["error"]["code"].as_str()),
        (409, Some("HELD_BY_SUPPLIER")),
        "{}",
        r.body
    );
    let (status, answer) = stack.supplier_callback(&callback("RESUME")).await;
    assert_eq!(
        (status, &answer["state"]),
        (200, &json!("EXECUTION")),
        "{answer}"
    );

    // The supplier ends it: cancelled_by SUPPLIER, and each event names its actor.
    let (status, answer) = stack
        .supplier_callback(&json!({ "type": "SUPPLIER_CANCEL",
        "tenant_id": "acme", "order_id": id, "reason": "no capacity" }))
        .await;
    assert_eq!(status, 202, "{answer}");
    let o = wait_state(&acme, &id, "CANCELLED", T).await;
    assert_eq!(o["cancelled_by"], "SUPPLIER");
    let all = events(&acme, &id).await;
    let by = |t: &str| -> Vec<(String, String)> {
        all.iter()
            .filter(|e| e["type"] == t)
            .map(|e| {
                (
                    e["actor"]["type"].as_str().unwrap().into(),
                    e["actor"]["id"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let op = ("OPERATOR".to_string(), "operator".to_string());
    let sim = ("SUPPLIER".to_string(), "sim".to_string());
    assert_eq!(by("HOLD_ADDED"), vec![sim.clone()]);
    assert_eq!(by("HOLD_LIFTED"), vec![sim.clone()]);
    assert_eq!(by("ORDER_CANCELLED_BY_SUPPLIER"), vec![sim.clone()]);
    assert!(by("STATE_CHANGED").contains(&op), "{all:?}");
    assert!(by("PLAN_STEP_COMPLETED").iter().all(|a| *a == sim));
    assert_eq!(
        by("ORDER_ACKNOWLEDGED"),
        [("SYSTEM".to_string(), "orderflow".to_string())]
    );
    assert!(
        all.iter().all(|e| e["actor"]["type"].is_string()),
        "{all:?}"
    );

    // A tenant's cancellation: the request and its event name the tenant.
    let other = executing(&acme, "tenant-cancel", &[("sim.step_ms", "2000")]).await;
    let r = cancel(&acme, &other, json!({ "reason": "changed plans" })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["cancellation"]["actor"],
        json!({ "type": "TENANT", "id": "acme" })
    );
    assert_eq!(r.body["order"]["cancelled_by"], "TENANT");
}
