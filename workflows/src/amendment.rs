//! Amendments (SPEC §4, seeds/000 and seeds/001) as pure functions: how a tenant's `changes`
//! apply to the order document, whether the order may be amended right now, and by which path
//! (RESTART the lifecycle, or PATCH an executing plan through the supplier).
//!
//! This module runs inside Temporal workflow code (Update validators and handlers) as well as in
//! the API (preview, capabilities), so it must be deterministic: no I/O, no clocks, no
//! randomness, and the same input always gives the same output. Every refusal is a
//! [`RuleError`] whose `code` maps to an HTTP status through [`http_status`] and whose message
//! tells the tenant what to do next.

use crate::model::{OrderDocument, OrderState, OrderView, PlanStatus, PqfCause};
use crate::rules::{FieldError, RuleError, validate_order};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

// ---------------------------------------------------------------------------------------------
// Error codes
// ---------------------------------------------------------------------------------------------

/// The order is in a state (or of a kind) that can never be amended right now. 409.
pub const NOT_AMENDABLE: &str = "NOT_AMENDABLE";
/// Another amendment, or a cancellation, is still open on the order. 409.
pub const REQUEST_IN_PROGRESS: &str = "REQUEST_IN_PROGRESS";
/// The request's `order_ref` is not the order's. 422.
pub const ORDER_REF_MISMATCH: &str = "ORDER_REF_MISMATCH";
/// A line was given `action: CANCEL` while the order is PRE_QUALIFICATION_FAILED. 422.
pub const LINE_CANCEL_NOT_ALLOWED: &str = "LINE_CANCEL_NOT_ALLOWED";
/// The plan is executing and a field outside [`PATCHABLE_WHILE_EXECUTING`] was sent. 422.
pub const FIELD_NOT_AMENDABLE: &str = "FIELD_NOT_AMENDABLE";
/// An immutable field (see [`IMMUTABLE_FIELDS`]) would change. 422.
pub const IMMUTABLE_FIELD: &str = "IMMUTABLE_FIELD";
/// `changes` names a field the order document does not have. 422.
pub const UNKNOWN_FIELD: &str = "UNKNOWN_FIELD";
/// `changes` is not an object, or a value has the wrong type for its field. 422.
pub const INVALID_CHANGES: &str = "INVALID_CHANGES";
/// The amended order would fail [`validate_order`]. 422.
pub const VALIDATION_FAILED: &str = "VALIDATION_FAILED";

/// The HTTP status for a [`RuleError`] code, so the API maps every refusal the same way.
///
/// State conflicts (the request could succeed later, or on another order) are 409; requests
/// that are wrong in themselves and must be changed before they can succeed are 422. Unknown
/// codes default to 409, the status for "not in this state".
pub fn http_status(code: &str) -> u16 {
    match code {
        NOT_AMENDABLE | REQUEST_IN_PROGRESS => 409,
        // If-Match named a revision the order has moved past.
        "REVISION_MISMATCH" => 412,
        // The Idempotency-Key was used before for different changes.
        "IDEMPOTENCY_KEY_REUSED" => 422,
        // Existing lifecycle refusals from `rules::check_operator_action`, and cancellation.
        "NOT_SUSPENDABLE"
        | "NOT_SUSPENDED"
        | "NOT_RETRYABLE"
        | "NOT_WITHDRAWABLE"
        | "NOT_CANCELLABLE"
        | "NOT_REACTIVATABLE"
        | "REASON_CODE_NOT_ALLOWED" => 409,
        // A cancellation or reactivation that is wrong in itself.
        "SCHEDULE_NOT_ALLOWED" | "REASON_REQUIRED" => 422,
        ORDER_REF_MISMATCH
        | LINE_CANCEL_NOT_ALLOWED
        | FIELD_NOT_AMENDABLE
        | IMMUTABLE_FIELD
        | UNKNOWN_FIELD
        | INVALID_CHANGES
        | VALIDATION_FAILED => 422,
        _ => 409,
    }
}

// ---------------------------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------------------------

/// Every top-level field of [`OrderDocument`] as it appears in JSON, sorted. `changes` may name
/// only these; anything else (a typo, or `revision`/`state`, which orderflow owns) is refused
/// with `UNKNOWN_FIELD` rather than silently dropped.
pub const DOCUMENT_FIELDS: [&str; 14] = [
    "attributes",
    "contact",
    "customer",
    "lines",
    "notes",
    "order_id",
    "order_ref",
    "order_type",
    "recurring",
    "requested_date",
    "site",
    "supplier_id",
    "tenant_id",
    "unsolicited",
];

/// Fields fixed at submission (SPEC §2). They identify the order or decide its kind, so
/// changing one means a different order: cancel and place a new one instead.
pub const IMMUTABLE_FIELDS: [&str; 7] = [
    "order_id",
    "order_ref",
    "order_type",
    "recurring",
    "supplier_id",
    "tenant_id",
    "unsolicited",
];

/// Fields that may change while the plan is executing (SPEC §4): they do not alter what the
/// supplier is building, only how to reach the customer and when.
pub const PATCHABLE_WHILE_EXECUTING: [&str; 3] = ["contact", "notes", "requested_date"];

/// Free-form fields that SPEC §2 defines as objects. The model holds them as any JSON value,
/// so an amendment that sets them is checked here.
const OBJECT_FIELDS: [&str; 3] = ["contact", "customer", "site"];

/// States in which an order may be amended at all (seeds/001, SPEC §4).
pub const AMENDABLE_STATES: [OrderState; 6] = [
    OrderState::Submitted,
    OrderState::Feasibility,
    OrderState::PlanDevelopment,
    OrderState::PreQualificationFailed,
    OrderState::Execution,
    OrderState::Suspended,
];

/// The sorted top-level field names present in `changes` (empty if `changes` is not an
/// object). Used for events, the amendment resource and the patchable-field check.
pub fn changed_fields(changes: &Value) -> Vec<String> {
    let mut fields: Vec<String> = match changes {
        Value::Object(map) => map.keys().cloned().collect(),
        _ => Vec::new(),
    };
    // serde_json's map is sorted unless `preserve_order` is on somewhere in the build; sort
    // anyway so the answer never depends on a feature flag.
    fields.sort();
    fields
}

