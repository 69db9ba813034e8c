//! The supplier contract, `docs/supplier-openapi.json`, against the code. Each check fails
//! when the two drift apart:
//! - every request the activities build (`wire`) is valid for the documented operation of
//!   its path, and the document lists exactly the paths called, all `POST`;
//! - the documented answers (examples and enums) are read by `wire` as documented, and
//!   answers outside the schemas are refused by `wire` too;
//! - each documented status gets the documented outcome from the real client;
//! - the schemas copied from the API's `docs/openapi.json` are unchanged, and the callbacks
//!   are the ones the API takes.
//!
//! `sim.rs` runs the simulator and checks its answers and callbacks against the document;
//! `samples.rs` builds the calls' inputs.

use super::wire;
use serde_json::{Value, json};
use std::collections::BTreeSet;

mod samples;
mod sim;

use samples::{call, client, requests};

/// A document of `docs/`.
fn docs(name: &str) -> Value {
    let path = format!("{}/../docs/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The supplier document, with the lookups the checks need.
pub(super) struct Contract {
    doc: Value,
}

impl Contract {
    pub(super) fn load() -> Contract {
        Contract {
            doc: docs("supplier-openapi.json"),
        }
    }

    /// What `instance` breaks of `schema` (which may `$ref` the document's components).
    pub(super) fn errors(&self, schema: &Value, instance: &Value) -> Vec<String> {
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.doc["components"],
            "allOf": [schema],
        });
        let validator = jsonschema::validator_for(&root).expect("the document's schemas compile");
        validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect()
    }

    pub(super) fn check(&self, schema: &Value, instance: &Value, what: &str) {
        let errors = self.errors(schema, instance);
        assert!(errors.is_empty(), "{what}: {errors:#?}\n{instance:#}");
    }

    /// The documented path template matching the concrete `path`, and its `POST` operation.
    pub(super) fn operation(&self, path: &str) -> (String, &Value) {
        let segments: Vec<&str> = path.split('/').collect();
        let paths = self.doc["paths"].as_object().expect("paths");
        let (template, item) = paths
            .iter()
            .find(|(template, _)| {
                let parts: Vec<&str> = template.split('/').collect();
                parts.len() == segments.len()
                    && parts.iter().zip(&segments).all(|(t, s)| {
                        t == s || (t.starts_with('{') && t.ends_with('}') && !s.is_empty())
                    })
            })
            .unwrap_or_else(|| panic!("POST {path} is not in docs/supplier-openapi.json"));
        (template.clone(), &item["post"])
    }

    /// `value`, or what its `$ref` (`#/…`) points at.
    pub(super) fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(pointer) => self
                .doc
                .pointer(pointer.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("{pointer} is not in the document")),
            None => value,
        }
    }

    /// The documented response of `operation` for `status`: the exact code, else its range
    /// (`4XX`), else `default`.
    pub(super) fn response<'a>(&'a self, operation: &'a Value, status: u16) -> &'a Value {
        let responses = &operation["responses"];
        let answer = [
            status.to_string(),
            format!("{}XX", status / 100),
            "default".into(),
        ]
        .iter()
        .find_map(|key| responses.get(key))
        .unwrap_or_else(|| panic!("status {status} is not documented"));
        self.resolve(answer)
    }

    pub(super) fn json_schema(response: &Value) -> &Value {
        &response["content"]["application/json"]["schema"]
    }

    pub(super) fn schema(&self, name: &str) -> &Value {
        &self.doc["components"]["schemas"][name]
    }

    /// The request schema of the one callback operation.
    pub(super) fn callback_schema(&self) -> &Value {
        let post = &self.doc["webhooks"]["supplierCallback"]["post"];
        &post["requestBody"]["content"]["application/json"]["schema"]
    }
}

/// Reads an answer of operation `op` as its activity does: what it made of it, or the failure.
pub(super) fn read(op: &str, path: &str, body: Value) -> Result<String, String> {
    let read = match op {
        "validateOrder" => wire::read_validation(&body, path).map(|v| format!("{v:?}")),
        "checkFeasibility" => wire::read_feasibility(&body, path).map(|v| format!("{v:?}")),
        "developPlan" => wire::read_plan(body, path).map(|p| format!("{p:?}")),
        "runStep" => wire::read_step(&body, path).map(|s| format!("{s:?}")),
        "amendOrder" => wire::read_amend(body, path).map(|a| format!("{a:?}")),
        "cancelOrder" => wire::read_cancel(body, path).map(|c| format!("{c:?}")),
        // Any 2xx takes these; the body is not read.
        "transferOrder" | "deactivateService" | "reactivateService" => Ok("taken".into()),
        other => panic!("no reader for operation {other}"),
    };
    read.map_err(|e| brief(&e))
}

/// A failure's message and type, without the backtrace its `Debug` may carry.
pub(super) fn brief(e: &temporalio_sdk::activities::ActivityError) -> String {
    let text = format!("{e:?}");
    match text.split_once("\n\nStack backtrace:") {
        Some((head, tail)) => format!(
            "{head}{}",
            tail.find(", type_name").map_or("", |i| &tail[i..])
        ),
        None => text,
    }
}

