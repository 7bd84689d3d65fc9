//! The storage conformance kit (feature `testing`): drives any storage
//! through every rule of the storage traits that the compiler cannot check,
//! and reports each rule broken, by name, with the method that broke it.
//!
//! The rules are those the runtime's security rests on: a revoked token
//! family stays revoked (later saves into it store nothing, so that a
//! replayed code revokes what its first redemption is still issuing),
//! `refresh_token` finds rotated tokens (so that a reused refresh token is
//! detected), `take_code` and `rotate_refresh_token` are atomic (many
//! tasks racing, exactly one wins), and so is every other record a request
//! may use once: pushed requests, client assertion ids, DPoP proofs, device
//! authorizations and their decisions (replay defences, whose races are real
//! when several instances share one database). See [`Rule`] for every rule.
//!
//! Run it from a test of your crate, with a fresh store (or a handle on a
//! test database) each time `make` is called:
//!
//! ```ignore
//! #[tokio::test(flavor = "multi_thread")]
//! async fn my_store_follows_the_storage_rules() {
//!     granted::testing::check_storage(|| async { MyStore::new() })
//!         .await
//!         .assert_passed();
//! }
//! ```
//!
//! A broken rule fails the test with every broken rule named, e.g.
//!
//! ```text
//! storage conformance: 4 of 5 rules held
//!   FAILED rule `revoked families stay revoked` (Storage) broken by `save_token`: stored a token of
//!   family `...` (which had tokens) after `revoke_token_family("...")`: the store must remember a
//!   revoked family (a tombstone, ...) and `save_token` must store nothing into it
//! ```
//!
//! [`check_storage`] runs the rules of every trait the storage declares
//! ([`DeclaredStorage`]: `#[granted::server]` declares those its grants
//! need). [`StorageKit`] chooses them by hand, e.g. to add the login
//! session rules for a storage that implements
//! [`SessionStorage`] itself.
//!
//! Every rule gets a store of its own from `make` and works with token,
//! code and session identifiers of its own, random ones: `make` may return
//! stores sharing one database, and the database may hold other data. A
//! rule that does not finish within 30 s fails (a store that deadlocks).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use oauth_runtime::model::{CodeModel, CodeRecord, TokenModel, TokenRecord};
use oauth_runtime::storage::{
    AssertionStorage, CodeStorage, DeviceStorage, DpopStorage, PushedRequestStorage, RefreshStorage,
    SessionStorage, Storage,
};
use oauth_runtime::{LoginSession, NewToken, PkceMethod, Scope, TokenHash, now};
use tokio::sync::Barrier;

pub use oauth_runtime::storage::{DeclaredStorage, StorageVisitor};

/// How long one rule may take.
const RULE_TIME_LIMIT: Duration = Duration::from_secs(30);

/// A rule of the storage traits. Its [`Display`](fmt::Display) is its name,
/// which the failures of a [`Report`] start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// `client` and `access_token` answer `Ok(None)` for what is not there.
    UnknownLookupsFindNothing,
    /// `access_token` returns what `save_token` stored.
    SavedTokensAreFound,
    /// `revoke_token_family` removes every token of the family, and only those.
    RevocationRemovesTheFamily,
    /// After `revoke_token_family`, `save_token` of a token of that family
    /// stores nothing, whether the family had tokens or not (a tombstone).
    RevokedFamiliesStayRevoked,
    /// A `save_token` racing a `revoke_token_family` of its family never
    /// leaves the token usable, whichever runs first.
    RevocationWinsARaceWithASave,
    /// `take_code` returns a saved code once, then `None`.
    CodesAreTakenOnce,
    /// Of many concurrent `take_code` calls with one code, exactly one
    /// returns it.
    TakeCodeIsAtomic,
    /// A code redeemed twice at once: the redemption that loses
    /// `take_code` revokes the family, and the tokens the winner saves
    /// into it are never usable (RFC 6749 §4.1.2).
    ReplayDuringTheFirstRedemptionRevokesItsTokens,
    /// `refresh_token` finds a token by its refresh token.
    RefreshTokensAreFound,
    /// `refresh_token` still finds a token whose refresh token was rotated,
    /// marked rotated, so that its reuse is detected (RFC 9700 §4.14).
    RotatedRefreshTokensAreStillFound,
    /// `rotate_refresh_token` succeeds once per refresh token; a second
    /// rotation, or one of an unknown token, returns `false` and stores
    /// nothing.
    RefreshTokensRotateOnce,
    /// Of many concurrent `rotate_refresh_token` calls with one refresh
    /// token, exactly one returns `true` and exactly one new token is stored.
    RotateRefreshTokenIsAtomic,
    /// `revoke_token_family` removes refresh tokens too: none is found, none
    /// rotates.
    RevocationCoversRefreshTokens,
    /// `session` returns a session started by `start_session`, with its
    /// consents, until `end_session` or its expiry.
    SessionsLiveUntilTheyEnd,
    /// `start_session` with a previous session ends that one.
    ANewSessionEndsThePreviousOne,
    /// `take_pushed_request` returns a saved request once, and only to the
    /// client that pushed it (a call naming another client removes nothing).
    PushedRequestsAreTakenOnceByTheirClient,
    /// Of many concurrent `take_pushed_request` calls with one
    /// `request_uri`, exactly one returns it.
    TakePushedRequestIsAtomic,
    /// `record_assertion_jti` accepts a client assertion id once: a replayed
    /// assertion is refused.
    AssertionIdsAreUsedOnce,
    /// Of many concurrent `record_assertion_jti` calls with one id, exactly
    /// one returns `true`.
    RecordAssertionJtiIsAtomic,
    /// `use_dpop_proof` accepts a DPoP proof once: a replayed proof is
    /// refused (RFC 9449 §11.1).
    DpopProofsAreUsedOnce,
    /// Of many concurrent `use_dpop_proof` calls with one proof, exactly one
    /// returns `true`.
    UseDpopProofIsAtomic,
    /// `device_authorization` and `device_authorization_by_user_code` return
    /// a saved device authorization, and `record_device_poll` updates it.
    DeviceAuthorizationsAreFound,
    /// `decide_device_authorization` decides a pending authorization once:
    /// a decision is final.
    DeviceDecisionsAreMadeOnce,
    /// Of many concurrent `decide_device_authorization` calls with one user
    /// code, exactly one returns `true`.
    DecideDeviceAuthorizationIsAtomic,
    /// `take_device_authorization` returns a decided authorization once, to
    /// its own client, and never a pending one.
    OnlyDecidedDeviceAuthorizationsAreTaken,
    /// Of many concurrent `take_device_authorization` calls with one device
    /// code, exactly one returns it.
    TakeDeviceAuthorizationIsAtomic,
}

