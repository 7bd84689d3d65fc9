//! Authorization server metadata (RFC 8414), generated from the policy so
//! that it can never disagree with what the server does.

use serde::Serialize;

use crate::oidc::{OPENID_SCOPE, SigningAlg, standard_claims};
use crate::server::{Grants, Server};
use crate::{GrantType, ParPolicy, PkcePolicy};

/// Where the endpoints are mounted, relative to the issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointPaths {
    /// The authorization endpoint.
    pub authorization: String,
    /// The token endpoint.
    pub token: String,
    /// The revocation endpoint.
    pub revocation: String,
    /// The introspection endpoint.
    pub introspection: String,
    /// The OpenID Connect userinfo endpoint.
    pub userinfo: String,
    /// The JWK Set of the signing keys.
    pub jwks: String,
    /// The pushed authorization request endpoint (RFC 9126).
    pub pushed_authorization_request: String,
    /// The device authorization endpoint (RFC 8628).
    pub device_authorization: String,
}

impl Default for EndpointPaths {
    fn default() -> Self {
        Self {
            authorization: "/oauth/authorize".into(),
            token: "/oauth/token".into(),
            revocation: "/oauth/revoke".into(),
            introspection: "/oauth/introspect".into(),
            userinfo: "/userinfo".into(),
            jwks: "/jwks.json".into(),
            pushed_authorization_request: "/oauth/par".into(),
            device_authorization: "/oauth/device_authorization".into(),
        }
    }
}

/// The RFC 8414 metadata document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Metadata {
    /// The issuer identifier.
    pub issuer: String,
    /// The authorization endpoint, when the code grant is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// The token endpoint.
    pub token_endpoint: String,
    /// The revocation endpoint.
    pub revocation_endpoint: String,
    /// The introspection endpoint.
    pub introspection_endpoint: String,
    /// The enabled grants.
    pub grant_types_supported: Vec<&'static str>,
    /// `["code"]` with the code grant, else empty.
    pub response_types_supported: Vec<&'static str>,
    /// The response modes of the authorization endpoint.
    pub response_modes_supported: Vec<&'static str>,
    /// The PKCE methods accepted.
    pub code_challenge_methods_supported: Vec<&'static str>,
    /// Client authentication methods at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Client authentication methods at the revocation endpoint.
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Client authentication methods at the introspection endpoint.
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The declared scopes.
    pub scopes_supported: Vec<String>,
    /// Always `true`: authorization responses carry `iss` (RFC 9207).
    pub authorization_response_iss_parameter_supported: bool,
    /// The JWK Set of the id_token signing keys (OpenID Connect).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// The userinfo endpoint (OpenID Connect).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// `["public"]`: one `sub` per user for every client (OpenID Connect).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subject_types_supported: Vec<&'static str>,
    /// The algorithm id_tokens are signed with (OpenID Connect).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    /// The claims userinfo and id_tokens can carry (OpenID Connect).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claims_supported: Vec<&'static str>,
    /// The `prompt` values the authorization endpoint understands.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prompt_values_supported: Vec<&'static str>,
    /// `false` with OpenID Connect: request objects by value are refused
    /// with `request_not_supported` (Discovery §3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_parameter_supported: Option<bool>,
    /// `false` with OpenID Connect, where Discovery §3 would otherwise
    /// default it to `true`: `request_uri` is refused with
    /// `request_uri_not_supported`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_uri_parameter_supported: Option<bool>,
    /// The pushed authorization request endpoint (RFC 9126 §5), when served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// The device authorization endpoint (RFC 8628 §4), with the device
    /// grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// Whether every authorization request must be pushed (RFC 9126 §5),
    /// when pushed requests are served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    /// The algorithms client assertions may be signed with, when
    /// `private_key_jwt` is accepted (RFC 8414 §2).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// The DPoP proof algorithms accepted, when DPoP is enabled (RFC 9449 §5.1).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dpop_signing_alg_values_supported: Vec<&'static str>,
}

const CLIENT_AUTH: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];
const CONFIDENTIAL_AUTH: [&str; 2] = ["client_secret_basic", "client_secret_post"];

