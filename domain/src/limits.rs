//! How large anything a tenant or supplier sends may be. Everything an order holds travels in
//! Temporal payloads (the workflow's input, the update arguments, the aggregate carried into
//! the next run) and in search attributes, whose limits are hard: 2 MiB per payload, 2 KiB per
//! keyword search attribute, 50 MiB per history. These bounds keep the largest valid order
//! document near 200 KiB (200 lines of 128-character fields, 64 attributes, three 8 KiB
//! objects and 4 KiB of notes), so an order, its requests and the carried aggregate stay far
//! below a payload, and `order_ref` below the search attribute's 2 KiB.

use crate::model::OrderDocument;
use crate::rules::FieldError;

/// `order_ref`, and every id (order, supplier, line, product code), in characters.
pub const MAX_ID_CHARS: usize = 128;
pub const MAX_NOTES_BYTES: usize = 4 * 1024;
/// A cancellation's or reactivation's `reason`, and an amendment's.
pub const MAX_REASON_BYTES: usize = 1024;
pub const MAX_LINES: usize = 200;
pub const MAX_ATTRIBUTES: usize = 64;
pub const MAX_ATTRIBUTE_KEY_CHARS: usize = 64;
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 256;
/// `customer`, `contact`, `site` and an amendment's `changes`, as compact JSON.
pub const MAX_OBJECT_BYTES: usize = 8 * 1024;
/// A whole request body, which the API refuses before parsing it.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Steps in a supplier's plan: the simulator's own cap. A plan of 1,000 steps is about
/// 150 KiB carried and some 7,000 history events, which continue-as-new between steps keeps
/// within a history's bounds.
pub const MAX_PLAN_STEPS: usize = 1_000;

fn error(field: impl Into<String>, message: String) -> FieldError {
    FieldError {
        field: field.into(),
        message,
    }
}

/// `value`'s size as compact JSON.
pub fn json_bytes(value: &serde_json::Value) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |v| v.len())
}

/// An object field (`customer`, `contact`, `site`, `changes`) over [`MAX_OBJECT_BYTES`].
pub fn check_object(field: &str, value: &serde_json::Value) -> Option<FieldError> {
    let size = json_bytes(value);
    (size > MAX_OBJECT_BYTES).then(|| {
        error(
            field,
            format!("is {size} bytes as JSON; at most {MAX_OBJECT_BYTES} are allowed"),
        )
    })
}

/// A free-text `reason` over [`MAX_REASON_BYTES`].
pub fn check_reason(field: &str, reason: &str) -> Option<FieldError> {
    (reason.len() > MAX_REASON_BYTES).then(|| {
        error(
            field,
            format!(
                "is {} bytes; at most {MAX_REASON_BYTES} are allowed",
                reason.len()
            ),
        )
    })
}

/// An `order_ref` or a code (e.g. `reason_code`) over [`MAX_ID_CHARS`].
pub fn check_short_text(field: &str, value: &str) -> Option<FieldError> {
    too_long_chars(field, value, MAX_ID_CHARS)
}

fn too_long_chars(field: impl Into<String>, value: &str, max: usize) -> Option<FieldError> {
    let chars = value.chars().count();
    (chars > max).then(|| {
        error(
            field,
            format!("is {chars} characters; at most {max} are allowed"),
        )
    })
}

/// Every size bound of an order document, each problem named by its field. The ids' own
/// syntax (which bounds them to 128 characters) is checked by the rules.
pub fn check_document(doc: &OrderDocument) -> Vec<FieldError> {
    let mut errors: Vec<FieldError> = Vec::new();
    errors.extend(too_long_chars("order_ref", &doc.order_ref, MAX_ID_CHARS));
    if let Some(notes) = &doc.notes
        && notes.len() > MAX_NOTES_BYTES
    {
        errors.push(error(
            "notes",
            format!(
                "is {} bytes; at most {MAX_NOTES_BYTES} are allowed",
                notes.len()
            ),
        ));
    }
    for (field, value) in [
        ("customer", &doc.customer),
        ("contact", &doc.contact),
        ("site", &doc.site),
    ] {
        if let Some(value) = value {
            errors.extend(check_object(field, value));
        }
    }
    if doc.attributes.len() > MAX_ATTRIBUTES {
        errors.push(error(
            "attributes",
            format!(
                "has {} entries; at most {MAX_ATTRIBUTES} are allowed",
                doc.attributes.len()
            ),
        ));
    }
    for (key, value) in &doc.attributes {
        if key.is_empty() {
            errors.push(error("attributes", "has an empty key".to_string()));
        }
        errors.extend(too_long_chars(
            format!("attributes.{}", truncate(key)),
            key,
            MAX_ATTRIBUTE_KEY_CHARS,
        ));
        errors.extend(too_long_chars(
            format!("attributes.{}", truncate(key)),
            value,
            MAX_ATTRIBUTE_VALUE_CHARS,
        ));
    }
    if doc.lines.len() > MAX_LINES {
        errors.push(error(
            "lines",
            format!(
                "has {} lines; at most {MAX_LINES} are allowed",
                doc.lines.len()
            ),
        ));
    }
    for (i, line) in doc.lines.iter().enumerate().take(MAX_LINES) {
        errors.extend(too_long_chars(
            format!("lines[{i}].product_code"),
            &line.product_code,
            MAX_ID_CHARS,
        ));
    }
    errors
}