impl Rule {
    /// Every rule, in the order the kit runs them.
    pub const ALL: [Rule; 26] = [
        Rule::UnknownLookupsFindNothing,
        Rule::SavedTokensAreFound,
        Rule::RevocationRemovesTheFamily,
        Rule::RevokedFamiliesStayRevoked,
        Rule::RevocationWinsARaceWithASave,
        Rule::CodesAreTakenOnce,
        Rule::TakeCodeIsAtomic,
        Rule::ReplayDuringTheFirstRedemptionRevokesItsTokens,
        Rule::RefreshTokensAreFound,
        Rule::RotatedRefreshTokensAreStillFound,
        Rule::RefreshTokensRotateOnce,
        Rule::RotateRefreshTokenIsAtomic,
        Rule::RevocationCoversRefreshTokens,
        Rule::SessionsLiveUntilTheyEnd,
        Rule::ANewSessionEndsThePreviousOne,
        Rule::PushedRequestsAreTakenOnceByTheirClient,
        Rule::TakePushedRequestIsAtomic,
        Rule::AssertionIdsAreUsedOnce,
        Rule::RecordAssertionJtiIsAtomic,
        Rule::DpopProofsAreUsedOnce,
        Rule::UseDpopProofIsAtomic,
        Rule::DeviceAuthorizationsAreFound,
        Rule::DeviceDecisionsAreMadeOnce,
        Rule::DecideDeviceAuthorizationIsAtomic,
        Rule::OnlyDecidedDeviceAuthorizationsAreTaken,
        Rule::TakeDeviceAuthorizationIsAtomic,
    ];

    /// The rule's name, e.g. `"revoked families stay revoked"`.
    pub const fn name(self) -> &'static str {
        match self {
            Rule::UnknownLookupsFindNothing => "unknown lookups find nothing",
            Rule::SavedTokensAreFound => "saved tokens are found",
            Rule::RevocationRemovesTheFamily => "revocation removes the whole family",
            Rule::RevokedFamiliesStayRevoked => "revoked families stay revoked",
            Rule::RevocationWinsARaceWithASave => "a revocation wins a race with a save",
            Rule::CodesAreTakenOnce => "codes are taken once",
            Rule::TakeCodeIsAtomic => "take_code is atomic",
            Rule::ReplayDuringTheFirstRedemptionRevokesItsTokens => {
                "a replay during the first redemption revokes its tokens"
            }
            Rule::RefreshTokensAreFound => "refresh tokens are found",
            Rule::RotatedRefreshTokensAreStillFound => "rotated refresh tokens are still found",
            Rule::RefreshTokensRotateOnce => "refresh tokens rotate once",
            Rule::RotateRefreshTokenIsAtomic => "rotate_refresh_token is atomic",
            Rule::RevocationCoversRefreshTokens => "revocation covers refresh tokens",
            Rule::SessionsLiveUntilTheyEnd => "sessions live until they end",
            Rule::ANewSessionEndsThePreviousOne => "a new session ends the previous one",
            Rule::PushedRequestsAreTakenOnceByTheirClient => {
                "pushed requests are taken once, by their client"
            }
            Rule::TakePushedRequestIsAtomic => "take_pushed_request is atomic",
            Rule::AssertionIdsAreUsedOnce => "assertion ids are used once",
            Rule::RecordAssertionJtiIsAtomic => "record_assertion_jti is atomic",
            Rule::DpopProofsAreUsedOnce => "DPoP proofs are used once",
            Rule::UseDpopProofIsAtomic => "use_dpop_proof is atomic",
            Rule::DeviceAuthorizationsAreFound => "device authorizations are found",
            Rule::DeviceDecisionsAreMadeOnce => "device decisions are made once",
            Rule::DecideDeviceAuthorizationIsAtomic => "decide_device_authorization is atomic",
            Rule::OnlyDecidedDeviceAuthorizationsAreTaken => "only decided device authorizations are taken",
            Rule::TakeDeviceAuthorizationIsAtomic => "take_device_authorization is atomic",
        }
    }

    /// The storage trait the rule is about.
    pub const fn storage_trait(self) -> &'static str {
        match self {
            Rule::UnknownLookupsFindNothing
            | Rule::SavedTokensAreFound
            | Rule::RevocationRemovesTheFamily
            | Rule::RevokedFamiliesStayRevoked
            | Rule::RevocationWinsARaceWithASave => "Storage",
            Rule::CodesAreTakenOnce
            | Rule::TakeCodeIsAtomic
            | Rule::ReplayDuringTheFirstRedemptionRevokesItsTokens => "CodeStorage",
            Rule::RefreshTokensAreFound
            | Rule::RotatedRefreshTokensAreStillFound
            | Rule::RefreshTokensRotateOnce
            | Rule::RotateRefreshTokenIsAtomic
            | Rule::RevocationCoversRefreshTokens => "RefreshStorage",
            Rule::SessionsLiveUntilTheyEnd | Rule::ANewSessionEndsThePreviousOne => "SessionStorage",
            Rule::PushedRequestsAreTakenOnceByTheirClient | Rule::TakePushedRequestIsAtomic => {
                "PushedRequestStorage"
            }
            Rule::AssertionIdsAreUsedOnce | Rule::RecordAssertionJtiIsAtomic => "AssertionStorage",
            Rule::DpopProofsAreUsedOnce | Rule::UseDpopProofIsAtomic => "DpopStorage",
            Rule::DeviceAuthorizationsAreFound
            | Rule::DeviceDecisionsAreMadeOnce
            | Rule::DecideDeviceAuthorizationIsAtomic
            | Rule::OnlyDecidedDeviceAuthorizationsAreTaken
            | Rule::TakeDeviceAuthorizationIsAtomic => "DeviceStorage",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A broken rule: which, the storage method at fault, and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// The rule.
    pub rule: Rule,
    /// The storage method whose answer broke it, e.g. `"save_token"`.
    pub method: &'static str,
    /// What happened, and what the method must do instead.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rule `{}` ({}) broken by `{}`: {}",
            self.rule,
            self.rule.storage_trait(),
            self.method,
            self.message
        )
    }
}

