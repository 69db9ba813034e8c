//! `merge_changes`: replacement, removal, nested merges, and every refusal.

use super::*;

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
    let d = merge(json!({"customer": {"tags": ["c"]}, "site": {"floors": [{"n": 3}]}})).unwrap();
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
    let d =
        merge(json!({"site": {"address": {"line1": null, "city": null, "postcode": []}}})).unwrap();
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
        ("currency", json!("USD")),
    ];
    for (field, value) in &different {
        let e = merge_err(json!({*field: value, "notes": "n"}));
        assert_eq!(e.code, RuleCode::ImmutableField, "{field}");
        assert!(
            e.message.starts_with(&format!("{field} cannot change")),
            "{}",
            e.message
        );
        assert!(e.message.contains("place a new one"), "{}", e.message);
        // Removing is changing.
        for removal in [json!(null), json!(""), json!([])] {
            assert_eq!(
                merge_err(json!({*field: removal})).code,
                RuleCode::ImmutableField
            );
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
        RuleCode::ImmutableField
    );
}

#[test]
fn unknown_fields_are_named() {
    let e = merge_err(json!({"notez": "x", "notes": "y"}));
    assert_eq!(e.code, RuleCode::UnknownField);
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
        RuleCode::UnknownField
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
        assert_eq!(e.code, RuleCode::InvalidChanges);
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
        assert_eq!(e.code, RuleCode::InvalidChanges, "{changes}");
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
    let e = merge_err(json!({"notes": "fine", "requested_date": "2027-01-01", "attributes": [1]}));
    assert!(
        e.message.starts_with("changes.attributes "),
        "{}",
        e.message
    );
}

#[test]
fn type_errors_say_what_to_send_instead() {
    for (changes, field, shape) in [
        (
            json!({"lines": "x"}),
            "lines",
            "an array of {line_id, product_code",
        ),
        (
            json!({"attributes": {"k": 5}}),
            "attributes",
            "an object whose values are strings",
        ),
        (
            json!({"requested_date": 1}),
            "requested_date",
            "a string YYYY-MM-DD",
        ),
        (json!({"notes": 5}), "notes", "a string"),
        (
            json!({"time_zone": 5}),
            "time_zone",
            "the type it has in the order",
        ),
    ] {
        let e = merge_err(changes.clone());
        assert_eq!(e.code, RuleCode::InvalidChanges, "{changes}");
        let hint = e.message.split("; send ").last().unwrap();
        assert!(
            hint.starts_with(&format!("{field} as {shape}")),
            "{}",
            e.message
        );
    }
    // The free-form objects: any value but an object is refused with the same hint.
    for field in OBJECT_FIELDS {
        let e = merge_err(json!({field: "x"}));
        assert_eq!(e.code, RuleCode::InvalidChanges, "{field}");
        assert!(
            e.message.ends_with(&format!(
                "(got a string); send {field} as an object, or null to remove it"
            )),
            "{}",
            e.message
        );
    }
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
        assert_eq!(e.code, RuleCode::ValidationFailed, "{changes}");
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
