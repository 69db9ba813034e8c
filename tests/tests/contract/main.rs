//! The API against its own OpenAPI document (`/openapi.json`): the document is the one in
//! `docs/`, no operation lets one tenant read or change another's data, and schemathesis,
//! fuzzing every operation from the document, provokes no server error and no answer that
//! breaks the document.

use orderflow_tests::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use tokio::sync::OnceCell;

mod tenancy;

static STACK: OnceCell<Stack> = OnceCell::const_new();

async fn stack() -> &'static Stack {
    shared_stack(&STACK, "contract").await
}

async fn document(stack: &Stack) -> Value {
    let r = reqwest::get(format!("{}/openapi.json", stack.api_url))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Every `(method, path template)` of the document.
fn operations(doc: &Value) -> Vec<(Method, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            out.push((method.to_uppercase().parse().unwrap(), path.clone()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_served_document_is_openapi_3_1_and_the_one_in_docs() {
    let stack = stack().await;
    let served = document(stack).await;
    assert_eq!(served["openapi"], "3.1.0");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap())
        .expect("docs/openapi.json is JSON");
    assert!(
        served == committed,
        "docs/openapi.json is stale: regenerate it with `orderflow openapi > docs/openapi.json`"
    );
    // Every operation says what it answers, and errors have the one shape.
    for (method, path) in operations(&served) {
        let op = &served["paths"][&path][method.as_str().to_lowercase()];
        assert!(op["operationId"].is_string(), "{method} {path}");
        assert_eq!(
            op["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody",
            "{method} {path}"
        );
    }
    assert!(operations(&served).len() >= 23);
}

/// Subscribes a webhook (to a closed port) for the client's tenant; returns its id.
async fn new_webhook(client: &orderflow_client::api_client::ApiClient) -> String {
    let reply = client
        .post(
            "/v1/webhooks",
            &json!({ "url": "http://127.0.0.1:9/hook", "topics": ["*"], "secret": "0123456789abcdef" }),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["webhook_id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    let st = schemathesis();
    let stack = stack().await;
    let (acme, globex) = (stack.acme(), stack.globex());
    // Real resources for the fuzzer to aim at (besides the ids it makes up): orders of both
    // tenants in several states, a draft, a subscription, a webhook.
    let mut ids = Vec::new();
    for knobs in [
        vec![("sim.step_ms", "60000")],
        vec![("sim.step_ms", "0")],
        vec![("sim.feasible", "false")],
    ] {
        let id = new_id("fuzz");
        submit(&acme, &order(&id, &knobs)).await;
        ids.push(id);
    }
    let mut subscription = order(&new_id("fuzz-sub"), &[("sim.step_ms", "0")]);
    subscription["recurring"] = json!(true);
    ids.push(
        submit(&acme, &subscription).await["order_id"]
            .as_str()
            .unwrap()
            .into(),
    );
    let mut draft = order(&new_id("fuzz-draft"), &[]);
    draft["place"] = json!(false);
    ids.push(
        submit(&acme, &draft).await["order_id"]
            .as_str()
            .unwrap()
            .into(),
    );
    let theirs = new_id("fuzz-globex");
    submit(&globex, &order(&theirs, &[("sim.step_ms", "0")])).await;
    wait_state(&globex, &theirs, "COMPLETE", Duration::from_secs(60)).await;
    let globex_events = events(&globex, &theirs).await;
    ids.push(theirs.clone());
    ids.push(new_webhook(&acme).await);

    // As a tenant, then as the operator (whose commands reach the workflows, and who names
    // the tenant with `?tenant_id=`).
    fuzz(&st, stack, &stack.credentials.acme_key, &ids, 60).await;
    // Fuzzing as acme with globex's order id in the dictionary changed nothing of globex's.
    assert_eq!(events(&globex, &theirs).await, globex_events);
    fuzz(&st, stack, &stack.credentials.operator_token, &ids, 30).await;
}

/// Runs schemathesis for `seconds` with the bearer `token`; path ids are drawn from `ids` 70%
/// of the time, an operator's `tenant_id` from the two tenants 80% of the time.
async fn fuzz(st: &Path, stack: &Stack, token: &str, ids: &[String], seconds: u32) {
    let dir = tempfile::tempdir().unwrap();
    let values = serde_json::to_string(ids).unwrap();
    std::fs::write(
        dir.path().join("schemathesis.toml"),
        format!(
            "[dictionaries.ids]\nvalues = {values}\n\n\
             [dictionaries.tenants]\nvalues = [\"acme\", \"globex\"]\n\n\
             [parameters]\n\"path.id\" = {{ dictionary = \"ids\", probability = 0.7 }}\n\
             \"query.tenant_id\" = {{ dictionary = \"tenants\", probability = 0.8 }}\n"
        ),
    )
    .unwrap();
    let output = tokio::process::Command::new(st)
        .current_dir(dir.path())
        .args([
            "run",
            &format!("{}/openapi.json", stack.api_url),
            "--header",
            &format!("Authorization: Bearer {token}"),
            // Everything but positive_data_acceptance: a schema-valid order naming an unknown
            // supplier or a date in the past is rightly refused by rules no schema states.
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-time",
            &seconds.to_string(),
            // One worker: with two threads, Python 3.11's `ast` (which hypothesis uses to
            // describe its strategies) can fail with "AST constructor recursion depth
            // mismatch", an error of the fuzzer and not of the API.
            "--workers",
            "1",
            "--seed",
            "20261123",
            "--request-timeout",
            "30",
            "--no-color",
        ])
        .output()
        .await
        .expect("running schemathesis");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis ({token}) found problems:\n{text}\n{}",
        stack.logs()
    );
    assert!(text.contains("passed"), "{text}");
}

/// The schemathesis CLI: `ORDERFLOW_SCHEMATHESIS`, else a virtualenv in the orderflow cache
/// (`ORDERFLOW_CACHE_DIR`), created with a pinned version from PyPI on first use.
fn schemathesis() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("ORDERFLOW_SCHEMATHESIS")
        && !path.is_empty()
    {
        return path.into();
    }
    let venv = orderflow_devstack::cache_dir().join("schemathesis-4.32.5");
    let st = venv.join("bin/st");
    if st.exists() {
        return st;
    }
    let run = |cmd: &mut std::process::Command| {
        let out = cmd.output().expect("running python3");
        assert!(
            out.status.success(),
            "installing schemathesis failed ({cmd:?}); install python3 and python3-venv:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let _ = std::fs::remove_dir_all(&venv);
    run(std::process::Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv));
    run(std::process::Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "schemathesis==4.32.5",
    ]));
    st
}