/// What a run of the kit found: the rules that held and those broken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use = "a report says nothing until it is checked: call `assert_passed`"]
pub struct Report {
    held: Vec<Rule>,
    failures: Vec<Failure>,
}

impl Report {
    /// Whether every rule that ran held (and at least one ran).
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && !self.held.is_empty()
    }

    /// The rules that held.
    pub fn held(&self) -> &[Rule] {
        &self.held
    }

    /// The rules broken, in the order they ran.
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    /// The failure of `rule`, if it was broken.
    pub fn failure(&self, rule: Rule) -> Option<&Failure> {
        self.failures.iter().find(|f| f.rule == rule)
    }

    /// Fails the calling test with the whole report unless every rule held.
    ///
    /// # Panics
    ///
    /// When a rule was broken, or no rule ran.
    #[track_caller]
    pub fn assert_passed(&self) {
        assert!(self.passed(), "{self}");
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ran = self.held.len() + self.failures.len();
        write!(f, "storage conformance: {} of {ran} rules held", self.held.len())?;
        for failure in &self.failures {
            write!(f, "\n  FAILED {failure}")?;
        }
        Ok(())
    }
}

/// Runs the rules of every storage trait `S` declares ([`DeclaredStorage`]),
/// each on a store of its own from `make`.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let report = granted::testing::check_storage(|| async { granted::MemoryStore::new() }).await;
/// report.assert_passed();
/// assert_eq!(report.held().len(), granted::testing::Rule::ALL.len());
/// # });
/// ```
pub async fn check_storage<S, F, Fut>(make: F) -> Report
where
    S: DeclaredStorage,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    StorageKit::new(make).declared().run().await
}

type RuleFuture = Pin<Box<dyn Future<Output = Result<(), (&'static str, String)>> + Send>>;

/// One rule and its check, monomorphised for the storage.
struct Check<S> {
    rule: Rule,
    run: fn(Arc<S>, Settings) -> RuleFuture,
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    /// Rounds of each concurrent rule.
    rounds: usize,
    /// Tasks racing in each round.
    tasks: usize,
}

/// The kit with the rules chosen by hand: those of [`Storage`] always, and
/// the others per trait. [`check_storage`] is
/// `StorageKit::new(make).declared().run()`.
///
/// ```
/// use granted::testing::{Rule, StorageKit};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let report = StorageKit::new(|| async { granted::MemoryStore::new() })
///     .codes()
///     .sessions()
///     .rounds(5)
///     .run()
///     .await;
/// report.assert_passed();
/// assert!(report.held().contains(&Rule::TakeCodeIsAtomic));
/// assert!(!report.held().contains(&Rule::RotateRefreshTokenIsAtomic));
/// # });
/// ```
pub struct StorageKit<S, F> {
    make: F,
    checks: Vec<Check<S>>,
    settings: Settings,
}

impl<S, F> fmt::Debug for StorageKit<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageKit")
            .field("rules", &self.checks.iter().map(|c| c.rule).collect::<Vec<_>>())
            .field("rounds", &self.settings.rounds)
            .field("tasks", &self.settings.tasks)
            .finish_non_exhaustive()
    }
}

impl<S, F, Fut> StorageKit<S, F>
where
    S: Storage,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    /// The kit with the rules of [`Storage`], each run on a store from `make`.
    pub fn new(make: F) -> Self {
        let mut kit = Self {
            make,
            checks: Vec::new(),
            settings: Settings { rounds: 20, tasks: 8 },
        };
        kit.add(
            Rule::UnknownLookupsFindNothing,
            rules::unknown_lookups_find_nothing::<S>,
        );
        kit.add(Rule::SavedTokensAreFound, rules::saved_tokens_are_found::<S>);
        kit.add(
            Rule::RevocationRemovesTheFamily,
            rules::revocation_removes_the_family::<S>,
        );
        kit.add(
            Rule::RevokedFamiliesStayRevoked,
            rules::revoked_families_stay_revoked::<S>,
        );
        kit.add(
            Rule::RevocationWinsARaceWithASave,
            rules::revocation_wins_a_race_with_a_save::<S>,
        );
        kit
    }

    fn add(&mut self, rule: Rule, run: fn(Arc<S>, Settings) -> RuleFuture) {
        if self.checks.iter().all(|c| c.rule != rule) {
            self.checks.push(Check { rule, run });
        }
    }

    /// Adds the rules of every trait `S` declares.
    #[must_use]
    pub fn declared(mut self) -> Self
    where
        S: DeclaredStorage,
    {
        S::declare(&mut self);
        self
    }

    /// Adds the rules of [`CodeStorage`].
    #[must_use]
    pub fn codes(mut self) -> Self
    where
        S: CodeStorage,
    {
        StorageVisitor::codes(&mut self);
        self
    }

    /// Adds the rules of [`RefreshStorage`].
    #[must_use]
    pub fn refresh_tokens(mut self) -> Self
    where
        S: RefreshStorage,
    {
        StorageVisitor::refresh_tokens(&mut self);
        self
    }

    /// Adds the rules of [`SessionStorage`].
    #[must_use]
    pub fn sessions(mut self) -> Self
    where
        S: SessionStorage,
    {
        StorageVisitor::sessions(&mut self);
        self
    }

    /// Adds the rules of [`PushedRequestStorage`].
    #[must_use]
    pub fn pushed_requests(mut self) -> Self
    where
        S: PushedRequestStorage,
    {
        StorageVisitor::pushed_requests(&mut self);
        self
    }

    /// Adds the rules of [`AssertionStorage`].
    #[must_use]
    pub fn assertion_ids(mut self) -> Self
    where
        S: AssertionStorage,
    {
        StorageVisitor::assertion_ids(&mut self);
        self
    }

    /// Adds the rules of [`DeviceStorage`].
    #[must_use]
    pub fn device_authorizations(mut self) -> Self
    where
        S: DeviceStorage,
    {
        StorageVisitor::device_authorizations(&mut self);
        self
    }

    /// Adds the rules of [`DpopStorage`].
    #[must_use]
    pub fn dpop_proofs(mut self) -> Self
    where
        S: DpopStorage,
    {
        StorageVisitor::dpop_proofs(&mut self);
        self
    }

    /// How many rounds each concurrent rule runs (default 20, at least 1):
    /// more rounds catch rarer races.
    #[must_use]
    pub fn rounds(mut self, rounds: usize) -> Self {
        self.settings.rounds = rounds.max(1);
        self
    }

    /// How many tasks race in each round (default 8, at least 2).
    #[must_use]
    pub fn tasks(mut self, tasks: usize) -> Self {
        self.settings.tasks = tasks.max(2);
        self
    }

    /// Runs every chosen rule, each on a store of its own, and reports.
    /// Concurrent rules spawn Tokio tasks: call it inside a Tokio runtime
    /// (a multi-threaded one races truly in parallel).
    pub async fn run(self) -> Report {
        let mut report = Report::default();
        for check in &self.checks {
            let store = Arc::new((self.make)().await);
            let outcome = tokio::time::timeout(RULE_TIME_LIMIT, (check.run)(store, self.settings)).await;
            match outcome {
                Ok(Ok(())) => report.held.push(check.rule),
                Ok(Err((method, message))) => report.failures.push(Failure {
                    rule: check.rule,
                    method,
                    message,
                }),
                Err(_) => report.failures.push(Failure {
                    rule: check.rule,
                    method: "(every method of the rule)",
                    message: format!(
                        "the rule did not finish within {} s: a method never returns (a lock held \
                         across an `.await`, a deadlock?)",
                        RULE_TIME_LIMIT.as_secs()
                    ),
                }),
            }
        }
        report
    }
}

