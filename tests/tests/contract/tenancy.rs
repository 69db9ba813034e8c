//! No operation lets one tenant read or change another's data. Every probe shows it can fail:
//! each path names a real resource of acme's (an order with an amendment, a subscription with
//! a real cancellation and reactivation, a webhook with a delivery), acme reads each one with
//! 2xx before globex tries it, and after globex's attempts acme's writes on the same paths are
//! answered as the owner's (never 404).

use super::*;

/// A request body the operation accepts, so a refusal is about the tenant, not the input.
fn body_for(method: &Method, path: &str, order_ref: &str) -> Option<Value> {
    let later = json!({ "effective_date": "2099-01-01" });
    match (method.as_str(), path) {
        // The dialects' bodies (the seeds' shapes).
        ("PATCH", p) if p.starts_with("/compat/marketplace/") => {
            Some(json!({ "order": { "state_event": "request_cancelation" } }))
        }
        (_, p) if p.starts_with("/compat/subscriptions/") && p.ends_with("/cancel") => {
            Some(json!({ "order": later }))
        }
        (_, p) if p.starts_with("/compat/subscriptions/") && p.ends_with("/reactivate") => {
            Some(json!({ "account": later }))
        }
        ("PATCH", _) => Some(json!({ "order_ref": order_ref, "changes": { "notes": "x" } })),
        (_, p) if p.ends_with("amendments:preview") => {
            Some(json!({ "order_ref": order_ref, "changes": { "notes": "x" } }))
        }
        ("PUT", _) => {
            let mut draft = order("ignored", &[]);
            draft.as_object_mut().unwrap().remove("order_id");
            Some(draft)
        }
        (_, p) if p.ends_with("/cancel") => Some(json!({ "reason": "cross-tenant" })),
        ("POST", "/v1/orders") | ("POST", "/v1/webhooks") | ("GET", _) | ("DELETE", _) => None,
        _ => Some(json!({})),
    }
}

/// acme's resources the probes name.
struct Owned {
    order_id: String,
    order_ref: String,
    amendment_id: String,
    subscription_id: String,
    subscription_ref: String,
    cancellation_id: String,
    reactivation_id: String,
    webhook_id: String,
    delivery_id: String,
    /// An order with a cancellation the supplier answered (RE): the Peppol documents' order.
    peppol_order_id: String,
    /// A TMF622 hub (a webhook of its own dialect).
    hub_id: String,
}

/// acme's Peppol participant id (`orderflow dev` and the test stacks).
const ACME_PARTY: &str = "9915:acme";

impl Owned {
    /// The path of `template` with acme's ids, and the body to send: requests
    /// (cancellations, reactivations) are looked up on the subscription, everything else of an
    /// order on the executing order.
    fn probe(&self, method: &Method, template: &str) -> (String, Option<Value>) {
        let on_subscription =
            template.contains("/cancellations") || template.contains("/reactivations");
        let (order, order_ref, request) = if on_subscription {
            let request = if template.contains("/cancellations") {
                &self.cancellation_id
            } else {
                &self.reactivation_id
            };
            (&self.subscription_id, &self.subscription_ref, request)
        } else {
            (&self.order_id, &self.order_ref, &self.amendment_id)
        };
        if template.contains("{documentId}") {
            let path = template
                .replace("{partyId}", ACME_PARTY)
                .replace("{documentId}", &self.peppol_order_id);
            return (path, body_for(method, template, ""));
        }
        // TMF622: a cancellation task names its order and cancellation; a hub is its own.
        if template.ends_with("/cancelProductOrder/{id}") {
            let task = format!("{}~{}", self.subscription_id, self.cancellation_id);
            return (template.replace("{id}", &task), None);
        }
        if template.ends_with("/hub/{id}") {
            return (template.replace("{id}", &self.hub_id), None);
        }
        let id = if template.starts_with("/v1/webhooks") {
            &self.webhook_id
        } else {
            order
        };
        let path = template
            .replace("{amendment_id}", &self.amendment_id)
            .replace("{request_id}", request)
            .replace("{delivery_id}", &self.delivery_id)
            .replace("{action}", "suspend")
            .replace("{id}", id);
        (path, body_for(method, template, order_ref))
    }
}

