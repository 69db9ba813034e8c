//! Seed 000's TM Forum TMF622 Product Ordering v5 at `/tmf-api/productOrderingManagement/v5`,
//! with the mandatory checks of TM Forum's conformance test kit reproduced: status codes,
//! content type, required attributes and their types, POSTed values round-trip, GET by id and
//! list, filtering, `fields`; then cancellation tasks, merge-patch amendments and the hub's
//! notifications, each visible through the core API.

use super::*;
use orderflow_tests::webhooks::{Receiver, receiver};

const BASE: &str = "/tmf-api/productOrderingManagement/v5";

/// A raw answer: status, headers and the JSON body.
struct Raw {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn raw(stack: &Stack, method: reqwest::Method, path: &str, body: Option<&Value>) -> Raw {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{BASE}{path}", stack.api_url))
        .bearer_auth(&stack.credentials.acme_key);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string());
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Raw {
        status,
        headers,
        body,
    }
}

fn product_order(external_id: &str, knobs: &[(&str, &str)]) -> Value {
    let characteristics: Vec<Value> = knobs
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value, "@type": "StringCharacteristic" }))
        .collect();
    json!({
        "@type": "ProductOrder",
        "externalId": [{ "id": external_id, "@type": "ExternalIdentifier" }],
        "requestedCompletionDate": "2099-01-15T00:00:00Z",
        "note": [{ "text": "ring the bell twice", "@type": "Note" }],
        "relatedParty": [{
            "role": "Supplier",
            "partyOrPartyRole": { "id": "sim", "@type": "PartyRef" },
            "@type": "RelatedPartyRefOrPartyRoleRef"
        }],
        "productOrderItem": [{
            "id": "1", "quantity": 2, "action": "add", "@type": "ProductOrderItem",
            "itemPrice": [{ "priceType": "recurring", "@type": "OrderPrice",
                            "price": { "dutyFreeAmount": { "unit": "EUR", "value": 49.99 }, "@type": "Price" } }],
            "product": { "@type": "Product",
                         "productSpecification": { "id": "FIBRE-1G", "@type": "ProductSpecificationRef" },
                         "productCharacteristic": characteristics }
        }]
    })
}

async fn create(stack: &Stack, body: &Value) -> Raw {
    let acme = stack.acme();
    let r = acme
        .post(&format!("{BASE}/productOrder"), body)
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap();
    get(stack, &format!("/productOrder/{id}")).await
}