impl<S, F, Fut> StorageVisitor<S> for StorageKit<S, F>
where
    S: Storage,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    fn codes(&mut self)
    where
        S: CodeStorage,
    {
        self.add(Rule::CodesAreTakenOnce, rules::codes_are_taken_once::<S>);
        self.add(Rule::TakeCodeIsAtomic, rules::take_code_is_atomic::<S>);
        self.add(
            Rule::ReplayDuringTheFirstRedemptionRevokesItsTokens,
            rules::replay_during_the_first_redemption::<S>,
        );
    }

    fn refresh_tokens(&mut self)
    where
        S: RefreshStorage,
    {
        self.add(Rule::RefreshTokensAreFound, rules::refresh_tokens_are_found::<S>);
        self.add(
            Rule::RotatedRefreshTokensAreStillFound,
            rules::rotated_refresh_tokens_are_still_found::<S>,
        );
        self.add(
            Rule::RefreshTokensRotateOnce,
            rules::refresh_tokens_rotate_once::<S>,
        );
        self.add(
            Rule::RotateRefreshTokenIsAtomic,
            rules::rotate_refresh_token_is_atomic::<S>,
        );
        self.add(
            Rule::RevocationCoversRefreshTokens,
            rules::revocation_covers_refresh_tokens::<S>,
        );
    }

    fn sessions(&mut self)
    where
        S: SessionStorage,
    {
        self.add(
            Rule::SessionsLiveUntilTheyEnd,
            rules::sessions_live_until_they_end::<S>,
        );
        self.add(
            Rule::ANewSessionEndsThePreviousOne,
            rules::a_new_session_ends_the_previous_one::<S>,
        );
    }

    fn pushed_requests(&mut self)
    where
        S: PushedRequestStorage,
    {
        self.add(
            Rule::PushedRequestsAreTakenOnceByTheirClient,
            single_use::pushed_requests_are_taken_once_by_their_client::<S>,
        );
        self.add(
            Rule::TakePushedRequestIsAtomic,
            single_use::take_pushed_request_is_atomic::<S>,
        );
    }

    fn assertion_ids(&mut self)
    where
        S: AssertionStorage,
    {
        self.add(
            Rule::AssertionIdsAreUsedOnce,
            single_use::assertion_ids_are_used_once::<S>,
        );
        self.add(
            Rule::RecordAssertionJtiIsAtomic,
            single_use::record_assertion_jti_is_atomic::<S>,
        );
    }

    fn device_authorizations(&mut self)
    where
        S: DeviceStorage,
    {
        self.add(
            Rule::DeviceAuthorizationsAreFound,
            single_use::device_authorizations_are_found::<S>,
        );
        self.add(
            Rule::DeviceDecisionsAreMadeOnce,
            single_use::device_decisions_are_made_once::<S>,
        );
        self.add(
            Rule::DecideDeviceAuthorizationIsAtomic,
            single_use::decide_device_authorization_is_atomic::<S>,
        );
        self.add(
            Rule::OnlyDecidedDeviceAuthorizationsAreTaken,
            single_use::only_decided_device_authorizations_are_taken::<S>,
        );
        self.add(
            Rule::TakeDeviceAuthorizationIsAtomic,
            single_use::take_device_authorization_is_atomic::<S>,
        );
    }

    fn dpop_proofs(&mut self)
    where
        S: DpopStorage,
    {
        self.add(
            Rule::DpopProofsAreUsedOnce,
            single_use::dpop_proofs_are_used_once::<S>,
        );
        self.add(
            Rule::UseDpopProofIsAtomic,
            single_use::use_dpop_proof_is_atomic::<S>,
        );
    }
}

/// Random identifiers, so that rules never meet each other's data.
fn fresh_hash() -> Result<TokenHash, (&'static str, String)> {
    NewToken::generate()
        .map(|token| token.hash())
        .map_err(|e| ("(the kit)", format!("cannot draw a random identifier: {e}")))
}

fn fresh_family() -> Result<String, (&'static str, String)> {
    Ok(format!("conformance-kit:{}", fresh_hash()?))
}

/// A token record of `family`, with a refresh token when `refresh`.
fn token_record(family: &str, refresh: bool) -> Result<TokenRecord, (&'static str, String)> {
    let now = now();
    Ok(TokenRecord {
        access_token: fresh_hash()?,
        refresh_token: if refresh { Some(fresh_hash()?) } else { None },
        client_id: "conformance-kit".to_owned(),
        subject: Some("conformance-kit-user".to_owned()),
        scope: Scope::from_tokens(["read", "write"]),
        refresh_scope: None,
        jkt: None,
        family: family.to_owned(),
        issued_at: now,
        expires_at: now + 3600,
        refresh_expires_at: refresh.then_some(now + 86_400),
        rotated: false,
    })
}

