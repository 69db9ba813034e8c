//! What operators see of an order in the Temporal Web UI and can search by: keyword search
//! attributes for its state, who it belongs to, and which request is open; and the current
//! details, a paragraph on where the order is and why.

use super::OrderWorkflow;
use orderflow_domain::calls::RecordInput;
use orderflow_domain::model::OrderState;
use orderflow_domain::rules;
use temporalio_common::search_attributes::SearchAttributeKey;
use temporalio_sdk::WorkflowContext;

pub const SA_ORDER_STATE: SearchAttributeKey<String> = SearchAttributeKey::keyword("OrderState");
pub const SA_TENANT_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("TenantId");
pub const SA_SUPPLIER_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("SupplierId");
pub const SA_ORDER_REF: SearchAttributeKey<String> = SearchAttributeKey::keyword("OrderRef");
pub const SA_PENDING_REQUEST: SearchAttributeKey<String> =
    SearchAttributeKey::keyword("PendingRequest");
/// The custom search attributes the server must know (all Keyword).
pub const SEARCH_ATTRIBUTES: [&str; 5] = [
    "OrderState",
    "TenantId",
    "SupplierId",
    "OrderRef",
    "PendingRequest",
];

/// Who the order belongs to; set once per run.
pub(super) fn upsert_identity(ctx: &WorkflowContext<OrderWorkflow>) {
    let identity = ctx.state(|s| {
        let d = s.order.document();
        [
            (SA_TENANT_ID, d.tenant_id.to_string()),
            (SA_SUPPLIER_ID, d.supplier_id.to_string()),
            (SA_ORDER_REF, d.order_ref.clone()),
        ]
    });
    upsert_keywords(ctx, identity);
}

/// The state and open request after a change, and the current details.
pub(super) fn show(ctx: &WorkflowContext<OrderWorkflow>, record: &RecordInput) {
    let pending = record
        .view
        .pending_kind()
        .map_or("NONE", |k| k.as_str())
        .to_string();
    // The API starts the workflow with `OrderState` SUBMITTED (older APIs: START), the state
    // its first task moves to; writing START here would only cost a visibility write and
    // undo it. Histories from before the patch upserted every value and still do.
    let state = record.view.state;
    let order_state = (state != OrderState::Start || !ctx.state(|s| s.sa_only_changes))
        .then(|| (SA_ORDER_STATE, state.as_str().to_string()));
    upsert_keywords(
        ctx,
        order_state
            .into_iter()
            .chain([(SA_PENDING_REQUEST, pending)]),
    );
    ctx.set_current_details(rules::describe(&record.view));
}

/// Upserts keyword search attributes: only those whose value changes, under
/// [`super::patches::PATCH_SA_ONLY_CHANGES`], else all of them (as histories recorded before it
/// expect).
fn upsert_keywords(
    ctx: &WorkflowContext<OrderWorkflow>,
    values: impl IntoIterator<Item = (SearchAttributeKey<String>, String)>,
) {
    let current = ctx
        .state(|s| s.sa_only_changes)
        .then(|| ctx.search_attributes());
    let updates: Vec<_> = values
        .into_iter()
        .filter(|(key, value)| {
            current
                .as_ref()
                .is_none_or(|c| c.get(key).as_ref() != Some(value))
        })
        .map(|(key, value)| key.value_set(value))
        .collect();
    if !updates.is_empty() {
        ctx.upsert_search_attributes(updates);
    }
}
