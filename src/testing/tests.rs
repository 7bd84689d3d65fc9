//! The kit's own tests: a small reference store that follows every rule,
//! and the same store broken one way per rule, which must fail the kit
//! with a message naming the rule and the method at fault.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use oauth_runtime::model::{CodeRecord, TokenRecord, UnixTime};
use oauth_runtime::storage::{
    AssertionStorage, CodeStorage, DeviceStorage, DpopStorage, PushedRequestStorage, RefreshStorage,
    SessionStorage, Storage,
};
use oauth_runtime::{
    ClientRecord, DeviceAuthorization, DeviceStatus, LoginSession, PushedRequest, Scope, TokenHash,
};

use super::{DeclaredStorage, Rule, StorageKit, StorageVisitor};

/// One way of breaking the reference store; each breaks the rule named in
/// the test that uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// `access_token` of an unknown hash is an error.
    ErrorOnUnknownToken,
    /// `access_token` returns the token with another expiry.
    AltersSavedTokens,
    /// `revoke_token_family` removes one token of the family.
    RevokesOneToken,
    /// `revoke_token_family` leaves no tombstone.
    NoTombstones,
    /// `save_token` checks the tombstone, waits, then stores.
    SaveChecksThenWaits,
    /// `take_code` returns the code without removing it.
    TakeKeepsTheCode,
    /// `take_code` reads the code, waits, then removes it.
    TakeReadsThenRemoves,
    /// `revoke_token_family` removes the tokens, waits, then tombstones.
    TombstonesAfterAWait,
    /// `refresh_token` looks tokens up by their access token.
    RefreshByAccessHash,
    /// `refresh_token` does not return rotated tokens.
    HidesRotatedTokens,
    /// `rotate_refresh_token` rotates rotated tokens again.
    RotatesRotatedTokens,
    /// `rotate_refresh_token` reads the token, waits, then marks it.
    RotateReadsThenMarks,
    /// `revoke_token_family` forgets to remove refresh tokens.
    RevokeKeepsRefreshTokens,
    /// `end_session` does nothing.
    EndSessionKeepsTheSession,
    /// `start_session` ignores the previous session.
    KeepsThePreviousSession,
    /// `take_pushed_request` ignores which client asks.
    PushedToAnyClient,
    /// `take_pushed_request` reads the request, waits, then removes it.
    TakePushedReadsThenRemoves,
    /// `record_assertion_jti` never finds an id recorded.
    AssertionIdsReplay,
    /// `record_assertion_jti` checks for the id, waits, then records it.
    AssertionIdChecksThenRecords,
    /// `use_dpop_proof` never finds a proof recorded.
    DpopProofsReplay,
    /// `use_dpop_proof` checks for the proof, waits, then records it.
    DpopProofChecksThenRecords,
    /// `record_device_poll` does nothing.
    PollsNotRecorded,
    /// `decide_device_authorization` decides decided authorizations again.
    DecisionsOverwritten,
    /// `decide_device_authorization` checks that it is pending, waits, then decides.
    DecideChecksThenWrites,
    /// `take_device_authorization` takes pending authorizations too.
    TakesPendingDevices,
    /// `take_device_authorization` reads the authorization, waits, then removes it.
    TakeDeviceReadsThenRemoves,
}

/// How long a broken store waits in the window it should not have: long
/// enough for a racing call to land in it.
const WINDOW: Duration = Duration::from_millis(3);

/// Tokens are kept twice, by access and by refresh token, as a SQL store
/// keeping refresh tokens in a table of their own would.
#[derive(Default)]
struct Tables {
    tokens: HashMap<TokenHash, TokenRecord>,
    by_refresh: HashMap<TokenHash, TokenRecord>,
    revoked: HashSet<String>,
    codes: HashMap<TokenHash, CodeRecord>,
    sessions: HashMap<TokenHash, LoginSession>,
    pushed: HashMap<TokenHash, PushedRequest>,
    assertion_ids: HashSet<TokenHash>,
    dpop_proofs: HashSet<TokenHash>,
    /// By device code.
    devices: HashMap<TokenHash, DeviceAuthorization>,
}

struct KitStore {
    tables: Mutex<Tables>,
    fault: Fault,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct KitError(&'static str);

impl KitStore {
    fn new(fault: Fault) -> Self {
        Self {
            tables: Mutex::new(Tables::default()),
            fault,
        }
    }

    fn tables(&self) -> Result<MutexGuard<'_, Tables>, KitError> {
        self.tables.lock().map_err(|_| KitError("poisoned"))
    }
}

impl Tables {
    fn insert(&mut self, token: TokenRecord) {
        if let Some(refresh) = token.refresh_token {
            self.by_refresh.insert(refresh, token.clone());
        }
        self.tokens.insert(token.access_token, token);
    }