fn code_record() -> Result<CodeRecord, (&'static str, String)> {
    let now = now();
    Ok(CodeRecord {
        code: fresh_hash()?,
        client_id: "conformance-kit".to_owned(),
        redirect_uri: Some("https://client.example/cb".to_owned()),
        scope: Scope::from_tokens(["openid", "read"]),
        subject: "conformance-kit-user".to_owned(),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned()),
        code_challenge_method: Some(PkceMethod::S256),
        nonce: Some("n-0S6_WzA2Mj".to_owned()),
        auth_time: Some(now),
        expires_at: now + 60,
    })
}

/// The rules, one function each.
mod rules {
    use super::*;

    type Outcome = Result<(), (&'static str, String)>;

    /// `Err` of a storage call, as a failure of `method`.
    pub(super) fn call<T, E: std::error::Error>(
        method: &'static str,
        result: Result<T, E>,
    ) -> Result<T, (&'static str, String)> {
        result.map_err(|e| (method, format!("returned an error: {e}")))
    }

    fn token<S: Storage>(record: TokenRecord) -> S::Token {
        S::Token::from_record(record)
    }

    /// The record a stored token model reads back as.
    fn read_token<S: Storage>(
        method: &'static str,
        token: S::Token,
    ) -> Result<TokenRecord, (&'static str, String)> {
        token
            .into_record()
            .map_err(|e| (method, format!("returned a token that does not read back: {e}")))
    }

    async fn find<S: Storage>(
        store: &S,
        hash: &TokenHash,
    ) -> Result<Option<TokenRecord>, (&'static str, String)> {
        match call("access_token", store.access_token(hash).await)? {
            Some(token) => read_token::<S>("access_token", token).map(Some),
            None => Ok(None),
        }
    }

    async fn find_refresh<S: RefreshStorage>(
        store: &S,
        hash: &TokenHash,
    ) -> Result<Option<TokenRecord>, (&'static str, String)> {
        match call("refresh_token", store.refresh_token(hash).await)? {
            Some(token) => read_token::<S>("refresh_token", token).map(Some),
            None => Ok(None),
        }
    }

    /// The fields every token model keeps.
    fn same_token(a: &TokenRecord, b: &TokenRecord) -> bool {
        a.access_token == b.access_token
            && a.client_id == b.client_id
            && a.family == b.family
            && a.scope == b.scope
            && a.issued_at == b.issued_at
            && a.expires_at == b.expires_at
    }

    pub(super) fn boxed(future: impl Future<Output = Outcome> + Send + 'static) -> RuleFuture {
        Box::pin(future)
    }

    pub(super) fn unknown_lookups_find_nothing<S: Storage>(store: Arc<S>, _: Settings) -> RuleFuture {
        boxed(async move {
            let client_id = format!("conformance-kit-unknown-{}", fresh_hash()?);
            if call("client", store.client(&client_id).await)?.is_some() {
                return Err((
                    "client",
                    format!("found a client for the unknown id `{client_id}`"),
                ));
            }
            if find(&*store, &fresh_hash()?).await?.is_some() {
                return Err((
                    "access_token",
                    "found a token for a hash that was never saved".to_owned(),
                ));
            }
            Ok(())
        })
    }

    pub(super) fn saved_tokens_are_found<S: Storage>(store: Arc<S>, _: Settings) -> RuleFuture {
        boxed(async move {
            let record = token_record(&fresh_family()?, false)?;
            call("save_token", store.save_token(token::<S>(record.clone())).await)?;
            match find(&*store, &record.access_token).await? {
                Some(found) if same_token(&found, &record) => Ok(()),
                Some(found) => Err((
                    "access_token",
                    format!(
                        "returned a token that differs from the one saved: saved {record:?}, \
                         found {found:?}"
                    ),
                )),
                None => Err((
                    "access_token",
                    "found nothing for the access token hash of a token `save_token` stored".to_owned(),
                )),
            }
        })
    }

    pub(super) fn revocation_removes_the_family<S: Storage>(store: Arc<S>, _: Settings) -> RuleFuture {
        boxed(async move {
            let family = fresh_family()?;
            let members = [token_record(&family, false)?, token_record(&family, false)?];
            let other = token_record(&fresh_family()?, false)?;
            for record in members.iter().chain([&other]) {
                call("save_token", store.save_token(token::<S>(record.clone())).await)?;
            }
            call("revoke_token_family", store.revoke_token_family(&family).await)?;
            for (n, record) in members.iter().enumerate() {
                if find(&*store, &record.access_token).await?.is_some() {
                    return Err((
                        "revoke_token_family",
                        format!(
                            "token {} of 2 of family `{family}` is still found by `access_token` after \
                             `revoke_token_family(\"{family}\")`: it must remove every token of the family",
                            n + 1
                        ),
                    ));
                }
            }
            if find(&*store, &other.access_token).await?.is_none() {
                return Err((
                    "revoke_token_family",
                    format!(
                        "removed a token of family `{}`, which was not revoked",
                        other.family
                    ),
                ));
            }
            Ok(())
        })
    }

    pub(super) fn revoked_families_stay_revoked<S: Storage>(store: Arc<S>, _: Settings) -> RuleFuture {
        boxed(async move {
            // A family with tokens, and one revoked before its first token
            // (a replayed code whose first redemption is still running).
            let with_tokens = fresh_family()?;
            call(
                "save_token",
                store
                    .save_token(token::<S>(token_record(&with_tokens, false)?))
                    .await,
            )?;
            let empty = fresh_family()?;
            for family in [&with_tokens, &empty] {
                call("revoke_token_family", store.revoke_token_family(family).await)?;
                let late = token_record(family, false)?;
                call("save_token", store.save_token(token::<S>(late.clone())).await)?;
                if find(&*store, &late.access_token).await?.is_some() {
                    let had = if family == &with_tokens {
                        "had tokens"
                    } else {
                        "had no token yet"
                    };
                    return Err((
                        "save_token",
                        format!(
                            "stored a token of family `{family}` (which {had}) after \
                             `revoke_token_family(\"{family}\")`: the store must remember a revoked family (a \
                             tombstone, for at least `granted::storage::REVOKED_FAMILY_RETENTION_SECS`) and \
                             `save_token` must store nothing into it"
                        ),
                    ));
                }
            }
            Ok(())
        })
    }

    pub(super) fn revocation_wins_a_race_with_a_save<S: Storage>(
        store: Arc<S>,
        settings: Settings,
    ) -> RuleFuture {
        boxed(async move {
            for round in 0..settings.rounds {
                let family = fresh_family()?;
                let record = token_record(&family, false)?;
                let barrier = Arc::new(Barrier::new(2));
                let save = {
                    let (store, barrier, record) = (Arc::clone(&store), Arc::clone(&barrier), record.clone());
                    async move {
                        barrier.wait().await;
                        call("save_token", store.save_token(token::<S>(record)).await)
                    }
                };
                let revoke = {
                    let (store, barrier, family) = (Arc::clone(&store), Arc::clone(&barrier), family.clone());
                    async move {
                        barrier.wait().await;
                        call("revoke_token_family", store.revoke_token_family(&family).await)
                    }
                };
                // The task spawned last passes the barrier first: both orders,
                // one round each.
                let (save, revoke) = if round % 2 == 0 {
                    let save = tokio::spawn(save);
                    (save, tokio::spawn(revoke))
                } else {
                    let revoke = tokio::spawn(revoke);
                    (tokio::spawn(save), revoke)
                };
                joined(save.await)?;
                joined(revoke.await)?;
                if find(&*store, &record.access_token).await?.is_some() {
                    return Err((
                        "save_token",
                        format!(
                            "in round {} of {}, a token saved while its family `{family}` was being revoked is \
                             still found afterwards: `save_token` and `revoke_token_family` must be atomic \
                             with respect to each other (check the tombstone and store in one step)",
                            round + 1,
                            settings.rounds
                        ),
                    ));
                }
            }
            Ok(())
        })
    }

    pub(super) fn codes_are_taken_once<S: CodeStorage>(store: Arc<S>, _: Settings) -> RuleFuture {
        boxed(async move {
            let record = code_record()?;
            call(
                "save_code",
                store.save_code(S::Code::from_record(record.clone())).await,
            )?;
            let Some(taken) = call("take_code", store.take_code(&record.code).await)? else {
                return Err((
                    "take_code",
                    "found nothing for a code `save_code` stored".to_owned(),
                ));
            };
            let taken = taken.into_record().map_err(|e| {
                (
                    "take_code",
                    format!("returned a code that does not read back: {e}"),
                )
            })?;
            let same = taken.code == record.code
                && taken.client_id == record.client_id
                && taken.subject == record.subject
                && taken.redirect_uri == record.redirect_uri
                && taken.scope == record.scope
                && taken.code_challenge == record.code_challenge
                && taken.code_challenge_method == record.code_challenge_method
                && taken.expires_at == record.expires_at;
            if !same {
                return Err((
                    "take_code",
                    format!(
                        "returned a code that differs from the one saved: saved {record:?}, took {taken:?}"
                    ),
                ));
            }
            if call("take_code", store.take_code(&record.code).await)?.is_some() {
                return Err((
                    "take_code",
                    "returned the same code a second time: it must remove the code it returns".to_owned(),
                ));
            }
            if call("take_code", store.take_code(&fresh_hash()?).await)?.is_some() {
                return Err((
                    "take_code",
                    "returned a code for a hash that was never saved".to_owned(),
                ));
            }
            Ok(())
        })
    }

    /// Starts `tasks` calls made by `attempt`, released together, and counts
    /// those that returned `true` (won).
    pub(super) async fn winners<Fut>(
        tasks: usize,
        attempt: impl Fn() -> Fut,
    ) -> Result<usize, (&'static str, String)>
    where
        Fut: Future<Output = Result<bool, (&'static str, String)>> + Send + 'static,
    {
        let barrier = Arc::new(Barrier::new(tasks));
        let racers: Vec<_> = (0..tasks)
            .map(|_| {
                let (barrier, attempt) = (Arc::clone(&barrier), attempt());
                tokio::spawn(async move {
                    barrier.wait().await;
                    attempt.await
                })
            })
            .collect();
        let mut won = 0;
        for racer in racers {
            won += usize::from(joined(racer.await)?);
        }
        Ok(won)
    }

    /// Runs `round` once per round of `settings`, each returning how many of
    /// its racing calls won, and fails unless exactly one won every time.
    pub(super) async fn exactly_one_wins<Fut>(
        settings: Settings,
        method: &'static str,
        what: &'static str,
        how: &'static str,
        round: impl Fn() -> Fut,
    ) -> Outcome
    where
        Fut: Future<Output = Result<usize, (&'static str, String)>>,
    {
        for n in 0..settings.rounds {
            let won = round().await?;
            if won != 1 {
                return Err((
                    method,
                    format!(
                        "in round {} of {}, {won} of {} concurrent `{method}` calls with one {what} succeeded: \
                         exactly one may ({how})",
                        n + 1,
                        settings.rounds,
                        settings.tasks
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(super) fn take_code_is_atomic<S: CodeStorage>(store: Arc<S>, settings: Settings) -> RuleFuture {
        boxed(async move {
            exactly_one_wins(
                settings,
                "take_code",
                "code",
                "remove and return in one atomic step, e.g. `DELETE ... RETURNING`",
                || async {
                    let record = code_record()?;
                    call(
                        "save_code",
                        store.save_code(S::Code::from_record(record.clone())).await,
                    )?;
                    winners(settings.tasks, || {
                        let (store, hash) = (Arc::clone(&store), record.code);
                        async move { call("take_code", store.take_code(&hash).await).map(|code| code.is_some()) }
                    })
                    .await
                },
            )
            .await
        })
    }

    /// One redemption as the runtime runs it: take the code; the winner
    /// saves the tokens of the code's family, the loser (a replay) revokes
    /// that family.
    async fn redeem<S: CodeStorage>(
        store: Arc<S>,
        barrier: Arc<Barrier>,
        code: TokenHash,
        token: TokenRecord,
    ) -> Outcome {
        barrier.wait().await;
        match call("take_code", store.take_code(&code).await)? {
            Some(_) => {
                // Let the replay overtake, as a slow first redemption would.
                tokio::task::yield_now().await;
                call("save_token", store.save_token(S::Token::from_record(token)).await)
            }
            None => call(
                "revoke_token_family",
                store.revoke_token_family(&token.family).await,
            ),
        }
    }

    pub(super) fn replay_during_the_first_redemption<S: CodeStorage>(
        store: Arc<S>,
        settings: Settings,
    ) -> RuleFuture {
        boxed(async move {
            for round in 0..settings.rounds {
                let code = code_record()?;
                call(
                    "save_code",
                    store.save_code(S::Code::from_record(code.clone())).await,
                )?;
                let family = oauth_runtime::grants::family_of_code(&code.code);
                let tokens = [token_record(&family, false)?, token_record(&family, false)?];
                let barrier = Arc::new(Barrier::new(2));
                let redemptions: Vec<_> = tokens
                    .iter()
                    .map(|token| {
                        tokio::spawn(redeem(
                            Arc::clone(&store),
                            Arc::clone(&barrier),
                            code.code,
                            token.clone(),
                        ))
                    })
                    .collect();
                for redemption in redemptions {
                    joined(redemption.await)?;
                }
                for token in &tokens {
                    if find(&*store, &token.access_token).await?.is_some() {
                        return Err((
                            "save_token",
                            format!(
                                "in round {} of {}, a code was redeemed twice at once and the tokens of its \
                                 first redemption are still found after the replay revoked their family \
                                 `{family}`: `take_code` must let exactly one redemption win, and a family \
                                 revoked before (or while) its tokens are saved must stay revoked",
                                round + 1,
                                settings.rounds
                            ),
                        ));
                    }
                }
            }
            Ok(())
        })
    }

    /// Saves a token with a refresh token, and checks it is found by it.
    async fn saved_refreshable<S: RefreshStorage>(
        store: &S,
        family: &str,
    ) -> Result<TokenRecord, (&'static str, String)> {
        let record = token_record(family, true)?;
        call("save_token", store.save_token(token::<S>(record.clone())).await)?;
        Ok(record)
    }

    fn refresh_hash(record: &TokenRecord) -> Result<TokenHash, (&'static str, String)> {
        record.refresh_token.ok_or_else(|| {
            (
                "(the kit)",
                "a refreshable record without a refresh token".to_owned(),
            )
        })
    }

    pub(super) fn refresh_tokens_are_found<S: RefreshStorage>(store: Arc<S>, _: Settings) -> RuleFuture {
        boxed(async move {
            let record = saved_refreshable(&*store, &fresh_family()?).await?;
            let refresh = refresh_hash(&record)?;
            match find_refresh(&*store, &refresh).await? {
                Some(found)
                    if same_token(&found, &record)
                        && found.refresh_token == Some(refresh)
                        && !found.rotated => {}
                Some(found) => {
                    return Err((
                        "refresh_token",
                        format!(
                            "returned a token that differs from the one saved (or is marked rotated): saved \
                             {record:?}, found {found:?}"
                        ),
                    ));
                }
                None => {
                    return Err((
                        "refresh_token",
                        "found nothing for the refresh token hash of a token `save_token` stored (does the \
                         token model keep the refresh fields?)"
                            .to_owned(),
                    ));
                }
            }
            if find_refresh(&*store, &record.access_token).await?.is_some() {
                return Err((
                    "refresh_token",
                    "found a token by its access token hash".to_owned(),
                ));
            }
            Ok(())
        })
    }

    pub(super) fn rotated_refresh_tokens_are_still_found<S: RefreshStorage>(
        store: Arc<S>,
        _: Settings,
    ) -> RuleFuture {
        boxed(async move {
            let family = fresh_family()?;
            let old = saved_refreshable(&*store, &family).await?;
            let new = token_record(&family, true)?;
            if !call(
                "rotate_refresh_token",
                store
                    .rotate_refresh_token(&refresh_hash(&old)?, token::<S>(new.clone()))
                    .await,
            )? {
                return Err((
                    "rotate_refresh_token",
                    "returned `false` for a refresh token that was saved and never rotated".to_owned(),
                ));
            }
            match find_refresh(&*store, &refresh_hash(&old)?).await? {
                Some(found) if found.rotated => {}
                Some(_) => {
                    return Err((
                        "rotate_refresh_token",
                        "left the rotated token unmarked: `refresh_token` finds it with `rotated: false`, so \
                         it could be used again"
                            .to_owned(),
                    ));
                }
                None => {
                    return Err((
                        "refresh_token",
                        "found nothing for a refresh token that was rotated: it must still return the token, \
                         marked rotated, so that the runtime detects its reuse and revokes the family (RFC \
                         9700 §4.14)"
                            .to_owned(),
                    ));
                }
            }
            match find_refresh(&*store, &refresh_hash(&new)?).await? {
                Some(found) if !found.rotated && same_token(&found, &new) => {}
                _ => {
                    return Err((
                        "rotate_refresh_token",
                        "did not store the new token: `refresh_token` does not find it by its refresh token"
                            .to_owned(),
                    ));
                }
            }
            if find(&*store, &new.access_token).await?.is_none() {
                return Err((
                    "rotate_refresh_token",
                    "did not store the new token: `access_token` does not find it".to_owned(),
                ));
            }
            Ok(())
        })
    }

    pub(super) fn refresh_tokens_rotate_once<S: RefreshStorage>(store: Arc<S>, _: Settings) -> RuleFuture {
        boxed(async move {
            let family = fresh_family()?;
            let old = saved_refreshable(&*store, &family).await?;
            let first = token_record(&family, true)?;
            let second = token_record(&family, true)?;
            let old_refresh = refresh_hash(&old)?;
            call(
                "rotate_refresh_token",
                store.rotate_refresh_token(&old_refresh, token::<S>(first)).await,
            )?;
            let again = call(
                "rotate_refresh_token",
                store
                    .rotate_refresh_token(&old_refresh, token::<S>(second.clone()))
                    .await,
            )?;
            if again || find(&*store, &second.access_token).await?.is_some() {
                return Err((
                    "rotate_refresh_token",
                    "rotated a refresh token a second time: once rotated it must return `false` and store \
                     nothing"
                        .to_owned(),
                ));
            }
            let stray = token_record(&family, true)?;
            let unknown = call(
                "rotate_refresh_token",
                store
                    .rotate_refresh_token(&fresh_hash()?, token::<S>(stray.clone()))
                    .await,
            )?;
            if unknown || find(&*store, &stray.access_token).await?.is_some() {
                return Err((
                    "rotate_refresh_token",
                    "rotated an unknown refresh token: it must return `false` and store nothing".to_owned(),
                ));
            }
            Ok(())
        })
    }

    pub(super) fn rotate_refresh_token_is_atomic<S: RefreshStorage>(
        store: Arc<S>,
        settings: Settings,
    ) -> RuleFuture {
        boxed(async move {
            for round in 0..settings.rounds {
                let family = fresh_family()?;
                let old = saved_refreshable(&*store, &family).await?;
                let old_refresh = refresh_hash(&old)?;
                let news = (0..settings.tasks)
                    .map(|_| token_record(&family, true))
                    .collect::<Result<Vec<_>, _>>()?;
                let barrier = Arc::new(Barrier::new(settings.tasks));
                let rotations: Vec<_> = news
                    .iter()
                    .map(|new| {
                        let (store, barrier, new) = (Arc::clone(&store), Arc::clone(&barrier), new.clone());
                        tokio::spawn(async move {
                            barrier.wait().await;
                            call(
                                "rotate_refresh_token",
                                store.rotate_refresh_token(&old_refresh, token::<S>(new)).await,
                            )
                        })
                    })
                    .collect();
                let mut winners = 0;
                for rotation in rotations {
                    winners += usize::from(joined(rotation.await)?);
                }
                let mut stored = 0;
                for new in &news {
                    stored += usize::from(find(&*store, &new.access_token).await?.is_some());
                }
                if winners != 1 || stored != 1 {
                    return Err((
                        "rotate_refresh_token",
                        format!(
                            "in round {} of {}, {winners} of {} concurrent rotations of one refresh token \
                             returned `true` and {stored} new tokens were stored: exactly one may (mark the \
                             old token rotated only if it is not, and store the new one, in one atomic step)",
                            round + 1,
                            settings.rounds,
                            settings.tasks
                        ),
                    ));
                }
            }
            Ok(())
        })
    }

    pub(super) fn revocation_covers_refresh_tokens<S: RefreshStorage>(
        store: Arc<S>,
        _: Settings,
    ) -> RuleFuture {
        boxed(async move {
            let family = fresh_family()?;
            let rotated = saved_refreshable(&*store, &family).await?;
            let live = token_record(&family, true)?;
            call(
                "rotate_refresh_token",
                store
                    .rotate_refresh_token(&refresh_hash(&rotated)?, token::<S>(live.clone()))
                    .await,
            )?;
            call("revoke_token_family", store.revoke_token_family(&family).await)?;
            for (which, record) in [("rotated", &rotated), ("live", &live)] {
                if find_refresh(&*store, &refresh_hash(record)?).await?.is_some() {
                    return Err((
                        "revoke_token_family",
                        format!(
                            "the {which} refresh token of family `{family}` is still found by `refresh_token` \
                             after `revoke_token_family(\"{family}\")`"
                        ),
                    ));
                }
            }
            let next = token_record(&family, true)?;
            let rotated_again = call(
                "rotate_refresh_token",
                store
                    .rotate_refresh_token(&refresh_hash(&live)?, token::<S>(next.clone()))
                    .await,
            )?;
            if rotated_again || find(&*store, &next.access_token).await?.is_some() {
                return Err((
                    "rotate_refresh_token",
                    format!(
                        "rotated a refresh token of the revoked family `{family}`: it must return `false`"
                    ),
                ));
            }
            Ok(())
        })
    }

    fn session(now: i64) -> LoginSession {
        LoginSession::new("conformance-kit-user", "kit", now, now + 3600)
    }

    pub(super) fn sessions_live_until_they_end<S: SessionStorage>(store: Arc<S>, _: Settings) -> RuleFuture {
        boxed(async move {
            let now = now();
            let id = fresh_hash()?;
            let started = session(now);
            call(
                "start_session",
                store.start_session(&id, started.clone(), None).await,
            )?;
            match call("session", store.session(&id, now + 1).await)? {
                Some(found) if found == started => {}
                Some(found) => {
                    return Err((
                        "session",
                        format!(
                            "returned a session that differs from the one started: {started:?}, found {found:?}"
                        ),
                    ));
                }
                None => {
                    return Err((
                        "session",
                        "found nothing for a session `start_session` stored".to_owned(),
                    ));
                }
            }
            let scope = Scope::from_tokens(["openid", "read"]);
            call(
                "add_consent",
                store.add_consent(&id, "conformance-kit", &scope).await,
            )?;
            match call("session", store.session(&id, now + 2).await)? {
                Some(found) if found.has_consented("conformance-kit", &scope) => {}
                _ => {
                    return Err((
                        "add_consent",
                        "the consent is not in the session `session` returns afterwards".to_owned(),
                    ));
                }
            }
            if call("session", store.session(&id, started.expires_at).await)?.is_some() {
                return Err((
                    "session",
                    "returned a session at its expiry: only live sessions (`expires_at > now`) are found"
                        .to_owned(),
                ));
            }
            call("end_session", store.end_session(&id).await)?;
            if call("session", store.session(&id, now + 3).await)?.is_some() {
                return Err((
                    "end_session",
                    "the session is still found after `end_session`".to_owned(),
                ));
            }
            Ok(())
        })
    }

    pub(super) fn a_new_session_ends_the_previous_one<S: SessionStorage>(
        store: Arc<S>,
        _: Settings,
    ) -> RuleFuture {
        boxed(async move {
            let now = now();
            let (first, second) = (fresh_hash()?, fresh_hash()?);
            call(
                "start_session",
                store.start_session(&first, session(now), None).await,
            )?;
            call(
                "start_session",
                store.start_session(&second, session(now), Some(&first)).await,
            )?;
            if call("session", store.session(&first, now + 1).await)?.is_some() {
                return Err((
                    "start_session",
                    "the previous session is still found after `start_session(.., Some(previous))`: signing in \
                     again in one browser must end its earlier session"
                        .to_owned(),
                ));
            }
            if call("session", store.session(&second, now + 1).await)?.is_none() {
                return Err(("start_session", "the new session is not found".to_owned()));
            }
            Ok(())
        })
    }

    /// The outcome of a spawned task; a panic in the store is a failure.
    pub(super) fn joined<T>(
        joined: Result<Result<T, (&'static str, String)>, tokio::task::JoinError>,
    ) -> Result<T, (&'static str, String)> {
        joined.map_err(|e| {
            (
                "(a spawned call)",
                format!("the task panicked or was cancelled: {e}"),
            )
        })?
    }
}

mod single_use;

#[cfg(test)]
mod tests;
