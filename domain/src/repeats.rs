//! Idempotency-Key repeats of cancellations and reactivations. While the order's workflow
//! runs it recognises a repeat from the keys it keeps; once the order has ended its workflow
//! no longer answers, so the API recognises one from the stored requests, which keep their
//! key. Both compare the same content, made here, so a retry answers the same way whenever it
//! arrives.

use crate::requests::{OrderRequest, PendingKind};
use crate::rule_code::{RuleCode, RuleError};
use serde_json::{Value, json};

/// What an Idempotency-Key remembers of a cancellation.
pub fn cancel_content(
    reason: &str,
    reason_code: Option<&str>,
    effective_at: Option<&str>,
) -> Value {
    json!({ "reason": reason, "reason_code": reason_code, "effective_at": effective_at })
}

/// What an Idempotency-Key remembers of a reactivation.
pub fn reactivate_content(reason: Option<&str>, effective_at: Option<&str>) -> Value {
    json!({ "reason": reason, "effective_at": effective_at })
}

impl OrderRequest {
    /// The tenant's Idempotency-Key it was made with, if any.
    pub fn idempotency_key(&self) -> Option<&str> {
        match self {
            OrderRequest::Cancellation(c) => c.idempotency_key.as_deref(),
            OrderRequest::Reactivation(r) => r.idempotency_key.as_deref(),
        }
    }

    /// What its key remembers (see [`cancel_content`], [`reactivate_content`]).
    pub fn content(&self) -> Value {
        match self {
            OrderRequest::Cancellation(c) => cancel_content(
                &c.reason,
                c.reason_code.as_deref(),
                c.effective_at.as_deref(),
            ),
            OrderRequest::Reactivation(r) => {
                reactivate_content(r.reason.as_deref(), r.effective_at.as_deref())
            }
        }
    }
}

/// A request of `kind` with `content` sent again under `key` to an order that has ended: the
/// stored request the key made (the same answer as the first time), `None` if the key made
/// none (a new request, for the rules to decide), or `IDEMPOTENCY_KEY_REUSED` if the key made a
/// request of another kind or with other content.
pub fn repeat_after_end<'a>(
    requests: &'a [OrderRequest],
    key: &str,
    kind: PendingKind,
    content: &Value,
) -> Result<Option<&'a OrderRequest>, RuleError> {
    let Some(made) = requests.iter().find(|r| r.idempotency_key() == Some(key)) else {
        return Ok(None);
    };
    if made.pending_kind() != kind || made.content() != *content {
        return Err(RuleError::new(
            RuleCode::IdempotencyKeyReused,
            format!(
                "this Idempotency-Key was used for {} {} with other content; use a new key",
                made.kind().to_lowercase(),
                made.id()
            ),
        ));
    }
    Ok(Some(made))
}

#[cfg(test)]
mod tests;