    /// Marks the token holding refresh token `refresh` rotated.
    fn mark_rotated(&mut self, refresh: &TokenHash) {
        if let Some(token) = self.by_refresh.get_mut(refresh) {
            token.rotated = true;
            if let Some(access) = self.tokens.get_mut(&token.access_token) {
                access.rotated = true;
            }
        }
    }
}

impl Storage for KitStore {
    type Client = ClientRecord;
    type Token = TokenRecord;
    type Error = KitError;

    async fn client(&self, _: &str) -> Result<Option<ClientRecord>, KitError> {
        Ok(None)
    }

    async fn save_token(&self, token: TokenRecord) -> Result<(), KitError> {
        if self.fault == Fault::SaveChecksThenWaits {
            if self.tables()?.revoked.contains(&token.family) {
                return Ok(());
            }
            tokio::time::sleep(WINDOW).await;
            self.tables()?.insert(token);
            return Ok(());
        }
        let mut tables = self.tables()?;
        if self.fault == Fault::NoTombstones || !tables.revoked.contains(&token.family) {
            tables.insert(token);
        }
        Ok(())
    }

    async fn access_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, KitError> {
        let found = self.tables()?.tokens.get(hash).cloned();
        match self.fault {
            Fault::ErrorOnUnknownToken if found.is_none() => Err(KitError("no such token")),
            Fault::AltersSavedTokens => Ok(found.map(|t| TokenRecord {
                expires_at: t.expires_at + 1,
                ..t
            })),
            _ => Ok(found),
        }
    }

    async fn revoke_token_family(&self, family: &str) -> Result<(), KitError> {
        {
            let mut tables = self.tables()?;
            let mut members: Vec<TokenHash> = tables
                .tokens
                .values()
                .filter(|t| t.family == family)
                .map(|t| t.access_token)
                .collect();
            if self.fault == Fault::RevokesOneToken {
                members.truncate(1);
            }
            for access in members {
                if let Some(token) = tables.tokens.remove(&access)
                    && let Some(refresh) = token.refresh_token
                    && self.fault != Fault::RevokeKeepsRefreshTokens
                {
                    tables.by_refresh.remove(&refresh);
                }
            }
        }
        if self.fault == Fault::TombstonesAfterAWait {
            tokio::time::sleep(WINDOW).await;
        }
        if self.fault != Fault::NoTombstones {
            self.tables()?.revoked.insert(family.to_owned());
        }
        Ok(())
    }
}

impl CodeStorage for KitStore {
    type Code = CodeRecord;

    async fn save_code(&self, code: CodeRecord) -> Result<(), KitError> {
        self.tables()?.codes.insert(code.code, code);
        Ok(())
    }

    async fn take_code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, KitError> {
        match self.fault {
            Fault::TakeKeepsTheCode => Ok(self.tables()?.codes.get(hash).cloned()),
            Fault::TakeReadsThenRemoves => {
                let code = self.tables()?.codes.get(hash).cloned();
                tokio::time::sleep(WINDOW).await;
                self.tables()?.codes.remove(hash);
                Ok(code)
            }
            _ => Ok(self.tables()?.codes.remove(hash)),
        }
    }
}

impl RefreshStorage for KitStore {
    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, KitError> {
        let tables = self.tables()?;
        let found = if self.fault == Fault::RefreshByAccessHash {
            tables.tokens.get(hash).cloned()
        } else {
            tables.by_refresh.get(hash).cloned()
        };
        Ok(found.filter(|t| !(self.fault == Fault::HidesRotatedTokens && t.rotated)))
    }

