//! Reading at scale on a real stack: the order list in pages with filters, the lists of an
//! order's requests, and the tenant's change feed across its orders.

use orderflow_client::api_client::ApiClient;
use orderflow_tests::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::OnceCell;

static STACK: OnceCell<Stack> = OnceCell::const_new();
const T: Duration = Duration::from_secs(60);

async fn stack() -> &'static Stack {
    shared_stack(&STACK, "reads").await
}

fn ids(page: &Value) -> Vec<String> {
    page["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_id"].as_str().unwrap().to_string())
        .collect()
}

async fn get(client: &ApiClient, path: &str) -> Value {
    let r = client.get(path).await.unwrap();
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.body
}

#[tokio::test(flavor = "multi_thread")]
async fn the_order_list_pages_with_a_cursor_and_skips_nothing_while_orders_are_added() {
    let stack = stack().await;
    let acme = stack.acme();
    let reference = new_id("REF");
    let place = |id: String| {
        let mut body = order(&id, &[("sim.step_ms", "0")]);
        body["order_ref"] = json!(reference);
        body
    };
    let mut placed = Vec::new();
    for i in 0..5 {
        let id = new_id(&format!("page{i}"));
        submit(&acme, &place(id.clone())).await;
        placed.push(id);
    }
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut path = format!("/v1/orders?order_ref={reference}&limit=2");
    loop {
        pages += 1;
        let page = get(&acme, &path).await;
        let got = ids(&page);
        assert!(got.len() <= 2, "{page}");
        seen.extend(got);
        // A new order meanwhile sorts first: it never shows on a later page.
        submit(&acme, &place(new_id("late"))).await;
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/v1/orders?order_ref={reference}&limit=2&cursor={cursor}")
            }
            None => break,
        }
    }
    placed.reverse();
    assert_eq!(seen, placed, "newest first, each once");

    // Filters: by open request, by time, combined with the reference.
    let all = get(
        &acme,
        &format!("/v1/orders?order_ref={reference}&limit=1000"),
    )
    .await;
    let total = placed.len() + pages;
    assert_eq!((pages, ids(&all).len()), (3, total));
    let first = &all["orders"][total - 1];
    let since = first["created_at"].as_str().unwrap();
    let after = get(
        &acme,
        &format!("/v1/orders?order_ref={reference}&created_after={since}&limit=1000"),
    )
    .await;
    assert_eq!(ids(&after).len(), total - 1, "strictly after");
    let none = get(
        &acme,
        &format!("/v1/orders?order_ref={reference}&pending_request=NONE"),
    )
    .await;
    assert_eq!(ids(&none).len(), total);
    let amending = get(
        &acme,
        &format!("/v1/orders?order_ref={reference}&pending_request=AMENDMENT"),
    )
    .await;
    assert!(ids(&amending).is_empty());
    // Another tenant sees none of them.
    let theirs = get(
        &stack.globex(),
        &format!("/v1/orders?order_ref={reference}"),
    )
    .await;
    assert!(ids(&theirs).is_empty());

    for (query, mention) in [
        ("cursor=zz", "cursor"),
        ("cursor=6869", "cursor"),
        ("created_after=yesterday", "created_after"),
        ("pending_request=SOME", "REACTIVATION"),
        ("limit=0", "limit"),
    ] {
        let r = acme.get(&format!("/v1/orders?{query}")).await.unwrap();
        assert_eq!(
            (r.status.as_u16(), r.body["error"]["code"].as_str()),
            (400, Some("INVALID_QUERY")),
            "{query}: {}",
            r.body
        );
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(mention),
            "{query}: {}",
            r.body
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_orders_requests_are_listed_oldest_first() {
    let stack = stack().await;
    let acme = stack.acme();
    let id = new_id("requests");
    let knobs = [
        ("sim.steps", "3"),
        ("sim.step_ms", "3000"),
        ("sim.cancel", "RE"),
    ];
    submit(&acme, &order(&id, &knobs)).await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let mut cancellations = Vec::new();
    for reason in ["first", "second"] {
        let r = acme
            .post(
                &format!("/v1/orders/{id}/cancel"),
                &json!({ "reason": reason }),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        cancellations.push(r.body["cancellation"]["cancellation_id"].clone());
    }
    let mut amendments = Vec::new();
    for notes in ["one", "two"] {
        let body = json!({ "order_ref": format!("PO-{id}"), "changes": { "notes": notes } });
        let r = acme
            .send_with_headers(
                reqwest::Method::PATCH,
                &format!("/v1/orders/{id}"),
                Some(&body),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        amendments.push(r.body["amendment"]["amendment_id"].clone());
    }
    let listed = get(&acme, &format!("/v1/orders/{id}/cancellations")).await;
    let got: Vec<_> = listed["cancellations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cancellation_id"].clone())
        .collect();
    assert_eq!(got, cancellations);
    assert_eq!(listed["cancellations"][0]["state"], "REJECTED");
    let listed = get(&acme, &format!("/v1/orders/{id}/amendments")).await;
    let got: Vec<_> = listed["amendments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["amendment_id"].clone())
        .collect();
    assert_eq!(got, amendments);
    let listed = get(&acme, &format!("/v1/orders/{id}/reactivations")).await;
    assert_eq!(listed["reactivations"], json!([]));
    // Another tenant's order is not found, whoever asks.
    let r = stack
        .globex()
        .get(&format!("/v1/orders/{id}/amendments"))
        .await
        .unwrap();
    assert_eq!(r.status, 404, "{}", r.body);
}

/// Reads the feed from `cursor` until a page comes back empty; the events and the cursor.
async fn read_feed(acme: &ApiClient, mut cursor: Option<String>) -> (Vec<Value>, String) {
    let mut events = Vec::new();
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/events?limit=7&cursor={c}"),
            None => "/v1/events?limit=7".to_string(),
        };
        let page = get(acme, &path).await;
        let got = page["events"].as_array().unwrap().clone();
        let next = page["next_cursor"].as_str().unwrap().to_string();
        if got.is_empty() {
            assert_eq!(
                cursor.as_deref().unwrap_or(next.as_str()),
                next,
                "an empty page keeps the place"
            );
            return (events, next);
        }
        events.extend(got);
        cursor = Some(next);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_change_feed_gives_every_event_of_every_order_once() {
    let stack = stack().await;
    let acme = stack.acme();
    // Three orders at once.
    let mut mine = Vec::new();
    for i in 0..3 {
        let id = new_id(&format!("feed{i}"));
        submit(
            &acme,
            &order(&id, &[("sim.steps", "2"), ("sim.step_ms", "100")]),
        )
        .await;
        mine.push(id);
    }
    for id in &mine {
        wait_state(&acme, id, "COMPLETE", T).await;
    }
    let (feed, cursor) = read_feed(&acme, None).await;
    let mut by_order: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for e in &feed {
        assert_eq!(e["tenant_id"], "acme", "{e}");
        by_order
            .entry(e["order_id"].as_str().unwrap().to_string())
            .or_default()
            .push(e.clone());
    }
    for id in &mine {
        let got: Vec<_> = by_order[id]
            .iter()
            .map(|e| e["event_uuid"].clone())
            .collect();
        let want: Vec<_> = events(&acme, id)
            .await
            .iter()
            .map(|e| e["event_uuid"].clone())
            .collect();
        assert_eq!(got, want, "every event of {id} once, in seq order");
    }
    // Read again from the start: the same order.
    let (again, _) = read_feed(&acme, None).await;
    let uuids = |v: &[Value]| {
        v.iter()
            .map(|e| e["event_uuid"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(uuids(&again)[..feed.len()], uuids(&feed)[..]);

    // From the kept cursor: only what happened since.
    let id = new_id("feed-next");
    submit(
        &acme,
        &order(&id, &[("sim.steps", "1"), ("sim.step_ms", "0")]),
    )
    .await;
    wait_state(&acme, &id, "COMPLETE", T).await;
    let (next, _) = read_feed(&acme, Some(cursor)).await;
    let new: Vec<_> = next
        .iter()
        .filter(|e| e["order_id"] == id.as_str())
        .map(|e| e["event_uuid"].clone())
        .collect();
    let want: Vec<_> = events(&acme, &id)
        .await
        .iter()
        .map(|e| e["event_uuid"].clone())
        .collect();
    assert_eq!(new, want);
    assert!(
        next.iter()
            .all(|e| !mine.contains(&e["order_id"].as_str().unwrap().to_string()))
    );

    // The feed is a tenant's; globex sees none of acme's events.
    let (theirs, _) = read_feed(&stack.globex(), None).await;
    assert!(theirs.iter().all(|e| e["tenant_id"] == "globex"));
    let r = stack.operator().get("/v1/events").await.unwrap();
    assert_eq!(r.status, 403, "{}", r.body);
    let r = acme.get("/v1/events?cursor=nonsense").await.unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
}
