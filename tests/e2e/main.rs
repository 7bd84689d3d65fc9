//! End-to-end tests: the built example server, started on a free port and
//! driven over HTTP by a third-party OAuth client (the `oauth2` crate), plain
//! HTTP requests, and headless Chromium.

mod browser;
mod brute_force;
mod csrf_on_consent;
mod device;
mod dpop;
#[path = "../shared/dpop.rs"]
mod dpop_client;
mod endpoints;
mod hostile_load;
#[cfg(feature = "postgres")]
mod multi_instance;
mod oauth2_client;
mod openid;
mod par;
#[cfg(feature = "postgres")]
#[path = "../shared/postgres.rs"]
mod pg;
mod private_key_jwt;
mod protocol_rules;
mod sqlite;
mod support;
