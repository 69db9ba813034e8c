//! Properties of `merge_changes` over generated `changes`: it is deterministic, what it accepts
//! validates and is idempotent, fields not named are untouched, removals remove, arrays and
//! scalars are taken as sent, no empty object is left behind, and every refusal is a 422.

use super::*;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn removal() -> impl Strategy<Value = Value> {
    prop_oneof![Just(json!(null)), Just(json!("")), Just(json!([]))]
}

/// A nested-object patch: new values, removals and sub-objects, at most three deep.
fn object_patch(depth: u32) -> BoxedStrategy<Value> {
    let key = prop::sample::select(vec!["name", "vat", "tags", "address", "email", "x"]);
    let leaf = prop_oneof![
        removal(),
        (0..3u32).prop_map(|n| json!(format!("v{n}"))),
        (0..3u32).prop_map(|n| json!([n])),
        any::<bool>().prop_map(|b| json!(b)),
    ];
    let value = if depth < 2 {
        prop_oneof![4 => leaf, 1 => object_patch(depth + 1)].boxed()
    } else {
        leaf.boxed()
    };
    prop::collection::btree_map(key.prop_map(String::from), value, 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
        .boxed()
}

fn attributes() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec!["sim.steps", "sim.amend", "k1", "k2"]);
    let value = prop_oneof![
        removal(),
        Just(json!(3)),
        (0..3u32).prop_map(|n| json!(format!("v{n}"))),
    ];
    prop::collection::btree_map(key.prop_map(String::from), value, 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn lines() -> impl Strategy<Value = Value> {
    prop::collection::vec((0..2usize, 0..3u32), 0..3).prop_map(|ls| {
        let lines: Vec<OrderLine> = ls
            .into_iter()
            .enumerate()
            .map(|(i, (shift, qty))| line(&format!("l{}", i + shift), qty))
            .collect();
        json!(lines)
    })
}

fn pick(values: Vec<Value>) -> BoxedStrategy<Value> {
    prop::sample::select(values).boxed()
}

/// A value for `field`: a removal one time in five, else something of (or near) its type.
fn field_value(field: &str) -> BoxedStrategy<Value> {
    let value = match field {
        "notes" => pick(vec![json!("a"), json!("b"), json!(7)]),
        "requested_date" => pick(vec![json!("2027-01-01"), json!("2027-13-01")]),
        "customer" | "contact" | "site" => object_patch(0),
        "attributes" => attributes().boxed(),
        "lines" => lines().boxed(),
        "order_id" => pick(vec![json!("ord-1"), json!("ord-2")]),
        "order_ref" => pick(vec![json!("PO-1"), json!("PO-2")]),
        "tenant_id" => pick(vec![json!("acme"), json!("globex")]),
        "supplier_id" => pick(vec![json!("sim"), json!("other")]),
        "order_type" => pick(vec![json!("PROVIDE"), json!("CEASE")]),
        "unsolicited" | "recurring" => pick(vec![json!(false), json!(true)]),
        _ => Just(json!("whatever")).boxed(),
    };
    prop_oneof![1 => removal(), 4 => value].boxed()
}

/// `changes` naming up to four fields, now and then one the document does not have.
fn changes() -> impl Strategy<Value = Value> {
    let mut names: Vec<&'static str> = DOCUMENT_FIELDS.to_vec();
    names.push("mystery");
    let field = prop::sample::select(names);
    let member = field.prop_flat_map(|f| (Just(f.to_string()), field_value(f)));
    prop::collection::vec(member, 0..5).prop_map(|members| {
        let mut map = Map::new();
        for (field, value) in members {
            map.insert(field, value);
        }
        Value::Object(map)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn generated_changes_keep_the_merge_laws(changes in changes()) {
        let patch = changes.as_object().cloned().unwrap_or_default();
        let result = merge(changes.clone());
        prop_assert_eq!(&result, &merge(changes.clone()), "deterministic");
        match result {
            Ok(d) => {
                prop_assert_eq!(validate_order(&d), Ok(()));
                let again = merge_changes(&d, &changes);
                prop_assert_eq!(again.as_ref(), Ok(&d), "idempotent");
                let (before, after) = (document_json(&doc()), document_json(&d));
                for field in DOCUMENT_FIELDS {
                    match patch.get(field) {
                        None => prop_assert_eq!(before.get(field), after.get(field), "{} untouched", field),
                        Some(v) if is_removal(v) => prop_assert!(
                            matches!(after.get(field), None | Some(Value::Null))
                                || after[field] == json!({})
                                || after[field] == json!([]),
                            "{} removed", field
                        ),
                        Some(v) if !v.is_object() => {
                            prop_assert_eq!(after.get(field), Some(v), "{} replaced", field)
                        }
                        Some(_) => {}
                    }
                }
                for field in OBJECT_FIELDS {
                    prop_assert_ne!(after.get(field), Some(&json!({})), "no empty {}", field);
                }
            }
            Err(e) => {
                prop_assert_eq!(e.http_status(), 422, "{}", e);
                if patch.contains_key("mystery") {
                    prop_assert_eq!(e.code, RuleCode::UnknownField);
                }
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    /// Fields not named in `changes` never move, whatever the path check says.
    #[test]
    fn refused_while_executing_names_only_sent_fields(changes in changes()) {
        let refused = fields_refused_while_executing(&doc(), &changes);
        for field in &refused {
            prop_assert!(changes.get(field).is_some(), "{} was not sent", field);
            prop_assert!(!PATCHABLE_WHILE_EXECUTING.contains(&field.as_str()));
        }
    }
}
