//! No request carries a NUL character. PostgreSQL's text cannot hold one while SQLite's can,
//! so an id, a code or a text with one failed at the database as a 500 on one backend and was
//! stored on the other; no field needs one. Refused here, before any handler, wherever a
//! request can carry one: the path and query (as `%00`) and a JSON body (as the escape
//! `\u0000`; a raw NUL byte is not JSON and the body's parser refuses it).

use crate::error::ApiError;
use crate::extract::too_large;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn refuse_nul(request: Request, next: Next) -> Response {
    let uri = request.uri();
    if has_encoded_nul(uri.path()) {
        return ApiError::bad_request(
            "INVALID_REQUEST",
            "the path holds a NUL character (%00), which no id has; remove it",
        )
        .into_response();
    }
    if uri.query().is_some_and(has_encoded_nul) {
        return ApiError::bad_request(
            "INVALID_QUERY",
            "the query holds a NUL character (%00), which no parameter accepts; remove it",
        )
        .into_response();
    }
    // XML (the Peppol dialect) has no way to write a NUL, and `\u0000` there is plain text.
    let xml = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("xml"));
    if xml {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::BODY_LIMIT).await else {
        return too_large().into_response();
    };
    if has_escaped_nul(&bytes) {
        return ApiError::bad_request(
            "INVALID_FIELD",
            "a string in the body holds a NUL character (\\u0000), which no field accepts; \
             remove it",
        )
        .into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Does percent-encoded `text` decode to a NUL? (`%2500` decodes to the text `%00`, not NUL.)
fn has_encoded_nul(text: &str) -> bool {
    text.contains("%00")
}

/// Does JSON `body` hold the escape `\u0000`? Only where its backslash is not itself escaped:
/// `"\\u0000"` is the six characters `\u0000`.
fn has_escaped_nul(body: &[u8]) -> bool {
    body.windows(6).enumerate().any(|(at, w)| {
        w == b"\\u0000" && body[..at].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escaped_nul_is_found_and_an_escaped_backslash_is_not_one() {
        assert!(has_escaped_nul(br#"{"a":"x\u0000"}"#));
        assert!(has_escaped_nul(br#"{"\u0000":1}"#));
        assert!(has_escaped_nul(br#"{"a":"\\\u0000"}"#));
        assert!(!has_escaped_nul(br#"{"a":"\\u0000"}"#));
        assert!(has_escaped_nul(br#"{"a":"\u00001"}"#));
        assert!(!has_escaped_nul(br#"{"a":"\u0001 u0000"}"#));
        assert!(!has_escaped_nul(b""));
    }

    #[test]
    fn an_encoded_nul_is_found_and_an_encoded_percent_is_not_one() {
        assert!(has_encoded_nul("/v1/orders/a%00b"));
        assert!(has_encoded_nul("order_ref=%00"));
        assert!(!has_encoded_nul("/v1/orders/a%2500"));
        assert!(!has_encoded_nul("/v1/orders/a%20b"));
    }
}
