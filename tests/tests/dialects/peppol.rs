//! Seed 003 at `/compat/peppol`: an Order Cancellation sent to the supplier, its UBL
//! documents, the supplier's Order Response, and webhooks on Peppol's topics, all for the
//! caller's own participant id only.

use super::*;
use orderflow_tests::webhooks::{Receiver, receiver};

const ACME: &str = "9915:acme";

fn path(party: &str, id: &str, what: &str) -> String {
    format!("/compat/peppol/api/v1/{party}/purchaseOrder/{id}/{what}")
}

/// A document as the client gets it: status, content type and the text.
async fn document(stack: &Stack, key: &str, path: &str) -> (u16, String, String) {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", stack.api_url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, content_type, r.text().await.unwrap())
}

/// The text of the UBL element at `path` (local names below the root).
fn ubl(xml: &str, path: &str) -> String {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let mut node = doc.root_element();
    for name in path.split('/') {
        node = node
            .children()
            .find(|c| c.tag_name().name() == name)
            .unwrap_or_else(|| panic!("no {path} in {xml}"));
    }
    node.text().unwrap_or_default().to_string()
}

async fn subscribe(client: &ApiClient, topics: &[&str]) -> Receiver {
    let r = receiver("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 0).await;
    let body = json!({ "action": r.url, "topics": topics, "secret": r.secret });
    let reply = client
        .post("/compat/peppol/api/v1/webhooks", &body)
        .await
        .unwrap();
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["action"], json!(r.url));
    assert_eq!(reply.body["topics"], json!(topics));
    r
}

