//! A token model with the three refresh fields of earlier versions but no
//! field to keep the refresh token's scope when a refresh narrows the access
//! token's (RFC 6749 §6).
#[derive(granted::Token)]
struct Token {
    #[oauth(access_token)]
    access_token_hash: String,
    #[oauth(refresh_token)]
    refresh_token_hash: Option<String>,
    #[oauth(client_id)]
    client_id: String,
    #[oauth(scope)]
    scope: String,
    #[oauth(family)]
    family: String,
    #[oauth(issued_at)]
    issued_at: i64,
    #[oauth(expires_at)]
    expires_at: i64,
    #[oauth(refresh_expires_at)]
    refresh_expires_at: Option<i64>,
    #[oauth(rotated)]
    rotated: bool,
}

fn main() {}
