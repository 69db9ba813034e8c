//! The `orderflow` command's library: the API client, the Temporal CLI provisioning and the
//! local dev stack. The CLI talks to Temporal through the API, so every command goes through
//! the same validation, authorization and recording as a tenant's system.

pub mod api_client;
pub mod dev;
pub mod sample;
pub mod search_attributes;
pub mod temporal_cli;
pub mod timeline;
