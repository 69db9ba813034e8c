//! The local stack orderflow runs on in development, in the tests and in the benchmark: the
//! Temporal CLI (found or built), its dev server, the process supervisor that makes every
//! child die with its parent, and `orderflow dev` (the whole stack in one process tree).
//! One crate, so that the CLI, the integration tests and the benchmark start processes the
//! same way.

pub mod credentials;
pub mod dev;
pub mod dev_server;
pub mod search_attributes;
pub mod supervisor;
pub mod temporal_cli;

pub use credentials::StackCredentials;
pub use dev_server::{DevServer, DevServerOptions};
pub use supervisor::{Supervisor, die_with_parent, free_port, terminate};
pub use temporal_cli::{cache_dir, ensure};
