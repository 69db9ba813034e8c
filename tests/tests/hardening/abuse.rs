//! Abuse limits on a stack of its own (a low rate): a tenant over its rate gets 429 with
//! `Retry-After` while another tenant is served.

use super::*;
use orderflow_config::ApiLimits;

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_over_its_rate_gets_429_and_the_others_are_served() {
    let stack = Stack::start_with(
        "ratelimit",
        StackOptions {
            api: ApiLimits {
                tenant_requests_per_second: 2,
                tenant_burst: 5,
                ..ApiLimits::default()
            },
            ..StackOptions::default()
        },
    )
    .await;
    let http = reqwest::Client::new();
    let get = |key: String| {
        let http = http.clone();
        let url = format!("{}/v1/orders?limit=1", stack.api_url);
        async move { http.get(url).bearer_auth(key).send().await.unwrap() }
    };
    let mut refused = None;
    for _ in 0..20 {
        let r = get(stack.credentials.acme_key.clone()).await;
        if r.status() == 429 {
            refused = Some(r);
            break;
        }
    }
    let refused = refused.expect("20 requests at once went over a burst of 5");
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TOO_MANY_REQUESTS");
    // globex has a bucket of its own.
    assert_eq!(
        get(stack.credentials.globex_key.clone()).await.status(),
        200
    );
    // After the wait, acme is served again.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(get(stack.credentials.acme_key.clone()).await.status(), 200);
}
