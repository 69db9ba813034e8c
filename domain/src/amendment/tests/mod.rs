//! The amendment rules: which path each state takes, the checks in their order, and the
//! merge-patch semantics of `changes`.

mod merge;
mod props;
use super::merge::{OBJECT_FIELDS, document_json, is_removal};
use super::*;
use crate::ids::{LineId, OrderId, Price, SupplierId, TenantId};
use crate::model::{LineAction, OrderLine, OrderType, Plan, PlanStep, StepStatus};
use crate::rule_code::RuleError;
use crate::rules::validate_order;
use serde_json::Map;
use serde_json::json;

pub(super) fn line(id: &str, qty: u32) -> OrderLine {
    OrderLine {
        line_id: LineId::parse(id).unwrap(),
        product_code: "FIBRE-1G".into(),
        quantity: qty,
        unit_price: Price::parse("49.99").unwrap(),
        action: LineAction::Add,
        discount: None,
        tax_rate: None,
    }
}

/// A document with every field set, so "untouched" checks cover everything.
pub(super) fn doc() -> OrderDocument {
    OrderDocument {
        order_id: OrderId::parse("ord-1").unwrap(),
        order_ref: "PO-1".into(),
        tenant_id: TenantId::parse("acme").unwrap(),
        supplier_id: SupplierId::parse("sim").unwrap(),
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
        currency: Some("EUR".into()),
        time_zone: Some("Europe/Paris".into()),
    }
}

pub(super) fn plan(status: PlanStatus) -> Plan {
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

pub(super) fn view(state: OrderState, plan_status: Option<PlanStatus>) -> OrderView {
    let mut v = OrderView::received(doc(), "2026-01-01T00:00:00Z".into());
    v.state = state;
    v.plan = plan_status.map(plan);
    v.transferred = state != OrderState::Submitted;
    if state == OrderState::PreQualificationFailed {
        v.cause = Some(PqfCause::Feasibility);
    }
    v
}

pub(super) fn merge(changes: Value) -> Result<OrderDocument, RuleError> {
    merge_changes(&doc(), &changes)
}

pub(super) fn merge_err(changes: Value) -> RuleError {
    match merge(changes.clone()) {
        Ok(d) => panic!("{changes} should be refused, got {d:?}"),
        Err(e) => e,
    }
}

pub(super) fn json_of(d: &OrderDocument) -> Map<String, Value> {
    document_json(d)
}

/// Top-level fields whose JSON differs between two documents.
pub(super) fn differing(a: &OrderDocument, b: &OrderDocument) -> Vec<String> {
    let (a, b) = (json_of(a), json_of(b));
    let mut keys: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| a.get(k) != b.get(k)).collect()
}

pub(super) const PLAN_STATUSES: [Option<PlanStatus>; 5] = [
    None,
    Some(PlanStatus::Pending),
    Some(PlanStatus::Executing),
    Some(PlanStatus::Done),
    Some(PlanStatus::Discarded),
];

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

/// Expected outcome for (state, plan status, PQF cause), written as an explicit table.
fn expected_path(
    state: OrderState,
    plan: Option<PlanStatus>,
    cause: Option<PqfCause>,
) -> Result<AmendPath, RuleCode> {
    use AmendPath::*;
    use OrderState as S;
    use PlanStatus as P;
    match (state, plan) {
        (S::Start | S::Submitted | S::Feasibility | S::PlanDevelopment, _) => Ok(Restart),
        (S::PreQualificationFailed, _) => match cause {
            Some(PqfCause::Validation) => Err(RuleCode::NotAmendable),
            Some(PqfCause::Feasibility) | None => Ok(Restart),
        },
        (S::Execution | S::Suspended, None) => Ok(Restart),
        (S::Execution | S::Suspended, Some(P::Pending)) => Ok(Restart),
        (S::Execution | S::Suspended, Some(P::Discarded)) => Ok(Restart),
        (S::Execution | S::Suspended, Some(P::Executing)) => Ok(Patch),
        (S::Execution | S::Suspended, Some(P::Done)) => Err(RuleCode::NotAmendable),
        (
            S::Draft
            | S::ErrorHandler
            | S::Complete
            | S::Active
            | S::Inactive
            | S::Cancelled
            | S::Withdrawn
            | S::Terminated,
            _,
        ) => Err(RuleCode::NotAmendable),
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
                let want = expected_path(state, plan, cause);
                assert_eq!(got, want, "{state} plan {plan:?} cause {cause:?}");
                cases += 1;
            }
        }
    }
    assert_eq!(cases, OrderState::ALL.len() * 5 * 3);
}

#[test]
fn refused_states_are_named_with_a_next_step() {
    for (state, hint) in [
        (OrderState::Draft, "PUT /v1/orders/ord-1"),
        (OrderState::ErrorHandler, "operator"),
        (OrderState::Complete, "new order"),
        (OrderState::Cancelled, "new order"),
        (OrderState::Withdrawn, "new order"),
        (OrderState::Active, "MODIFY order"),
        (OrderState::Inactive, "MODIFY order"),
    ] {
        let e = amend_path(&view(state, None), None).unwrap_err();
        assert_eq!(e.code, RuleCode::NotAmendable);
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
            assert_eq!(e.code, RuleCode::NotAmendable, "{state} {pending:?}");
            assert!(e.message.contains("unsolicited cease"), "{}", e.message);
        }
    }
}

