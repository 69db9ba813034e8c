//! The `orderflow` command's library: the API client, a sample order and the timeline view.
//! The CLI talks to Temporal through the API, so every command goes through the same
//! validation, authorization and recording as a tenant's system.

pub mod api_client;
pub mod sample;
pub mod timeline;
