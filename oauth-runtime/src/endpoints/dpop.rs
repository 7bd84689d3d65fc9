//! DPoP at the endpoints: the proof of a request checked against the
//! request and the server's policy, and its single use recorded in the
//! storage (RFC 9449 §4.3, §11.1).

use http::HeaderValue;

use crate::dpop::{self, Expected, Proof};
use crate::server::{Grants, Server, now};
use crate::{ErrorCode, OAuthError, Request, Response};

/// The `DPoP-Nonce` header (RFC 9449 §8).
pub(crate) const DPOP_NONCE: &str = "dpop-nonce";

impl<S: Grants> Server<S> {
    /// The verified DPoP proof of `request`, or `None` when it has none or
    /// the policy does not enable DPoP. `access_token` is the token the
    /// proof must hash (`ath`) at a resource; `nonces` whether the server's
    /// nonce is required.
    pub(crate) async fn dpop_proof(
        &self,
        request: &Request<'_>,
        access_token: Option<&str>,
        nonces: bool,
    ) -> Result<Option<Proof>, OAuthError> {
        if !self.policy().dpop().is_enabled() {
            return Ok(None);
        }
        let Some(proof) = dpop::proof_header(request.headers())? else {
            return Ok(None);
        };
        let url = self.request_url(request).ok_or_else(|| {
            OAuthError::new(
                ErrorCode::InvalidDpopProof,
                "the server cannot check DPoP proofs: it knows neither its issuer nor this request's path",
            )
        })?;
        let mut expected = Expected::new(request.method().as_str(), &url, now())
            .with_nonces(self.policy().dpop_nonces().filter(|_| nonces));
        if let Some(token) = access_token {
            expected = expected.with_access_token(token);
        }
        let proof = dpop::verify_proof(proof, &expected).map_err(|e| e.to_oauth())?;
        let first_use = self
            .storage()
            .use_dpop_proof(&proof.replay_key(), proof.replay_until())
            .await?;
        if !first_use {
            return Err(OAuthError::new(
                ErrorCode::InvalidDpopProof,
                "the DPoP proof was already used",
            ));
        }
        Ok(Some(proof))
    }

    /// The URL a proof for `request` names: the issuer's origin and the
    /// request's path. The issuer, not the `Host` header, which the client
    /// chooses.
    fn request_url(&self, request: &Request<'_>) -> Option<String> {
        let issuer = self.policy().issuer()?;
        let path = request.path()?;
        let (scheme, rest) = issuer.split_once("://")?;
        let authority = rest.split('/').next()?;
        Some(format!("{scheme}://{authority}{path}"))
    }

    /// Adds a fresh `DPoP-Nonce` to a token endpoint answer when the server
    /// requires nonces and the request used DPoP (or was told to).
    pub(crate) fn with_dpop_nonce(&self, request: &Request<'_>, mut response: Response) -> Response {
        let asked =
            response.error_code() == Some(ErrorCode::UseDpopNonce) || request.headers().contains_key("dpop");
        if let Some(key) = self
            .policy()
            .dpop_nonces()
            .filter(|_| asked && self.policy().dpop().is_enabled())
            && let Ok(value) = HeaderValue::from_str(&key.nonce(now()))
        {
            response.insert_header(http::HeaderName::from_static(DPOP_NONCE), value);
        }
        response
    }
}
