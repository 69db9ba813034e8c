//! Speaking as the supplier: callbacks signed with the stack's simulator secret, sent the way
//! the simulator sends them, so a test decides when (and whether) a supplier answers.

use crate::Stack;
use serde_json::Value;

impl Stack {
    /// Posts a callback of supplier `sim`, signed now; the status and the body.
    pub async fn supplier_callback(&self, body: &Value) -> (u16, Value) {
        self.supplier_callback_at(body, chrono::Utc::now().timestamp())
            .await
    }

    /// Posts a callback of supplier `sim` signed at `timestamp` (unix seconds).
    pub async fn supplier_callback_at(&self, body: &Value, timestamp: i64) -> (u16, Value) {
        let body = body.to_string();
        let signature =
            orderflow_supplier_sim::sign(&self.credentials.sim_secret, timestamp, body.as_bytes());
        let r = reqwest::Client::new()
            .post(format!("{}/v1/supplier/sim/callbacks", self.api_url))
            .header("orderflow-timestamp", timestamp.to_string())
            .header("orderflow-signature", format!("v1={signature}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}