#[test]
fn every_request_is_valid_for_the_documented_operation_of_its_path() {
    let contract = Contract::load();
    for (request, what) in requests() {
        let (template, operation) = contract.operation(&request.path);
        // Each path parameter's value fits its documented schema.
        for (part, value) in template.split('/').zip(request.path.split('/')) {
            let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else {
                continue;
            };
            let parameter = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| contract.resolve(p))
                .find(|p| p["name"] == name && p["in"] == "path")
                .unwrap_or_else(|| panic!("{template}: no path parameter {name}"));
            contract.check(&parameter["schema"], &json!(value), &request.path);
        }
        let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
        contract.check(schema, &request.body, &format!("{what} {}", request.path));
    }
}

#[test]
fn the_document_lists_exactly_the_calls_orderflow_makes_all_posts_with_a_key() {
    let contract = Contract::load();
    let called: BTreeSet<String> = requests()
        .iter()
        .map(|(r, _)| contract.operation(&r.path).0)
        .collect();
    let paths = contract.doc["paths"].as_object().unwrap();
    let documented: BTreeSet<String> = paths.keys().cloned().collect();
    assert_eq!(called, documented, "paths called vs documented");
    for (path, item) in paths {
        let methods: Vec<&String> = item.as_object().unwrap().keys().collect();
        assert_eq!(methods, ["post"], "{path}: orderflow only POSTs");
        let key = item["post"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| contract.resolve(p))
            .find(|p| p["name"] == "Idempotency-Key");
        assert_eq!(key.map(|k| &k["required"]), Some(&json!(true)), "{path}");
    }
}

#[test]
fn idempotency_keys_have_the_documented_form() {
    let contract = Contract::load();
    let schema = &contract.doc["components"]["parameters"]["IdempotencyKey"]["schema"];
    let steps = [
        "validate",
        "transfer",
        "feasibility",
        "plan",
        "step-1",
        "amend/a-1",
        "cancel/c-1",
        "deactivate/r-1",
        "reactivate/r-1",
    ];
    for step in steps {
        for retries in [0, 2] {
            let key = orderflow_domain::rules::idempotency_key("order/acme/po-1", 3, step, retries);
            contract.check(schema, &json!(key), "idempotency key");
        }
    }
    // The calls' keys are built by the order; a repeat of the call repeats its key.
    assert_eq!(
        call("po-1", "plan", None).idempotency_key,
        "order/acme/po-1/r2/plan"
    );
}

