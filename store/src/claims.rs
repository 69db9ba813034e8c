//! Idempotency claims the API makes before acting: an `Idempotency-Key` on `POST /v1/orders`
//! ([`Store::claim_order_key`]) and a supplier callback's id ([`Store::claim_callback`]). The
//! claim is an insert that only the first request wins (`ON CONFLICT DO NOTHING`), so two
//! racing requests can never both act; the loser reads what the winner claimed.

use crate::Store;
use sqlx::Row;

/// What a claim on an `Idempotency-Key` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyClaim {
    /// The key is new: it now names `order_id` for this request.
    New,
    /// The key was used before, for `order_id` with a request whose digest is `request_sha256`.
    Used {
        order_id: String,
        request_sha256: String,
    },
}

/// What a claim on a supplier callback found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallbackClaim {
    /// The first delivery: handle it, then [`Store::finish_callback`] (or
    /// [`Store::release_callback`] if it failed, so that a retry is handled afresh).
    New,
    /// A delivery of this callback is being handled right now.
    InProgress,
    /// Handled before: the status and answer it got.
    Done { status: u16, answer: String },
}

impl Store {
    /// Claims `key` of `tenant_id` for a new order `order_id` made by a request with digest
    /// `request_sha256`, or says what the key was used for.
    pub async fn claim_order_key(
        &self,
        tenant_id: &str,
        key: &str,
        request_sha256: &str,
        order_id: &str,
        now: &str,
    ) -> anyhow::Result<KeyClaim> {
        let inserted = sqlx::query(
            "INSERT INTO order_keys (tenant_id, idempotency_key, request_sha256, order_id, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(tenant_id)
        .bind(key)
        .bind(request_sha256)
        .bind(order_id)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(KeyClaim::New);
        }
        let row = sqlx::query(
            "SELECT order_id, request_sha256 FROM order_keys
             WHERE tenant_id = $1 AND idempotency_key = $2",
        )
        .bind(tenant_id)
        .bind(key)
        .fetch_one(&self.pool)
        .await?;
        Ok(KeyClaim::Used {
            order_id: row.get("order_id"),
            request_sha256: row.get("request_sha256"),
        })
    }

    /// Gives back a key claimed by a request that could not make its order (the order id it
    /// asked for was taken), so that the key stays free for a request that can.
    pub async fn release_order_key(
        &self,
        tenant_id: &str,
        key: &str,
        order_id: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "DELETE FROM order_keys WHERE tenant_id = $1 AND idempotency_key = $2 AND order_id = $3",
        )
        .bind(tenant_id)
        .bind(key)
        .bind(order_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Claims callback `callback_id` of `supplier_id` for handling, or says how it went.
    pub async fn claim_callback(
        &self,
        supplier_id: &str,
        callback_id: &str,
        now: &str,
    ) -> anyhow::Result<CallbackClaim> {
        let inserted = sqlx::query(
            "INSERT INTO supplier_callbacks (supplier_id, callback_id, received_at)
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(supplier_id)
        .bind(callback_id)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(CallbackClaim::New);
        }
        let row = sqlx::query(
            "SELECT status, answer FROM supplier_callbacks
             WHERE supplier_id = $1 AND callback_id = $2",
        )
        .bind(supplier_id)
        .bind(callback_id)
        .fetch_optional(&self.pool)
        .await?;
        let done = row.and_then(|row| {
            let status: Option<i64> = row.get("status");
            let answer: Option<String> = row.get("answer");
            Some((u16::try_from(status?).ok()?, answer?))
        });
        Ok(match done {
            Some((status, answer)) => CallbackClaim::Done { status, answer },
            // Released between our insert and read, or still being handled: either way the
            // supplier should send it again shortly.
            None => CallbackClaim::InProgress,
        })
    }

    /// Records the answer a claimed callback got, for its repeats.
    pub async fn finish_callback(
        &self,
        supplier_id: &str,
        callback_id: &str,
        status: u16,
        answer: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE supplier_callbacks SET status = $1, answer = $2
             WHERE supplier_id = $3 AND callback_id = $4",
        )
        .bind(i64::from(status))
        .bind(answer)
        .bind(supplier_id)
        .bind(callback_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Drops the claim of a callback whose handling failed, so that the supplier's retry is
    /// handled afresh.
    pub async fn release_callback(
        &self,
        supplier_id: &str,
        callback_id: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "DELETE FROM supplier_callbacks
             WHERE supplier_id = $1 AND callback_id = $2 AND answer IS NULL",
        )
        .bind(supplier_id)
        .bind(callback_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::on_both_backends;

    on_both_backends!(the_first_claim_wins_and_the_rest_read_it);

    async fn the_first_claim_wins_and_the_rest_read_it(store: Store) {
        let claim = |key: &'static str, digest: &'static str, id: &'static str| {
            let store = store.clone();
            async move {
                store
                    .claim_order_key("acme", key, digest, id, "t")
                    .await
                    .unwrap()
            }
        };
        assert_eq!(claim("k1", "d1", "o-1").await, KeyClaim::New);
        let used = KeyClaim::Used {
            order_id: "o-1".into(),
            request_sha256: "d1".into(),
        };
        assert_eq!(claim("k1", "d2", "o-2").await, used);
        // Keys are per tenant.
        assert_eq!(
            store
                .claim_order_key("globex", "k1", "d2", "o-2", "t")
                .await
                .unwrap(),
            KeyClaim::New
        );
        // A released key is new again.
        store.release_order_key("acme", "k1", "o-1").await.unwrap();
        assert_eq!(claim("k1", "d2", "o-2").await, KeyClaim::New);

        assert_eq!(
            store.claim_callback("sim", "c1", "t").await.unwrap(),
            CallbackClaim::New
        );
        assert_eq!(
            store.claim_callback("sim", "c1", "t").await.unwrap(),
            CallbackClaim::InProgress
        );
        store.release_callback("sim", "c1").await.unwrap();
        assert_eq!(
            store.claim_callback("sim", "c1", "t").await.unwrap(),
            CallbackClaim::New
        );
        store.finish_callback("sim", "c1", 200, "{}").await.unwrap();
        // A finished claim is never released.
        store.release_callback("sim", "c1").await.unwrap();
        assert_eq!(
            store.claim_callback("sim", "c1", "t").await.unwrap(),
            CallbackClaim::Done {
                status: 200,
                answer: "{}".into()
            }
        );
        assert_eq!(
            store.claim_callback("s2", "c1", "t").await.unwrap(),
            CallbackClaim::New
        );
    }
}
