//! The attacker's view: one module per threat of RFC 6819 / RFC 9700 that
//! applies to an authorization server, each driving the public API of
//! `granted` on the in-memory store.

mod support;

#[cfg(feature = "axum")]
mod brute_force;
mod clickjacking;
mod client_impersonation;
mod code_injection_and_replay;
mod device;
mod dpop;
#[path = "../shared/dpop.rs"]
mod dpop_client;
mod malformed_input;
mod mix_up;
mod open_redirect;
mod openid;
mod par_and_client_assertions;
mod pkce_downgrade;
mod redirect_uri_manipulation;
mod refresh_token_theft;
mod scope_escalation;
mod token_leakage;
