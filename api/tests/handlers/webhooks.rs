//! `POST /v1/webhooks` against the egress policy and the per-tenant cap, without a stack:
//! every refusal is decided before anything is stored.

use super::*;

fn hook(url: &str) -> Value {
    json!({ "url": url, "topics": ["*"], "secret": "a-secret-of-enough-length" })
}

#[tokio::test]
async fn internal_destinations_are_422_url_not_allowed() {
    let production = App::with_settings(Settings {
        webhook_allow_http: false,
        webhook_allow_private_networks: false,
        ..Settings::dev()
    })
    .await;
    let dev = App::new().await;
    for (app, url) in [
        (&production, "http://hooks.example.com/h"),
        (&production, "https://127.0.0.1/h"),
        (&production, "https://[::1]/h"),
        (&production, "https://192.168.1.10/h"),
        (&production, "https://100.64.0.1/h"),
        (&production, "https://localhost/h"),
        (&production, "https://nowhere.invalid/h"),
        (&dev, "http://169.254.169.254/latest/meta-data"),
        (&dev, "http://[::ffff:169.254.169.254]/"),
        (&dev, "http://[fd00:ec2::254]/"),
        (&dev, "http://0.0.0.0/"),
        (&dev, "http://[::]/"),
        (&dev, "http://[ff02::1]/"),
    ] {
        let answer = app.post("/v1/webhooks", ACME, hook(url)).await;
        answer.assert_error(422, "URL_NOT_ALLOWED");
        assert_eq!(answer.body["error"]["details"]["fields"][0]["field"], "url");
    }
    for app in [&production, &dev] {
        let listed = app.get("/v1/webhooks", ACME).await;
        assert_eq!(listed.body["webhooks"], json!([]));
    }
    // Field errors still come first.
    production
        .post("/v1/webhooks", ACME, hook("ftp://x.test/h"))
        .await
        .assert_error(422, "INVALID_FIELD");
    let stored = dev
        .post("/v1/webhooks", ACME, hook("http://127.0.0.1:9/h"))
        .await;
    assert_eq!(stored.status, 201, "{}", stored.body);
}

#[tokio::test]
async fn one_webhook_over_the_cap_is_409_limit_reached() {
    let app = App::with_settings(Settings {
        max_webhooks_per_tenant: 2,
        ..test_settings()
    })
    .await;
    let create = |tenant| app.post("/v1/webhooks", tenant, hook("http://127.0.0.1:9/h"));
    for _ in 0..2 {
        let answer = create(ACME).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
    }
    create(ACME).await.assert_error(409, "LIMIT_REACHED");
    let other = create(GLOBEX).await;
    assert_eq!(other.status, 201, "the cap is per tenant: {}", other.body);
}