/// Answers each operation's schema refuses and its reader must refuse as well.
const OUT_OF_CONTRACT: &[(&str, &str)] = &[
    ("validateOrder", r#"{"reason": "no result"}"#),
    ("checkFeasibility", r#"{"reason": "no verdict"}"#),
    (
        "developPlan",
        r#"{"steps": [{"step_id": "step-1", "name": "a"}]}"#,
    ),
    ("developPlan", r#"{"plan_id": "p", "steps": []}"#),
    (
        "developPlan",
        r#"{"plan_id": "p", "steps": [{"step_id": "step 1", "name": "a"}]}"#,
    ),
    (
        "developPlan",
        r#"{"plan_id": "p", "steps": [{"step_id": "step-1"}]}"#,
    ),
    ("runStep", r#"{"status": "FAILED"}"#),
    ("runStep", r#"{}"#),
    ("amendOrder", r#"{"decision": "MAYBE"}"#),
    ("amendOrder", r#"{"reason": "no decision"}"#),
    ("cancelOrder", r#"{"response_code": "YES"}"#),
    ("cancelOrder", r#"{"decision": "AP"}"#),
];

#[test]
fn documented_answers_are_read_as_documented_and_others_refused() {
    let contract = Contract::load();
    let operations: Vec<(String, &Value)> = requests()
        .iter()
        .map(|(r, _)| (r.path.clone(), contract.operation(&r.path).1))
        .collect();
    for (path, operation) in &operations {
        let op = operation["operationId"].as_str().unwrap();
        let schema = Contract::json_schema(contract.response(operation, 200));
        let answer = contract.resolve(schema);
        let examples = answer["examples"]
            .as_array()
            .expect("answers have examples");
        for example in examples {
            contract.check(schema, example, op);
            let read = read(op, path, example.clone());
            assert!(read.is_ok(), "{op} example {example}: {read:?}");
        }
        // Every documented value of an enum field is read.
        for (field, property) in answer["properties"].as_object().into_iter().flatten() {
            for value in property["enum"].as_array().into_iter().flatten() {
                let mut body = examples[0].clone();
                body[field] = value.clone();
                contract.check(schema, &body, op);
                assert!(read(op, path, body.clone()).is_ok(), "{op} {body}");
            }
        }
    }
    let pass = read("validateOrder", "/v", json!({"result": "PASS"})).unwrap();
    assert!(pass.contains("passed: true"), "{pass}");
    let fail = read("validateOrder", "/v", json!({"result": "FAIL"})).unwrap();
    assert!(fail.contains("passed: false"), "{fail}");
    for (op, body) in OUT_OF_CONTRACT {
        let body: Value = serde_json::from_str(body).unwrap();
        let (path, operation) = operations
            .iter()
            .find(|(_, o)| o["operationId"] == *op)
            .unwrap();
        let schema = Contract::json_schema(contract.response(operation, 200));
        assert!(
            !contract.errors(schema, &body).is_empty(),
            "{op}: the document allows {body}"
        );
        let read = read(op, path, body.clone());
        let refused = read
            .as_ref()
            .is_err_and(|e| e.contains("SupplierProtocolError"));
        assert!(refused, "{op}: {body} is read as {read:?}");
    }
}

/// Statuses standing for each documented response key.
fn statuses(key: &str) -> Vec<u16> {
    match key {
        "2XX" => vec![200, 201, 202],
        "3XX" => vec![301, 302, 307],
        "4XX" => vec![400, 401, 403, 404, 409, 410, 422],
        "5XX" => vec![500, 502, 503, 504],
        code => vec![code.parse().expect("a status")],
    }
}

#[tokio::test]
async fn each_documented_status_gets_the_documented_outcome() {
    let contract = Contract::load();
    let (_, operation) = contract.operation("/orders");
    let responses = operation["responses"].as_object().unwrap();
    // Every operation answers statuses alike: one table.
    for (path, item) in contract.doc["paths"].as_object().unwrap() {
        let keys: Vec<&String> = item["post"]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(keys, responses.keys().collect::<Vec<_>>(), "{path}");
    }
    for (key, response) in responses {
        let outcome = contract.resolve(response)["x-orderflow-outcome"]
            .as_str()
            .unwrap_or_else(|| panic!("{key}: no x-orderflow-outcome"));
        for status in statuses(key) {
            assert_eq!(
                contract.response(operation, status),
                contract.resolve(response)
            );
            let body = br#"{"reason": "documented"}"#;
            let base = super::tests::server(super::tests::response(
                &format!("{status} Whatever"),
                "",
                body,
            ))
            .await;
            let got = match client(&base)
                .post(&call("po-1", "transfer", None), "/orders", json!({}))
                .await
            {
                Ok(_) => "taken".to_string(),
                Err(e) => brief(&e),
            };
            let expected = match outcome {
                "taken" => "taken",
                "retried" => "SupplierUnavailable",
                "refused" => "SupplierRejected",
                "protocol-error" => "SupplierProtocolError",
                other => panic!("{key}: unknown outcome {other}"),
            };
            assert!(
                got.contains(expected),
                "{status}: {got}, documented {outcome}"
            );
        }
    }
}

#[test]
fn schemas_copied_from_the_api_document_are_unchanged() {
    let contract = Contract::load();
    let api = docs("openapi.json");
    let copied = [
        "OrderDocument",
        "OrderLine",
        "OrderType",
        "LineAction",
        "OrderState",
        "ErrorBody",
        "ErrorDetail",
    ];
    for name in copied {
        assert_eq!(
            contract.schema(name),
            &api["components"]["schemas"][name],
            "{name} differs from docs/openapi.json: copy it again"
        );
    }
}

#[test]
fn the_callbacks_are_the_ones_the_api_takes() {
    let contract = Contract::load();
    let api = docs("openapi.json");
    let webhook = &contract.doc["webhooks"]["supplierCallback"]["post"];
    let path = webhook["x-orderflow-path"].as_str().unwrap();
    let taken = &api["paths"][path]["post"];
    assert_eq!(taken["operationId"], "supplier_callback", "{path}");
    let api_schemas = &api["components"]["schemas"];
    let callback = &api_schemas["Callback"];
    let names = |schema: &Value, key: &str| -> BTreeSet<String> {
        match &schema[key] {
            Value::Object(map) => map.keys().cloned().collect(),
            Value::Array(list) => list.iter().map(|v| v.as_str().unwrap().into()).collect(),
            _ => BTreeSet::new(),
        }
    };
    let (mut fields, mut types) = (BTreeSet::new(), BTreeSet::new());
    let kinds = contract.resolve(contract.callback_schema())["oneOf"]
        .as_array()
        .unwrap();
    for kind in kinds.iter().map(|k| contract.resolve(k)) {
        fields.extend(names(kind, "properties"));
        assert!(names(kind, "required").is_superset(&names(callback, "required")));
        let tag = &kind["properties"]["type"];
        let values = tag["enum"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(tag.get("const"));
        types.extend(values.map(|v| v.as_str().unwrap().to_string()));
    }
    assert_eq!(fields, names(callback, "properties"), "callback fields");
    let kinds: BTreeSet<String> = orderflow_domain::commands::CallbackKind::ALL
        .iter()
        .map(|k| k.as_str().to_string())
        .collect();
    assert_eq!(types, kinds, "callback types");
    let answer = contract.schema("CallbackAnswer");
    for key in ["properties", "required"] {
        assert_eq!(
            names(answer, key),
            names(&api_schemas["CallbackAnswer"], key)
        );
    }
    let documented: BTreeSet<&String> = webhook["responses"].as_object().unwrap().keys().collect();
    for status in taken["responses"].as_object().unwrap().keys() {
        assert!(documented.contains(status), "the API answers {status}");
    }
}
