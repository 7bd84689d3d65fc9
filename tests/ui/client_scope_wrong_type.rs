//! A client field of a type the runtime cannot read as a list.
#[derive(granted::Client)]
struct App {
    #[oauth(client_id)]
    id: String,
    #[oauth(client_secret)]
    secret_hash: Option<String>,
    #[oauth(redirect_uris)]
    redirect_uris: Vec<String>,
    #[oauth(grant_types)]
    grant_types: Vec<String>,
    #[oauth(scope)]
    scope: i32,
}

fn main() {}
