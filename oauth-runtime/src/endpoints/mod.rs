//! The endpoints of an authorization server, each an `impl` block on
//! [`crate::Server`] in its own module.

pub mod authorize;
pub mod bearer;
pub mod device;
mod dpop;
pub mod introspect;
pub mod metadata;
pub mod par;
pub mod revoke;
mod token;
mod userinfo;