/// `null`, `""` and `[]` all mean "remove this value" (seeds/000: "If an empty value or array
/// is provided then the result will be the removal of any existing value(s)").
///
/// An empty object `{}` is deliberately not in this list: under merge-patch it means "change
/// nothing inside", and it only removes the field when the result is empty (see
/// [`merge_member`]).
fn is_removal(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Comma-separated list for messages.
fn list(fields: &[impl AsRef<str>]) -> String {
    fields
        .iter()
        .map(|f| f.as_ref())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The order document as a JSON object, the thing `changes` is a merge-patch of.
fn document_json(order: &OrderDocument) -> Map<String, Value> {
    match serde_json::to_value(order).expect("an OrderDocument serializes") {
        Value::Object(map) => map,
        _ => unreachable!("an OrderDocument serializes as a JSON object"),
    }
}

fn changes_object(changes: &Value) -> Result<&Map<String, Value>, RuleError> {
    match changes {
        Value::Object(map) => Ok(map),
        other => Err(RuleError::new(
            INVALID_CHANGES,
            format!(
                "changes must be a JSON object of the fields to change, such as \
                 {{\"notes\": \"call before delivery\"}}; got {}",
                json_kind(other)
            ),
        )),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Immutable fields in `changes` whose value differs from the current one, sorted. Sending an
/// immutable field with its current value is harmless (clients often echo identifiers back)
/// and is ignored; sending a removal value (`null`, `""`, `[]`) for one is a change.
fn changed_immutables(current: &Map<String, Value>, patch: &Map<String, Value>) -> Vec<String> {
    let mut fields: Vec<String> = IMMUTABLE_FIELDS
        .iter()
        .filter(|f| match patch.get(**f) {
            None => false,
            Some(new) => is_removal(new) || current.get(**f) != Some(new),
        })
        .map(|f| f.to_string())
        .collect();
    fields.sort();
    fields
}

/// Applies one member of a merge-patch to `target` (RFC 7386 with the seeds/000 exceptions):
/// - a removal value (`null`, `""`, `[]`) removes the key;
/// - an object merges recursively into the current object (a non-object current value is
///   replaced, as RFC 7386 says), and an object left empty counts as removed, so removing the
///   last key of `customer` leaves no `customer` rather than `customer: {}`;
/// - anything else, arrays included, replaces the current value whole: a tenant sends the
///   full desired set of lines, never a diff.
fn merge_member(target: &mut Map<String, Value>, key: &str, patch: &Value) {
    if is_removal(patch) {
        target.remove(key);
        return;
    }
    match patch {
        Value::Object(members) => {
            let mut merged = match target.remove(key) {
                Some(Value::Object(current)) => current,
                _ => Map::new(),
            };
            for (k, v) in members {
                merge_member(&mut merged, k, v);
            }
            if !merged.is_empty() {
                target.insert(key.to_string(), Value::Object(merged));
            }
        }
        value => {
            target.insert(key.to_string(), value.clone());
        }
    }
}

/// What a field must look like, for type-error messages.
fn expected_shape(field: &str) -> &'static str {
    match field {
        "lines" => {
            "an array of {line_id, product_code, quantity, unit_price, action} with quantity a \
             positive integer, unit_price a decimal string such as \"12.50\" and action one of \
             ADD, MODIFY, CANCEL, NO_CHANGE"
        }
        "attributes" => "an object whose values are strings",
        "requested_date" => "a string YYYY-MM-DD",
        "notes" => "a string",
        "customer" | "contact" | "site" => "an object",
        _ => "the type it has in the order",
    }
}

/// Turns a failure to read the merged JSON back as an [`OrderDocument`] into a message naming
/// the culprit field. serde's own message has no path, so each changed field is tried alone on
/// top of the (valid) current document; the first that fails is the one to fix.
fn type_error(
    current: &Map<String, Value>,
    merged: &Map<String, Value>,
    fields: &[String],
    err: serde_json::Error,
) -> RuleError {
    for field in fields {
        let mut probe = current.clone();
        match merged.get(field) {
            Some(value) => probe.insert(field.clone(), value.clone()),
            None => probe.remove(field),
        };
        if let Err(e) = serde_json::from_value::<OrderDocument>(Value::Object(probe)) {
            return RuleError::new(
                INVALID_CHANGES,
                format!(
                    "changes.{field} does not fit the order: {e}; send {field} as {}",
                    expected_shape(field)
                ),
            );
        }
    }
    RuleError::new(
        INVALID_CHANGES,
        format!("the amended order does not fit the order document: {err}"),
    )
}

fn validation_failed(errors: &[FieldError]) -> RuleError {
    let problems: Vec<String> = errors
        .iter()
        .map(|e| format!("{} {}", e.field, e.message))
        .collect();
    RuleError::new(
        VALIDATION_FAILED,
        format!(
            "the amended order would be invalid: {}; correct these values in changes and send \
             the amendment again",
            problems.join("; ")
        ),
    )
}

/// Applies a tenant's amendment `changes` to `order` and returns the amended document.
///
/// Semantics (SPEC §4, seeds/000): JSON merge-patch (RFC 7386) on the document's JSON, except
/// that arrays are replaced whole and `null`, `""` and `[]` all remove the value, at any depth
/// (an `attributes` entry set to one of them is removed; `attributes: null` clears them all;
/// `lines: []` or `lines: null` leaves no lines). Nested objects (`customer`, `contact`,
/// `site`, `attributes`) merge recursively and an object left empty is removed. Fields not in
/// `changes` are untouched.
///
/// Checks, in order (the first failure is returned):
/// 1. `changes` is a JSON object, else `INVALID_CHANGES`;
/// 2. every top-level field exists in the document, else `UNKNOWN_FIELD` naming them;
/// 3. no immutable field changes, else `IMMUTABLE_FIELD` listing them (same value: ignored);
/// 4. the result reads back as an [`OrderDocument`], and `customer`/`contact`/`site`, if
///    changed, are objects, else `INVALID_CHANGES` naming the field;
/// 5. the result passes [`validate_order`], else `VALIDATION_FAILED` listing the problems.
///
/// Idempotent: applying the same `changes` to the result gives the result again.
pub fn merge_changes(order: &OrderDocument, changes: &Value) -> Result<OrderDocument, RuleError> {
    let patch = changes_object(changes)?;
    let fields = changed_fields(changes);

    let unknown: Vec<&String> = fields
        .iter()
        .filter(|f| !DOCUMENT_FIELDS.contains(&f.as_str()))
        .collect();
    if !unknown.is_empty() {
        let mut amendable: Vec<&str> = DOCUMENT_FIELDS
            .iter()
            .copied()
            .filter(|f| !IMMUTABLE_FIELDS.contains(f))
            .collect();
        amendable.sort();
        let noun = if unknown.len() == 1 {
            "field"
        } else {
            "fields"
        };
        return Err(RuleError::new(
            UNKNOWN_FIELD,
            format!(
                "unknown {noun} in changes: {}; remove {} (the order's amendable fields are {})",
                list(&unknown),
                if unknown.len() == 1 { "it" } else { "them" },
                list(&amendable)
            ),
        ));
    }

    let current = document_json(order);
    let immutable = changed_immutables(&current, patch);
    if !immutable.is_empty() {
        return Err(RuleError::new(
            IMMUTABLE_FIELD,
            format!(
                "{} cannot change after submission; leave {} out of changes (or send the \
                 current value). To change {}, cancel this order and place a new one",
                list(&immutable),
                if immutable.len() == 1 { "it" } else { "them" },
                if immutable.len() == 1 { "it" } else { "them" },
            ),
        ));
    }

    let mut merged = current.clone();
    for field in &fields {
        // Immutable fields reaching here carry their current value: nothing to apply.
        if IMMUTABLE_FIELDS.contains(&field.as_str()) {
            continue;
        }
        merge_member(&mut merged, field, &patch[field]);
    }

    let doc = serde_json::from_value::<OrderDocument>(Value::Object(merged.clone()))
        .map_err(|e| type_error(&current, &merged, &fields, e))?;

    for field in OBJECT_FIELDS {
        if let Some(value) = merged.get(field)
            && patch.contains_key(field)
            && !value.is_object()
        {
            return Err(RuleError::new(
                INVALID_CHANGES,
                format!(
                    "changes.{field} must be an object (got {}); send {field} as {}, or null to \
                     remove it",
                    json_kind(value),
                    expected_shape(field)
                ),
            ));
        }
    }

    validate_order(&doc).map_err(|errors| validation_failed(&errors))?;
    Ok(doc)
}

// ---------------------------------------------------------------------------------------------
// Whether, and how, the order may be amended
// ---------------------------------------------------------------------------------------------

/// How an accepted amendment is carried out (SPEC §4).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AmendPath {
    /// No plan is executing yet: update the order, discard any plan, start again at SUBMITTED.
    Restart,
    /// The plan is executing: the supplier must accept the patch; the amendment is PENDING.
    Patch,
}

impl AmendPath {
    /// The wire name, `RESTART` or `PATCH`.
    pub fn as_str(self) -> &'static str {
        match self {
            AmendPath::Restart => "RESTART",
            AmendPath::Patch => "PATCH",
        }
    }
}

impl std::fmt::Display for AmendPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which request is already open on the order (its `pending_request`), if any. Only one
/// amendment may be active at a time, and none may start while a cancellation is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PendingKind {
    Amendment,
    Cancellation,
    /// A scheduled reactivation of an INACTIVE subscription (which is not amendable anyway).
    Reactivation,
}

