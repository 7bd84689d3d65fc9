//! A misspelt field role gets a did-you-mean.
#[derive(granted::Client)]
struct App {
    #[oauth(client_id)]
    id: String,
    #[oauth(client_secrets)]
    secret_hash: Option<String>,
    #[oauth(redirect_uris)]
    redirect_uris: Vec<String>,
    #[oauth(grant_types)]
    grant_types: Vec<String>,
    #[oauth(scope)]
    scope: String,
}

fn main() {}