    async fn rotate_refresh_token(&self, old: &TokenHash, new: TokenRecord) -> Result<bool, KitError> {
        if self.fault == Fault::RotateReadsThenMarks {
            if self.tables()?.by_refresh.get(old).is_none_or(|t| t.rotated) {
                return Ok(false);
            }
            tokio::time::sleep(WINDOW).await;
            let mut tables = self.tables()?;
            tables.mark_rotated(old);
            tables.insert(new);
            return Ok(true);
        }
        let mut tables = self.tables()?;
        match tables.by_refresh.get(old) {
            Some(token) if !token.rotated || self.fault == Fault::RotatesRotatedTokens => {}
            _ => return Ok(false),
        }
        tables.mark_rotated(old);
        tables.insert(new);
        Ok(true)
    }
}

impl SessionStorage for KitStore {
    async fn start_session(
        &self,
        id: &TokenHash,
        session: LoginSession,
        previous: Option<&TokenHash>,
    ) -> Result<(), KitError> {
        let mut tables = self.tables()?;
        if let Some(previous) = previous.filter(|_| self.fault != Fault::KeepsThePreviousSession) {
            tables.sessions.remove(previous);
        }
        tables.sessions.insert(*id, session);
        Ok(())
    }

    async fn session(&self, id: &TokenHash, now: UnixTime) -> Result<Option<LoginSession>, KitError> {
        Ok(self
            .tables()?
            .sessions
            .get(id)
            .filter(|s| s.is_live(now))
            .cloned())
    }

    async fn add_consent(&self, id: &TokenHash, client_id: &str, scope: &Scope) -> Result<(), KitError> {
        if let Some(session) = self.tables()?.sessions.get_mut(id) {
            session.consents.push((client_id.to_owned(), scope.clone()));
        }
        Ok(())
    }

    async fn end_session(&self, id: &TokenHash) -> Result<(), KitError> {
        if self.fault != Fault::EndSessionKeepsTheSession {
            self.tables()?.sessions.remove(id);
        }
        Ok(())
    }
}

impl PushedRequestStorage for KitStore {
    async fn save_pushed_request(&self, request: PushedRequest) -> Result<(), KitError> {
        self.tables()?.pushed.insert(request.request_uri, request);
        Ok(())
    }

    async fn take_pushed_request(
        &self,
        request_uri: &TokenHash,
        client_id: &str,
    ) -> Result<Option<PushedRequest>, KitError> {
        let ours = |request: &PushedRequest| {
            self.fault == Fault::PushedToAnyClient || request.client_id == client_id
        };
        if self.fault == Fault::TakePushedReadsThenRemoves {
            let request = self
                .tables()?
                .pushed
                .get(request_uri)
                .filter(|r| ours(r))
                .cloned();
            tokio::time::sleep(WINDOW).await;
            self.tables()?.pushed.remove(request_uri);
            return Ok(request);
        }
        let mut tables = self.tables()?;
        if !tables.pushed.get(request_uri).is_some_and(ours) {
            return Ok(None);
        }
        Ok(tables.pushed.remove(request_uri))
    }
}

impl KitStore {
    /// Records `key` in the set `pick` chooses, once; with `replays`, as if
    /// it were never there; with `racy`, checking and recording apart.
    async fn record_once(
        &self,
        key: &TokenHash,
        pick: fn(&mut Tables) -> &mut HashSet<TokenHash>,
        replays: Fault,
        racy: Fault,
    ) -> Result<bool, KitError> {
        if self.fault == replays {
            pick(&mut *self.tables()?).insert(*key);
            return Ok(true);
        }
        if self.fault == racy {
            if pick(&mut *self.tables()?).contains(key) {
                return Ok(false);
            }
            tokio::time::sleep(WINDOW).await;
            pick(&mut *self.tables()?).insert(*key);
            return Ok(true);
        }
        Ok(pick(&mut *self.tables()?).insert(*key))
    }
}

impl AssertionStorage for KitStore {
    async fn record_assertion_jti(&self, jti: &TokenHash, _: UnixTime) -> Result<bool, KitError> {
        self.record_once(
            jti,
            |tables| &mut tables.assertion_ids,
            Fault::AssertionIdsReplay,
            Fault::AssertionIdChecksThenRecords,
        )
        .await
    }
}

impl DpopStorage for KitStore {
    async fn use_dpop_proof(&self, key: &TokenHash, _: UnixTime) -> Result<bool, KitError> {
        self.record_once(
            key,
            |tables| &mut tables.dpop_proofs,
            Fault::DpopProofsReplay,
            Fault::DpopProofChecksThenRecords,
        )
        .await
    }
}

impl Tables {
    fn device_by_user_code(&mut self, user_code: &TokenHash) -> Option<&mut DeviceAuthorization> {
        self.devices.values_mut().find(|d| d.user_code == *user_code)
    }
}

impl DeviceStorage for KitStore {
    async fn save_device_authorization(&self, authorization: DeviceAuthorization) -> Result<(), KitError> {
        self.tables()?
            .devices
            .insert(authorization.device_code, authorization);
        Ok(())
    }

