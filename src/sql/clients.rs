//! A short-lived cache of clients read from the database.
//!
//! Every token, introspection and revocation request looks its client up;
//! without a cache that is one query per request, which costs more than the
//! rest of the request (a round trip to SQLite's connection thread and a
//! JSON decode of the client's lists). Clients change rarely, so a found
//! client is kept for a short time ([`SqlStore::with_client_cache`]).
//!
//! Consistency: an upsert through the store drops its entry at once, and a
//! lookup that was already reading the old row when the upsert committed
//! does not put it back (a generation counter). Another process sharing the
//! database sees a change only once the entry expires, hence the short
//! default lifetime. Unknown ids are not cached, so guessing ids cannot fill
//! the cache; it holds at most [`MAX_ENTRIES`] clients.
//!
//! [`SqlStore::with_client_cache`]: super::SqlStore::with_client_cache

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use oauth_runtime::ClientRecord;
use oauth_runtime::model::ClientModel as _;

/// How long a client is kept by default.
pub(super) const DEFAULT_TTL: Duration = Duration::from_secs(5);

/// The most clients kept at once.
pub(super) const MAX_ENTRIES: usize = 4096;

/// Found clients by id, each with the time it was read.
#[derive(Debug)]
pub(super) struct ClientCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, (Instant, ClientRecord)>>,
    /// Bumped by every invalidation, so that a read that started before it
    /// does not store what it read.
    generation: AtomicU64,
}

/// Taken before reading the database; [`ClientCache::insert`] stores the
/// client only if nothing was invalidated since.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ticket(u64);

impl ClientCache {
    /// A cache keeping clients for `ttl`; zero disables it.
    pub(super) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    /// The client, if it was read less than the lifetime ago.
    pub(super) fn get(&self, client_id: &str) -> Option<ClientRecord> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let (read_at, client) = entries.get(client_id)?;
        (read_at.elapsed() < self.ttl).then(|| client.clone())
    }

    /// To take before reading a client from the database.
    pub(super) fn ticket(&self) -> Ticket {
        Ticket(self.generation.load(Ordering::Acquire))
    }

    /// Keeps a client just read from the database, unless an invalidation
    /// happened since `ticket` was taken.
    pub(super) fn insert(&self, ticket: Ticket, client: &ClientRecord) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        // Checked under the lock that `invalidate` also takes.
        if self.generation.load(Ordering::Acquire) != ticket.0 {
            return;
        }
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(client.client_id()) {
            let ttl = self.ttl;
            entries.retain(|_, (read_at, _)| read_at.elapsed() < ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(client.client_id().to_owned(), (Instant::now(), client.clone()));
    }

    /// Forgets a client (after it was written), and makes reads in flight
    /// discard what they read.
    pub(super) fn invalidate(&self, client_id: &str) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(client_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str, scope: &str) -> ClientRecord {
        ClientRecord::confidential(id, "s3cret").scope(scope)
    }

    #[test]
    fn a_found_client_is_served_until_it_expires() {
        let cache = ClientCache::new(Duration::from_millis(50));
        cache.insert(cache.ticket(), &client("web", "read"));
        assert_eq!(cache.get("web"), Some(client("web", "read")));
        assert_eq!(cache.get("other"), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get("web"), None);
    }

    #[test]
    fn invalidation_drops_the_entry_and_a_read_in_flight() {
        let cache = ClientCache::new(DEFAULT_TTL);
        cache.insert(cache.ticket(), &client("web", "read"));
        // A lookup starts reading the old row...
        let ticket = cache.ticket();
        // ...while an upsert commits and invalidates.
        cache.invalidate("web");
        assert_eq!(cache.get("web"), None);
        // The stale row read before the upsert is not kept.
        cache.insert(ticket, &client("web", "read"));
        assert_eq!(cache.get("web"), None);
        // A read after the upsert is.
        cache.insert(cache.ticket(), &client("web", "read write"));
        assert_eq!(cache.get("web"), Some(client("web", "read write")));
    }

    #[test]
    fn a_zero_lifetime_disables_the_cache() {
        let cache = ClientCache::new(Duration::ZERO);
        cache.insert(cache.ticket(), &client("web", "read"));
        assert_eq!(cache.get("web"), None);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = ClientCache::new(DEFAULT_TTL);
        for i in 0..=MAX_ENTRIES {
            cache.insert(cache.ticket(), &client(&format!("c{i}"), "read"));
        }
        let len = cache.entries.read().unwrap().len();
        assert!(len <= MAX_ENTRIES, "{len}");
        assert!(cache.get(&format!("c{MAX_ENTRIES}")).is_some());
    }
}