impl<S: Grants> Server<S> {
    /// The metadata document for `issuer` with the endpoints at `paths`.
    ///
    /// With OpenID Connect enabled it is also the OpenID Provider
    /// Configuration (Discovery §3): serve the same document at
    /// `/.well-known/openid-configuration`, so the two never disagree.
    pub fn metadata(&self, issuer: &str, paths: &EndpointPaths) -> Metadata {
        let policy = self.policy();
        let issuer = issuer.trim_end_matches('/');
        let code = policy.enables(GrantType::AuthorizationCode);
        let openid = code && policy.openid().is_some();
        let mut scopes_supported = policy.scopes_supported().to_vec();
        if openid && !scopes_supported.is_empty() && !scopes_supported.iter().any(|s| s == OPENID_SCOPE) {
            scopes_supported.insert(0, OPENID_SCOPE.to_owned());
        }
        let mut client_auth = CLIENT_AUTH.to_vec();
        let mut confidential_auth = CONFIDENTIAL_AUTH.to_vec();
        if policy.private_key_jwt() {
            client_auth.push("private_key_jwt");
            confidential_auth.push("private_key_jwt");
        }
        let par = policy.par().filter(|_| code);
        let mut pkce_methods = vec!["S256"];
        if policy.pkce() == PkcePolicy::AllowPlain {
            pkce_methods.push("plain");
        }
        Metadata {
            issuer: issuer.to_owned(),
            authorization_endpoint: code.then(|| format!("{issuer}{}", paths.authorization)),
            token_endpoint: format!("{issuer}{}", paths.token),
            revocation_endpoint: format!("{issuer}{}", paths.revocation),
            introspection_endpoint: format!("{issuer}{}", paths.introspection),
            grant_types_supported: policy.grants().iter().map(|g| g.as_str()).collect(),
            response_types_supported: if code { vec!["code"] } else { Vec::new() },
            response_modes_supported: if code {
                vec!["query", "fragment", "form_post"]
            } else {
                Vec::new()
            },
            code_challenge_methods_supported: if code { pkce_methods } else { Vec::new() },
            token_endpoint_auth_methods_supported: client_auth.clone(),
            revocation_endpoint_auth_methods_supported: client_auth,
            introspection_endpoint_auth_methods_supported: confidential_auth,
            scopes_supported,
            authorization_response_iss_parameter_supported: true,
            jwks_uri: openid.then(|| format!("{issuer}{}", paths.jwks)),
            userinfo_endpoint: openid.then(|| format!("{issuer}{}", paths.userinfo)),
            subject_types_supported: if openid { vec!["public"] } else { Vec::new() },
            id_token_signing_alg_values_supported: policy
                .openid()
                .filter(|_| openid)
                .map(SigningAlg::as_str)
                .into_iter()
                .collect(),
            claims_supported: if openid {
                standard_claims().collect()
            } else {
                Vec::new()
            },
            prompt_values_supported: if openid {
                vec!["none", "login", "consent", "select_account"]
            } else {
                Vec::new()
            },
            request_parameter_supported: openid.then_some(false),
            // Request objects by reference (RFC 9101) are not fetched; the
            // request_uris of pushed requests are this server's own.
            request_uri_parameter_supported: openid.then_some(false),
            pushed_authorization_request_endpoint: par
                .map(|_| format!("{issuer}{}", paths.pushed_authorization_request)),
            require_pushed_authorization_requests: par.map(|p| p == ParPolicy::Required),
            device_authorization_endpoint: policy
                .enables(GrantType::DeviceCode)
                .then(|| format!("{issuer}{}", paths.device_authorization)),
            token_endpoint_auth_signing_alg_values_supported: if policy.private_key_jwt() {
                crate::assertion::SIGNING_ALGS.to_vec()
            } else {
                Vec::new()
            },
            dpop_signing_alg_values_supported: if policy.dpop().is_enabled() {
                crate::dpop::ALGORITHMS.to_vec()
            } else {
                Vec::new()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;
    use crate::grants::test_support::server_with;

    #[test]
    fn metadata_follows_the_policy() {
        let server = server_with(
            Policy::new([GrantType::ClientCredentials, GrantType::AuthorizationCode])
                .with_scopes_supported(["read"]),
        );
        let doc = serde_json::to_value(server.metadata("http://127.0.0.1:8080/", &EndpointPaths::default()))
            .unwrap();
        assert_eq!(doc["issuer"], "http://127.0.0.1:8080");
        assert_eq!(doc["token_endpoint"], "http://127.0.0.1:8080/oauth/token");
        assert_eq!(
            doc["authorization_endpoint"],
            "http://127.0.0.1:8080/oauth/authorize"
        );
        assert_eq!(doc["revocation_endpoint"], "http://127.0.0.1:8080/oauth/revoke");
        assert_eq!(
            doc["introspection_endpoint"],
            "http://127.0.0.1:8080/oauth/introspect"
        );
        assert_eq!(
            doc["grant_types_supported"],
            serde_json::json!(["client_credentials", "authorization_code"])
        );
        assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(doc["scopes_supported"], serde_json::json!(["read"]));
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
        );
    }

    #[test]
    fn openid_adds_discovery_fields_and_nothing_else_changes() {
        let policy = Policy::new([GrantType::AuthorizationCode]).with_scopes_supported(["profile"]);
        let plain = server_with(policy.clone()).metadata("https://as.example", &EndpointPaths::default());
        let setup = crate::OpenIdSetup::new(crate::KeyRing::default(), "https://as.example");
        let oidc = crate::grants::test_support::server_with_setup(
            policy.with_openid(SigningAlg::Rs256),
            Some(setup),
        )
        .metadata("https://as.example", &EndpointPaths::default());
        let doc = serde_json::to_value(&oidc).unwrap();
        assert_eq!(doc["jwks_uri"], "https://as.example/jwks.json");
        assert_eq!(doc["userinfo_endpoint"], "https://as.example/userinfo");
        assert_eq!(doc["subject_types_supported"], serde_json::json!(["public"]));
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            serde_json::json!(["RS256"])
        );
        assert_eq!(doc["scopes_supported"], serde_json::json!(["openid", "profile"]));
        assert!(
            doc["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&"email".into())
        );
        // Discovery §3 defaults request_uri_parameter_supported to true: say no.
        assert_eq!(doc["request_parameter_supported"], false);
        assert_eq!(doc["request_uri_parameter_supported"], false);
        let plain_doc = serde_json::to_value(&plain).unwrap();
        for field in [
            "jwks_uri",
            "userinfo_endpoint",
            "claims_supported",
            "prompt_values_supported",
            "request_parameter_supported",
            "request_uri_parameter_supported",
        ] {
            assert!(plain_doc.get(field).is_none(), "{field}");
        }
        // Everything RFC 8414 says is the same in both.
        for (field, value) in plain_doc.as_object().unwrap() {
            if field != "scopes_supported" {
                assert_eq!(&doc[field], value, "{field}");
            }
        }
    }

    #[test]
    fn par_and_private_key_jwt_are_listed_only_when_declared() {
        let plain = server_with(Policy::new(GrantType::ALL));
        let doc =
            serde_json::to_value(plain.metadata("https://as.example", &EndpointPaths::default())).unwrap();
        for field in [
            "pushed_authorization_request_endpoint",
            "require_pushed_authorization_requests",
            "token_endpoint_auth_signing_alg_values_supported",
        ] {
            assert!(doc.get(field).is_none(), "{field}");
        }
        let server = server_with(
            Policy::new(GrantType::ALL)
                .with_par(ParPolicy::Optional)
                .with_private_key_jwt(),
        );
        let doc =
            serde_json::to_value(server.metadata("https://as.example", &EndpointPaths::default())).unwrap();
        assert_eq!(
            doc["pushed_authorization_request_endpoint"],
            "https://as.example/oauth/par"
        );
        assert_eq!(doc["require_pushed_authorization_requests"], false);
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            serde_json::json!([
                "client_secret_basic",
                "client_secret_post",
                "none",
                "private_key_jwt"
            ])
        );
        assert_eq!(
            doc["introspection_endpoint_auth_methods_supported"],
            serde_json::json!(["client_secret_basic", "client_secret_post", "private_key_jwt"])
        );
        assert_eq!(
            doc["token_endpoint_auth_signing_alg_values_supported"],
            serde_json::json!(["RS256", "ES256", "EdDSA"])
        );
        let required = server_with(Policy::new(GrantType::ALL).with_par(ParPolicy::Required));
        let doc =
            serde_json::to_value(required.metadata("https://as.example", &EndpointPaths::default())).unwrap();
        assert_eq!(doc["require_pushed_authorization_requests"], true);
        // PAR is part of the code flow: nothing without it.
        let no_code = server_with(Policy::new([GrantType::ClientCredentials]).with_par(ParPolicy::Optional));
        let doc =
            serde_json::to_value(no_code.metadata("https://as.example", &EndpointPaths::default())).unwrap();
        assert!(doc.get("pushed_authorization_request_endpoint").is_none());
    }

    #[test]
    fn the_device_endpoint_and_grant_are_listed_only_when_enabled() {
        let device = server_with(Policy::new([GrantType::DeviceCode, GrantType::RefreshToken]));
        let doc =
            serde_json::to_value(device.metadata("https://as.example", &EndpointPaths::default())).unwrap();
        assert_eq!(
            doc["device_authorization_endpoint"],
            "https://as.example/oauth/device_authorization"
        );
        assert_eq!(
            doc["grant_types_supported"],
            serde_json::json!(["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"])
        );
        let without = server_with(Policy::new([GrantType::AuthorizationCode]));
        let doc =
            serde_json::to_value(without.metadata("https://as.example", &EndpointPaths::default())).unwrap();
        assert!(doc.get("device_authorization_endpoint").is_none());
    }

    #[test]
    fn without_the_code_grant_there_is_no_authorization_endpoint() {
        let server = server_with(Policy::new([GrantType::ClientCredentials]));
        let doc =
            serde_json::to_value(server.metadata("https://as.example", &EndpointPaths::default())).unwrap();
        assert!(doc.get("authorization_endpoint").is_none());
        assert_eq!(doc["response_types_supported"], serde_json::json!([]));
        assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!([]));
    }

    #[test]
    fn plain_pkce_is_listed_only_when_allowed() {
        let server = server_with(Policy::new(GrantType::ALL).with_pkce(PkcePolicy::AllowPlain));
        let doc =
            serde_json::to_value(server.metadata("https://as.example", &EndpointPaths::default())).unwrap();
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256", "plain"])
        );
    }
}