/// The attributes TMF622 requires of a ProductOrder, with their JSON types.
fn assert_product_order(o: &Value) {
    assert!(o["id"].is_string() && o["href"].is_string(), "{o}");
    assert_eq!(o["@type"], "ProductOrder");
    assert!(o["state"].is_string() && o["orderDate"].is_string(), "{o}");
    let items = o["productOrderItem"].as_array().unwrap();
    assert!(!items.is_empty());
    for item in items {
        assert!(
            item["id"].is_string() && item["action"].is_string() && item["state"].is_string(),
            "{item}"
        );
        assert!(item["quantity"].is_u64(), "{item}");
        assert_eq!(item["@type"], "ProductOrderItem");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_create_read_list_filter_and_select() {
    let stack = stack().await;
    let external = new_id("TMF");
    let body = product_order(&external, &[("sim.step_ms", "60000")]);
    let r = acme_post(stack, "/productOrder", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let content_type = r.headers["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let o = &r.body;
    assert_product_order(o);
    let id = o["id"].as_str().unwrap().to_string();
    assert_eq!(o["href"], json!(format!("{BASE}/productOrder/{id}")));
    assert_eq!(
        r.headers["location"].to_str().unwrap(),
        format!("{BASE}/productOrder/{id}")
    );
    assert_eq!(o["state"], "acknowledged");
    // What was posted comes back.
    assert_eq!(o["externalId"][0]["id"], json!(external));
    assert_eq!(o["requestedCompletionDate"], "2099-01-15T00:00:00Z");
    assert_eq!(o["note"][0]["text"], "ring the bell twice");
    assert_eq!(o["relatedParty"][0]["role"], "Supplier");
    assert_eq!(o["relatedParty"][0]["partyOrPartyRole"]["id"], "sim");
    let item = &o["productOrderItem"][0];
    assert_eq!(
        (
            item["id"].clone(),
            item["quantity"].clone(),
            item["action"].clone()
        ),
        (json!("1"), json!(2), json!("add"))
    );
    assert_eq!(item["product"]["productSpecification"]["id"], "FIBRE-1G");
    let money = &item["itemPrice"][0]["price"]["dutyFreeAmount"];
    assert_eq!(
        (money["value"].clone(), money["unit"].clone()),
        (json!(49.99), json!("EUR"))
    );
    assert_eq!(
        item["product"]["productCharacteristic"][0]["name"],
        "sim.step_ms"
    );

    // The same order through the core API.
    let core = core_order(&stack.acme(), &id).await;
    assert_eq!(core["order_ref"], json!(external));
    assert_eq!(core["lines"][0]["product_code"], "FIBRE-1G");
    assert_eq!(core["lines"][0]["unit_price"], "49.99");
    assert_eq!(core["currency"], "EUR");
    assert_eq!(core["attributes"]["sim.step_ms"], "60000");
    wait_state(&stack.acme(), &id, "EXECUTION", T).await;

    // GET by id.
    let got = get(stack, &format!("/productOrder/{id}")).await;
    assert_eq!(got.status, 200);
    assert_product_order(&got.body);
    assert_eq!(got.body["state"], "inProgress");
    assert_eq!(got.body["externalId"], o["externalId"]);
    let missing = get(stack, "/productOrder/no-such-order").await;
    assert_eq!(missing.status, 404);

    // The list: every item a ProductOrder, with its counts.
    let list = get(stack, "/productOrder?limit=1000").await;
    assert_eq!(list.status, 200);
    let orders = list.body.as_array().unwrap();
    orders.iter().for_each(assert_product_order);
    assert!(orders.iter().any(|p| p["id"] == json!(id)));
    let count = |r: &Raw, h: &str| r.headers[h].to_str().unwrap().parse::<usize>().unwrap();
    assert_eq!(count(&list, "x-result-count"), orders.len());
    assert!(count(&list, "x-total-count") >= orders.len());

    // Filtering: by state, and by an attribute path; every answer matches.
    let in_progress = get(stack, "/productOrder?state=inProgress").await;
    let found = in_progress.body.as_array().unwrap();
    assert!(
        found.iter().all(|p| p["state"] == "inProgress"),
        "{found:?}"
    );
    assert!(found.iter().any(|p| p["id"] == json!(id)));
    let by_ref = get(stack, &format!("/productOrder?externalId.id={external}")).await;
    let found = by_ref.body.as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(count(&by_ref, "x-total-count"), 1);

    // fields: only what was asked, besides id, href and @type.
    let selected = get(stack, &format!("/productOrder/{id}?fields=state")).await;
    let keys: Vec<&String> = selected.body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert_eq!(selected.body["state"], "inProgress");
    let listed = get(stack, "/productOrder?fields=state,externalId&limit=5").await;
    for p in listed.body.as_array().unwrap() {
        assert!(
            p.as_object()
                .unwrap()
                .keys()
                .all(|k| ["id", "href", "@type", "state", "externalId"].contains(&k.as_str())),
            "{p}"
        );
    }

    // offset and limit page through the same total.
    let page = |offset: usize| format!("/productOrder?offset={offset}&limit=1&fields=state");
    let first = get(stack, &page(0)).await;
    let second = get(stack, &page(1)).await;
    assert_eq!(count(&first, "x-result-count"), 1);
    assert_eq!(
        count(&first, "x-total-count"),
        count(&second, "x-total-count")
    );
    assert_ne!(first.body[0]["id"], second.body[0]["id"]);
}

async fn acme_post(stack: &Stack, path: &str, body: &Value) -> Raw {
    let r = reqwest::Client::new()
        .post(format!("{}{BASE}{path}", stack.api_url))
        .bearer_auth(&stack.credentials.acme_key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    Raw {
        status,
        headers,
        body: r.json().await.unwrap_or(Value::Null),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_product_orders_are_refused_and_make_nothing() {
    let stack = stack().await;
    let external = new_id("TMF-bad");
    // Each one thing wrong, and what it is answered.
    let breakages: [(&str, Value, &str); 4] = [
        (
            "/productOrderItem/0/action",
            json!("upgrade"),
            "INVALID_FIELD",
        ),
        ("/productOrderItem", json!([]), "INVALID_FIELD"),
        (
            "/relatedParty/0/partyOrPartyRole/id",
            json!("nobody"),
            "UNKNOWN_SUPPLIER",
        ),
        ("/@type", json!("ServiceOrder"), "INVALID_FIELD"),
    ];
    for (pointer, value, code) in breakages {
        let mut bad = product_order(&external, &[]);
        *bad.pointer_mut(pointer).unwrap() = value;
        let r = reply(acme_post(stack, "/productOrder", &bad).await);
        assert_error(&r, 422, code);
    }
    let none = get(stack, &format!("/productOrder?externalId.id={external}")).await;
    assert_eq!(none.body, json!([]));
    // A retry under one Idempotency-Key is the same order, also without an externalId.
    let mut keyless = product_order("unused", &[]);
    keyless.as_object_mut().unwrap().remove("externalId");
    let key = new_id("tmf-key");
    let headers = [("idempotency-key", key.clone())];
    let path = format!("{BASE}/productOrder");
    let acme = stack.acme();
    let first = acme
        .send_with_headers(reqwest::Method::POST, &path, Some(&keyless), &headers)
        .await
        .unwrap();
    let again = acme
        .send_with_headers(reqwest::Method::POST, &path, Some(&keyless), &headers)
        .await
        .unwrap();
    assert_eq!(
        (first.status.as_u16(), again.status.as_u16()),
        (201, 200),
        "{}",
        again.body
    );
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(first.body["externalId"], again.body["externalId"]);

    // No supplier named: the tenant's default (`sim`).
    let mut unnamed = product_order(&new_id("TMF-default"), &[]);
    unnamed.as_object_mut().unwrap().remove("relatedParty");
    let r = acme_post(stack, "/productOrder", &unnamed).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["relatedParty"][0]["partyOrPartyRole"]["id"], "sim");
}

async fn get(stack: &Stack, path: &str) -> Raw {
    raw(stack, reqwest::Method::GET, path, None).await
}

async fn delete(stack: &Stack, path: &str) -> Raw {
    raw(stack, reqwest::Method::DELETE, path, None).await
}

fn reply(r: Raw) -> Reply {
    Reply {
        status: reqwest::StatusCode::from_u16(r.status).unwrap(),
        body: r.body,
    }
}

/// The TMF622 notifications `r` accepted about order `id`, once they satisfy `until` (wait for
/// what is asserted: a state change can arrive after the event that seems to end a story).
async fn wait_notified(r: &Receiver, id: &str, until: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = std::time::Instant::now() + T;
    loop {
        let got: Vec<Value> = r
            .all()
            .into_iter()
            .filter(|d| d.answered < 300)
            .inspect(|d| assert!(d.signature_ok, "{d:?}"))
            .map(|d| d.body)
            .filter(|b| {
                b["event"]["productOrder"]["id"] == id
                    || b["event"]["cancelProductOrder"]["productOrder"]["id"] == id
            })
            .collect();
        if until(&got) {
            return got;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no awaited notification for {id}: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hub_hears_creation_state_changes_and_a_cancellation_task() {
    let stack = stack().await;
    let hook = receiver("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 0).await;
    let hub = acme_post(
        stack,
        "/hub",
        &json!({ "callback": hook.url, "secret": hook.secret }),
    )
    .await;
    assert_eq!(hub.status, 201, "{}", hub.body);
    assert_eq!(hub.body["callback"], json!(hook.url));
    let hub_id = hub.body["id"].as_str().unwrap().to_string();

    let created = create(
        stack,
        &product_order(
            &new_id("TMF-hub"),
            &[
                ("sim.step_ms", "4000"),
                ("sim.cancel", "pending-ap"),
                ("sim.answer_ms", "5000"),
            ],
        ),
    )
    .await;
    let id = created.body["id"].as_str().unwrap().to_string();
    wait_state(&stack.acme(), &id, "EXECUTION", T).await;
    let in_progress = |b: &Value| b["event"]["productOrder"]["state"] == "inProgress";
    let got = wait_notified(&hook, &id, |got| got.iter().any(in_progress)).await;
    assert_eq!(got[0]["eventType"], "ProductOrderCreateEvent");
    assert_eq!(got[0]["@type"], "ProductOrderCreateEvent");
    assert!(got[0]["eventId"].is_string() && got[0]["eventTime"].is_string());
    assert_eq!(got[0]["event"]["productOrder"]["state"], "acknowledged");

    // A cancellation the supplier decides later: a task inProgress, then done.
    let request = json!({
        "@type": "CancelProductOrder", "cancellationReason": "customer moved",
        "productOrder": { "id": id, "@type": "ProductOrderRef" }
    });
    let task = acme_post(stack, "/cancelProductOrder", &request).await;
    assert_eq!(task.status, 201, "{}", task.body);
    assert_eq!(task.body["@type"], "CancelProductOrder");
    assert_eq!(task.body["state"], "inProgress");
    assert_eq!(task.body["productOrder"]["id"], json!(id));
    let task_id = task.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        task.body["href"],
        json!(format!("{BASE}/cancelProductOrder/{task_id}"))
    );
    let assessing = get(stack, &format!("/productOrder/{id}")).await;
    assert_eq!(assessing.body["state"], "assessingCancellation");

    wait_state(&stack.acme(), &id, "CANCELLED", T).await;
    let done = get(stack, &format!("/cancelProductOrder/{task_id}")).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["state"], "done");
    assert!(
        done.body["effectiveCancellationDate"].is_string(),
        "{}",
        done.body
    );
    assert_eq!(done.body["cancellationReason"], "customer moved");
    let got = wait_notified(&hook, &id, |got| {
        got.iter()
            .any(|b| b["eventType"] == "CancelProductOrderStateChangeEvent")
            && got
                .iter()
                .any(|b| b["event"]["productOrder"]["state"] == "cancelled")
    })
    .await;
    let types: Vec<&str> = got
        .iter()
        .map(|b| b["eventType"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"CancelProductOrderCreateEvent"),
        "{types:?}"
    );
    let cancelled = events_of(&stack.acme(), &id, "CANCELLATION_ACCEPTED").await;
    assert_eq!(cancelled[0]["actor"]["type"], "SUPPLIER");
    let missing = get(stack, &format!("/cancelProductOrder/{id}~nothing")).await;
    assert_eq!(missing.status, 404);

    // Removed once, and gone from the core list too.
    let r = delete(stack, &format!("/hub/{hub_id}")).await;
    assert_eq!(r.status, 204);
    let r = delete(stack, &format!("/hub/{hub_id}")).await;
    assert_eq!(r.status, 404);
    let hooks = stack.acme().get("/v1/webhooks").await.unwrap();
    assert!(!hooks.body.to_string().contains(&hub_id));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_patch_is_an_amendment_under_the_core_rules() {
    let stack = stack().await;
    let created = create(
        stack,
        &product_order(&new_id("TMF-patch"), &[("sim.step_ms", "4000")]),
    )
    .await;
    let id = created.body["id"].as_str().unwrap().to_string();
    wait_state(&stack.acme(), &id, "EXECUTION", T).await;
    let patch = json!({ "note": [{ "text": "use the side door" }] });
    let r = raw(
        stack,
        reqwest::Method::PATCH,
        &format!("/productOrder/{id}"),
        Some(&patch),
    )
    .await;
    assert!(matches!(r.status, 200 | 202), "{} {}", r.status, r.body);
    assert_product_order(&r.body);
    let amended = wait_for(&stack.acme(), &id, T, |o| o["notes"] == "use the side door").await;
    assert_eq!(
        events_of(&stack.acme(), &id, "AMENDMENT_ACCEPTED")
            .await
            .len(),
        1
    );
    let after = get(stack, &format!("/productOrder/{id}")).await;
    assert_eq!(after.body["note"][0]["text"], "use the side door");

    let immutable = json!({ "externalId": [{ "id": "OTHER" }] });
    let r = raw(
        stack,
        reqwest::Method::PATCH,
        &format!("/productOrder/{id}"),
        Some(&immutable),
    )
    .await;
    assert_error(&reply(r), 422, "IMMUTABLE_FIELD");
    assert_eq!(
        core_order(&stack.acme(), &id).await["revision"],
        amended["revision"]
    );
}