#[test]
fn an_open_request_blocks_before_the_state_is_considered() {
    for state in OrderState::ALL {
        let v = view(state, Some(PlanStatus::Executing));
        let e = amend_path(&v, Some(PendingKind::Amendment)).unwrap_err();
        assert_eq!(e.code, RuleCode::RequestInProgress);
        assert!(e.message.contains("an amendment"), "{}", e.message);
        let e = amend_path(&v, Some(PendingKind::Cancellation)).unwrap_err();
        assert_eq!(e.code, RuleCode::RequestInProgress);
        assert!(e.message.contains("a cancellation"), "{}", e.message);
    }
}

#[test]
fn a_supplier_with_concurrent_amendments_takes_another_patch_but_never_beside_a_cancellation() {
    for state in OrderState::ALL {
        for plan in [None, Some(PlanStatus::Executing), Some(PlanStatus::Done)] {
            let mut v = view(state, plan);
            v.concurrent_amendments = true;
            let alone = amend_path(&v, None);
            let beside = amend_path(&v, Some(PendingKind::Amendment));
            match alone {
                // Side by side only on the PATCH path: a RESTART would discard the plan the
                // PENDING amendment changes.
                Ok(AmendPath::Patch) => assert_eq!(beside, Ok(AmendPath::Patch)),
                Ok(AmendPath::Restart) => {
                    let e = beside.unwrap_err();
                    assert_eq!(e.code, RuleCode::RequestInProgress, "{state} {plan:?}");
                }
                Err(e) => assert_eq!(beside.unwrap_err().code, e.code, "{state} {plan:?}"),
            }
            let e = amend_path(&v, Some(PendingKind::Cancellation)).unwrap_err();
            assert_eq!(e.code, RuleCode::RequestInProgress, "{state} {plan:?}");
        }
    }
}

#[test]
fn validation_failure_is_final_but_feasibility_failure_restarts() {
    let mut v = view(OrderState::PreQualificationFailed, None);
    v.cause = Some(PqfCause::Validation);
    let e = amend_path(&v, None).unwrap_err();
    assert_eq!(e.code, RuleCode::NotAmendable);
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

#[test]
fn order_ref_must_match_and_is_checked_first() {
    let mut v = view(OrderState::Complete, None);
    v.document.unsolicited = true;
    for wrong in ["PO-2", "", "po-1", " PO-1"] {
        let e = check_amendment(&v, Some(PendingKind::Amendment), wrong, &json!({})).unwrap_err();
        assert_eq!(e.code, RuleCode::OrderRefMismatch, "{wrong:?}");
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
    let e =
        check_amendment(&view(OrderState::Complete, None), None, "PO-1", &json!({})).unwrap_err();
    assert_eq!(e.code, RuleCode::NotAmendable);
    let e = check_amendment(
        &view(OrderState::Submitted, None),
        Some(PendingKind::Cancellation),
        "PO-1",
        &json!({"notes": "x"}),
    )
    .unwrap_err();
    assert_eq!(e.code, RuleCode::RequestInProgress);
}

#[test]
fn line_cancel_is_refused_only_in_pre_qualification_failed() {
    let mut cancelled = line("l2", 2);
    cancelled.action = LineAction::Cancel;
    let changes = json!({"lines": [line("l1", 1), cancelled]});
    let pqf = view(OrderState::PreQualificationFailed, None);
    let e = check_amendment(&pqf, None, "PO-1", &changes).unwrap_err();
    assert_eq!(e.code, RuleCode::LineCancelNotAllowed);
    assert!(e.message.contains("refused: l2"), "{}", e.message);
    assert!(e.message.contains("send lines without it"), "{}", e.message);

    // A CANCEL line without a line_id, or with an empty one, is named by position.
    for unnamed in [
        json!({"action": "CANCEL"}),
        json!({"line_id": "", "action": "CANCEL"}),
    ] {
        let changes = json!({"lines": [line("l1", 1), unnamed]});
        let e = check_amendment(&pqf, None, "PO-1", &changes).unwrap_err();
        assert_eq!(e.code, RuleCode::LineCancelNotAllowed);
        assert!(e.message.contains("refused: lines[1])"), "{}", e.message);
    }

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
        assert_eq!(e.code, RuleCode::FieldNotAmendable);
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
    assert_eq!(e.code, RuleCode::FieldNotAmendable);
    assert!(e.message.contains("refused: order_type."), "{}", e.message);

    let e = check_amendment(&v, None, "PO-1", &json!({"notez": "x"})).unwrap_err();
    assert_eq!(e.code, RuleCode::UnknownField);
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
fn executing_plan_refuses_other_fields_even_sent_with_their_current_value() {
    // Only immutable fields may be echoed; any other field outside the patchable ones is
    // refused whatever its value.
    let v = view(OrderState::Execution, Some(PlanStatus::Executing));
    let current = json_of(&doc());
    let echoed = json!({"site": current["site"], "lines": current["lines"], "notes": "x"});
    let e = check_amendment(&v, None, "PO-1", &echoed).unwrap_err();
    assert_eq!(e.code, RuleCode::FieldNotAmendable);
    assert!(e.message.contains("refused: lines, site."), "{}", e.message);
}

#[test]
fn merge_failures_come_through_check_amendment() {
    let v = view(OrderState::PlanDevelopment, Some(PlanStatus::Pending));
    for (changes, code) in [
        (json!([1]), RuleCode::InvalidChanges),
        (json!({"supplier_id": "other"}), RuleCode::ImmutableField),
        (json!({"lines": "x"}), RuleCode::InvalidChanges),
        (
            json!({"requested_date": "tomorrow"}),
            RuleCode::ValidationFailed,
        ),
        (json!({"colour": "red"}), RuleCode::UnknownField),
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