    async fn device_authorization(
        &self,
        device_code: &TokenHash,
    ) -> Result<Option<DeviceAuthorization>, KitError> {
        Ok(self.tables()?.devices.get(device_code).cloned())
    }

    async fn device_authorization_by_user_code(
        &self,
        user_code: &TokenHash,
    ) -> Result<Option<DeviceAuthorization>, KitError> {
        Ok(self.tables()?.device_by_user_code(user_code).map(|d| d.clone()))
    }

    async fn record_device_poll(
        &self,
        device_code: &TokenHash,
        polled_at: UnixTime,
        interval: i64,
    ) -> Result<(), KitError> {
        if self.fault != Fault::PollsNotRecorded
            && let Some(device) = self.tables()?.devices.get_mut(device_code)
        {
            device.last_polled_at = Some(polled_at);
            device.interval = interval;
        }
        Ok(())
    }

    async fn decide_device_authorization(
        &self,
        user_code: &TokenHash,
        status: DeviceStatus,
    ) -> Result<bool, KitError> {
        if self.fault == Fault::DecideChecksThenWrites {
            if !self
                .tables()?
                .device_by_user_code(user_code)
                .is_some_and(|d| d.status == DeviceStatus::Pending)
            {
                return Ok(false);
            }
            tokio::time::sleep(WINDOW).await;
        }
        let mut tables = self.tables()?;
        let Some(device) = tables.device_by_user_code(user_code) else {
            return Ok(false);
        };
        let open = matches!(
            self.fault,
            Fault::DecisionsOverwritten | Fault::DecideChecksThenWrites
        );
        if device.status != DeviceStatus::Pending && !open {
            return Ok(false);
        }
        device.status = status;
        Ok(true)
    }