/// What the tenant can do instead when the state forbids amending.
fn not_amendable_hint(state: OrderState) -> &'static str {
    match state {
        OrderState::Draft => {
            "it has not been placed yet: edit it with PUT /v1/orders/{order_id}, then place it"
        }
        OrderState::Start => "it is still being recorded: try again in a moment",
        OrderState::ErrorHandler => {
            "it is waiting for an operator to retry or withdraw it: amend it once it is moving \
             again"
        }
        OrderState::Active | OrderState::Inactive => {
            "the subscription has been fulfilled: place a MODIFY order to change it"
        }
        _ => "it is finished: place a new order instead",
    }
}

/// Is the order amendable now, and by which path? `pending` says whether an amendment or a
/// cancellation is already open on it.
///
/// Checks in order: an unsolicited cease is never amendable (`NOT_AMENDABLE`); an open request
/// blocks (`REQUEST_IN_PROGRESS`); the state must be one of [`AMENDABLE_STATES`]
/// (`NOT_AMENDABLE`); PRE_QUALIFICATION_FAILED caused by validation is final
/// (`NOT_AMENDABLE`). Then the path:
/// - SUBMITTED, FEASIBILITY, PLAN_DEVELOPMENT, PRE_QUALIFICATION_FAILED → RESTART;
/// - EXECUTION and SUSPENDED decide by the plan (a suspended order resumes where it stopped,
///   so what matters is whether its plan had started): no plan, a PENDING plan or a
///   DISCARDED one (it no longer counts) → RESTART; an EXECUTING plan → PATCH; a DONE plan →
///   `NOT_AMENDABLE`, since every step has been fulfilled and nothing is left to change.
pub fn amend_path(view: &OrderView, pending: Option<PendingKind>) -> Result<AmendPath, RuleError> {
    let order_id = &view.document.order_id;
    if view.document.unsolicited {
        return Err(RuleError::new(
            NOT_AMENDABLE,
            format!(
                "order {order_id} is an unsolicited cease raised by the supplier and can never \
                 be amended; to stop it, cancel it with an accepted reason_code"
            ),
        ));
    }
    match pending {
        Some(PendingKind::Amendment) => {
            return Err(RuleError::new(
                REQUEST_IN_PROGRESS,
                format!(
                    "an amendment to order {order_id} is already in progress (see the order's \
                     pending_request); wait until it is ACCEPTED or REJECTED, then send this \
                     amendment again"
                ),
            ));
        }
        Some(PendingKind::Cancellation) => {
            return Err(RuleError::new(
                REQUEST_IN_PROGRESS,
                format!(
                    "a cancellation of order {order_id} is in progress (see the order's \
                     pending_request); if the supplier rejects it the order carries on and can \
                     be amended then"
                ),
            ));
        }
        Some(PendingKind::Reactivation) | None => {}
    }
    let state = view.state;
    if !AMENDABLE_STATES.contains(&state) {
        return Err(RuleError::new(
            NOT_AMENDABLE,
            format!(
                "order {order_id} is {state} and cannot be amended (amendable in {}); {}",
                list(&AMENDABLE_STATES.map(|s| s.as_str())),
                not_amendable_hint(state).replace("{order_id}", order_id)
            ),
        ));
    }
    match state {
        OrderState::PreQualificationFailed if view.cause == Some(PqfCause::Validation) => {
            Err(RuleError::new(
                NOT_AMENDABLE,
                format!(
                    "order {order_id} failed validation (PRE_QUALIFICATION_FAILED, cause \
                     VALIDATION) and cannot be amended; place a new, corrected order"
                ),
            ))
        }
        OrderState::Execution | OrderState::Suspended => {
            match view.plan.as_ref().map(|p| p.status) {
                None | Some(PlanStatus::Pending) | Some(PlanStatus::Discarded) => {
                    Ok(AmendPath::Restart)
                }
                Some(PlanStatus::Executing) => Ok(AmendPath::Patch),
                Some(PlanStatus::Done) => Err(RuleError::new(
                    NOT_AMENDABLE,
                    format!(
                        "order {order_id} is {state} but its plan has finished, so there is \
                         nothing left to amend; once the order is fulfilled, place a new (MODIFY) \
                         order to change it"
                    ),
                )),
            }
        }
        _ => Ok(AmendPath::Restart),
    }
}

/// Fields of `changes` that may not change while the plan is executing, sorted: every field
/// outside [`PATCHABLE_WHILE_EXECUTING`], except immutable fields sent with their current
/// value (ignored, as in [`merge_changes`]) and unknown fields (left for `merge_changes` to
/// report as `UNKNOWN_FIELD`, which says more than "not amendable"). Also what the preview
/// endpoint shows as refused fields.
pub fn fields_refused_while_executing(order: &OrderDocument, changes: &Value) -> Vec<String> {
    let Value::Object(patch) = changes else {
        return Vec::new();
    };
    let current = document_json(order);
    changed_fields(changes)
        .into_iter()
        .filter(|f| DOCUMENT_FIELDS.contains(&f.as_str()))
        .filter(|f| !PATCHABLE_WHILE_EXECUTING.contains(&f.as_str()))
        .filter(|f| {
            !IMMUTABLE_FIELDS.contains(&f.as_str())
                || is_removal(&patch[f])
                || current.get(f) != Some(&patch[f])
        })
        .collect()
}

/// Lines in `changes.lines` with `action: CANCEL`, named by `line_id` (or position).
fn cancelled_lines(changes: &Value) -> Vec<String> {
    let Some(Value::Array(lines)) = changes.get("lines") else {
        return Vec::new();
    };
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.get("action").and_then(Value::as_str) == Some("CANCEL"))
        .map(
            |(i, line)| match line.get("line_id").and_then(Value::as_str) {
                Some(id) if !id.is_empty() => id.to_string(),
                _ => format!("lines[{i}]"),
            },
        )
        .collect()
}

