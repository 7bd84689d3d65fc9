//! Token lookups shared by revocation, introspection and bearer validation.

use crate::model::TokenModel;
use crate::server::{FoundToken, TokenKind};
use crate::storage::{RefreshStorage, Storage};
use crate::{OAuthError, TokenHash};

/// Finds a token by its access token hash.
///
/// # Errors
///
/// `server_error` when storage fails or returns an unreadable record.
pub async fn access_token<S: Storage>(
    storage: &S,
    hash: &TokenHash,
) -> Result<Option<FoundToken>, OAuthError> {
    let token = storage
        .access_token(hash)
        .await
        .map_err(|e| OAuthError::storage(&e))?;
    found(token, TokenKind::Access)
}

/// Finds a token by its access token hash, then by its refresh token hash.
///
/// # Errors
///
/// `server_error` when storage fails or returns an unreadable record.
pub async fn access_or_refresh_token<S: RefreshStorage>(
    storage: &S,
    hash: &TokenHash,
) -> Result<Option<FoundToken>, OAuthError> {
    if let Some(found) = access_token(storage, hash).await? {
        return Ok(Some(found));
    }
    let token = storage
        .refresh_token(hash)
        .await
        .map_err(|e| OAuthError::storage(&e))?;
    found(token, TokenKind::Refresh)
}

fn found<T: TokenModel>(token: Option<T>, kind: TokenKind) -> Result<Option<FoundToken>, OAuthError> {
    token
        .map(|t| {
            t.into_record()
                .map(|record| FoundToken::new(record, kind))
                .map_err(|e| OAuthError::storage(&e))
        })
        .transpose()
}