/// A supplier's plan that orderflow can carry and show: 1 to [`MAX_PLAN_STEPS`] steps, each
/// with a unique id of 1-128 characters of `A-Z a-z 0-9 . _ -` (ids go into URLs and
/// idempotency keys) and a name of at most 128 characters. The problem, else `Ok`.
pub fn check_plan(plan: &crate::calls::PlanProposal) -> Result<(), String> {
    if plan.steps.is_empty() || plan.steps.len() > MAX_PLAN_STEPS {
        return Err(format!(
            "a plan has 1 to {MAX_PLAN_STEPS} steps, this one has {}",
            plan.steps.len()
        ));
    }
    if crate::ids::OrderId::parse(&plan.plan_id).is_err() {
        return Err("the plan id is not 1-128 characters of A-Z a-z 0-9 . _ -".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, step) in plan.steps.iter().enumerate() {
        if crate::ids::LineId::parse(&step.step_id).is_err() {
            return Err(format!(
                "step {i}'s id is not 1-128 characters of A-Z a-z 0-9 . _ -"
            ));
        }
        if crate::calls::STAGE_CALLS.contains(&step.step_id.as_str()) {
            return Err(format!(
                "step id '{}' is the name of one of the order's own calls; use another",
                step.step_id
            ));
        }
        if !seen.insert(step.step_id.as_str()) {
            return Err(format!("step id '{}' appears twice", step.step_id));
        }
        if step.name.chars().count() > MAX_ID_CHARS {
            return Err(format!(
                "step '{}' has a name over {MAX_ID_CHARS} characters",
                step.step_id
            ));
        }
    }
    Ok(())
}

/// Text from outside (a supplier's reason) cut to [`MAX_REASON_BYTES`] at a character
/// boundary, so what orderflow records of it stays bounded.
pub fn clip(text: &str) -> String {
    if text.len() <= MAX_REASON_BYTES {
        return text.to_string();
    }
    let mut end = MAX_REASON_BYTES - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// A key as it may be echoed in an error: at most 64 characters.
fn truncate(key: &str) -> String {
    key.chars().take(MAX_ATTRIBUTE_KEY_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::{PlanProposal, PlannedStep};

    fn plan(ids: &[&str]) -> PlanProposal {
        PlanProposal {
            plan_id: "p-1".into(),
            steps: ids
                .iter()
                .map(|id| PlannedStep {
                    step_id: (*id).into(),
                    name: "install".into(),
                    point_of_no_return: false,
                })
                .collect(),
        }
    }

    #[test]
    fn plans_are_bounded_and_their_step_ids_checked() {
        assert_eq!(check_plan(&plan(&["step-1", "step-2"])), Ok(()));
        // Any id the supplier likes, but not a name of the order's own calls.
        assert_eq!(check_plan(&plan(&["reserve", "ship.1"])), Ok(()));
        for reserved in crate::calls::STAGE_CALLS {
            let e = check_plan(&plan(&["step-1", reserved])).unwrap_err();
            assert!(e.contains(reserved), "{e}");
        }
        assert!(check_plan(&plan(&[])).is_err());
        assert!(
            check_plan(&plan(&["step-1", "step-1"]))
                .unwrap_err()
                .contains("twice")
        );
        assert!(check_plan(&plan(&["../admin"])).is_err());
        let many: Vec<String> = (0..=MAX_PLAN_STEPS).map(|i| format!("s{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(check_plan(&plan(&many)).is_err());
    }

    #[test]
    fn clipped_text_stays_within_the_bound_on_a_character_boundary() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(MAX_REASON_BYTES);
        let clipped = clip(&long);
        assert!(clipped.len() <= MAX_REASON_BYTES && clipped.ends_with('…'));
    }

    #[test]
    fn an_order_at_every_limit_passes_and_one_over_each_fails() {
        use crate::model::{OrderDocument, OrderType};
        let mut doc = OrderDocument::for_test("acme", "o-1", "PO-1", "sim", OrderType::Provide);
        doc.order_ref = "R".repeat(MAX_ID_CHARS);
        doc.notes = Some("n".repeat(MAX_NOTES_BYTES));
        doc.attributes = (0..MAX_ATTRIBUTES)
            .map(|i| (format!("{i:0>64}"), "v".repeat(MAX_ATTRIBUTE_VALUE_CHARS)))
            .collect();
        let object = serde_json::json!({ "x": "c".repeat(MAX_OBJECT_BYTES - 8) });
        doc.customer = Some(object.clone());
        assert_eq!(check_document(&doc), vec![]);
        doc.order_ref.push('R');
        doc.notes.as_mut().unwrap().push('n');
        doc.attributes.insert("one-more".into(), "v".into());
        doc.customer = Some(serde_json::json!({ "x": "c".repeat(MAX_OBJECT_BYTES) }));
        let fields: Vec<String> = check_document(&doc).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["order_ref", "notes", "customer", "attributes"]);
    }

    #[test]
    fn the_limits_are_the_documented_sizes() {
        assert_eq!(MAX_NOTES_BYTES, 4_096);
        assert_eq!(MAX_OBJECT_BYTES, 8_192);
        assert_eq!(MAX_BODY_BYTES, 262_144);
    }

    #[test]
    fn a_reason_or_a_short_text_one_over_its_limit_is_refused_by_name() {
        assert_eq!(check_reason("reason", &"r".repeat(MAX_REASON_BYTES)), None);
        let e = check_reason("reason", &"r".repeat(MAX_REASON_BYTES + 1)).unwrap();
        assert_eq!(e.field, "reason");
        assert_eq!(e.message, "is 1025 bytes; at most 1024 are allowed");
        assert_eq!(check_short_text("id", &"i".repeat(MAX_ID_CHARS)), None);
        let e = check_short_text("id", &"é".repeat(MAX_ID_CHARS + 1)).unwrap();
        assert_eq!(e.message, "is 129 characters; at most 128 are allowed");
    }

    #[test]
    fn plans_at_their_limits_pass() {
        let many: Vec<String> = (0..MAX_PLAN_STEPS).map(|i| format!("s{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(check_plan(&plan(&many)), Ok(()));
        let mut named = plan(&["step-1"]);
        named.steps[0].name = "n".repeat(MAX_ID_CHARS);
        assert_eq!(check_plan(&named), Ok(()));
        named.steps[0].name.push('n');
        assert!(check_plan(&named).unwrap_err().contains("step-1"));
    }

    #[test]
    fn clipped_ascii_fills_the_bound_exactly() {
        let clipped = clip(&"a".repeat(2 * MAX_REASON_BYTES));
        assert_eq!(clipped.len(), MAX_REASON_BYTES);
        assert_eq!(
            clip(&"a".repeat(MAX_REASON_BYTES)),
            "a".repeat(MAX_REASON_BYTES)
        );
    }

    #[test]
    fn a_too_long_attribute_key_is_named_by_its_first_characters() {
        use crate::model::{OrderDocument, OrderType};
        let mut doc = OrderDocument::for_test("acme", "o-1", "PO-1", "sim", OrderType::Provide);
        let key = format!("{}tail", "k".repeat(MAX_ATTRIBUTE_KEY_CHARS));
        doc.attributes.insert(key, "v".into());
        let fields: Vec<String> = check_document(&doc).into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [format!(
                "attributes.{}",
                "k".repeat(MAX_ATTRIBUTE_KEY_CHARS)
            )]
        );
    }

    #[test]
    fn an_order_of_the_most_lines_passes_and_one_more_is_refused() {
        use crate::ids::{LineId, Price};
        use crate::model::{LineAction, OrderDocument, OrderLine, OrderType};
        let mut doc = OrderDocument::for_test("acme", "o-1", "PO-1", "sim", OrderType::Provide);
        doc.lines = (0..MAX_LINES)
            .map(|i| OrderLine {
                line_id: LineId::parse(&format!("l{i}")).unwrap(),
                product_code: "P".repeat(MAX_ID_CHARS),
                quantity: 1,
                unit_price: Price::parse("1.00").unwrap(),
                action: LineAction::Add,
                discount: None,
                tax_rate: None,
            })
            .collect();
        assert_eq!(check_document(&doc), vec![]);
        doc.lines.push(doc.lines[0].clone());
        let fields: Vec<String> = check_document(&doc).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["lines"]);
    }
}
