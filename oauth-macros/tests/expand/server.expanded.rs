impl Store {
    async fn client(&self, client_id: &str) -> Result<Option<App>, StoreError> {
        self.find(client_id)
    }
    async fn save_token(&self, token: Token) -> Result<(), StoreError> {
        self.put(token)
    }
    async fn access_token(&self, hash: &TokenHash) -> Result<Option<Token>, StoreError> {
        self.get(hash)
    }
    async fn revoke_token_family(&self, family: &str) -> Result<(), StoreError> {
        self.drop(family)
    }
    async fn save_code(&self, code: Code) -> Result<(), StoreError> {
        self.put_code(code)
    }
    async fn take_code(&self, hash: &TokenHash) -> Result<Option<Code>, StoreError> {
        self.take(hash)
    }
    async fn refresh_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Token>, StoreError> {
        self.get(hash)
    }
    async fn rotate_refresh_token(
        &self,
        old: &TokenHash,
        new: Token,
    ) -> Result<bool, StoreError> {
        self.rotate(old, new)
    }
    async fn user_by_username(
        &self,
        username: &str,
    ) -> Result<Option<Account>, StoreError> {
        self.user(username)
    }
    fn unrelated(&self) {}
}
const _: () = {
    #[automatically_derived]
    impl ::granted::__private::runtime::storage::Storage for Store {
        type Client = App;
        type Token = Token;
        type Error = StoreError;
        fn client(
            &self,
            client_id: &::granted::__private::core::primitive::str,
        ) -> impl ::granted::__private::core::future::Future<
            Output = ::granted::__private::core::result::Result<
                ::granted::__private::core::option::Option<
                    <Self as ::granted::__private::runtime::storage::Storage>::Client,
                >,
                <Self as ::granted::__private::runtime::storage::Storage>::Error,
            >,
        > + ::granted::__private::core::marker::Send {
            <Store>::client(self, client_id)
        }
        fn save_token(
            &self,
            token: <Self as ::granted::__private::runtime::storage::Storage>::Token,
        ) -> impl ::granted::__private::core::future::Future<
            Output = ::granted::__private::core::result::Result<
                (),
                <Self as ::granted::__private::runtime::storage::Storage>::Error,
            >,
        > + ::granted::__private::core::marker::Send {
            <Store>::save_token(self, token)
        }
        fn access_token(
            &self,
            hash: &::granted::__private::runtime::TokenHash,
        ) -> impl ::granted::__private::core::future::Future<
            Output = ::granted::__private::core::result::Result<
                ::granted::__private::core::option::Option<
                    <Self as ::granted::__private::runtime::storage::Storage>::Token,
                >,
                <Self as ::granted::__private::runtime::storage::Storage>::Error,
            >,
        > + ::granted::__private::core::marker::Send {
            <Store>::access_token(self, hash)
        }
        fn revoke_token_family(
            &self,
            family: &::granted::__private::core::primitive::str,
        ) -> impl ::granted::__private::core::future::Future<
            Output = ::granted::__private::core::result::Result<
                (),
                <Self as ::granted::__private::runtime::storage::Storage>::Error,
            >,
        > + ::granted::__private::core::marker::Send {
            <Store>::revoke_token_family(self, family)
        }
    }
    #[automatically_derived]
    impl ::granted::__private::runtime::storage::CodeStorage for Store {
        type Code = Code;
        fn save_code(
            &self,
            code: <Self as ::granted::__private::runtime::storage::CodeStorage>::Code,
        ) -> impl ::granted::__private::core::future::Future<
            Output = ::granted::__private::core::result::Result<
                (),
                <Self as ::granted::__private::runtime::storage::Storage>::Error,
            >,
        > + ::granted::__private::core::marker::Send {
            <Store>::save_code(self, code)
        }
        fn take_code(
            &self,
            hash: &::granted::__private::runtime::TokenHash,
        ) -> impl ::granted::__private::core::future::Future<
            Output = ::granted::__private::core::result::Result<
                ::granted::__private::core::option::Option<
                    <Self as ::granted::__private::runtime::storage::CodeStorage>::Code,
                >,
                <Self as ::granted::__private::runtime::storage::Storage>::Error,
            >,
        > + ::granted::__private::core::marker::Send {
            <Store>::take_code(self, hash)
        }
    }
    #[automatically_derived]
    impl ::granted::__private::runtime::storage::RefreshStorage for Store {
        fn refresh_token(
            &self,
            hash: &::granted::__private::runtime::TokenHash,
        ) -> impl ::granted::__private::core::future::Future<
            Output = ::granted::__private::core::result::Result<
                ::granted::__private::core::option::Option<
                    <Self as ::granted::__private::runtime::storage::Storage>::Token,
                >,
                <Self as ::granted::__private::runtime::storage::Storage>::Error,
            >,
        > + ::granted::__private::core::marker::Send {
            <Store>::refresh_token(self, hash)
        }
        fn rotate_refresh_token(
            &self,
            old: &::granted::__private::runtime::TokenHash,
            new: <Self as ::granted::__private::runtime::storage::Storage>::Token,
        ) -> impl ::granted::__private::core::future::Future<
            Output = ::granted::__private::core::result::Result<
                ::granted::__private::core::primitive::bool,
                <Self as ::granted::__private::runtime::storage::Storage>::Error,
            >,
        > + ::granted::__private::core::marker::Send {
            <Store>::rotate_refresh_token(self, old, new)
        }
    }
    #[automatically_derived]
    impl ::granted::__private::runtime::storage::DeclaredStorage for Store {
        fn declare<V: ::granted::__private::runtime::storage::StorageVisitor<Self>>(
            visitor: &mut V,
        ) {
            visitor.codes();
            visitor.refresh_tokens();
        }
    }
    #[automatically_derived]
    impl ::granted::__private::runtime::storage::UserStorage for Store {
        type User = Account;
        fn user_by_username(
            &self,
            username: &::granted::__private::core::primitive::str,
        ) -> impl ::granted::__private::core::future::Future<
            Output = ::granted::__private::core::result::Result<
                ::granted::__private::core::option::Option<
                    <Self as ::granted::__private::runtime::storage::UserStorage>::User,
                >,
                <Self as ::granted::__private::runtime::storage::Storage>::Error,
            >,
        > + ::granted::__private::core::marker::Send {
            <Store>::user_by_username(self, username)
        }
    }
    #[automatically_derived]
    impl ::granted::__private::runtime::Grants for Store {
        type Setup = ();
        fn policy(&self) -> ::granted::__private::runtime::Policy {
            ::granted::__private::runtime::Policy::new([
                    ::granted::__private::runtime::GrantType::AuthorizationCode,
                    ::granted::__private::runtime::GrantType::RefreshToken,
                    ::granted::__private::runtime::GrantType::ClientCredentials,
                    ::granted::__private::runtime::GrantType::Password,
                ])
                .with_pkce(::granted::__private::runtime::PkcePolicy::Required)
                .with_refresh_rotation(true)
                .with_access_token_ttl(
                    ::granted::__private::core::time::Duration::from_secs(900),
                )
                .with_refresh_token_ttl(
                    ::granted::__private::core::time::Duration::from_secs(604800),
                )
                .with_code_ttl(::granted::__private::core::time::Duration::from_secs(30))
                .with_scopes_supported(["read", "write"])
        }
        fn exchange(
            &self,
            grant: ::granted::__private::runtime::GrantType,
            request: ::granted::__private::runtime::GrantRequest<
                '_,
                <Self as ::granted::__private::runtime::storage::Storage>::Client,
            >,
        ) -> impl ::granted::__private::core::future::Future<
            Output = ::granted::__private::core::result::Result<
                ::granted::__private::runtime::TokenResponse,
                ::granted::__private::runtime::OAuthError,
            >,
        > + ::granted::__private::core::marker::Send {
            async move {
                match grant {
                    ::granted::__private::runtime::GrantType::AuthorizationCode => {
                        ::granted::__private::runtime::grants::authorization_code::exchange(
                                self,
                                request,
                            )
                            .await
                    }
                    ::granted::__private::runtime::GrantType::RefreshToken => {
                        ::granted::__private::runtime::grants::refresh_token::exchange(
                                self,
                                request,
                            )
                            .await
                    }
                    ::granted::__private::runtime::GrantType::ClientCredentials => {
                        ::granted::__private::runtime::grants::client_credentials::exchange(
                                self,
                                request,
                            )
                            .await
                    }
                    ::granted::__private::runtime::GrantType::Password => {
                        ::granted::__private::runtime::grants::password::exchange(
                                self,
                                request,
                            )
                            .await
                    }
                    _ => {
                        ::granted::__private::core::result::Result::Err(
                            ::granted::__private::runtime::OAuthError::new(
                                ::granted::__private::runtime::ErrorCode::UnsupportedGrantType,
                                "this grant type is not enabled",
                            ),
                        )
                    }
                }
            }
        }
        fn find_token(
            &self,
            hash: &::granted::__private::runtime::TokenHash,
        ) -> impl ::granted::__private::core::future::Future<
            Output = ::granted::__private::core::result::Result<
                ::granted::__private::core::option::Option<
                    ::granted::__private::runtime::FoundToken,
                >,
                ::granted::__private::runtime::OAuthError,
            >,
        > + ::granted::__private::core::marker::Send {
            ::granted::__private::runtime::lookup::access_or_refresh_token(self, hash)
        }
    }
};
#[automatically_derived]
impl Store {
    /// The authorization server of this storage, with the policy declared in
    /// `#[granted::server(...)]`.
    ///
    /// Grants: `authorization_code`, `refresh_token`, `client_credentials`, `password`.
    ///
    /// It calls these methods of this `impl` block:
    ///
    /// - `async fn client(&self, client_id: &str) -> Result<Option<App>, StoreError>`
    /// - `async fn save_token(&self, token: Token) -> Result<(), StoreError>`
    /// - `async fn access_token(&self, hash: &TokenHash) -> Result<Option<Token>, StoreError>`
    /// - `async fn revoke_token_family(&self, family: &str) -> Result<(), StoreError>`
    /// - `async fn save_code(&self, code: Code) -> Result<(), StoreError>`
    /// - `async fn take_code(&self, hash: &TokenHash) -> Result<Option<Code>, StoreError>`
    /// - `async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<Token>, StoreError>`
    /// - `async fn rotate_refresh_token(&self, old: &TokenHash, new: Token) -> Result<bool, StoreError>`
    /// - `async fn user_by_username(&self, username: &str) -> Result<Option<Account>, StoreError>`
    #[must_use]
    #[allow(dead_code)]
    pub fn into_server(self) -> ::granted::__private::runtime::Server<Self> {
        ::granted::__private::runtime::Server::new(self)
    }
}
