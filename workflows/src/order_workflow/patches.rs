//! Every patch the order workflow knows, in one place. A patch keeps histories recorded
//! before a change replaying: the workflow asks `ctx.patched(id)` once at the start of a run
//! and takes the old path when the history was written without it. Remove a patch only once
//! no running order and no kept history can still take its old path.
//!
//! A run started by this code's API (or continued as new by it) is told the patches in its
//! input instead ([`ALL`] in `OrderWorkflowInput::patches`): asking costs a marker event per
//! patch and an upsert of `TemporalChangeVersion`, a visibility write on the server for every
//! order, to answer a question whose answer is known when the run starts. The workflow asks
//! only for the patches its input does not list, so histories recorded before the list replay
//! as they did.

/// Search attributes are upserted only when a value changes. Each upsert is a history event
/// and a visibility write on the server; most transitions (an acknowledgement, a step
/// completed) change neither `OrderState` nor `PendingRequest`, and the API sets every
/// attribute when it starts the workflow. Histories recorded before the patch upsert on every
/// change, and the first `OrderState` upsert writes START.
pub const PATCH_SA_ONLY_CHANGES: &str = "search-attributes-only-changes";

/// Any order continues as new, not only a parked subscription: once its history reaches
/// `continue_as_new_after_events` (or the server suggests it), at the first point where the
/// lifecycle waits (held, in ERROR_HANDLER or PRE_QUALIFICATION_FAILED, for a step's callback,
/// between steps, at the start of a pass) while no activity or record is in flight, every
/// accepted Update has finished and the request handlers wait too. The next run carries the
/// order and a [`Resume`](super::Resume) and goes on from the same place. Histories recorded
/// before the patch continue as new only while a subscription is parked (in `subscription`).
pub const PATCH_CONTINUE_AS_NEW_ANY_PHASE: &str = "continue-as-new-any-phase";

/// The run closes in a workflow task of its own (after a 1 ms timer). When the task that
/// completes an Update (a cancellation that ends the order at once) also closed the run, and
/// an event arrived meanwhile (an activity finishing), the server refused the whole task
/// (`UnhandledCommand`): the Update was lost and answered 503, while the `store.record` local
/// activity of that task had already recorded the change, so the database said CANCELLED and
/// the order went on to COMPLETE. A timer command is never refused that way. Every run
/// closes apart, not only one that answered an Update: a supplier's signal arriving during
/// the closing task gets that task refused too, after its `store.record` wrote COMPLETE, and
/// the next task, seeing the signal, may record another event under the same `seq`.
pub const PATCH_CLOSE_IN_OWN_TASK: &str = "close-in-own-task";

/// A request the supplier leaves undecided past its answer timeout is EXPIRED, one that cannot
/// be delivered FAILED, both without a `response_code`; a late decision on an EXPIRED request
/// still counts. Histories recorded before the patch reject the request in both cases, an
/// answer the supplier never gave.
pub const PATCH_NO_INVENTED_ANSWERS: &str = "no-invented-answers";

/// A subscription's deactivations and reactivations are told to the supplier
/// (`supplier.notify`, see `notices`). Histories recorded before the patch told it nothing,
/// and their runs drop the notices the order queues.
pub const PATCH_TELL_SUPPLIER: &str = "tell-supplier";

/// Amendments are worked through side by side (`concurrent`): none waits on another's answer,
/// so a supplier with `concurrent_amendments` decides several at once, and the supplier's own
/// changes and late decisions are taken while an amendment is PENDING. Histories recorded
/// before the patch send one amendment and wait for its answer before anything else.
pub const PATCH_CONCURRENT_AMENDMENTS: &str = "concurrent-amendments";

/// Every patch id: what a new run is told applies (the API's start, continue-as-new), and
/// what a run whose input lists none asks `ctx.patched` for.
pub const ALL: [&str; 6] = [
    PATCH_SA_ONLY_CHANGES,
    PATCH_CONTINUE_AS_NEW_ANY_PHASE,
    PATCH_CLOSE_IN_OWN_TASK,
    PATCH_NO_INVENTED_ANSWERS,
    PATCH_TELL_SUPPLIER,
    PATCH_CONCURRENT_AMENDMENTS,
];

/// [`ALL`], as the input of a new run lists them.
pub fn all() -> Vec<String> {
    ALL.iter().map(|id| id.to_string()).collect()
}
