//! Every patch the order workflow knows, in one place. A patch keeps histories recorded
//! before a change replaying: the workflow asks `ctx.patched(id)` once at the start of a run
//! and takes the old path when the history was written without it. Remove a patch only once
//! no running order and no kept history can still take its old path.

/// Search attributes are upserted only when a value changes. Each upsert is a history event
/// and a visibility write on the server; most transitions (an acknowledgement, a step
/// completed) change neither `OrderState` nor `PendingRequest`, and the API sets every
/// attribute when it starts the workflow. Histories recorded before the patch upsert on every
/// change, and the first `OrderState` upsert writes START.
pub const PATCH_SA_ONLY_CHANGES: &str = "search-attributes-only-changes";

/// Every patch id, for tests and operators.
pub const ALL: [&str; 1] = [PATCH_SA_ONLY_CHANGES];
