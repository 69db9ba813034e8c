//! Drafts: `"place": false` stores the order and nothing else; PUT edits it,
//! DELETE removes it, `POST …/place` starts it like a directly placed order.

use orderflow_client::api_client::ApiClient;
use orderflow_store::Store;
use orderflow_tests::*;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::OnceCell;

static STACK: OnceCell<Stack> = OnceCell::const_new();

async fn stack() -> &'static Stack {
    shared_stack(&STACK, "drafts").await
}

const RUN: Duration = Duration::from_secs(60);

fn code(reply: &Reply) -> &str {
    reply.body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {}", reply.body))
}

fn message(reply: &Reply) -> &str {
    reply.body["error"]["message"].as_str().unwrap_or_default()
}

/// A valid draft body (`"place": false`).
fn draft_body(order_id: &str, knobs: &[(&str, &str)]) -> Value {
    let mut body = order(order_id, knobs);
    body["place"] = json!(false);
    body
}

/// Creates a draft and asserts it was accepted as one.
async fn create_draft(client: &ApiClient, order_id: &str, knobs: &[(&str, &str)]) -> Value {
    let created = submit(client, &draft_body(order_id, knobs)).await;
    assert_eq!(created["state"], "DRAFT", "{created}");
    assert_eq!(created["last_seq"], 0);
    created
}

async fn get(client: &ApiClient, order_id: &str) -> Reply {
    client.get(&format!("/v1/orders/{order_id}")).await.unwrap()
}

async fn put(client: &ApiClient, order_id: &str, body: &Value) -> Reply {
    client
        .put(&format!("/v1/orders/{order_id}"), body)
        .await
        .unwrap()
}

async fn place(client: &ApiClient, order_id: &str) -> Reply {
    client
        .post(&format!("/v1/orders/{order_id}/place"), &json!({}))
        .await
        .unwrap()
}

async fn delete(client: &ApiClient, order_id: &str) -> Reply {
    client
        .delete(&format!("/v1/orders/{order_id}"))
        .await
        .unwrap()
}

