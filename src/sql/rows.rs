//! Rows as both backends read and write them, and their conversion to and
//! from the runtime's records. Hashes are 32-byte blobs (`BLOB` / `BYTEA`),
//! times are Unix seconds, scopes are space-separated, and a client's list
//! fields are JSON arrays of strings.

use oauth_runtime::model::{ClientModel, UserModel};
use oauth_runtime::{
    AuthMethod, ClientRecord, CodeRecord, PkceMethod, Scope, SigningAlg, SigningKey, TokenHash, TokenRecord,
    UserClaims, UserRecord,
};

use super::SqlError;

/// `client_id, secret_hash, redirect_uris, grant_types, scope, auth_method,
/// jwks, require_pushed_authorization_requests, dpop_bound_access_tokens`.
pub(crate) type ClientRow = (
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    Option<String>,
    bool,
    bool,
);

/// `subject, username, password_hash, claims` (a JSON object).
pub(crate) type UserRow = (String, String, String, String);

/// `kid, alg, private_pem, created_at` of `signing_keys`.
pub(crate) type SigningKeyRow = (String, String, String, i64);

/// One failed authentication to record in `auth_failures` (see
/// [`RECORD_AUTH_FAILURE`](super::ops::RECORD_AUTH_FAILURE)): times and
/// durations in milliseconds, each within [`MAX_SPAN_MS`] so that their
/// sums cannot overflow.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthFailureRow {
    pub(crate) scope: &'static str,
    pub(crate) key: TokenHash,
    pub(crate) now_ms: i64,
    pub(crate) window_ms: i64,
    pub(crate) lockout_ms: i64,
    pub(crate) max_failures: i64,
}

/// About 35,000 years in milliseconds: longer windows and lock-outs are
/// cut to it.
pub(crate) const MAX_SPAN_MS: i64 = 1 << 50;

impl AuthFailureRow {
    pub(crate) fn new(
        scope: oauth_runtime::throttle::FailureScope,
        key: TokenHash,
        limit: &oauth_runtime::throttle::AuthFailureLimit,
        now_ms: i64,
    ) -> Self {
        let span = |duration: std::time::Duration| {
            i64::try_from(duration.as_millis()).map_or(MAX_SPAN_MS, |ms| ms.min(MAX_SPAN_MS))
        };
        Self {
            scope: scope.as_str(),
            key,
            now_ms: now_ms.clamp(0, MAX_SPAN_MS),
            window_ms: span(limit.window),
            lockout_ms: span(limit.lockout),
            max_failures: i64::from(limit.max_failures.max(1)),
        }
    }
}

/// A locked key read back from `auth_failures`, with the end of its lock-out.
pub(crate) fn locked_key_from_row((key, until): (Vec<u8>, i64)) -> Result<(TokenHash, i64), SqlError> {
    Ok((hash_from_bytes("auth_failures.key_hash", key)?, until))
}

/// The columns of [`CodeRow`], in order (a macro so that `concat!` can
/// build `&'static str` statements from it).
macro_rules! code_columns {
    () => {
        "code_hash, client_id, redirect_uri, scope, subject, \
         code_challenge, code_challenge_method, nonce, auth_time, expires_at"
    };
}
pub(crate) use code_columns;

/// A row of `codes`, see [`code_columns!`].
pub(crate) type CodeRow = (
    Vec<u8>,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
);

/// The columns of [`TokenRow`], in order.
macro_rules! token_columns {
    () => {
        "access_hash, refresh_hash, client_id, subject, scope, family, \
         issued_at, expires_at, refresh_expires_at, rotated, refresh_scope, jkt"
    };
}
pub(crate) use token_columns;

/// A row of `tokens`, see [`token_columns!`].
pub(crate) type TokenRow = (
    Vec<u8>,
    Option<Vec<u8>>,
    String,
    Option<String>,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    bool,
    Option<String>,
    Option<String>,
);

/// A client as written: the `ClientModel` accessors, encoded.
pub(crate) fn client_to_row(client: &ClientRecord) -> Result<ClientRow, SqlError> {
    let list = |field: &'static str, items: Vec<&str>| {
        serde_json::to_string(&items).map_err(|e| SqlError::corrupt(field, e))
    };
    let auth_method = client
        .auth_method()
        .ok_or_else(|| SqlError::corrupt("clients.auth_method", "no supported authentication method"))?;
    Ok((
        client.client_id().to_owned(),
        client.secret_hash().map(str::to_owned),
        list("clients.redirect_uris", client.redirect_uris().collect())?,
        list("clients.grant_types", client.grant_types().collect())?,
        Scope::from_tokens(client.scope()).to_string(),
        auth_method.as_str().to_owned(),
        client.jwks().map(str::to_owned),
        client.requires_pushed_authorization_requests(),
        client.dpop_bound_access_tokens(),
    ))
}

/// A client as read back.
pub(crate) fn client_from_row(row: ClientRow) -> Result<ClientRecord, SqlError> {
    let (
        client_id,
        secret_hash,
        redirect_uris,
        grant_types,
        scope,
        auth_method,
        jwks,
        require_par,
        dpop_bound,
    ) = row;
    let list = |field: &'static str, json: &str| {
        serde_json::from_str::<Vec<String>>(json).map_err(|e| SqlError::corrupt(field, e))
    };
    let method = AuthMethod::from_name(&auth_method)
        .ok_or_else(|| SqlError::corrupt("clients.auth_method", format!("unknown method `{auth_method}`")))?;
    let client = match secret_hash {
        Some(hash) => ClientRecord::confidential_hashed(client_id, hash),
        None => ClientRecord::public(client_id),
    };
    Ok(client
        .redirect_uris(list("clients.redirect_uris", &redirect_uris)?)
        .grant_types(list("clients.grant_types", &grant_types)?)
        .scope(&scope)
        .auth_method(method)
        .jwks(jwks)
        .require_pushed_authorization_requests(require_par)
        .dpop_bound_access_tokens(dpop_bound))
}

