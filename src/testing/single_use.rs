//! The rules of the records a request may use once: pushed authorization
//! requests, client assertion ids, DPoP proofs and device authorizations.
//! Each is a replay defence, so each has two rules: used once in turn, and
//! used once when many calls race (on several instances sharing one
//! database, the race is real).

use std::future::Future;
use std::sync::Arc;

use oauth_runtime::storage::{AssertionStorage, DeviceStorage, DpopStorage, PushedRequestStorage};
use oauth_runtime::{DeviceAuthorization, DeviceStatus, PushedRequest, Scope, now};

use super::rules::{boxed, call, exactly_one_wins, winners};
use super::{RuleFuture, Settings, fresh_hash};

type Failed = (&'static str, String);

const CLIENT: &str = "conformance-kit";
const OTHER_CLIENT: &str = "conformance-kit-other";

/// The rule "used once" of a record-once method (`record_assertion_jti`,
/// `use_dpop_proof`): `true` for a new key, then `false` for it, `true`
/// for another key.
async fn recorded_once<Fut>(
    method: &'static str,
    record: impl Fn(oauth_runtime::TokenHash) -> Fut,
) -> Result<(), Failed>
where
    Fut: Future<Output = Result<bool, Failed>>,
{
    let key = fresh_hash()?;
    if !record(key).await? {
        return Err((
            method,
            "returned `false` for a key never recorded: it must record it and return `true`".to_owned(),
        ));
    }
    if record(key).await? {
        return Err((
            method,
            "returned `true` for a key recorded already: it must return `false` (a replay) and record nothing".to_owned(),
        ));
    }
    if !record(fresh_hash()?).await? {
        return Err((
            method,
            "returned `false` for a second, new key: only the same key is a replay".to_owned(),
        ));
    }
    Ok(())
}

/// The end of a "taken once, by its own client" rule: `take(client)`
/// gives nothing to another client (and does not use the record up), gives
/// the record `expected` accepts to its own client, then nothing.
async fn taken_once_by_its_client<T: std::fmt::Debug, Fut>(
    method: &'static str,
    saved: &T,
    take: impl Fn(&'static str) -> Fut,
    expected: impl Fn(&T) -> bool,
) -> Result<(), Failed>
where
    Fut: Future<Output = Result<Option<T>, Failed>>,
{
    if take(OTHER_CLIENT).await?.is_some() {
        return Err((
            method,
            format!("returned {saved:?} to another client: only its own client may use it"),
        ));
    }
    match take(CLIENT).await? {
        Some(taken) if expected(&taken) => {}
        taken => {
            return Err((
                method,
                format!(
                    "returned {taken:?} to the client of {saved:?} (or a call naming another client used it up)"
                ),
            ));
        }
    }
    if take(CLIENT).await?.is_some() {
        return Err((
            method,
            format!("returned {saved:?} a second time: it must remove what it returns"),
        ));
    }
    Ok(())
}

pub(super) fn assertion_ids_are_used_once<S: AssertionStorage>(store: Arc<S>, _: Settings) -> RuleFuture {
    boxed(async move {
        recorded_once("record_assertion_jti", |jti| {
            let store = Arc::clone(&store);
            async move {
                call(
                    "record_assertion_jti",
                    store.record_assertion_jti(&jti, now() + 60).await,
                )
            }
        })
        .await
    })
}

pub(super) fn record_assertion_jti_is_atomic<S: AssertionStorage>(
    store: Arc<S>,
    settings: Settings,
) -> RuleFuture {
    boxed(async move {
        exactly_one_wins(
            settings,
            "record_assertion_jti",
            "assertion id",
            "record under a unique key, e.g. `INSERT ... ON CONFLICT DO NOTHING` and its row count",
            || async {
                let jti = fresh_hash()?;
                winners(settings.tasks, || {
                    let store = Arc::clone(&store);
                    async move {
                        call(
                            "record_assertion_jti",
                            store.record_assertion_jti(&jti, now() + 60).await,
                        )
                    }
                })
                .await
            },
        )
        .await
    })
}

pub(super) fn dpop_proofs_are_used_once<S: DpopStorage>(store: Arc<S>, _: Settings) -> RuleFuture {
    boxed(async move {
        recorded_once("use_dpop_proof", |key| {
            let store = Arc::clone(&store);
            async move { call("use_dpop_proof", store.use_dpop_proof(&key, now() + 60).await) }
        })
        .await
    })
}

pub(super) fn use_dpop_proof_is_atomic<S: DpopStorage>(store: Arc<S>, settings: Settings) -> RuleFuture {
    boxed(async move {
        exactly_one_wins(
            settings,
            "use_dpop_proof",
            "proof",
            "record under a unique key, e.g. `INSERT ... ON CONFLICT DO NOTHING` and its row count",
            || async {
                let key = fresh_hash()?;
                winners(settings.tasks, || {
                    let store = Arc::clone(&store);
                    async move { call("use_dpop_proof", store.use_dpop_proof(&key, now() + 60).await) }
                })
                .await
            },
        )
        .await
    })
}

fn pushed_request() -> Result<PushedRequest, Failed> {
    Ok(PushedRequest {
        request_uri: fresh_hash()?,
        client_id: CLIENT.to_owned(),
        params: "response_type=code&client_id=conformance-kit&state=xyz".to_owned(),
        expires_at: now() + 60,
    })
}

pub(super) fn pushed_requests_are_taken_once_by_their_client<S: PushedRequestStorage>(
    store: Arc<S>,
    _: Settings,
) -> RuleFuture {
    boxed(async move {
        let pushed = pushed_request()?;
        call(
            "save_pushed_request",
            store.save_pushed_request(pushed.clone()).await,
        )?;
        let take = |client| {
            let (store, uri) = (Arc::clone(&store), pushed.request_uri);
            async move {
                call(
                    "take_pushed_request",
                    store.take_pushed_request(&uri, client).await,
                )
            }
        };
        taken_once_by_its_client("take_pushed_request", &pushed, take, |taken| *taken == pushed).await
    })
}

pub(super) fn take_pushed_request_is_atomic<S: PushedRequestStorage>(
    store: Arc<S>,
    settings: Settings,
) -> RuleFuture {
    boxed(async move {
        exactly_one_wins(
            settings,
            "take_pushed_request",
            "request_uri",
            "remove and return in one atomic step, e.g. `DELETE ... RETURNING`",
            || async {
                let pushed = pushed_request()?;
                call(
                    "save_pushed_request",
                    store.save_pushed_request(pushed.clone()).await,
                )?;
                winners(settings.tasks, || {
                    let store = Arc::clone(&store);
                    let uri = pushed.request_uri;
                    async move {
                        call(
                            "take_pushed_request",
                            store.take_pushed_request(&uri, CLIENT).await,
                        )
                        .map(|taken| taken.is_some())
                    }
                })
                .await
            },
        )
        .await
    })
}

fn device_authorization() -> Result<DeviceAuthorization, Failed> {
    Ok(DeviceAuthorization {
        device_code: fresh_hash()?,
        user_code: fresh_hash()?,
        client_id: CLIENT.to_owned(),
        scope: Scope::from_tokens(["read"]),
        expires_at: now() + 600,
        interval: 5,
        last_polled_at: None,
        status: DeviceStatus::Pending,
    })
}

fn approved() -> DeviceStatus {
    DeviceStatus::Approved {
        subject: "conformance-kit-user".to_owned(),
        auth_time: now(),
    }
}

/// The device authorization stored under `device`'s device code.
async fn stored<S: DeviceStorage>(
    store: &S,
    device: &DeviceAuthorization,
) -> Result<Option<DeviceAuthorization>, Failed> {
    call(
        "device_authorization",
        store.device_authorization(&device.device_code).await,
    )
}

pub(super) fn device_authorizations_are_found<S: DeviceStorage>(store: Arc<S>, _: Settings) -> RuleFuture {
    boxed(async move {
        let device = device_authorization()?;
        call(
            "save_device_authorization",
            store.save_device_authorization(device.clone()).await,
        )?;
        match stored(&*store, &device).await? {
            Some(found) if found == device => {}
            found => {
                return Err((
                    "device_authorization",
                    format!("returned {found:?} for the device authorization saved as {device:?}"),
                ));
            }
        }
        let by_user_code = call(
            "device_authorization_by_user_code",
            store.device_authorization_by_user_code(&device.user_code).await,
        )?;
        if by_user_code.as_ref() != Some(&device) {
            return Err((
                "device_authorization_by_user_code",
                format!("returned {by_user_code:?} for the user code of {device:?}"),
            ));
        }
        let polled_at = now();
        call(
            "record_device_poll",
            store.record_device_poll(&device.device_code, polled_at, 10).await,
        )?;
        match stored(&*store, &device).await? {
            Some(found) if found.last_polled_at == Some(polled_at) && found.interval == 10 => {}
            found => {
                return Err((
                    "record_device_poll",
                    format!(
                        "after `record_device_poll(.., {polled_at}, 10)` the authorization reads {found:?}: it must \
                         keep the poll's time and the new interval (the `slow_down` rule rests on them)"
                    ),
                ));
            }
        }
        if call(
            "device_authorization",
            store.device_authorization(&fresh_hash()?).await,
        )?
        .is_some()
            || call(
                "device_authorization_by_user_code",
                store.device_authorization_by_user_code(&fresh_hash()?).await,
            )?
            .is_some()
        {
            return Err((
                "device_authorization",
                "found a device authorization for a code that was never saved".to_owned(),
            ));
        }
        Ok(())
    })
}

pub(super) fn device_decisions_are_made_once<S: DeviceStorage>(store: Arc<S>, _: Settings) -> RuleFuture {
    boxed(async move {
        let method = "decide_device_authorization";
        let device = device_authorization()?;
        call(
            "save_device_authorization",
            store.save_device_authorization(device.clone()).await,
        )?;
        if !call(
            method,
            store
                .decide_device_authorization(&device.user_code, DeviceStatus::Denied)
                .await,
        )? {
            return Err((
                method,
                "returned `false` for a pending authorization: it must decide it".to_owned(),
            ));
        }
        if call(
            method,
            store
                .decide_device_authorization(&device.user_code, approved())
                .await,
        )? {
            return Err((
                method,
                "approved an authorization denied already: a decision is final (only a pending one is decided)"
                    .to_owned(),
            ));
        }
        match stored(&*store, &device).await? {
            Some(found) if found.status == DeviceStatus::Denied => {}
            found => {
                return Err((
                    method,
                    format!(
                        "after a denial and a refused approval the authorization reads {found:?}: it must stay denied"
                    ),
                ));
            }
        }
        if call(
            method,
            store
                .decide_device_authorization(&fresh_hash()?, approved())
                .await,
        )? {
            return Err((
                method,
                "returned `true` for a user code that was never saved".to_owned(),
            ));
        }
        Ok(())
    })
}

pub(super) fn decide_device_authorization_is_atomic<S: DeviceStorage>(
    store: Arc<S>,
    settings: Settings,
) -> RuleFuture {
    boxed(async move {
        exactly_one_wins(
            settings,
            "decide_device_authorization",
            "user code",
            "change the status only while it is pending, in one step, e.g. `UPDATE ... WHERE status = 'pending'`",
            || async {
                let device = device_authorization()?;
                call("save_device_authorization", store.save_device_authorization(device.clone()).await)?;
                winners(settings.tasks, || {
                    let store = Arc::clone(&store);
                    let user_code = device.user_code;
                    async move {
                        call("decide_device_authorization", store.decide_device_authorization(&user_code, approved()).await)
                    }
                })
                .await
            },
        )
        .await
    })
}

pub(super) fn only_decided_device_authorizations_are_taken<S: DeviceStorage>(
    store: Arc<S>,
    _: Settings,
) -> RuleFuture {
    boxed(async move {
        let method = "take_device_authorization";
        let device = device_authorization()?;
        call(
            "save_device_authorization",
            store.save_device_authorization(device.clone()).await,
        )?;
        if call(
            method,
            store.take_device_authorization(&device.device_code, CLIENT).await,
        )?
        .is_some()
        {
            return Err((
                method,
                "returned a pending authorization: only an approved or denied one is taken (a pending device \
                 must keep polling)"
                    .to_owned(),
            ));
        }
        if stored(&*store, &device).await?.is_none() {
            return Err((
                method,
                "removed a pending authorization it did not return".to_owned(),
            ));
        }
        call(
            "decide_device_authorization",
            store
                .decide_device_authorization(&device.user_code, approved())
                .await,
        )?;
        let take = |client| {
            let (store, device_code) = (Arc::clone(&store), device.device_code);
            async move {
                call(
                    method,
                    store.take_device_authorization(&device_code, client).await,
                )
            }
        };
        taken_once_by_its_client(method, &device, take, |taken| {
            matches!(taken.status, DeviceStatus::Approved { .. })
        })
        .await
    })
}

pub(super) fn take_device_authorization_is_atomic<S: DeviceStorage>(
    store: Arc<S>,
    settings: Settings,
) -> RuleFuture {
    boxed(async move {
        exactly_one_wins(
            settings,
            "take_device_authorization",
            "device code",
            "remove and return in one atomic step, e.g. `DELETE ... RETURNING`",
            || async {
                let device = device_authorization()?;
                call(
                    "save_device_authorization",
                    store.save_device_authorization(device.clone()).await,
                )?;
                call(
                    "decide_device_authorization",
                    store
                        .decide_device_authorization(&device.user_code, approved())
                        .await,
                )?;
                winners(settings.tasks, || {
                    let store = Arc::clone(&store);
                    let device_code = device.device_code;
                    async move {
                        call(
                            "take_device_authorization",
                            store.take_device_authorization(&device_code, CLIENT).await,
                        )
                        .map(|taken| taken.is_some())
                    }
                })
                .await
            },
        )
        .await
    })
}