/// How many workflows Temporal has for one of acme's orders.
async fn workflows(stack: &Stack, order_id: &str) -> usize {
    stack
        .temporal()
        .await
        .count_workflows(
            format!("WorkflowId = \"order/acme/{order_id}\""),
            Default::default(),
        )
        .await
        .unwrap()
        .count() as usize
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_is_edited_then_placed_and_runs_like_any_order() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("draft");
    let created = create_draft(&acme, &id, &[]).await;

    // Only a row: no workflow, nothing sent to the supplier, no events.
    assert_eq!(get(&acme, &id).await.body, created);
    assert!(events(&acme, &id).await.is_empty());
    assert!(stack.sim_calls("acme", &id).await.is_empty());
    assert_eq!(workflows(stack, &id).await, 0);
    let listed = acme.get("/v1/orders?state=DRAFT").await.unwrap().body;
    assert!(
        listed["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["order_id"] == id)
    );

    // PUT replaces the whole document; order_id may be left out.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut edited = order(&id, &[("sim.steps", "2")]);
    edited.as_object_mut().unwrap().remove("order_id");
    edited["notes"] = json!("edited draft");
    edited["order_ref"] = json!(format!("PO-{id}-v2"));
    let r = put(&acme, &id, &edited).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let draft = r.body;
    assert_eq!(draft["state"], "DRAFT");
    assert_eq!(draft["notes"], "edited draft");
    assert_eq!(draft["order_ref"], format!("PO-{id}-v2"));
    assert_eq!(draft["attributes"]["sim.steps"], "2");
    assert_eq!(draft["created_at"], created["created_at"]);
    assert!(draft["updated_at"].as_str() > created["updated_at"].as_str());
    assert_eq!(get(&acme, &id).await.body, draft);

    // Bad PUTs are refused and change nothing.
    let r = acme
        .send(
            reqwest::Method::PUT,
            &format!("/v1/orders/{id}"),
            Some(&json!("not an order")),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    let mut bad = order(&id, &[]);
    bad["requested_date"] = json!("2026-13-45");
    let r = put(&acme, &id, &bad).await;
    assert_eq!((r.status.as_u16(), code(&r)), (422, "VALIDATION_FAILED"));
    let mut bad = order(&id, &[]);
    bad["colour"] = json!("blue");
    let r = put(&acme, &id, &bad).await;
    assert_eq!((r.status.as_u16(), code(&r)), (422, "UNKNOWN_FIELD"));
    let mut bad = order(&id, &[]);
    bad["supplier_id"] = json!("nobody");
    let r = put(&acme, &id, &bad).await;
    assert_eq!((r.status.as_u16(), code(&r)), (422, "UNKNOWN_SUPPLIER"));
    let r = put(&acme, &id, &order("another-id", &[])).await;
    assert_eq!((r.status.as_u16(), code(&r)), (422, "ORDER_ID_MISMATCH"));
    let mut bad = order(&id, &[]);
    bad["place"] = json!(true);
    let r = put(&acme, &id, &bad).await;
    assert_eq!((r.status.as_u16(), code(&r)), (422, "PLACE_NOT_ALLOWED"));
    assert!(message(&r).contains("/place"), "{}", r.body);
    let r = put(&acme, "no-such-draft", &order("no-such-draft", &[])).await;
    assert_eq!(r.status, 404);
    assert_eq!(get(&acme, &id).await.body, draft);

    // A draft has no workflow: amendments and operator commands are refused by the rules.
    let r = acme
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/orders/{id}"),
            Some(&json!({ "order_ref": format!("PO-{id}-v2"), "changes": { "notes": "x" } })),
        )
        .await
        .unwrap();
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_AMENDABLE"));
    assert!(message(&r).contains("PUT"), "{}", r.body);
    let r = operate(&stack.operator(), &id, "suspend", json!({})).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_SUSPENDABLE"));

    // Place: the edited document runs to COMPLETE.
    let r = place(&acme, &id).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"], "START");
    assert_eq!(r.body["notes"], "edited draft");
    let done = wait_state(&acme, &id, "COMPLETE", RUN).await;
    assert_eq!(done["notes"], "edited draft");
    assert_eq!(done["order_ref"], format!("PO-{id}-v2"));
    assert_eq!(done["created_at"], created["created_at"]);
    let types = assert_gapless(&events(&acme, &id).await);
    assert_eq!(types[0], "ORDER_ACKNOWLEDGED");
    assert_eq!(calls_to(stack, &id, "/steps/").await.len(), 2);
    assert_eq!(workflows(stack, &id).await, 1);

    // Placed: no longer a draft.
    let r = put(&acme, &id, &edited).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_DRAFT"));
    assert!(message(&r).contains("PATCH"), "{}", r.body);
    let r = place(&acme, &id).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_DRAFT"));
    let r = delete(&acme, &id).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_DRAFT"));
    assert!(message(&r).contains("/cancel"), "{}", r.body);
    assert_eq!(get(&acme, &id).await.body["state"], "COMPLETE");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_draft_is_gone_and_its_id_is_free_again() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("deleted");
    create_draft(&acme, &id, &[]).await;
    let r = acme
        .post("/v1/orders", &draft_body(&id, &[]))
        .await
        .unwrap();
    assert_eq!((r.status.as_u16(), code(&r)), (409, "DUPLICATE_ORDER"));
    let r = acme.post("/v1/orders", &order(&id, &[])).await.unwrap();
    assert_eq!((r.status.as_u16(), code(&r)), (409, "DUPLICATE_ORDER"));

    let r = delete(&acme, &id).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.body, Value::Null, "204 has an empty body");
    for r in [
        get(&acme, &id).await,
        acme.get(&format!("/v1/orders/{id}/events")).await.unwrap(),
        delete(&acme, &id).await,
        put(&acme, &id, &order(&id, &[])).await,
        place(&acme, &id).await,
    ] {
        assert_eq!((r.status.as_u16(), code(&r)), (404, "NOT_FOUND"));
    }

    // The id is free: first as a draft again, then (deleted once more) as a placed order.
    create_draft(&acme, &id, &[]).await;
    assert_eq!(delete(&acme, &id).await.status, 204);
    submit(&acme, &order(&id, &[])).await;
    wait_state(&acme, &id, "COMPLETE", RUN).await;
    assert_eq!(workflows(stack, &id).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn drafts_belong_to_their_tenant() {
    let stack = stack().await;
    let (acme, globex, op) = (stack.acme(), stack.globex(), stack.operator());
    let id = new_id("mine");
    let created = create_draft(&acme, &id, &[]).await;

    for r in [
        get(&globex, &id).await,
        put(&globex, &id, &order(&id, &[])).await,
        place(&globex, &id).await,
        delete(&globex, &id).await,
    ] {
        assert_eq!((r.status.as_u16(), code(&r)), (404, "NOT_FOUND"));
    }
    // Drafts are the tenant's: the operator reads them but cannot change them.
    let r = op
        .get(&format!("/v1/orders/{id}?tenant_id=acme"))
        .await
        .unwrap();
    assert_eq!(r.body, created);
    let path = format!("/v1/orders/{id}?tenant_id=acme");
    for r in [
        op.put(&path, &order(&id, &[])).await.unwrap(),
        op.post(&format!("/v1/orders/{id}/place?tenant_id=acme"), &json!({}))
            .await
            .unwrap(),
        op.delete(&path).await.unwrap(),
    ] {
        assert_eq!((r.status.as_u16(), code(&r)), (403, "FORBIDDEN"));
    }
    assert_eq!(get(&acme, &id).await.body, created);
    assert!(stack.sim_calls("acme", &id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_places_and_puts_place_exactly_one_document() {
    let stack = stack().await;
    let acme = stack.acme();
    for round in 0..3 {
        let id = new_id(&format!("race{round}"));
        create_draft(&acme, &id, &[]).await;
        let mut edited = order(&id, &[]);
        edited["notes"] = json!("edited while placing");
        let (p1, p2, edit) = tokio::join!(
            place(&acme, &id),
            place(&acme, &id),
            put(&acme, &id, &edited)
        );
        for r in [&p1, &p2] {
            assert!(
                r.status == 200 || (r.status == 409 && code(r) == "NOT_DRAFT"),
                "place answered {} {}",
                r.status,
                r.body
            );
        }
        assert!(p1.status == 200 || p2.status == 200, "one place succeeds");
        assert!(
            edit.status == 200 || (edit.status == 409 && code(&edit) == "NOT_DRAFT"),
            "put answered {} {}",
            edit.status,
            edit.body
        );
        // The PUT is placed exactly when it was accepted.
        let done = wait_state(&acme, &id, "COMPLETE", RUN).await;
        let want = if edit.status == 200 {
            "edited while placing"
        } else {
            "test order"
        };
        assert_eq!(done["notes"], want, "put answered {}", edit.status);
        assert_gapless(&events(&acme, &id).await);
        assert_eq!(workflows(stack, &id).await, 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_place_interrupted_after_its_claim_is_finished_by_placing_again() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("interrupted");
    create_draft(&acme, &id, &[]).await;
    // What a crash between claiming the row and starting the workflow leaves behind.
    let store = Store::connect(&stack.database_url).await.unwrap();
    let claimed = store
        .claim_draft("acme", &id, "2026-01-01T00:00:00.000Z")
        .await
        .unwrap()
        .expect("the draft is claimed");
    assert_eq!(get(&acme, &id).await.body["state"], "START");
    assert_eq!(workflows(stack, &id).await, 0);
    // Not a draft any more, so it cannot be edited or deleted meanwhile.
    let r = put(&acme, &id, &order(&id, &[])).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_DRAFT"));
    let r = delete(&acme, &id).await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "NOT_DRAFT"));

    let r = place(&acme, &id).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["state"], "START");
    assert_eq!(r.body["created_at"], claimed.created_at);
    wait_state(&acme, &id, "COMPLETE", RUN).await;
    assert_eq!(
        assert_gapless(&events(&acme, &id).await)[0],
        "ORDER_ACKNOWLEDGED"
    );
    assert_eq!(workflows(stack, &id).await, 1);
}