/// acme's order in EXECUTION with a decided amendment, a subscription cancelled now and
/// reactivated at a later date, and a webhook with deliveries.
async fn acme_resources(stack: &Stack) -> Owned {
    let acme = stack.acme();
    let webhook_id = new_webhook(&acme).await;
    let order_id = new_id("secret");
    let order_ref = format!("PO-{order_id}");
    submit(&acme, &order(&order_id, &[("sim.step_ms", "60000")])).await;
    wait_state(&acme, &order_id, "EXECUTION", Duration::from_secs(60)).await;
    let changes = json!({ "order_ref": order_ref, "changes": { "notes": "patched" } });
    let path = format!("/v1/orders/{order_id}");
    let amended = acme
        .send(Method::PATCH, &path, Some(&changes))
        .await
        .unwrap();
    assert!(amended.status.is_success(), "{}", amended.body);
    let amendment_id = amended.body["amendment"]["amendment_id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(&acme, &order_id, Duration::from_secs(30), |o| {
        o["pending_request"].is_null()
    })
    .await;

    let subscription_id = new_id("secret-sub");
    let mut body = order(&subscription_id, &[("sim.step_ms", "0")]);
    body["recurring"] = json!(true);
    submit(&acme, &body).await;
    wait_state(&acme, &subscription_id, "ACTIVE", Duration::from_secs(60)).await;
    let cancel = format!("/v1/orders/{subscription_id}/cancel");
    let r = acme
        .post(&cancel, &json!({ "reason": "pause" }))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let cancellation_id = r.body["cancellation"]["cancellation_id"].as_str().unwrap();
    let reactivate = format!("/v1/orders/{subscription_id}/reactivate");
    let later = json!({ "effective_date": "2099-01-01" });
    let r = acme.post(&reactivate, &later).await.unwrap();
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["reactivation"]["state"], "SCHEDULED");
    let reactivation_id = r.body["reactivation"]["reactivation_id"].as_str().unwrap();

    // An Order Cancellation through the Peppol dialect, refused by the supplier.
    let peppol_order_id = new_id("secret-peppol");
    let knobs = [("sim.step_ms", "60000"), ("sim.cancel", "re")];
    submit(&acme, &order(&peppol_order_id, &knobs)).await;
    wait_state(
        &acme,
        &peppol_order_id,
        "EXECUTION",
        Duration::from_secs(60),
    )
    .await;
    let base = format!("/compat/peppol/api/v1/{ACME_PARTY}/purchaseOrder/{peppol_order_id}");
    let r = acme
        .post(&format!("{base}/cancel"), &json!({}))
        .await
        .unwrap();
    assert_eq!(r.status, 202, "{}", r.body);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acme.get(&format!("{base}/response")).await.unwrap().status != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "no Order Response for {base}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let hub = json!({ "callback": "http://127.0.0.1:9/tmf" });
    let r = acme
        .post("/tmf-api/productOrderingManagement/v5/hub", &hub)
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.body);
    let hub_id = r.body["id"].as_str().unwrap().to_string();

    let deliveries = format!("/v1/webhooks/{webhook_id}/deliveries");
    let listed = acme.get(&deliveries).await.unwrap();
    assert_eq!(listed.status, 200, "{}", listed.body);
    let delivery_id = &listed.body["deliveries"][0]["delivery_id"];
    assert!(delivery_id.is_u64(), "a delivery: {}", listed.body);
    let delivery_id = delivery_id.to_string();
    Owned {
        order_id,
        order_ref,
        amendment_id,
        subscription_ref: format!("PO-{subscription_id}"),
        subscription_id,
        cancellation_id: cancellation_id.to_string(),
        reactivation_id: reactivation_id.to_string(),
        webhook_id,
        delivery_id,
        peppol_order_id,
        hub_id,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_operation_reaches_another_tenants_data() {
    let stack = stack().await;
    let (acme, globex) = (stack.acme(), stack.globex());
    let owned = acme_resources(stack).await;
    let doc = document(stack).await;
    // Operations on a tenant-owned resource; callbacks are signed by suppliers, not keyed.
    let mut probes: Vec<(Method, String)> = operations(&doc)
        .into_iter()
        .filter(|(_, t)| t.contains('{') && !t.starts_with("/v1/supplier/"))
        .collect();
    // The owner's destructive writes go last, so every earlier probe still finds its target.
    probes.sort_by_key(|(m, _)| *m == Method::DELETE);

    // acme reads each resource: the probes name things that exist.
    for (method, template) in probes.iter().filter(|(m, _)| *m == Method::GET) {
        let (path, _) = owned.probe(method, template);
        let r = acme.get(&path).await.unwrap();
        assert!(
            r.status.is_success(),
            "acme GET {path}: {} {}",
            r.status,
            r.body
        );
    }
    let order_url = format!("/v1/orders/{}", owned.order_id);
    let before = acme.get(&order_url).await.unwrap().body;
    let sub_url = format!("/v1/orders/{}", owned.subscription_id);
    let sub_before = acme.get(&sub_url).await.unwrap().body;
    let events_before = events(&acme, &owned.order_id).await.len();

    for (method, template) in &probes {
        let (path, body) = owned.probe(method, template);
        let reply = globex
            .send(method.clone(), &path, body.as_ref())
            .await
            .unwrap();
        // 404 for the other tenant's resources; 403 for an operator-only command.
        let operator_only = template.ends_with("{action}");
        assert!(
            reply.status == 404 || (reply.status == 403 && operator_only),
            "globex {method} {path} answered {}: {}",
            reply.status,
            reply.body
        );
        assert_eq!(
            reply.body["error"]["code"],
            if operator_only {
                "FORBIDDEN"
            } else {
                "NOT_FOUND"
            },
            "{method} {path}"
        );
        let text = reply.body.to_string();
        assert!(
            !text.contains(&owned.order_ref) && !text.contains("acme") && !text.contains("patched"),
            "globex {method} {path} leaked acme's data: {text}"
        );
    }
    assert!(probes.len() >= 20, "only {} operations tried", probes.len());

    // Nothing globex sent changed acme's orders, their events or the webhook.
    assert_eq!(acme.get(&order_url).await.unwrap().body, before);
    assert_eq!(acme.get(&sub_url).await.unwrap().body, sub_before);
    assert_eq!(events(&acme, &owned.order_id).await.len(), events_before);
    let hook = format!("/v1/webhooks/{}", owned.webhook_id);
    assert_eq!(acme.get(&hook).await.unwrap().status, 200);
    // Nor do globex's lists show any of it.
    let listed = globex.get("/v1/orders?limit=1000").await.unwrap().body;
    assert!(!listed.to_string().contains(&owned.order_id));
    let hooks = globex.get("/v1/webhooks").await.unwrap().body;
    assert!(!hooks.to_string().contains(&owned.webhook_id));
    let feed = globex.get("/v1/events?limit=1000").await.unwrap().body;
    assert!(!feed.to_string().contains(&owned.order_id));

    // The same writes as acme reach acme's resources (answered by their rules, never 404).
    for (method, template) in probes.iter().filter(|(m, _)| *m != Method::GET) {
        if template.ends_with("{action}") {
            continue; // operator-only for every tenant
        }
        let (path, body) = owned.probe(method, template);
        let reply = acme
            .send(method.clone(), &path, body.as_ref())
            .await
            .unwrap();
        assert!(
            reply.status != 404 && !reply.status.is_server_error(),
            "acme {method} {path} answered {}: {}",
            reply.status,
            reply.body
        );
    }
}
