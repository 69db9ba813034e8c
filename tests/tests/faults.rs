//! Faults: a worker killed with SIGKILL in the middle of a plan step loses nothing and
//! duplicates nothing.

use orderflow_tests::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn worker_killed_mid_step_completes_without_duplicate_supplier_effects() {
    let stack = Stack::start("faults").await;
    let acme = stack.acme();
    let ids: Vec<String> = (0..3).map(|i| new_id(&format!("kill{i}"))).collect();
    for id in &ids {
        submit(
            &acme,
            &order(id, &[("sim.steps", "3"), ("sim.step_ms", "1500")]),
        )
        .await;
    }
    // Wait until every order has a step in flight at the supplier, then kill the worker.
    for id in &ids {
        let start = std::time::Instant::now();
        while calls_to(&stack, id, "/steps/").await.is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no step started for {id}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stack.kill_worker(0);
    let at_kill: Vec<serde_json::Value> = futures_lite_join(&acme, &ids).await;
    assert!(
        at_kill.iter().all(|o| o["state"] == "EXECUTION"),
        "{at_kill:?}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.start_worker();

    for id in &ids {
        let done = wait_state(&acme, id, "COMPLETE", Duration::from_secs(120)).await;
        assert!(
            done["plan"]["steps"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["status"] == "DONE")
        );
        let types = assert_gapless(&events(&acme, id).await);
        assert_eq!(
            types.iter().filter(|t| *t == "PLAN_STEP_COMPLETED").count(),
            3,
            "{types:?}"
        );
        assert_eq!(
            types.iter().filter(|t| *t == "ORDER_ACKNOWLEDGED").count(),
            1
        );

        // Each supplier call path was made under exactly one key, and the supplier applied
        // each key once (repeats were answered from its idempotency store).
        let calls = stack.sim_calls("acme", id).await;
        let mut keys: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut effects: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &calls {
            let key = c["idempotency_key"].as_str().unwrap();
            keys.entry(c["path"].as_str().unwrap())
                .or_default()
                .insert(key);
            if c["status"].as_u64().unwrap() < 300 && c["replayed"] == false {
                *effects.entry(key).or_default() += 1;
            }
        }
        assert_eq!(keys.len(), 7, "{keys:?}");
        assert!(
            keys.values().all(|k| k.len() == 1),
            "a call was re-issued under a new key: {keys:?}"
        );
        assert!(
            effects.values().all(|n| *n == 1),
            "duplicate supplier effect: {effects:?}"
        );
        assert_eq!(effects.len(), 7);
    }
}

async fn futures_lite_join(
    client: &orderflow_client::api_client::ApiClient,
    ids: &[String],
) -> Vec<serde_json::Value> {
    let mut out = vec![];
    for id in ids {
        out.push(client.get(&format!("/v1/orders/{id}")).await.unwrap().body);
    }
    out
}
