//! Replays recorded order histories against the current workflow code: a change that would
//! break running orders (non-determinism) fails here. Record new fixtures with
//! `ORDERFLOW_RECORD_HISTORIES=1 cargo test -p orderflow-tests --test <binary>` (the tests
//! that record one call `maybe_record_history`), then add them to [`HISTORIES`].
//!
//! `*.sa-changes.json` were recorded before `search-attributes-only-changes` (and every later
//! patch), so they keep the oldest paths replaying; `*.markers.json` asked for each patch
//! (before runs were told their patches in the input), `*.before-patches.json` come from
//! before the first patch; the others were recorded with the patches of their day.

use orderflow_workflows::OrderWorkflow;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use temporalio_client::WorkflowHistory;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

/// Every recorded history, and the path of the workflow it covers. The directory must hold
/// exactly these: a fixture lost or added without a line here fails the test.
const HISTORIES: [(&str, &str); 33] = [
    (
        "happy_path",
        "three synchronous steps to COMPLETE, patches told in the input",
    ),
    (
        "happy_path.before-patches",
        "the same, recorded before the workflow had patches",
    ),
    ("happy_path.sa-changes", "the same, before any patch"),
    ("async_steps", "steps finished by the supplier's callbacks"),
    ("async_steps.sa-changes", "the same, before any patch"),
    ("amend_restart", "a RESTART amendment back to SUBMITTED"),
    ("amend_restart.sa-changes", "the same, before any patch"),
    (
        "amend_patch_accept",
        "a PATCH amendment the supplier accepts, patches told in the input",
    ),
    (
        "amend_patch_accept.before-patches",
        "the same, recorded before the workflow had patches",
    ),
    (
        "amend_patch_accept.sa-changes",
        "the same, before any patch",
    ),
    (
        "amend_concurrent",
        "three PATCH amendments PENDING side by side, decided out of order",
    ),
    (
        "cancel_pending_callback",
        "a supplier-path cancellation decided later",
    ),
    (
        "cancel_pending_callback.sa-changes",
        "the same, before any patch",
    ),
    (
        "cancel_right_after_submit",
        "a cancellation in START, the run closing in its own task (it answered an Update)",
    ),
    (
        "cancel_right_after_submit.markers",
        "the same, each patch asked for (a marker each, and TemporalChangeVersion)",
    ),
    (
        "error_handler_retry_withdraw",
        "ERROR_HANDLER, an operator's retry, then withdraw",
    ),
    (
        "error_handler_retry_withdraw.sa-changes",
        "the same, before any patch",
    ),
    ("suspend_resume", "an operator's hold and its release"),
    ("suspend_resume.sa-changes", "the same, before any patch"),
    (
        "subscription_cancel_reactivate",
        "a subscription deactivated and reactivated",
    ),
    (
        "subscription_cancel_reactivate.sa-changes",
        "the same, before any patch",
    ),
    (
        "subscription_continued_as_new",
        "a parked subscription continued as new (its latest run)",
    ),
    (
        "subscription_continued_as_new.sa-changes",
        "the same, before any patch",
    ),
    (
        "waits_continued_as_new",
        "an order continued as new while it waits (the run that decides to)",
    ),
    (
        "waits_resumed_after_continue_as_new",
        "the next run, going on from where the last one stopped",
    ),
    (
        "subscription_continued_as_new.run1",
        "a subscription's first run, the one that continues as new (fetched by run id)",
    ),
    (
        "subscription_continued_as_new.run2",
        "its next run: the schedule fires, then a reactivation",
    ),
    (
        "cancel_consumer_path",
        "a consumer-path cancellation before transfer, the in-flight call abandoned",
    ),
    (
        "supplier_hold_resume_cancel",
        "the supplier holds, resumes and then cancels the order itself",
    ),
    (
        "unsolicited_cease_cancelled",
        "an unsolicited cease opened by the supplier, then cancelled with a code",
    ),
    ("amend_rejected", "a PATCH amendment the supplier rejects"),
    (
        "amend_expired_late_accept",
        "an amendment that expires unanswered, then a late ACCEPT applied",
    ),
    (
        "pre_qualification_failed_withdrawn",
        "PRE_QUALIFICATION_FAILED by validation, then withdrawn by the operator",
    ),
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("histories")
}

fn replayer() -> WorkflowReplayer {
    WorkflowReplayer::new(
        WorkflowReplayerOptions::new()
            .register_workflow::<OrderWorkflow>()
            .unwrap()
            .build(),
    )
    .unwrap()
}

fn history(name: &str) -> serde_json::Value {
    let file = dir().join(format!("{name}.json"));
    let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

async fn replay(json: &serde_json::Value) -> Result<(), String> {
    let history = WorkflowHistory::from_json(&serde_json::to_vec(json).unwrap())
        .map_err(|e| format!("not a history: {e}"))?;
    replayer()
        .replay_workflow(history)
        .await
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

#[tokio::test]
async fn every_recorded_history_replays_with_the_current_workflow() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let listed: BTreeSet<String> = HISTORIES.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(on_disk, listed, "tests/histories and HISTORIES disagree");
    for (name, covers) in HISTORIES {
        replay(&history(name))
            .await
            .unwrap_or_else(|e| panic!("{name} ({covers}) no longer replays: {e}"));
    }
}

/// The replay test can fail: a history whose commands the workflow would not issue (a
/// supplier call of another type where the workflow validates) is refused as
/// non-deterministic.
#[tokio::test]
async fn an_altered_history_is_refused() {
    let mut altered = history("happy_path");
    let scheduled = altered["events"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find_map(|e| e["attributes"].get_mut("ActivityTaskScheduledEventAttributes"))
        .expect("an activity in the history");
    assert_eq!(scheduled["activity_type"]["name"], "supplier.validate");
    scheduled["activity_type"]["name"] = "supplier.plan".into();
    let e = replay(&altered)
        .await
        .expect_err("a history with another activity must not replay");
    assert!(e.to_lowercase().contains("nondetermin"), "{e}");
}

/// The attribute names of a recorded history's events, in order (`MarkerRecorded`, …).
fn event_types(json: &serde_json::Value) -> Vec<String> {
    let events = json["events"].as_array().unwrap().iter();
    events
        .filter_map(|e| e["attributes"].as_object()?.keys().next().cloned())
        .map(|k| k.trim_end_matches("EventAttributes").to_string())
        .collect()
}

/// A run told its patches in its input records no patch marker and no
/// `TemporalChangeVersion` upsert; it still closes in a task of its own, after a 1 ms timer
/// (see `PATCH_CLOSE_IN_OWN_TASK`).
#[test]
fn told_patches_cost_no_markers() {
    for name in [
        "happy_path",
        "amend_patch_accept",
        "cancel_right_after_submit",
    ] {
        let json = history(name);
        let markers: Vec<&str> = json["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| {
                e["attributes"]["MarkerRecordedEventAttributes"]["marker_name"].as_str()
            })
            .collect();
        assert!(
            markers.iter().all(|m| *m == "core_local_activity"),
            "{name}: {markers:?}"
        );
        assert!(
            !json.to_string().contains("TemporalChangeVersion"),
            "{name}"
        );
    }
    let happy = event_types(&history("happy_path"));
    assert_eq!(
        happy.last().map(String::as_str),
        Some("TimerStarted"),
        "{happy:?}"
    );
    // Runs from before the list asked for each patch.
    let asked = history("amend_rejected").to_string();
    assert_eq!(asked.matches("core_patch").count(), 6);
    assert!(asked.contains("TemporalChangeVersion"));
}
