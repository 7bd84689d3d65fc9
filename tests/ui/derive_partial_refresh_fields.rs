//! A token model with one of the four refresh fields.
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
}

fn main() {}