/// Full check of one amendment request; returns the path and the amended document, or the
/// first refusal. Order (so the tenant hears about the most fundamental problem first):
/// 1. `order_ref` must be the order's (`ORDER_REF_MISMATCH`): every amendment carries the
///    same `order_ref` (seeds/001);
/// 2. [`amend_path`]: is the order amendable now;
/// 3. in PRE_QUALIFICATION_FAILED, no line in `changes.lines` may have action CANCEL
///    (`LINE_CANCEL_NOT_ALLOWED`, seeds/001);
/// 4. on the PATCH path, only [`PATCHABLE_WHILE_EXECUTING`] fields may be sent
///    (`FIELD_NOT_AMENDABLE`, listing the others, see [`fields_refused_while_executing`]);
/// 5. [`merge_changes`] must succeed.
///
/// Pure: used both by the workflow's Update validator (refusals write nothing to history) and
/// by the API's preview.
pub fn check_amendment(
    view: &OrderView,
    pending: Option<PendingKind>,
    order_ref: &str,
    changes: &Value,
) -> Result<(AmendPath, OrderDocument), RuleError> {
    if order_ref != view.document.order_ref {
        return Err(RuleError::new(
            ORDER_REF_MISMATCH,
            format!(
                "order_ref '{order_ref}' does not match order {}, whose order_ref is '{}'; send \
                 the order_ref the order was placed with",
                view.document.order_id, view.document.order_ref
            ),
        ));
    }
    let path = amend_path(view, pending)?;
    if changes.as_object().is_some_and(|c| c.is_empty()) {
        return Err(RuleError::new(
            INVALID_CHANGES,
            "'changes' is empty: name at least one field to change",
        ));
    }
    if view.state == OrderState::PreQualificationFailed {
        let cancelled = cancelled_lines(changes);
        if !cancelled.is_empty() {
            return Err(RuleError::new(
                LINE_CANCEL_NOT_ALLOWED,
                format!(
                    "the order is PRE_QUALIFICATION_FAILED, where a line cannot be amended to \
                     action CANCEL (refused: {}); to drop a line, send lines without it (lines \
                     are replaced whole)",
                    list(&cancelled)
                ),
            ));
        }
    }
    if path == AmendPath::Patch {
        let refused = fields_refused_while_executing(&view.document, changes);
        if !refused.is_empty() {
            return Err(RuleError::new(
                FIELD_NOT_AMENDABLE,
                format!(
                    "the plan is executing: only {} can change; refused: {}. Remove {} from \
                     changes, or cancel the order and place a new one",
                    list(&PATCHABLE_WHILE_EXECUTING),
                    list(&refused),
                    if refused.len() == 1 { "it" } else { "them" }
                ),
            ));
        }
    }
    let document = merge_changes(&view.document, changes)?;
    Ok((path, document))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LineAction, OrderLine, OrderType, Plan, PlanStep, StepStatus};
    use serde_json::json;

    fn line(id: &str, qty: u32) -> OrderLine {
        OrderLine {
            line_id: id.into(),
            product_code: "FIBRE-1G".into(),
            quantity: qty,
            unit_price: "49.99".into(),
            action: LineAction::Add,
        }
    }

    /// A document with every field set, so "untouched" checks cover everything.
    fn doc() -> OrderDocument {
        OrderDocument {
            order_id: "ord-1".into(),
            order_ref: "PO-1".into(),
            tenant_id: "acme".into(),
            supplier_id: "sim".into(),
            order_type: OrderType::Provide,
            unsolicited: false,
            recurring: false,
            customer: Some(json!({"name": "Acme", "vat": "GB1", "tags": ["a", "b"]})),
            contact: Some(json!({"name": "Wile E.", "email": "wile@acme.test"})),
            site: Some(json!({
                "address": {"line1": "1 Road", "city": "Springfield", "postcode": "SP1"},
                "floors": [1, 2]
            })),
            requested_date: Some("2026-12-01".into()),
            notes: Some("ring twice".into()),
            attributes: [("sim.steps", "3"), ("sim.amend", "accept")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            lines: vec![line("l1", 1), line("l2", 2)],
        }
    }

    fn plan(status: PlanStatus) -> Plan {
        Plan {
            plan_id: "p1".into(),
            status,
            steps: vec![PlanStep {
                step_id: "s1".into(),
                name: "install".into(),
                status: StepStatus::Pending,
                point_of_no_return: false,
            }],
        }
    }

    fn view(state: OrderState, plan_status: Option<PlanStatus>) -> OrderView {
        let mut v = OrderView::received(doc(), "2026-01-01T00:00:00Z".into());
        v.state = state;
        v.plan = plan_status.map(plan);
        v.transferred = state != OrderState::Submitted;
        if state == OrderState::PreQualificationFailed {
            v.cause = Some(PqfCause::Feasibility);
        }
        v
    }

    fn merge(changes: Value) -> Result<OrderDocument, RuleError> {
        merge_changes(&doc(), &changes)
    }

    fn merge_err(changes: Value) -> RuleError {
        match merge(changes.clone()) {
            Ok(d) => panic!("{changes} should be refused, got {d:?}"),
            Err(e) => e,
        }
    }

    fn json_of(d: &OrderDocument) -> Map<String, Value> {
        document_json(d)
    }

    /// Top-level fields whose JSON differs between two documents.
    fn differing(a: &OrderDocument, b: &OrderDocument) -> Vec<String> {
        let (a, b) = (json_of(a), json_of(b));
        let mut keys: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
        keys.sort();
        keys.dedup();
        keys.into_iter().filter(|k| a.get(k) != b.get(k)).collect()
    }

    const PLAN_STATUSES: [Option<PlanStatus>; 5] = [
        None,
        Some(PlanStatus::Pending),
        Some(PlanStatus::Executing),
        Some(PlanStatus::Done),
        Some(PlanStatus::Discarded),
    ];

    // --- field lists -------------------------------------------------------------------------

    #[test]
    fn field_lists_match_the_model() {
        let mut keys: Vec<String> = json_of(&doc()).keys().cloned().collect();
        keys.sort();
        let mut expected: Vec<String> = DOCUMENT_FIELDS.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(keys, expected, "DOCUMENT_FIELDS drifted from OrderDocument");
        assert!(DOCUMENT_FIELDS.is_sorted() && IMMUTABLE_FIELDS.is_sorted());
        assert!(PATCHABLE_WHILE_EXECUTING.is_sorted());
        for f in IMMUTABLE_FIELDS.iter().chain(&PATCHABLE_WHILE_EXECUTING) {
            assert!(DOCUMENT_FIELDS.contains(f), "{f}");
        }
        for f in PATCHABLE_WHILE_EXECUTING {
            assert!(!IMMUTABLE_FIELDS.contains(&f), "{f}");
        }
    }

    #[test]
    fn changed_fields_are_sorted_top_level_names() {
        assert_eq!(
            changed_fields(&json!({"site": {"a": 1}, "notes": "x", "attributes": null})),
            vec!["attributes", "notes", "site"]
        );
        assert!(changed_fields(&json!({})).is_empty());
        for not_object in [json!(null), json!([{"notes": 1}]), json!("notes"), json!(3)] {
            assert!(changed_fields(&not_object).is_empty(), "{not_object}");
        }
    }

    // --- amend_path ----------------------------------------------------------------------------

    /// Expected outcome for (state, plan status, PQF cause), written as an explicit table.
    fn expected_path(
        state: OrderState,
        plan: Option<PlanStatus>,
        cause: Option<PqfCause>,
    ) -> Result<AmendPath, &'static str> {
        use AmendPath::*;
        use OrderState as S;
        use PlanStatus as P;
        match (state, plan) {
            (S::Submitted | S::Feasibility | S::PlanDevelopment, _) => Ok(Restart),
            (S::PreQualificationFailed, _) => match cause {
                Some(PqfCause::Validation) => Err(NOT_AMENDABLE),
                Some(PqfCause::Feasibility) | None => Ok(Restart),
            },
            (S::Execution | S::Suspended, None) => Ok(Restart),
            (S::Execution | S::Suspended, Some(P::Pending)) => Ok(Restart),
            (S::Execution | S::Suspended, Some(P::Discarded)) => Ok(Restart),
            (S::Execution | S::Suspended, Some(P::Executing)) => Ok(Patch),
            (S::Execution | S::Suspended, Some(P::Done)) => Err(NOT_AMENDABLE),
            (
                S::Draft
                | S::Start
                | S::ErrorHandler
                | S::Complete
                | S::Active
                | S::Inactive
                | S::Cancelled
                | S::Withdrawn,
                _,
            ) => Err(NOT_AMENDABLE),
        }
    }

    #[test]
    fn amend_path_for_every_state_plan_status_and_cause() {
        let mut cases = 0;
        for state in OrderState::ALL {
            for plan in PLAN_STATUSES {
                for cause in [
                    None,
                    Some(PqfCause::Validation),
                    Some(PqfCause::Feasibility),
                ] {
                    let mut v = view(state, plan);
                    v.cause = cause;
                    let got = amend_path(&v, None).map_err(|e| e.code);
                    let want = expected_path(state, plan, cause).map_err(str::to_string);
                    assert_eq!(got, want, "{state} plan {plan:?} cause {cause:?}");
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, 14 * 5 * 3);
    }

    #[test]
    fn refused_states_are_named_with_a_next_step() {
        for (state, hint) in [
            (OrderState::Draft, "PUT /v1/orders/ord-1"),
            (OrderState::Start, "try again"),
            (OrderState::ErrorHandler, "operator"),
            (OrderState::Complete, "new order"),
            (OrderState::Cancelled, "new order"),
            (OrderState::Withdrawn, "new order"),
            (OrderState::Active, "MODIFY order"),
            (OrderState::Inactive, "MODIFY order"),
        ] {
            let e = amend_path(&view(state, None), None).unwrap_err();
            assert_eq!(e.code, NOT_AMENDABLE);
            assert!(e.message.contains(state.as_str()), "{}", e.message);
            assert!(e.message.contains(hint), "{state}: {}", e.message);
            assert!(
                e.message.contains("SUBMITTED, FEASIBILITY"),
                "{}",
                e.message
            );
        }
        let e = amend_path(&view(OrderState::Execution, Some(PlanStatus::Done)), None).unwrap_err();
        assert!(e.message.contains("plan has finished"), "{}", e.message);
    }

    #[test]
    fn unsolicited_cease_is_never_amendable_and_is_checked_first() {
        for state in OrderState::ALL {
            for pending in [
                None,
                Some(PendingKind::Amendment),
                Some(PendingKind::Cancellation),
            ] {
                let mut v = view(state, Some(PlanStatus::Executing));
                v.document.unsolicited = true;
                let e = amend_path(&v, pending).unwrap_err();
                assert_eq!(e.code, NOT_AMENDABLE, "{state} {pending:?}");
                assert!(e.message.contains("unsolicited cease"), "{}", e.message);
            }
        }
    }

    #[test]
    fn an_open_request_blocks_before_the_state_is_considered() {
        for state in OrderState::ALL {
            let v = view(state, Some(PlanStatus::Executing));
            let e = amend_path(&v, Some(PendingKind::Amendment)).unwrap_err();
            assert_eq!(e.code, REQUEST_IN_PROGRESS);
            assert!(e.message.contains("an amendment"), "{}", e.message);
            let e = amend_path(&v, Some(PendingKind::Cancellation)).unwrap_err();
            assert_eq!(e.code, REQUEST_IN_PROGRESS);
            assert!(e.message.contains("a cancellation"), "{}", e.message);
        }
    }

    #[test]
    fn validation_failure_is_final_but_feasibility_failure_restarts() {
        let mut v = view(OrderState::PreQualificationFailed, None);
        v.cause = Some(PqfCause::Validation);
        let e = amend_path(&v, None).unwrap_err();
        assert_eq!(e.code, NOT_AMENDABLE);
        assert!(e.message.contains("new, corrected order"), "{}", e.message);
        v.cause = Some(PqfCause::Feasibility);
        assert_eq!(amend_path(&v, None), Ok(AmendPath::Restart));
    }

    #[test]
    fn amend_path_serializes_as_wire_names() {
        assert_eq!(json!(AmendPath::Restart), json!("RESTART"));
        assert_eq!(json!(AmendPath::Patch), json!("PATCH"));
        assert_eq!(AmendPath::Patch.to_string(), "PATCH");
        assert_eq!(json!(PendingKind::Cancellation), json!("CANCELLATION"));
    }

    // --- check_amendment -----------------------------------------------------------------------

    #[test]
    fn order_ref_must_match_and_is_checked_first() {
        let mut v = view(OrderState::Complete, None);
        v.document.unsolicited = true;
        for wrong in ["PO-2", "", "po-1", " PO-1"] {
            let e =
                check_amendment(&v, Some(PendingKind::Amendment), wrong, &json!({})).unwrap_err();
            assert_eq!(e.code, ORDER_REF_MISMATCH, "{wrong:?}");
            assert!(e.message.contains("'PO-1'"), "{}", e.message);
        }
    }

    #[test]
    fn check_amendment_returns_path_and_merged_document() {
        let changes = json!({"notes": "leave at gate", "lines": [line("l9", 3)]});
        let (path, d) =
            check_amendment(&view(OrderState::Feasibility, None), None, "PO-1", &changes).unwrap();
        assert_eq!(path, AmendPath::Restart);
        assert_eq!(d.notes.as_deref(), Some("leave at gate"));
        assert_eq!(d.lines, vec![line("l9", 3)]);

        let v = view(OrderState::Execution, Some(PlanStatus::Executing));
        let changes = json!({"contact": {"phone": "555"}, "requested_date": "2027-01-02"});
        let (path, d) = check_amendment(&v, None, "PO-1", &changes).unwrap();
        assert_eq!(path, AmendPath::Patch);
        assert_eq!(d.contact.unwrap()["phone"], "555");
        assert_eq!(d.requested_date.as_deref(), Some("2027-01-02"));
    }

    #[test]
    fn amend_path_refusals_come_through_check_amendment() {
        let e = check_amendment(&view(OrderState::Complete, None), None, "PO-1", &json!({}))
            .unwrap_err();
        assert_eq!(e.code, NOT_AMENDABLE);
        let e = check_amendment(
            &view(OrderState::Submitted, None),
            Some(PendingKind::Cancellation),
            "PO-1",
            &json!({"notes": "x"}),
        )
        .unwrap_err();
        assert_eq!(e.code, REQUEST_IN_PROGRESS);
    }

    #[test]
    fn line_cancel_is_refused_only_in_pre_qualification_failed() {
        let mut cancelled = line("l2", 2);
        cancelled.action = LineAction::Cancel;
        let changes = json!({"lines": [line("l1", 1), cancelled]});
        let pqf = view(OrderState::PreQualificationFailed, None);
        let e = check_amendment(&pqf, None, "PO-1", &changes).unwrap_err();
        assert_eq!(e.code, LINE_CANCEL_NOT_ALLOWED);
        assert!(e.message.contains("refused: l2"), "{}", e.message);
        assert!(e.message.contains("send lines without it"), "{}", e.message);

        // A CANCEL line without a line_id is named by position.
        let e = check_amendment(
            &pqf,
            None,
            "PO-1",
            &json!({"lines": [{"action": "CANCEL"}]}),
        )
        .unwrap_err();
        assert_eq!(e.code, LINE_CANCEL_NOT_ALLOWED);
        assert!(e.message.contains("lines[0]"), "{}", e.message);

        // Dropping the line instead is fine there.
        let (path, d) =
            check_amendment(&pqf, None, "PO-1", &json!({"lines": [line("l1", 1)]})).unwrap();
        assert_eq!((path, d.lines.len()), (AmendPath::Restart, 1));

        // Elsewhere a CANCEL line is an ordinary amendment.
        let (path, d) =
            check_amendment(&view(OrderState::Submitted, None), None, "PO-1", &changes).unwrap();
        assert_eq!(path, AmendPath::Restart);
        assert_eq!(d.lines[1].action, LineAction::Cancel);
    }

    #[test]
    fn executing_plan_allows_only_patchable_fields() {
        for state in [OrderState::Execution, OrderState::Suspended] {
            let v = view(state, Some(PlanStatus::Executing));
            let e = check_amendment(
                &v,
                None,
                "PO-1",
                &json!({"site": {"floors": [3]}, "notes": "x", "lines": [line("l1", 5)]}),
            )
            .unwrap_err();
            assert_eq!(e.code, FIELD_NOT_AMENDABLE);
            assert!(
                e.message.starts_with(
                    "the plan is executing: only contact, notes, requested_date can change; \
                     refused: lines, site."
                ),
                "{}",
                e.message
            );
            for field in PATCHABLE_WHILE_EXECUTING {
                let changes = match field {
                    "requested_date" => json!({field: "2027-03-04"}),
                    "contact" => json!({field: {"name": "Road Runner"}}),
                    _ => json!({field: "beep"}),
                };
                assert!(
                    check_amendment(&v, None, "PO-1", &changes).is_ok(),
                    "{field}"
                );
                // Removing a patchable field is a change too, and allowed.
                assert!(
                    check_amendment(&v, None, "PO-1", &json!({field: null})).is_ok(),
                    "{field}"
                );
            }
        }
    }

    #[test]
    fn executing_plan_ignores_echoed_immutables_and_leaves_unknowns_to_merge() {
        let v = view(OrderState::Execution, Some(PlanStatus::Executing));
        let echoed = json!({"order_id": "ord-1", "order_ref": "PO-1", "notes": "x"});
        assert!(check_amendment(&v, None, "PO-1", &echoed).is_ok());

        let e = check_amendment(&v, None, "PO-1", &json!({"order_type": "CEASE"})).unwrap_err();
        assert_eq!(e.code, FIELD_NOT_AMENDABLE);
        assert!(e.message.contains("refused: order_type."), "{}", e.message);

        let e = check_amendment(&v, None, "PO-1", &json!({"notez": "x"})).unwrap_err();
        assert_eq!(e.code, UNKNOWN_FIELD);
        assert!(e.message.contains("notez"), "{}", e.message);

        assert_eq!(
            fields_refused_while_executing(
                &doc(),
                &json!({"tenant_id": null, "recurring": false, "attributes": {}, "zz": 1})
            ),
            vec!["attributes", "tenant_id"]
        );
        assert!(fields_refused_while_executing(&doc(), &json!("x")).is_empty());
    }

    #[test]
    fn merge_failures_come_through_check_amendment() {
        let v = view(OrderState::PlanDevelopment, Some(PlanStatus::Pending));
        for (changes, code) in [
            (json!([1]), INVALID_CHANGES),
            (json!({"supplier_id": "other"}), IMMUTABLE_FIELD),
            (json!({"lines": "x"}), INVALID_CHANGES),
            (json!({"requested_date": "tomorrow"}), VALIDATION_FAILED),
            (json!({"colour": "red"}), UNKNOWN_FIELD),
        ] {
            assert_eq!(
                check_amendment(&v, None, "PO-1", &changes)
                    .unwrap_err()
                    .code,
                code,
                "{changes}"
            );
        }
    }

    // --- http_status ---------------------------------------------------------------------------

    #[test]
    fn every_code_has_its_http_status() {
        for code in [
            NOT_AMENDABLE,
            REQUEST_IN_PROGRESS,
            "NOT_SUSPENDABLE",
            "NOT_SUSPENDED",
            "NOT_RETRYABLE",
            "NOT_WITHDRAWABLE",
            "NOT_CANCELLABLE",
            "SOMETHING_NEW",
        ] {
            assert_eq!(http_status(code), 409, "{code}");
        }
        for code in [
            ORDER_REF_MISMATCH,
            LINE_CANCEL_NOT_ALLOWED,
            FIELD_NOT_AMENDABLE,
            IMMUTABLE_FIELD,
            UNKNOWN_FIELD,
            INVALID_CHANGES,
            VALIDATION_FAILED,
        ] {
            assert_eq!(http_status(code), 422, "{code}");
        }
    }

    // --- merge_changes -------------------------------------------------------------------------

    #[test]
    fn scalars_are_replaced_and_nothing_else_moves() {
        let d = merge(json!({"notes": "back door", "requested_date": "2027-02-03"})).unwrap();
        assert_eq!(d.notes.as_deref(), Some("back door"));
        assert_eq!(d.requested_date.as_deref(), Some("2027-02-03"));
        assert_eq!(differing(&doc(), &d), vec!["notes", "requested_date"]);
    }

    #[test]
    fn empty_changes_change_nothing() {
        assert_eq!(merge(json!({})).unwrap(), doc());
    }

    #[test]
    fn nested_objects_merge_recursively() {
        let d = merge(json!({
            "customer": {"name": "Acme Ltd", "segment": "SMB"},
            "site": {"address": {"city": "Shelbyville"}}
        }))
        .unwrap();
        assert_eq!(
            d.customer.unwrap(),
            json!({"name": "Acme Ltd", "vat": "GB1", "tags": ["a", "b"], "segment": "SMB"})
        );
        assert_eq!(
            d.site.unwrap(),
            json!({
                "address": {"line1": "1 Road", "city": "Shelbyville", "postcode": "SP1"},
                "floors": [1, 2]
            })
        );

        // An object where there was none (or a scalar) is taken as given, minus removals.
        let mut base = doc();
        base.contact = None;
        base.site = Some(json!("somewhere"));
        let d = merge_changes(
            &base,
            &json!({"contact": {"email": "a@b.c", "phone": null},
                     "site": {"postcode": "X1", "floor": ""}}),
        )
        .unwrap();
        assert_eq!(d.contact, Some(json!({"email": "a@b.c"})));
        assert_eq!(d.site, Some(json!({"postcode": "X1"})));
    }

    #[test]
    fn arrays_are_replaced_whole() {
        let d = merge(json!({"lines": [line("l3", 7)]})).unwrap();
        assert_eq!(d.lines, vec![line("l3", 7)]);
        let d =
            merge(json!({"customer": {"tags": ["c"]}, "site": {"floors": [{"n": 3}]}})).unwrap();
        assert_eq!(d.customer.unwrap()["tags"], json!(["c"]));
        assert_eq!(d.site.unwrap()["floors"], json!([{"n": 3}]));
        // Array elements are values, not patches: a null inside is kept as sent.
        let d = merge(json!({"customer": {"tags": [null, ""]}})).unwrap();
        assert_eq!(d.customer.unwrap()["tags"], json!([null, ""]));
    }

    #[test]
    fn null_empty_string_and_empty_array_remove_at_top_level() {
        for removal in [json!(null), json!(""), json!([])] {
            let d = merge(json!({
                "notes": removal, "requested_date": removal, "customer": removal,
                "contact": removal, "site": removal, "lines": removal, "attributes": removal
            }))
            .unwrap();
            assert_eq!(d.notes, None, "{removal}");
            assert_eq!(d.requested_date, None);
            assert_eq!((d.customer, d.contact, d.site), (None, None, None));
            assert!(d.lines.is_empty());
            assert!(d.attributes.is_empty());
            // The rest stays.
            assert_eq!(d.order_id, "ord-1");
            assert_eq!(d.supplier_id, "sim");
        }
    }

    #[test]
    fn null_empty_string_and_empty_array_remove_nested() {
        for removal in [json!(null), json!(""), json!([])] {
            let d = merge(json!({
                "customer": {"vat": removal, "tags": removal},
                "site": {"address": {"postcode": removal}}
            }))
            .unwrap();
            assert_eq!(d.customer, Some(json!({"name": "Acme"})), "{removal}");
            assert_eq!(
                d.site.unwrap()["address"],
                json!({"line1": "1 Road", "city": "Springfield"})
            );
        }
    }

    #[test]
    fn an_object_left_empty_is_removed() {
        let d = merge(json!({"contact": {"name": null, "email": ""}})).unwrap();
        assert_eq!(d.contact, None);
        // Nested: emptying `address` removes it, and `site` keeps its other members.
        let d = merge(json!({"site": {"address": {"line1": null, "city": null, "postcode": []}}}))
            .unwrap();
        assert_eq!(d.site, Some(json!({"floors": [1, 2]})));
        // Emptying everything in `site` removes `site`.
        let d = merge(json!({"site": {"address": null, "floors": []}})).unwrap();
        assert_eq!(d.site, None);
        // `{}` alone changes nothing (merge-patch), and an absent object stays absent.
        assert_eq!(
            merge(json!({"customer": {}, "attributes": {}})).unwrap(),
            doc()
        );
        let mut base = doc();
        base.contact = None;
        assert_eq!(
            merge_changes(&base, &json!({"contact": {}}))
                .unwrap()
                .contact,
            None
        );
    }

    #[test]
    fn attribute_keys_are_added_replaced_and_removed() {
        let d = merge(json!({"attributes": {
            "sim.steps": "5", "sim.amend": null, "sim.feasible": "false", "sim.cancel": ""
        }}))
        .unwrap();
        let got: Vec<(&str, &str)> = d
            .attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, vec![("sim.feasible", "false"), ("sim.steps", "5")]);

        for clear in [json!(null), json!(""), json!([])] {
            assert!(
                merge(json!({"attributes": clear}))
                    .unwrap()
                    .attributes
                    .is_empty()
            );
        }
        let d = merge(json!({"attributes": {"sim.steps": null, "sim.amend": null}})).unwrap();
        assert!(d.attributes.is_empty());
    }

    #[test]
    fn immutable_fields_may_be_echoed_but_not_changed() {
        let same = json!({
            "order_id": "ord-1", "order_ref": "PO-1", "tenant_id": "acme", "supplier_id": "sim",
            "order_type": "PROVIDE", "unsolicited": false, "recurring": false, "notes": "n"
        });
        let d = merge(same).unwrap();
        assert_eq!(differing(&doc(), &d), vec!["notes"]);

        let different = [
            ("order_id", json!("ord-2")),
            ("order_ref", json!("PO-2")),
            ("tenant_id", json!("globex")),
            ("supplier_id", json!("other")),
            ("order_type", json!("CEASE")),
            ("unsolicited", json!(true)),
            ("recurring", json!(true)),
        ];
        for (field, value) in &different {
            let e = merge_err(json!({*field: value, "notes": "n"}));
            assert_eq!(e.code, IMMUTABLE_FIELD, "{field}");
            assert!(
                e.message.starts_with(&format!("{field} cannot change")),
                "{}",
                e.message
            );
            assert!(e.message.contains("place a new one"), "{}", e.message);
            // Removing is changing.
            for removal in [json!(null), json!(""), json!([])] {
                assert_eq!(merge_err(json!({*field: removal})).code, IMMUTABLE_FIELD);
            }
        }
        // Several at once are all listed, sorted.
        let e = merge_err(json!({"recurring": true, "order_ref": "X", "unsolicited": "yes"}));
        assert!(
            e.message
                .starts_with("order_ref, recurring, unsolicited cannot change"),
            "{}",
            e.message
        );
        // Same meaning in another spelling is still a different value.
        assert_eq!(
            merge_err(json!({"order_type": "provide"})).code,
            IMMUTABLE_FIELD
        );
    }

    #[test]
    fn unknown_fields_are_named() {
        let e = merge_err(json!({"notez": "x", "notes": "y"}));
        assert_eq!(e.code, UNKNOWN_FIELD);
        assert!(
            e.message.starts_with("unknown field in changes: notez;"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("attributes, contact, customer"),
            "{}",
            e.message
        );
        let e = merge_err(json!({"state": "COMPLETE", "revision": 9}));
        assert!(
            e.message
                .starts_with("unknown fields in changes: revision, state;"),
            "{}",
            e.message
        );
        // Unknown fields are reported before immutable ones.
        assert_eq!(
            merge_err(json!({"x": 1, "order_id": "o"})).code,
            UNKNOWN_FIELD
        );
    }

    #[test]
    fn changes_must_be_an_object() {
        for (changes, kind) in [
            (json!(null), "null"),
            (json!([{"notes": "x"}]), "an array"),
            (json!("notes"), "a string"),
            (json!(1), "a number"),
            (json!(true), "a boolean"),
        ] {
            let e = merge_err(changes);
            assert_eq!(e.code, INVALID_CHANGES);
            assert!(e.message.ends_with(&format!("got {kind}")), "{}", e.message);
        }
    }

    #[test]
    fn type_errors_name_the_field() {
        for (changes, field) in [
            (json!({"lines": "x"}), "lines"),
            (json!({"lines": {"l1": {"quantity": 2}}}), "lines"),
            (json!({"lines": [{"line_id": "l1"}]}), "lines"),
            (
                json!({"lines": [{"line_id": "l1", "product_code": "P", "quantity": 1,
                               "unit_price": "1", "action": "ADD", "colour": "red"}]}),
                "lines",
            ),
            (
                json!({"lines": [{"line_id": "l1", "product_code": "P", "quantity": -1,
                               "unit_price": "1", "action": "ADD"}]}),
                "lines",
            ),
            (
                json!({"lines": [{"line_id": "l1", "product_code": "P", "quantity": 1,
                               "unit_price": 1.5, "action": "ADD"}]}),
                "lines",
            ),
            (
                json!({"lines": [{"line_id": "l1", "product_code": "P", "quantity": 1,
                               "unit_price": "1", "action": "DELETE"}]}),
                "lines",
            ),
            (json!({"notes": 5}), "notes"),
            (json!({"notes": {"text": "x"}}), "notes"),
            (json!({"requested_date": 20270101}), "requested_date"),
            (json!({"attributes": {"sim.steps": 5}}), "attributes"),
            (json!({"attributes": "x"}), "attributes"),
            (json!({"customer": "Acme"}), "customer"),
            (json!({"contact": ["a"]}), "contact"),
            (json!({"site": 3}), "site"),
        ] {
            let e = merge_err(changes.clone());
            assert_eq!(e.code, INVALID_CHANGES, "{changes}");
            assert!(
                e.message.starts_with(&format!("changes.{field} ")),
                "{changes}: {}",
                e.message
            );
        }
        // The serde message is included.
        let e = merge_err(json!({"lines": "x"}));
        assert!(
            e.message
                .contains("invalid type: string \"x\", expected a sequence"),
            "{}",
            e.message
        );
        // The culprit is found among several changes.
        let e =
            merge_err(json!({"notes": "fine", "requested_date": "2027-01-01", "attributes": [1]}));
        assert!(
            e.message.starts_with("changes.attributes "),
            "{}",
            e.message
        );
    }

    #[test]
    fn the_merged_order_must_validate() {
        for (changes, fields) in [
            (
                json!({"requested_date": "2027-02-30"}),
                vec!["requested_date"],
            ),
            (
                json!({"lines": [{"line_id": "l1", "product_code": " ", "quantity": 0,
                                  "unit_price": "1.2.3", "action": "ADD"}]}),
                vec![
                    "lines[0].product_code",
                    "lines[0].quantity",
                    "lines[0].unit_price",
                ],
            ),
            (
                json!({"lines": [line("l1", 1), line("l1", 2)]}),
                vec!["lines[1].line_id"],
            ),
        ] {
            let e = merge_err(changes.clone());
            assert_eq!(e.code, VALIDATION_FAILED, "{changes}");
            assert!(
                e.message
                    .starts_with("the amended order would be invalid: ")
            );
            assert!(e.message.contains("send the amendment again"));
            for field in fields {
                assert!(e.message.contains(field), "{field} in {}", e.message);
            }
        }
        let e = merge_err(json!({"lines": [line("l1", 0)]}));
        assert!(
            e.message.contains("lines[0].quantity must be at least 1"),
            "{}",
            e.message
        );
    }

    #[test]
    fn merging_twice_gives_the_same_result() {
        for changes in [
            json!({"notes": "x"}),
            json!({"notes": null, "lines": []}),
            json!({"customer": {"name": "B", "tags": ["z"]}, "attributes": {"k": "v", "sim.steps": ""}}),
            json!({"site": {"address": {"line1": null, "city": null, "postcode": null}, "floors": null}}),
            json!({"contact": {"a": {"b": null}}}),
            json!({"lines": [line("l5", 5)], "order_id": "ord-1"}),
        ] {
            let once = merge(changes.clone()).unwrap();
            let twice = merge_changes(&once, &changes).unwrap();
            assert_eq!(once, twice, "{changes}");
            assert_eq!(
                merge(changes.clone()).unwrap(),
                once,
                "deterministic: {changes}"
            );
        }
    }

    // --- generated cases -----------------------------------------------------------------------

    /// A small deterministic pseudo-random generator (xorshift64*), so the generated cases are
    /// the same on every run and failures reproduce.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<T: Clone>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())].clone()
        }
    }

    fn removal(g: &mut Gen) -> Value {
        g.pick(&[json!(null), json!(""), json!([])])
    }

    /// A nested-object patch: new values, removals and sub-objects.
    fn object_patch(g: &mut Gen, depth: u32) -> Value {
        let mut map = Map::new();
        for _ in 0..g.below(4) {
            let key = g
                .pick(&["name", "vat", "tags", "address", "email", "x"])
                .to_string();
            let value = match g.below(if depth < 2 { 5 } else { 4 }) {
                0 => removal(g),
                1 => json!(format!("v{}", g.below(3))),
                2 => json!([g.below(3)]),
                3 => json!(g.below(2) == 0),
                _ => object_patch(g, depth + 1),
            };
            map.insert(key, value);
        }
        Value::Object(map)
    }

    fn field_value(g: &mut Gen, field: &str) -> Value {
        if g.below(5) == 0 {
            return removal(g);
        }
        match field {
            "notes" => g.pick(&[json!("a"), json!("b"), json!(7)]),
            "requested_date" => g.pick(&[json!("2027-01-01"), json!("2027-13-01")]),
            "customer" | "contact" | "site" => object_patch(g, 0),
            "attributes" => {
                let mut map = Map::new();
                for _ in 0..g.below(4) {
                    let key = g.pick(&["sim.steps", "sim.amend", "k1", "k2"]).to_string();
                    let value = match g.below(4) {
                        0 => removal(g),
                        1 => json!(3),
                        _ => json!(format!("v{}", g.below(3))),
                    };
                    map.insert(key, value);
                }
                Value::Object(map)
            }
            "lines" => {
                let lines: Vec<OrderLine> = (0..g.below(3))
                    .map(|i| line(&format!("l{}", i + g.below(2)), g.below(3) as u32))
                    .collect();
                json!(lines)
            }
            "order_id" => g.pick(&[json!("ord-1"), json!("ord-2")]),
            "order_ref" => g.pick(&[json!("PO-1"), json!("PO-2")]),
            "tenant_id" => g.pick(&[json!("acme"), json!("globex")]),
            "supplier_id" => g.pick(&[json!("sim"), json!("other")]),
            "order_type" => g.pick(&[json!("PROVIDE"), json!("CEASE")]),
            "unsolicited" | "recurring" => g.pick(&[json!(false), json!(true)]),
            _ => json!("whatever"),
        }
    }

    fn generated_changes(g: &mut Gen) -> Value {
        let mut map = Map::new();
        for _ in 0..g.below(5) {
            let field = if g.below(25) == 0 {
                "mystery".to_string()
            } else {
                g.pick(&DOCUMENT_FIELDS).to_string()
            };
            let value = field_value(g, &field);
            map.insert(field, value);
        }
        Value::Object(map)
    }

    #[test]
    fn generated_changes_keep_the_merge_laws() {
        let mut g = Gen(0x9E37_79B9_7F4A_7C15);
        let (mut accepted, mut refused) = (0, 0);
        for case in 0..3000 {
            let changes = generated_changes(&mut g);
            let patch = changes.as_object().unwrap();
            let result = merge(changes.clone());
            assert_eq!(result, merge(changes.clone()), "deterministic: {changes}");
            match result {
                Ok(d) => {
                    accepted += 1;
                    assert_eq!(validate_order(&d), Ok(()), "case {case}: {changes}");
                    assert_eq!(
                        merge_changes(&d, &changes).as_ref(),
                        Ok(&d),
                        "idempotent, case {case}: {changes}"
                    );
                    let (before, after) = (json_of(&doc()), json_of(&d));
                    for field in DOCUMENT_FIELDS {
                        match patch.get(field) {
                            // Fields not mentioned are untouched.
                            None => assert_eq!(
                                before.get(field),
                                after.get(field),
                                "{field} untouched, case {case}: {changes}"
                            ),
                            // Removed fields are gone (or their empty default).
                            Some(v) if is_removal(v) => assert!(
                                matches!(after.get(field), None | Some(Value::Null))
                                    || after[field] == json!({})
                                    || after[field] == json!([]),
                                "{field} removed, case {case}: {changes}"
                            ),
                            // Arrays and scalars are taken as sent.
                            Some(v) if !v.is_object() => assert_eq!(
                                after.get(field),
                                Some(v),
                                "{field} replaced, case {case}: {changes}"
                            ),
                            Some(_) => {}
                        }
                    }
                    // No empty objects are left behind by removals.
                    for field in OBJECT_FIELDS {
                        assert_ne!(after.get(field), Some(&json!({})), "case {case}: {changes}");
                    }
                }
                Err(e) => {
                    refused += 1;
                    assert_eq!(http_status(&e.code), 422, "{e}");
                    if patch.contains_key("mystery") {
                        assert_eq!(e.code, UNKNOWN_FIELD, "case {case}: {changes}");
                    }
                    assert!(!e.message.is_empty());
                }
            }
        }
        // The generator exercises both outcomes substantially.
        assert!(
            accepted > 500 && refused > 500,
            "{accepted} accepted, {refused} refused"
        );
    }
}
