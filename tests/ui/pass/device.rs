//! A server declaring `grants(device_code)` on a store of its own: the six
//! device methods, the policy and metadata they give, and a device
//! authorization started, approved and redeemed through the generated
//! server. Warning-free under `#![deny(warnings)]`.
#![deny(warnings)]

use std::collections::HashMap;
use std::io;
use std::sync::Mutex;

use granted::http::header::{AUTHORIZATION, CONTENT_TYPE};
use granted::http::{HeaderMap, HeaderValue, Method};
use granted::{
    ClientRecord, DeviceAuthorization, DeviceStatus, EndpointPaths, GrantType, Request, TokenHash, TokenRecord,
};

#[derive(Default)]
struct Store {
    clients: HashMap<String, ClientRecord>,
    tokens: Mutex<Vec<TokenRecord>>,
    devices: Mutex<HashMap<TokenHash, DeviceAuthorization>>,
}

fn poisoned<T>(_: T) -> io::Error {
    io::Error::other("poisoned")
}

#[granted::server(client = ClientRecord, token = TokenRecord, grants(device_code, refresh_token))]
impl Store {
    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, io::Error> {
        Ok(self.clients.get(client_id).cloned())
    }
    async fn save_token(&self, token: TokenRecord) -> Result<(), io::Error> {
        self.tokens.lock().map_err(poisoned)?.push(token);
        Ok(())
    }
    async fn access_token(&self, _hash: &TokenHash) -> Result<Option<TokenRecord>, io::Error> {
        Ok(None)
    }
    async fn revoke_token_family(&self, _family: &str) -> Result<(), io::Error> {
        Ok(())
    }
    async fn refresh_token(&self, _hash: &TokenHash) -> Result<Option<TokenRecord>, io::Error> {
        Ok(None)
    }
    async fn rotate_refresh_token(&self, _old: &TokenHash, _new: TokenRecord) -> Result<bool, io::Error> {
        Ok(false)
    }
    async fn save_device_authorization(&self, authorization: DeviceAuthorization) -> Result<(), io::Error> {
        self.devices
            .lock()
            .map_err(poisoned)?
            .insert(authorization.device_code, authorization);
        Ok(())
    }
    async fn device_authorization(&self, device_code: &TokenHash) -> Result<Option<DeviceAuthorization>, io::Error> {
        Ok(self.devices.lock().map_err(poisoned)?.get(device_code).cloned())
    }
    async fn device_authorization_by_user_code(
        &self,
        user_code: &TokenHash,
    ) -> Result<Option<DeviceAuthorization>, io::Error> {
        Ok(self
            .devices
            .lock()
            .map_err(poisoned)?
            .values()
            .find(|d| d.user_code == *user_code)
            .cloned())
    }
    async fn record_device_poll(&self, device_code: &TokenHash, polled_at: i64, interval: i64) -> Result<(), io::Error> {
        if let Some(device) = self.devices.lock().map_err(poisoned)?.get_mut(device_code) {
            device.last_polled_at = Some(polled_at);
            device.interval = interval;
        }
        Ok(())
    }
    async fn decide_device_authorization(&self, user_code: &TokenHash, status: DeviceStatus) -> Result<bool, io::Error> {
        let mut devices = self.devices.lock().map_err(poisoned)?;
        match devices
            .values_mut()
            .find(|d| d.user_code == *user_code && d.status == DeviceStatus::Pending)
        {
            Some(device) => {
                device.status = status;
                Ok(true)
            }
            None => Ok(false),
        }
    }
    async fn take_device_authorization(
        &self,
        device_code: &TokenHash,
        client_id: &str,
    ) -> Result<Option<DeviceAuthorization>, io::Error> {
        let mut devices = self.devices.lock().map_err(poisoned)?;
        let decided = devices
            .get(device_code)
            .is_some_and(|d| d.client_id == client_id && d.status != DeviceStatus::Pending);
        Ok(if decided { devices.remove(device_code) } else { None })
    }
}

fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
    // tv:tv-secret
    headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic dHY6dHYtc2VjcmV0"));
    headers
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(run());
    Ok(())
}

async fn run() {
    let mut store = Store::default();
    store.clients.insert(
        "tv".into(),
        ClientRecord::confidential("tv", "tv-secret")
            .grant_types([GrantType::DeviceCode.as_str(), "refresh_token"])
            .scope("read"),
    );
    let server = store.into_server().configure(|p| p.with_issuer("https://as.example"));
    assert!(server.policy().enables(GrantType::DeviceCode));
    let metadata = server.metadata("https://as.example", &EndpointPaths::default());
    assert_eq!(
        metadata.device_authorization_endpoint.as_deref(),
        Some("https://as.example/oauth/device_authorization")
    );

    let headers = headers();
    let started = server
        .start_device_authorization(&Request::new(&Method::POST, &headers).with_body(b"scope=read"))
        .await
        .expect("a device authorization");
    let pending = server
        .find_device_authorization(&started.user_code.to_lowercase(), None)
        .await
        .expect("the user code is found");
    assert!(server.decide_device_authorization(&pending, Some(("user-1", 0))).await.unwrap());
    let body = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code={}",
        started.device_code
    );
    let tokens = server
        .token_response(&Request::new(&Method::POST, &headers).with_body(body.as_bytes()))
        .await
        .expect("tokens");
    assert_eq!(tokens.scope, "read");
    assert!(tokens.refresh_token.is_some());
}
