//! Test harness: one real stack per test binary — the Temporal dev server, the supplier
//! simulator, the API and a worker, each the real binary in its own process — shared by the
//! tests of that binary. Nothing is mocked.
//!
//! The database is SQLite, or PostgreSQL when `ORDERFLOW_TEST_DATABASE=postgres` (each stack
//! gets a new database on the test server, see `orderflow-testpg`). A stack may run several
//! workers and API instances against the one Temporal and database ([`StackOptions`]).
//!
//! With `ORDERFLOW_TEST_TEMPORAL_ADDRESS` set (to a cluster from `scripts/temporal-cluster`,
//! say), the stacks share that Temporal instead of starting a dev server each; see
//! [`external_temporal`].
//!
//! Children are spawned from one long-lived supervisor thread with `PR_SET_PDEATHSIG`, so
//! they die with the test process even though statics are never dropped.

mod checks;
mod options;
mod orders;
mod stack;
mod supplier;
pub mod webhooks;

pub use checks::*;
pub use options::*;
pub use orderflow_client::api_client::Reply;
pub use orders::*;
pub use stack::*;

/// The database a stack runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Database {
    Sqlite,
    Postgres,
}

impl Database {
    /// `ORDERFLOW_TEST_DATABASE`: `sqlite` (the default) or `postgres`.
    pub fn from_env() -> Database {
        match std::env::var("ORDERFLOW_TEST_DATABASE").as_deref() {
            Ok("postgres") => Database::Postgres,
            Ok("sqlite") | Ok("") | Err(_) => Database::Sqlite,
            Ok(other) => panic!("ORDERFLOW_TEST_DATABASE={other}: use sqlite or postgres"),
        }
    }
}
