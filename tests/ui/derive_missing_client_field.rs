//! A client model without its secret field.
#[derive(granted::Client)]
struct App {
    #[oauth(client_id)]
    id: String,
    #[oauth(redirect_uris)]
    redirect_uris: Vec<String>,
    #[oauth(grant_types)]
    grant_types: Vec<String>,
    #[oauth(scope)]
    scope: String,
}

fn main() {}