/// A user as written.
pub(crate) fn user_to_row(user: &UserRecord) -> UserRow {
    (
        user.subject().to_owned(),
        user.username().to_owned(),
        user.password_hash().to_owned(),
        user.claims().to_json().to_string(),
    )
}

/// A user as read back.
pub(crate) fn user_from_row(
    (subject, username, password_hash, claims): UserRow,
) -> Result<UserRecord, SqlError> {
    Ok(UserRecord::from_hash(subject, username, password_hash).with_claims(claims_from_text(&claims)?))
}

/// A user's claims as read back.
pub(crate) fn claims_from_text(text: &str) -> Result<UserClaims, SqlError> {
    let json = serde_json::from_str(text).map_err(|e| SqlError::corrupt("users.claims", e))?;
    UserClaims::from_json(json).map_err(|e| SqlError::corrupt("users.claims", e))
}

/// A signing key as written.
pub(crate) fn signing_key_to_row(key: &SigningKey, created_at: i64) -> SigningKeyRow {
    (
        key.kid().to_owned(),
        key.alg().as_str().to_owned(),
        key.private_pem().to_owned(),
        created_at,
    )
}

/// A signing key as read back: `alg, private_pem`.
pub(crate) fn signing_key_from_row((alg, pem): (String, String)) -> Result<SigningKey, SqlError> {
    let alg = SigningAlg::from_name(&alg)
        .ok_or_else(|| SqlError::corrupt("signing_keys.alg", format!("unknown algorithm `{alg}`")))?;
    SigningKey::from_pem(alg, &pem).map_err(|e| SqlError::corrupt("signing_keys.private_pem", e))
}

/// An authorization code as read back.
pub(crate) fn code_from_row(row: CodeRow) -> Result<CodeRecord, SqlError> {
    let (code, client_id, redirect_uri, scope, subject, code_challenge, method, nonce, auth_time, expires_at) =
        row;
    let code_challenge_method = method
        .map(|name| {
            PkceMethod::from_name(&name).ok_or_else(|| {
                SqlError::corrupt("codes.code_challenge_method", format!("unknown method `{name}`"))
            })
        })
        .transpose()?;
    Ok(CodeRecord {
        code: hash_from_bytes("codes.code_hash", code)?,
        client_id,
        redirect_uri,
        scope: scope_from_text("codes.scope", &scope)?,
        subject,
        code_challenge,
        code_challenge_method,
        nonce,
        auth_time,
        expires_at,
    })
}

/// A token as read back.
pub(crate) fn token_from_row(row: TokenRow) -> Result<TokenRecord, SqlError> {
    let (
        access,
        refresh,
        client_id,
        subject,
        scope,
        family,
        issued_at,
        expires_at,
        refresh_expires_at,
        rotated,
        refresh_scope,
        jkt,
    ) = row;
    Ok(TokenRecord {
        access_token: hash_from_bytes("tokens.access_hash", access)?,
        refresh_token: refresh
            .map(|bytes| hash_from_bytes("tokens.refresh_hash", bytes))
            .transpose()?,
        client_id,
        subject,
        scope: scope_from_text("tokens.scope", &scope)?,
        family,
        issued_at,
        expires_at,
        refresh_expires_at,
        rotated,
        refresh_scope: refresh_scope
            .map(|text| scope_from_text("tokens.refresh_scope", &text))
            .transpose()?,
        jkt,
    })
}

fn hash_from_bytes(field: &'static str, bytes: Vec<u8>) -> Result<TokenHash, SqlError> {
    let bytes: [u8; 32] = bytes.try_into().map_err(|bytes: Vec<u8>| {
        SqlError::corrupt(field, format!("{} bytes, not a SHA-256", bytes.len()))
    })?;
    Ok(TokenHash::from_bytes(bytes))
}

fn scope_from_text(field: &'static str, text: &str) -> Result<Scope, SqlError> {
    Scope::parse(text).map_err(|_| SqlError::corrupt(field, "not a valid scope"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_round_trip() {
        let confidential = ClientRecord::confidential("web", "s3cret")
            .redirect_uris(["http://127.0.0.1:9000/cb", "http://127.0.0.1:9000/other cb"])
            .grant_types(["authorization_code", "refresh_token"])
            .scope("read write")
            .auth_method(AuthMethod::ClientSecretPost);
        let public = ClientRecord::public("spa").scope("");
        let jwt = ClientRecord::private_key_jwt("jwt", r#"{"keys":[]}"#)
            .require_pushed_authorization_requests(true);
        let dpop = ClientRecord::public("dpop").dpop_bound_access_tokens(true);
        for client in [confidential, public, jwt, dpop] {
            let back = client_from_row(client_to_row(&client).unwrap()).unwrap();
            assert_eq!(back, client);
        }
    }

    #[test]
    fn corrupt_rows_are_errors() {
        let row = |method: &str| {
            (
                "c".to_owned(),
                None,
                "[]".to_owned(),
                "[]".to_owned(),
                String::new(),
                method.to_owned(),
                None,
                false,
                false,
            )
        };
        assert!(client_from_row(row("none")).is_ok());
        assert!(client_from_row(row("magic")).is_err());
        let token = (
            vec![0; 31],
            None,
            "c".to_owned(),
            None,
            String::new(),
            "f".to_owned(),
            0,
            0,
            None,
            false,
            None,
            None,
        );
        let err = token_from_row(token).unwrap_err();
        assert!(err.to_string().contains("tokens.access_hash"), "{err}");
    }
}
