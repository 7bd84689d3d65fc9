//! A device storage method takes the runtime's record by reference.
use std::io::Error;

use granted::{ClientRecord, DeviceAuthorization, DeviceStatus, TokenHash, TokenRecord};

struct Store;

#[granted::server(client = ClientRecord, token = TokenRecord, grants(client_credentials, device_code))]
impl Store {
    async fn client(&self, _: &str) -> Result<Option<ClientRecord>, Error> { todo!() }
    async fn save_token(&self, _: TokenRecord) -> Result<(), Error> { todo!() }
    async fn access_token(&self, _: &TokenHash) -> Result<Option<TokenRecord>, Error> { todo!() }
    async fn revoke_token_family(&self, _: &str) -> Result<(), Error> { todo!() }
    async fn save_device_authorization(&self, _: &DeviceAuthorization) -> Result<(), Error> { todo!() }
    async fn device_authorization(&self, _: &TokenHash) -> Result<Option<DeviceAuthorization>, Error> { todo!() }
    async fn device_authorization_by_user_code(&self, _: &TokenHash) -> Result<Option<DeviceAuthorization>, Error> { todo!() }
    async fn record_device_poll(&self, _: &TokenHash, _: i64, _: i64) -> Result<(), Error> { todo!() }
    async fn decide_device_authorization(&self, _: &TokenHash, _: DeviceStatus) -> Result<bool, Error> { todo!() }
    async fn take_device_authorization(&self, _: &TokenHash, _: &str) -> Result<Option<DeviceAuthorization>, Error> { todo!() }
}

fn main() {}