/// The Peppol notifications `r` accepted about order `id`, waiting for `n` of them.
async fn notifications(r: &Receiver, id: &str, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + T;
    loop {
        let got: Vec<_> = r
            .all()
            .into_iter()
            .filter(|d| d.answered < 300 && d.body["documentId"] == id)
            .collect();
        if got.len() >= n {
            assert!(got.iter().all(|d| d.signature_ok), "{got:?}");
            return got.into_iter().map(|d| d.body).collect();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{n} notifications of {id}: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_cancellation_is_sent_answered_and_documented_in_ubl() {
    let stack = stack().await;
    let acme = stack.acme();
    let key = &stack.credentials.acme_key;
    let hook = subscribe(&acme, &["OrderCancellationSent", "OrderResponseReceived"]).await;
    let id = new_id("peppol-ap");
    submit(
        &acme,
        &order(
            &id,
            &[("sim.step_ms", "4000"), ("sim.cancel", "pending-ap")],
        ),
    )
    .await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let (status, _, _) = document(stack, key, &path(ACME, &id, "cancellation")).await;
    assert_eq!(status, 404, "no cancellation yet");

    let body = json!({ "reason": "ordered <twice> & by mistake" });
    let r = acme.post(&path(ACME, &id, "cancel"), &body).await.unwrap();
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["documentId"], json!(id));
    let cancellation_id = r.body["cancellationId"].as_str().unwrap().to_string();

    // The Order Cancellation as the supplier received it.
    let (status, content_type, xml) = document(stack, key, &path(ACME, &id, "cancellation")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/xml"),
        "{xml}"
    );
    assert_eq!(
        ubl(&xml, "CancellationNote"),
        "ordered <twice> & by mistake"
    );
    assert_eq!(ubl(&xml, "OrderReference/ID"), id);
    assert_eq!(ubl(&xml, "ID"), cancellation_id);
    assert_eq!(ubl(&xml, "BuyerCustomerParty/Party/EndpointID"), "acme");
    assert_eq!(ubl(&xml, "SellerSupplierParty/Party/EndpointID"), "sim");

    // The supplier answers later: AP, the order is cancelled, and the response is there.
    wait_state(&acme, &id, "CANCELLED", T).await;
    let (status, content_type, xml) = document(stack, key, &path(ACME, &id, "response")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/xml"),
        "{xml}"
    );
    assert_eq!(ubl(&xml, "OrderResponseCode"), "AP");
    assert_eq!(ubl(&xml, "OrderReference/ID"), id);

    let got = notifications(&hook, &id, 2).await;
    assert_eq!(got[0]["topic"], "OrderCancellationSent");
    assert_eq!(got[0]["cancellationId"], json!(cancellation_id));
    assert_eq!(got[1]["topic"], "OrderResponseReceived");
    assert_eq!(got[1]["responseCode"], "AP");
    // The core API shows the same cancellation, asked by the tenant and decided by the supplier.
    let accepted = events_of(&acme, &id, "CANCELLATION_ACCEPTED").await;
    assert_eq!(accepted[0]["actor"]["type"], "SUPPLIER");
    assert_eq!(got[1]["eventId"], accepted[0]["event_uuid"]);
    let c = acme
        .get(&format!("/v1/orders/{id}/cancellations/{cancellation_id}"))
        .await
        .unwrap();
    assert_eq!(c.body["actor"]["type"], "TENANT", "{}", c.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_cancellation_is_an_re_response_and_the_order_goes_on() {
    let stack = stack().await;
    let acme = stack.acme();
    let key = &stack.credentials.acme_key;
    let hook = subscribe(&acme, &["OrderResponseReceived"]).await;
    let id = new_id("peppol-re");
    submit(
        &acme,
        &order(&id, &[("sim.step_ms", "1000"), ("sim.cancel", "re")]),
    )
    .await;
    wait_state(&acme, &id, "EXECUTION", T).await;
    let r = acme
        .post(&path(ACME, &id, "cancel"), &json!(null))
        .await
        .unwrap();
    assert_eq!(r.status, 202, "{}", r.body);
    let got = notifications(&hook, &id, 1).await;
    assert_eq!(got[0]["responseCode"], "RE");
    let (status, _, xml) = document(stack, key, &path(ACME, &id, "response")).await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(ubl(&xml, "OrderResponseCode"), "RE");
    let (_, _, xml) = document(stack, key, &path(ACME, &id, "cancellation")).await;
    assert_eq!(ubl(&xml, "CancellationNote"), "peppol: order cancellation");
    wait_state(&acme, &id, "COMPLETE", T).await;
    // Only the topic it asked for.
    assert!(
        hook.all()
            .iter()
            .all(|d| d.body["topic"] == "OrderResponseReceived")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_callers_own_party_and_orders_and_no_response_before_an_answer() {
    let stack = stack().await;
    let (acme, globex) = (stack.acme(), stack.globex());
    let key = &stack.credentials.acme_key;
    let id = new_id("peppol-party");
    submit(
        &acme,
        &order(
            &id,
            &[("sim.step_ms", "4000"), ("sim.cancel", "pending-silent")],
        ),
    )
    .await;
    wait_state(&acme, &id, "EXECUTION", T).await;

    // Another tenant's party id, or another tenant's order: nothing is there, nothing changes.
    for (client, party) in [
        (&acme, "9915:globex"),
        (&globex, ACME),
        (&globex, "9915:globex"),
    ] {
        let r = client
            .post(&path(party, &id, "cancel"), &json!({}))
            .await
            .unwrap();
        assert_eq!(r.status, 404, "{party}: {}", r.body);
    }
    let (status, _, _) = document(
        stack,
        &stack.credentials.globex_key,
        &path(ACME, &id, "cancellation"),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        events_of(&acme, &id, "CANCELLATION_PENDING")
            .await
            .is_empty()
    );
    let r = acme
        .post(
            &path(ACME, &id, "cancel"),
            &json!({ "reason": "x", "colour": "red" }),
        )
        .await
        .unwrap();
    assert_error(&r, 422, "UNKNOWN_FIELD");

    // Sent, not answered: the cancellation exists, the response does not yet.
    let r = acme
        .post(&path(ACME, &id, "cancel"), &json!({}))
        .await
        .unwrap();
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["state"], "PENDING");
    let (status, _, _) = document(stack, key, &path(ACME, &id, "cancellation")).await;
    assert_eq!(status, 200);
    let (status, _, text) = document(stack, key, &path(ACME, &id, "response")).await;
    assert_eq!(status, 404, "{text}");

    // Webhooks: Peppol's topics only, and the core checks of the URL and the secret.
    let hook = json!({ "action": "http://127.0.0.1:9/h", "topics": ["CANCELLATION_PENDING"], "secret": "0123456789abcdef" });
    let r = acme
        .post("/compat/peppol/api/v1/webhooks", &hook)
        .await
        .unwrap();
    assert_error(&r, 422, "INVALID_FIELD");
    let hook = json!({ "action": "http://127.0.0.1:9/h", "topics": ["OrderResponseReceived"], "secret": "short" });
    let r = acme
        .post("/compat/peppol/api/v1/webhooks", &hook)
        .await
        .unwrap();
    assert_error(&r, 422, "INVALID_FIELD");
    let hook = json!({ "action": "ftp://x", "topics": ["OrderResponseReceived"], "secret": "0123456789abcdef" });
    let r = acme
        .post("/compat/peppol/api/v1/webhooks", &hook)
        .await
        .unwrap();
    assert_error(&r, 422, "INVALID_FIELD");
}
