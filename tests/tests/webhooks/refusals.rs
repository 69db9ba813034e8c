//! Bad subscriptions, other tenants and the operator are refused.

use super::*;

#[tokio::test]
async fn bad_subscriptions_other_tenants_and_the_operator_are_refused() {
    let stack = stack().await;
    let (acme, globex, operator) = (stack.acme(), stack.globex(), stack.operator());
    let secret = "a-secret-of-enough-length";
    let post = |body: Value| {
        let acme = acme.clone();
        async move { acme.post("/v1/webhooks", &body).await.unwrap() }
    };
    for (body, status, expected) in [
        (
            json!({ "url": "ftp://x.test/h", "topics": ["*"], "secret": secret }),
            422,
            "INVALID_FIELD",
        ),
        (
            json!({ "url": "not a url", "topics": ["*"], "secret": secret }),
            422,
            "INVALID_FIELD",
        ),
        (
            json!({ "url": "http://x.test/h", "topics": [], "secret": secret }),
            422,
            "INVALID_FIELD",
        ),
        (
            json!({ "url": "http://x.test/h", "topics": ["NOPE"], "secret": secret }),
            422,
            "INVALID_FIELD",
        ),
        (
            json!({ "url": "http://x.test/h", "topics": ["*"], "secret": "short" }),
            422,
            "INVALID_FIELD",
        ),
        (
            json!({ "url": "http://x.test/h", "topics": ["*"], "secret": secret, "extra": 1 }),
            422,
            "UNKNOWN_FIELD",
        ),
        (
            json!({ "url": "http://x.test/h", "topics": ["*"] }),
            400,
            "INVALID_FIELD",
        ),
        (
            json!({ "url": "http://x.test/h", "topics": "*", "secret": secret }),
            400,
            "INVALID_FIELD",
        ),
    ] {
        let reply = post(body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert_eq!(code(&reply), expected, "{body}");
    }
    let malformed = acme
        .post_raw("/v1/webhooks", "{not json", "application/json")
        .await
        .unwrap();
    assert_eq!(malformed.status, 400);
    assert_eq!(code(&malformed), "MALFORMED_JSON");
    assert!(
        acme.get("/v1/webhooks").await.unwrap().body["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["url"] != "http://x.test/h"),
        "a refused subscription was stored"
    );

    let hook = post(
        json!({ "url": "http://127.0.0.1:9/h", "topics": ["STATE_CHANGED"], "secret": secret }),
    )
    .await;
    assert_eq!(hook.status, 201);
    let webhook_id = hook.body["webhook_id"].as_str().unwrap();

    // Another tenant: 404, and the webhook stays.
    for path in [
        format!("/v1/webhooks/{webhook_id}"),
        format!("/v1/webhooks/{webhook_id}/deliveries"),
    ] {
        let reply = globex.get(&path).await.unwrap();
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(code(&reply), "NOT_FOUND");
    }
    let reply = globex
        .delete(&format!("/v1/webhooks/{webhook_id}"))
        .await
        .unwrap();
    assert_eq!(reply.status, 404);
    assert_eq!(
        acme.get(&format!("/v1/webhooks/{webhook_id}"))
            .await
            .unwrap()
            .status,
        200
    );

    // The operator manages no webhooks.
    let reply = operator
        .post(
            "/v1/webhooks",
            &json!({ "url": "http://x.test/h", "topics": ["*"], "secret": secret }),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 403);
    assert_eq!(code(&reply), "FORBIDDEN");
    for reply in [
        operator.get("/v1/webhooks").await.unwrap(),
        operator
            .get(&format!("/v1/webhooks/{webhook_id}/deliveries"))
            .await
            .unwrap(),
        operator
            .delete(&format!("/v1/webhooks/{webhook_id}"))
            .await
            .unwrap(),
    ] {
        assert_eq!(reply.status, 403, "{}", reply.body);
    }
    // No credentials.
    let anonymous = stack.client("nope").get("/v1/webhooks").await.unwrap();
    assert_eq!(anonymous.status, 401);

    assert_eq!(
        acme.delete(&format!("/v1/webhooks/{webhook_id}"))
            .await
            .unwrap()
            .status,
        204
    );
}
