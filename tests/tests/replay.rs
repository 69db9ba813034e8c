//! Replays recorded order histories against the current workflow code: a change that would
//! break running orders (non-determinism) fails here. Record new fixtures with
//! `ORDERFLOW_RECORD_HISTORIES=1 cargo test -p orderflow-tests --test lifecycle`.

use orderflow_workflows::OrderWorkflow;
use std::path::Path;
use temporalio_client::WorkflowHistory;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

#[tokio::test]
async fn recorded_histories_replay_with_the_current_workflow() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("histories");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "expected recorded histories in {}",
        dir.display()
    );
    let replayer = WorkflowReplayer::new(
        WorkflowReplayerOptions::new()
            .register_workflow::<OrderWorkflow>()
            .unwrap()
            .build(),
    )
    .unwrap();
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let history = WorkflowHistory::from_json(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        replayer
            .replay_workflow(history)
            .await
            .unwrap_or_else(|e| panic!("{} no longer replays: {e:?}", file.display()));
    }
}
