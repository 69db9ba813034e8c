//! How a tenant's `changes` apply to the order document: JSON merge-patch (RFC 7386) on the
//! document's JSON, except that arrays are replaced whole and `null`, `""` and `[]` all remove
//! a value. Only fields the document has may be named, fields fixed at submission may not
//! change, and the result must still be a valid order; every refusal says what to send
//! instead.

use crate::model::OrderDocument;
use crate::rule_code::{RuleCode, RuleError};
use crate::rules::{FieldError, validate_order};
use serde_json::{Map, Value};

/// Every top-level field of [`OrderDocument`] as it appears in JSON, sorted. `changes` may name
/// only these; anything else (a typo, or `revision`/`state`, which orderflow owns) is refused
/// with `UNKNOWN_FIELD` rather than silently dropped.
pub const DOCUMENT_FIELDS: [&str; 16] = [
    "attributes",
    "contact",
    "currency",
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
    "time_zone",
    "unsolicited",
];

/// Fields fixed at submission. They identify the order or decide its kind (the currency
/// decides what every price means), so changing one means a different order: cancel and
/// place a new one instead.
pub const IMMUTABLE_FIELDS: [&str; 8] = [
    "currency",
    "order_id",
    "order_ref",
    "order_type",
    "recurring",
    "supplier_id",
    "tenant_id",
    "unsolicited",
];

/// Fields that may change while the plan is executing: they do not alter what the
/// supplier is building, only how to reach the customer and when.
pub const PATCHABLE_WHILE_EXECUTING: [&str; 3] = ["contact", "notes", "requested_date"];

/// Free-form fields that are objects by definition. The model holds them as any JSON value,
/// so an amendment that sets them is checked here.
pub(crate) const OBJECT_FIELDS: [&str; 3] = ["contact", "customer", "site"];

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

/// `null`, `""` and `[]` all mean "remove this value": an empty value or array removes any
/// existing value(s).
///
/// An empty object `{}` is deliberately not in this list: under merge-patch it means "change
/// nothing inside", and it only removes the field when the result is empty (see
/// [`merge_member`]).
pub(crate) fn is_removal(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Comma-separated list for messages.
pub(crate) fn list(fields: &[impl AsRef<str>]) -> String {
    fields
        .iter()
        .map(|f| f.as_ref())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The order document as a JSON object, the thing `changes` is a merge-patch of.
pub(crate) fn document_json(order: &OrderDocument) -> Map<String, Value> {
    // A struct of strings, maps and JSON values always serializes to an object.
    match serde_json::to_value(order) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn changes_object(changes: &Value) -> Result<&Map<String, Value>, RuleError> {
    match changes {
        Value::Object(map) => Ok(map),
        other => Err(RuleError::new(
            RuleCode::InvalidChanges,
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

/// Applies one member of a merge-patch to `target` (RFC 7386 with two exceptions):
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
                RuleCode::InvalidChanges,
                format!(
                    "changes.{field} does not fit the order: {e}; send {field} as {}",
                    expected_shape(field)
                ),
            );
        }
    }
    RuleError::new(
        RuleCode::InvalidChanges,
        format!("the amended order does not fit the order document: {err}"),
    )
}

fn validation_failed(errors: &[FieldError]) -> RuleError {
    let problems: Vec<String> = errors
        .iter()
        .map(|e| format!("{} {}", e.field, e.message))
        .collect();
    RuleError::new(
        RuleCode::ValidationFailed,
        format!(
            "the amended order would be invalid: {}; correct these values in changes and send \
             the amendment again",
            problems.join("; ")
        ),
    )
}

/// Applies a tenant's amendment `changes` to `order` and returns the amended document.
///
/// Semantics: JSON merge-patch (RFC 7386) on the document's JSON, except
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
            RuleCode::UnknownField,
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
            RuleCode::ImmutableField,
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
                RuleCode::InvalidChanges,
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
