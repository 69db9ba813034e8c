//! The supplier client against a raw TCP server that answers whatever a test says: a
//! redirect, an oversized body, a long refusal. What a failure says must stay coarse and
//! short, since the workflow copies it into the order's events.

use super::*;
use orderflow_domain::calls::SupplierCall;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves `answer` (a whole HTTP response) to every connection; returns the base URL.
pub(super) async fn server(answer: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(&answer).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

pub(super) fn response(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

async fn call(base_url: &str) -> String {
    let client = SupplierClient::new(
        vec![SupplierSettings {
            id: "sim".into(),
            base_url: base_url.into(),
            secret: "s".into(),
            concurrent_amendments: false,
            peppol: None,
        }],
        Duration::from_secs(5),
    )
    .unwrap();
    let call: SupplierCall = serde_json::from_value(serde_json::json!({
        "supplier_id": "sim",
        "idempotency_key": "k",
        "order": {
            "order_id": "o1", "order_ref": "r1", "tenant_id": "acme",
            "supplier_id": "sim", "order_type": "PROVIDE"
        },
    }))
    .unwrap();
    match client.post(&call, "/orders", Value::Null).await {
        Ok(answer) => format!("ok {}", answer.status),
        Err(e) => format!("{e:?}"),
    }
}

#[tokio::test]
async fn redirects_are_not_followed_and_are_protocol_errors() {
    let target = server(response("200 OK", "", b"{}")).await;
    let base = server(response(
        "302 Found",
        &format!("location: {target}/orders\r\n"),
        b"",
    ))
    .await;
    let failure = call(&base).await;
    assert!(failure.contains("SupplierProtocolError"), "{failure}");
    assert!(failure.contains("redirects are not followed"), "{failure}");
    assert!(
        !failure.contains(&base) && !failure.contains(&target),
        "{failure}"
    );
}

#[tokio::test]
async fn an_oversized_answer_is_not_read_to_its_end() {
    let base = server(response("200 OK", "", &vec![b'x'; MAX_BODY_BYTES + 1])).await;
    let failure = call(&base).await;
    assert!(failure.contains("SupplierProtocolError"), "{failure}");
    assert!(failure.contains("over 262144 bytes"), "{failure}");
    let fits = server(response("200 OK", "", &vec![b'x'; MAX_BODY_BYTES])).await;
    assert_eq!(call(&fits).await, "ok 200 OK");
}

#[tokio::test]
async fn a_refusal_keeps_a_short_reason_and_never_the_url_or_the_body() {
    let reason = "é".repeat(1_000);
    let body = serde_json::json!({ "reason": reason, "secret_detail": "internal-stack-trace" });
    let base = server(response(
        "422 Unprocessable Entity",
        "",
        body.to_string().as_bytes(),
    ))
    .await;
    let failure = call(&base).await;
    assert!(failure.contains("SupplierRejected"), "{failure}");
    assert!(
        failure.contains(&"é".repeat(MAX_REASON_BYTES / 2)),
        "{failure}"
    );
    assert!(
        !failure.contains(&"é".repeat(MAX_REASON_BYTES / 2 + 1)),
        "{failure}"
    );
    assert!(!failure.contains("internal-stack-trace"), "{failure}");
    assert!(!failure.contains(&base), "{failure}");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let failure = call(&closed).await;
    assert!(failure.contains("SupplierUnavailable"), "{failure}");
    assert!(
        !failure.contains(&closed) && !failure.contains("error sending"),
        "{failure}"
    );
}

#[test]
fn truncation_keeps_whole_characters() {
    assert_eq!(truncate("abc", 5), "abc");
    assert_eq!(truncate("abcdef", 3), "abc");
    assert_eq!(truncate("éé", 3), "é");
}