    async fn take_device_authorization(
        &self,
        device_code: &TokenHash,
        client_id: &str,
    ) -> Result<Option<DeviceAuthorization>, KitError> {
        let takeable = |d: &DeviceAuthorization| {
            d.client_id == client_id
                && (d.status != DeviceStatus::Pending || self.fault == Fault::TakesPendingDevices)
        };
        if self.fault == Fault::TakeDeviceReadsThenRemoves {
            let device = self
                .tables()?
                .devices
                .get(device_code)
                .filter(|d| takeable(d))
                .cloned();
            tokio::time::sleep(WINDOW).await;
            self.tables()?.devices.remove(device_code);
            return Ok(device);
        }
        let mut tables = self.tables()?;
        if !tables.devices.get(device_code).is_some_and(takeable) {
            return Ok(None);
        }
        Ok(tables.devices.remove(device_code))
    }
}

impl DeclaredStorage for KitStore {
    fn declare<V: StorageVisitor<Self>>(visitor: &mut V) {
        visitor.codes();
        visitor.refresh_tokens();
        visitor.sessions();
        visitor.pushed_requests();
        visitor.assertion_ids();
        visitor.dpop_proofs();
        visitor.device_authorizations();
    }
}

async fn report(fault: Fault) -> super::Report {
    StorageKit::new(move || async move { KitStore::new(fault) })
        .declared()
        .rounds(10)
        .run()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_store_follows_every_rule() {
    let report = report(Fault::None).await;
    report.assert_passed();
    assert_eq!(report.held(), Rule::ALL);
}

/// Each broken store fails its rule, with a message that names the rule and
/// the method at fault.
macro_rules! broken {
    ($($test:ident: $fault:ident breaks $rule:ident in $method:literal;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            let report = report(Fault::$fault).await;
            assert!(!report.passed(), "{report}");
            let failure = report.failure(Rule::$rule).unwrap_or_else(|| {
                panic!("{:?} should break `{}`: {report}", Fault::$fault, Rule::$rule)
            });
            assert_eq!(failure.method, $method, "{failure}");
            let message = failure.to_string();
            assert!(
                message.starts_with(&format!("rule `{}` ({})", Rule::$rule.name(), Rule::$rule.storage_trait())),
                "{message}"
            );
            assert!(message.contains(&format!("broken by `{}`", $method)), "{message}");
            assert!(report.to_string().contains(&message), "{report}");
        }
    )*};
}

broken! {
    an_error_for_an_unknown_token: ErrorOnUnknownToken breaks UnknownLookupsFindNothing in "access_token";
    a_token_read_back_altered: AltersSavedTokens breaks SavedTokensAreFound in "access_token";
    a_revocation_of_one_token: RevokesOneToken breaks RevocationRemovesTheFamily in "revoke_token_family";
    no_tombstones: NoTombstones breaks RevokedFamiliesStayRevoked in "save_token";
    a_save_racing_a_revocation: SaveChecksThenWaits breaks RevocationWinsARaceWithASave in "save_token";
    a_code_taken_twice: TakeKeepsTheCode breaks CodesAreTakenOnce in "take_code";
    a_take_code_that_is_not_atomic: TakeReadsThenRemoves breaks TakeCodeIsAtomic in "take_code";
    a_tombstone_set_late: TombstonesAfterAWait breaks ReplayDuringTheFirstRedemptionRevokesItsTokens in "save_token";
    refresh_tokens_looked_up_by_access_token: RefreshByAccessHash breaks RefreshTokensAreFound in "refresh_token";
    rotated_tokens_hidden: HidesRotatedTokens breaks RotatedRefreshTokensAreStillFound in "refresh_token";
    a_second_rotation: RotatesRotatedTokens breaks RefreshTokensRotateOnce in "rotate_refresh_token";
    a_rotation_that_is_not_atomic: RotateReadsThenMarks breaks RotateRefreshTokenIsAtomic in "rotate_refresh_token";
    refresh_tokens_left_after_revocation: RevokeKeepsRefreshTokens breaks RevocationCoversRefreshTokens in "revoke_token_family";
    a_session_that_never_ends: EndSessionKeepsTheSession breaks SessionsLiveUntilTheyEnd in "end_session";
    a_previous_session_kept: KeepsThePreviousSession breaks ANewSessionEndsThePreviousOne in "start_session";
    a_pushed_request_for_any_client: PushedToAnyClient breaks PushedRequestsAreTakenOnceByTheirClient in "take_pushed_request";
    a_take_pushed_request_that_is_not_atomic: TakePushedReadsThenRemoves breaks TakePushedRequestIsAtomic in "take_pushed_request";
    a_replayed_assertion: AssertionIdsReplay breaks AssertionIdsAreUsedOnce in "record_assertion_jti";
    an_assertion_id_recorded_late: AssertionIdChecksThenRecords breaks RecordAssertionJtiIsAtomic in "record_assertion_jti";
    a_replayed_dpop_proof: DpopProofsReplay breaks DpopProofsAreUsedOnce in "use_dpop_proof";
    a_dpop_proof_recorded_late: DpopProofChecksThenRecords breaks UseDpopProofIsAtomic in "use_dpop_proof";
    a_poll_not_recorded: PollsNotRecorded breaks DeviceAuthorizationsAreFound in "record_device_poll";
    a_decision_overwritten: DecisionsOverwritten breaks DeviceDecisionsAreMadeOnce in "decide_device_authorization";
    a_decision_that_is_not_atomic: DecideChecksThenWrites breaks DecideDeviceAuthorizationIsAtomic in "decide_device_authorization";
    a_pending_device_taken: TakesPendingDevices breaks OnlyDecidedDeviceAuthorizationsAreTaken in "take_device_authorization";
    a_take_device_authorization_that_is_not_atomic: TakeDeviceReadsThenRemoves breaks TakeDeviceAuthorizationIsAtomic in "take_device_authorization";
}

/// Every rule has a broken store in the list above.
#[test]
fn every_rule_has_a_broken_store() {
    let source = include_str!("tests.rs");
    for rule in Rule::ALL {
        assert!(
            source.contains(&format!(" breaks {rule:?} in ")),
            "no broken store for `{rule}`"
        );
    }
}

#[tokio::test]
async fn only_the_chosen_rules_run_and_a_run_of_none_does_not_pass() {
    let report = StorageKit::new(|| async { KitStore::new(Fault::None) })
        .run()
        .await;
    assert_eq!(report.held().len(), 5, "{report}");
    assert!(report.passed());
    assert!(
        !super::Report::default().passed(),
        "an empty report passes nothing"
    );
    let codes = StorageKit::new(|| async { KitStore::new(Fault::None) })
        .codes()
        .codes()
        .run()
        .await;
    assert_eq!(codes.held().len(), 8, "each rule once: {codes}");
    let devices = StorageKit::new(|| async { KitStore::new(Fault::None) })
        .device_authorizations()
        .dpop_proofs()
        .run()
        .await;
    assert_eq!(devices.held().len(), 12, "{devices}");
    assert!(devices.held().contains(&Rule::TakeDeviceAuthorizationIsAtomic));
}
