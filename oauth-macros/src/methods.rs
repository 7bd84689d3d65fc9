//! The one table of storage methods: for each grant, the methods of the
//! user's `impl` block it needs and their exact signatures. Validation errors
//! print the signatures from here, the expansion generates the storage trait
//! glue from here, and a test keeps the documentation of `#[server]` in step.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote_spanned};
use syn::Type;

use crate::paths;
use crate::policy::model::Grant;

/// Who needs a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NeededBy {
    /// Every server: client lookup and token storage.
    EveryServer,
    /// One grant.
    Grant(Grant),
    /// OpenID Connect (`openid`).
    OpenId,
    /// Pushed authorization requests (`par`).
    Par,
    /// `client_auth(private_key_jwt)`.
    PrivateKeyJwt,
    /// DPoP (`dpop`).
    Dpop,
}

/// The runtime storage trait a method belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StorageTrait {
    Storage,
    CodeStorage,
    RefreshStorage,
    UserStorage,
    ClaimsStorage,
    PushedRequestStorage,
    AssertionStorage,
    DpopStorage,
    DeviceStorage,
}

impl StorageTrait {
    /// The trait's name in `runtime::storage`.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            StorageTrait::Storage => "Storage",
            StorageTrait::CodeStorage => "CodeStorage",
            StorageTrait::RefreshStorage => "RefreshStorage",
            StorageTrait::UserStorage => "UserStorage",
            StorageTrait::ClaimsStorage => "ClaimsStorage",
            StorageTrait::PushedRequestStorage => "PushedRequestStorage",
            StorageTrait::AssertionStorage => "AssertionStorage",
            StorageTrait::DpopStorage => "DpopStorage",
            StorageTrait::DeviceStorage => "DeviceStorage",
        }
    }
}

/// A model type of the attribute (`client = App` ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Model {
    Client,
    Token,
    Code,
    User,
}

impl Model {
    /// The associated type of the storage traits that holds the model.
    const fn associated(self) -> (StorageTrait, &'static str) {
        match self {
            Model::Client => (StorageTrait::Storage, "Client"),
            Model::Token => (StorageTrait::Storage, "Token"),
            Model::Code => (StorageTrait::CodeStorage, "Code"),
            Model::User => (StorageTrait::UserStorage, "User"),
        }
    }
}

/// A parameter type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param {
    /// `&str`.
    Str,
    /// `&TokenHash`.
    Hash,
    /// `i64`: Unix seconds.
    Time,
    /// A model, by value.
    Model(Model),
    /// The runtime's `PushedRequest`, by value.
    PushedRequest,
    /// The runtime's `DeviceAuthorization`, by value.
    DeviceAuthorization,
    /// The runtime's `DeviceStatus`, by value.
    DeviceStatus,
}

/// The `Ok` type of the returned `Result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Returns {
    /// `()`.
    Unit,
    /// `bool`.
    Bool,
    /// `Option<model>`.
    Found(Model),
    /// `Option<UserClaims>`: the runtime's claims type.
    Claims,
    /// `Option<PushedRequest>`: the runtime's pushed request record.
    Pushed,
    /// `Option<DeviceAuthorization>`: the runtime's device authorization.
    Device,
}

/// One storage method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Method {
    pub(crate) name: &'static str,
    pub(crate) needed_by: NeededBy,
    pub(crate) storage_trait: StorageTrait,
    /// The parameters after `&self`.
    pub(crate) params: &'static [(&'static str, Param)],
    pub(crate) returns: Returns,
}

/// Every storage method, grouped by trait in the order of the runtime.
pub(crate) static METHODS: [Method; 20] = [
    Method {
        name: "client",
        needed_by: NeededBy::EveryServer,
        storage_trait: StorageTrait::Storage,
        params: &[("client_id", Param::Str)],
        returns: Returns::Found(Model::Client),
    },
    Method {
        name: "save_token",
        needed_by: NeededBy::EveryServer,
        storage_trait: StorageTrait::Storage,
        params: &[("token", Param::Model(Model::Token))],
        returns: Returns::Unit,
    },
    Method {
        name: "access_token",
        needed_by: NeededBy::EveryServer,
        storage_trait: StorageTrait::Storage,
        params: &[("hash", Param::Hash)],
        returns: Returns::Found(Model::Token),
    },
    Method {
        name: "revoke_token_family",
        needed_by: NeededBy::EveryServer,
        storage_trait: StorageTrait::Storage,
        params: &[("family", Param::Str)],
        returns: Returns::Unit,
    },
    Method {
        name: "save_code",
        needed_by: NeededBy::Grant(Grant::AuthorizationCode),
        storage_trait: StorageTrait::CodeStorage,
        params: &[("code", Param::Model(Model::Code))],
        returns: Returns::Unit,
    },
    Method {
        name: "take_code",
        needed_by: NeededBy::Grant(Grant::AuthorizationCode),
        storage_trait: StorageTrait::CodeStorage,
        params: &[("hash", Param::Hash)],
        returns: Returns::Found(Model::Code),
    },
    Method {
        name: "refresh_token",
        needed_by: NeededBy::Grant(Grant::RefreshToken),
        storage_trait: StorageTrait::RefreshStorage,
        params: &[("hash", Param::Hash)],
        returns: Returns::Found(Model::Token),
    },
    Method {
        name: "rotate_refresh_token",
        needed_by: NeededBy::Grant(Grant::RefreshToken),
        storage_trait: StorageTrait::RefreshStorage,
        params: &[("old", Param::Hash), ("new", Param::Model(Model::Token))],
        returns: Returns::Bool,
    },
    Method {
        name: "user_by_username",
        needed_by: NeededBy::Grant(Grant::Password),
        storage_trait: StorageTrait::UserStorage,
        params: &[("username", Param::Str)],
        returns: Returns::Found(Model::User),
    },
    Method {
        name: "user_claims",
        needed_by: NeededBy::OpenId,
        storage_trait: StorageTrait::ClaimsStorage,
        params: &[("subject", Param::Str)],
        returns: Returns::Claims,
    },
    Method {
        name: "save_pushed_request",
        needed_by: NeededBy::Par,
        storage_trait: StorageTrait::PushedRequestStorage,
        params: &[("request", Param::PushedRequest)],
        returns: Returns::Unit,
    },
    Method {
        name: "take_pushed_request",
        needed_by: NeededBy::Par,
        storage_trait: StorageTrait::PushedRequestStorage,
        params: &[("request_uri", Param::Hash), ("client_id", Param::Str)],
        returns: Returns::Pushed,
    },
    Method {
        name: "record_assertion_jti",
        needed_by: NeededBy::PrivateKeyJwt,
        storage_trait: StorageTrait::AssertionStorage,
        params: &[("jti", Param::Hash), ("expires_at", Param::Time)],
        returns: Returns::Bool,
    },
    Method {
        name: "use_dpop_proof",
        needed_by: NeededBy::Dpop,
        storage_trait: StorageTrait::DpopStorage,
        params: &[("key", Param::Hash), ("until", Param::Time)],
        returns: Returns::Bool,
    },
    Method {
        name: "save_device_authorization",
        needed_by: NeededBy::Grant(Grant::DeviceCode),
        storage_trait: StorageTrait::DeviceStorage,
        params: &[("authorization", Param::DeviceAuthorization)],
        returns: Returns::Unit,
    },
    Method {
        name: "device_authorization",
        needed_by: NeededBy::Grant(Grant::DeviceCode),
        storage_trait: StorageTrait::DeviceStorage,
        params: &[("device_code", Param::Hash)],
        returns: Returns::Device,
    },
    Method {
        name: "device_authorization_by_user_code",
        needed_by: NeededBy::Grant(Grant::DeviceCode),
        storage_trait: StorageTrait::DeviceStorage,
        params: &[("user_code", Param::Hash)],
        returns: Returns::Device,
    },
    Method {
        name: "record_device_poll",
        needed_by: NeededBy::Grant(Grant::DeviceCode),
        storage_trait: StorageTrait::DeviceStorage,
        params: &[
            ("device_code", Param::Hash),
            ("polled_at", Param::Time),
            ("interval", Param::Time),
        ],
        returns: Returns::Unit,
    },
    Method {
        name: "decide_device_authorization",
        needed_by: NeededBy::Grant(Grant::DeviceCode),
        storage_trait: StorageTrait::DeviceStorage,
        params: &[("user_code", Param::Hash), ("status", Param::DeviceStatus)],
        returns: Returns::Bool,
    },
    Method {
        name: "take_device_authorization",
        needed_by: NeededBy::Grant(Grant::DeviceCode),
        storage_trait: StorageTrait::DeviceStorage,
        params: &[("device_code", Param::Hash), ("client_id", Param::Str)],
        returns: Returns::Device,
    },
];

/// The declared extensions that need storage methods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Extensions {
    pub(crate) openid: bool,
    pub(crate) par: bool,
    pub(crate) private_key_jwt: bool,
    pub(crate) dpop: bool,
}

/// The methods needed by a server enabling `grants` (and OpenID Connect
/// when `openid`), in table order.
#[cfg(test)]
pub(crate) fn needed(grants: &[Grant], openid: bool) -> impl Iterator<Item = &'static Method> + '_ {
    needed_with(
        grants,
        Extensions {
            openid,
            ..Extensions::default()
        },
    )
}

/// The methods needed by a server enabling `grants` and `extensions`, in
/// table order.
pub(crate) fn needed_with(
    grants: &[Grant],
    extensions: Extensions,
) -> impl Iterator<Item = &'static Method> + '_ {
    METHODS.iter().filter(move |m| match m.needed_by {
        NeededBy::EveryServer => true,
        NeededBy::Grant(grant) => grants.contains(&grant),
        NeededBy::OpenId => extensions.openid,
        NeededBy::Par => extensions.par,
        NeededBy::PrivateKeyJwt => extensions.private_key_jwt,
        NeededBy::Dpop => extensions.dpop,
    })
}

/// The names to print in a signature: the user's own types.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    pub(crate) client: String,
    pub(crate) token: String,
    pub(crate) code: String,
    pub(crate) user: String,
    pub(crate) error: String,
}

impl Names {
    fn of(&self, model: Model) -> &str {
        match model {
            Model::Client => &self.client,
            Model::Token => &self.token,
            Model::Code => &self.code,
            Model::User => &self.user,
        }
    }
}

/// A parameter's type as the user writes it: `&str`, `&TokenHash`, or the
/// user's model type.
pub(crate) fn param_type(param: Param, names: &Names) -> &str {
    match param {
        Param::Str => "&str",
        Param::Hash => "&TokenHash",
        Param::Time => "i64",
        Param::Model(model) => names.of(model),
        Param::PushedRequest => "PushedRequest",
        Param::DeviceAuthorization => "DeviceAuthorization",
        Param::DeviceStatus => "DeviceStatus",
    }
}

impl Method {
    /// The signature as the user writes it in their `impl` block, e.g.
    /// `async fn take_code(&self, hash: &TokenHash) -> Result<Option<Code>, MyError>`.
    pub(crate) fn signature(&self, names: &Names) -> String {
        let params: String = self
            .params
            .iter()
            .map(|(name, param)| format!(", {name}: {}", param_type(*param, names)))
            .collect();
        let ok = match self.returns {
            Returns::Unit => "()".to_owned(),
            Returns::Bool => "bool".to_owned(),
            Returns::Found(model) => format!("Option<{}>", names.of(model)),
            Returns::Claims => "Option<UserClaims>".to_owned(),
            Returns::Pushed => "Option<PushedRequest>".to_owned(),
            Returns::Device => "Option<DeviceAuthorization>".to_owned(),
        };
        format!(
            "async fn {}(&self{params}) -> Result<{ok}, {}>",
            self.name, names.error
        )
    }

    /// The `granted` types the signature names, which users import.
    pub(crate) fn granted_types(&self) -> Vec<&'static str> {
        let mut types = Vec::new();
        if self.params.iter().any(|(_, p)| *p == Param::Hash) {
            types.push("TokenHash");
        }
        if self.returns == Returns::Claims {
            types.push("UserClaims");
        }
        if self.returns == Returns::Pushed || self.params.iter().any(|(_, p)| *p == Param::PushedRequest) {
            types.push("PushedRequest");
        }
        if self.returns == Returns::Device
            || self.params.iter().any(|(_, p)| *p == Param::DeviceAuthorization)
        {
            types.push("DeviceAuthorization");
        }
        if self.params.iter().any(|(_, p)| *p == Param::DeviceStatus) {
            types.push("DeviceStatus");
        }
        types
    }

    /// The method's number of parameters after `&self`.
    pub(crate) fn arity(&self) -> usize {
        self.params.len()
    }

    /// The trait method that delegates to the user's method of the same
    /// name, every token at `span` (the user's method) so that a parameter
    /// or return type that does not fit is reported there.
    pub(crate) fn glue(&self, self_ty: &Type, span: Span) -> TokenStream {
        let rt = paths::runtime_at(span);
        let core = quote_spanned!(span=> ::granted::__private::core);
        let name = format_ident!("{}", self.name, span = span);
        let model = |model: Model| {
            let (storage_trait, associated) = model.associated();
            let storage_trait = format_ident!("{}", storage_trait.name(), span = span);
            let associated = format_ident!("{}", associated, span = span);
            quote_spanned!(span=> <Self as #rt::storage::#storage_trait>::#associated)
        };
        let params = self.params.iter().map(|(param, ty)| {
            let param = format_ident!("{}", param, span = span);
            let ty = match ty {
                Param::Str => quote_spanned!(span=> &#core::primitive::str),
                Param::Hash => quote_spanned!(span=> &#rt::TokenHash),
                Param::Time => quote_spanned!(span=> #core::primitive::i64),
                Param::Model(m) => model(*m),
                Param::PushedRequest => quote_spanned!(span=> #rt::par::PushedRequest),
                Param::DeviceAuthorization => quote_spanned!(span=> #rt::device::DeviceAuthorization),
                Param::DeviceStatus => quote_spanned!(span=> #rt::device::DeviceStatus),
            };
            quote_spanned!(span=> #param: #ty)
        });
        let args = self
            .params
            .iter()
            .map(|(param, _)| format_ident!("{}", param, span = span));
        let ok = match self.returns {
            Returns::Unit => quote_spanned!(span=> ()),
            Returns::Bool => quote_spanned!(span=> #core::primitive::bool),
            Returns::Found(m) => {
                let m = model(m);
                quote_spanned!(span=> #core::option::Option<#m>)
            }
            Returns::Claims => quote_spanned!(span=> #core::option::Option<#rt::oidc::UserClaims>),
            Returns::Pushed => quote_spanned!(span=> #core::option::Option<#rt::par::PushedRequest>),
            Returns::Device => {
                quote_spanned!(span=> #core::option::Option<#rt::device::DeviceAuthorization>)
            }
        };
        let error = quote_spanned!(span=> <Self as #rt::storage::Storage>::Error);
        quote_spanned! {span=>
            fn #name(&self, #(#params),*) -> impl #core::future::Future<
                Output = #core::result::Result<#ok, #error>,
            > + #core::marker::Send {
                <#self_ty>::#name(self, #(#args),*)
            }
        }
    }
}

impl Method {
    /// The trait method of a stand-in implementation (emitted beside a
    /// compile error, never run): a future that never completes.
    pub(crate) fn stand_in(&self) -> TokenStream {
        let span = Span::call_site();
        let rt = paths::runtime();
        let core = paths::core();
        let name = format_ident!("{}", self.name);
        let model = |model: Model| {
            let (storage_trait, associated) = model.associated();
            let storage_trait = format_ident!("{}", storage_trait.name());
            let associated = format_ident!("{}", associated);
            quote_spanned!(span=> <Self as #rt::storage::#storage_trait>::#associated)
        };
        let params = self.params.iter().map(|(_, ty)| match ty {
            Param::Str => quote_spanned!(span=> _: &#core::primitive::str),
            Param::Hash => quote_spanned!(span=> _: &#rt::TokenHash),
            Param::Time => quote_spanned!(span=> _: #core::primitive::i64),
            Param::Model(m) => {
                let m = model(*m);
                quote_spanned!(span=> _: #m)
            }
            Param::PushedRequest => quote_spanned!(span=> _: #rt::par::PushedRequest),
            Param::DeviceAuthorization => quote_spanned!(span=> _: #rt::device::DeviceAuthorization),
            Param::DeviceStatus => quote_spanned!(span=> _: #rt::device::DeviceStatus),
        });
        let ok = match self.returns {
            Returns::Unit => quote_spanned!(span=> ()),
            Returns::Bool => quote_spanned!(span=> #core::primitive::bool),
            Returns::Found(m) => {
                let m = model(m);
                quote_spanned!(span=> #core::option::Option<#m>)
            }
            Returns::Claims => quote_spanned!(span=> #core::option::Option<#rt::oidc::UserClaims>),
            Returns::Pushed => quote_spanned!(span=> #core::option::Option<#rt::par::PushedRequest>),
            Returns::Device => {
                quote_spanned!(span=> #core::option::Option<#rt::device::DeviceAuthorization>)
            }
        };
        quote_spanned! {span=>
            fn #name(&self, #(#params),*) -> impl #core::future::Future<
                Output = #core::result::Result<#ok, <Self as #rt::storage::Storage>::Error>,
            > + #core::marker::Send {
                #core::future::pending()
            }
        }
    }
}

/// Everything a grant needs, for the documentation of the generated
/// `into_server`: one line per method.
pub(crate) fn doc_lines(grants: &[Grant], extensions: Extensions, names: &Names) -> Vec<String> {
    needed_with(grants, extensions)
        .map(|m| format!("- `{}`", m.signature(names)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names {
            client: "MyClient".into(),
            token: "MyToken".into(),
            code: "MyCode".into(),
            user: "MyUser".into(),
            error: "MyError".into(),
        }
    }

    #[test]
    fn signatures_use_the_users_names() {
        let rotate = METHODS.iter().find(|m| m.name == "rotate_refresh_token");
        assert_eq!(
            rotate.map(|m| m.signature(&names())).as_deref(),
            Some(
                "async fn rotate_refresh_token(&self, old: &TokenHash, new: MyToken) -> Result<bool, MyError>"
            )
        );
    }

    #[test]
    fn grants_need_their_methods_and_the_base_ones() {
        let names: Vec<_> = needed(&[Grant::ClientCredentials], false)
            .map(|m| m.name)
            .collect();
        assert_eq!(
            names,
            ["client", "save_token", "access_token", "revoke_token_family"]
        );
        let names: Vec<_> = needed(&[Grant::RefreshToken, Grant::Password], false)
            .map(|m| m.name)
            .collect();
        assert_eq!(
            names,
            [
                "client",
                "save_token",
                "access_token",
                "revoke_token_family",
                "refresh_token",
                "rotate_refresh_token",
                "user_by_username"
            ]
        );
    }

    #[test]
    fn methods_of_a_grant_belong_to_its_trait() {
        for method in &METHODS {
            let expected = match method.needed_by {
                NeededBy::EveryServer => StorageTrait::Storage,
                NeededBy::Grant(Grant::AuthorizationCode) => StorageTrait::CodeStorage,
                NeededBy::Grant(Grant::RefreshToken) => StorageTrait::RefreshStorage,
                NeededBy::Grant(Grant::Password) => StorageTrait::UserStorage,
                NeededBy::Grant(Grant::ClientCredentials) => StorageTrait::Storage,
                NeededBy::Grant(Grant::DeviceCode) => StorageTrait::DeviceStorage,
                NeededBy::OpenId => StorageTrait::ClaimsStorage,
                NeededBy::Par => StorageTrait::PushedRequestStorage,
                NeededBy::PrivateKeyJwt => StorageTrait::AssertionStorage,
                NeededBy::Dpop => StorageTrait::DpopStorage,
            };
            assert_eq!(method.storage_trait, expected, "{}", method.name);
        }
    }

    #[test]
    fn openid_needs_the_claims_method() {
        let names: Vec<_> = needed(&[Grant::AuthorizationCode], true)
            .map(|m| m.name)
            .collect();
        assert_eq!(names.last(), Some(&"user_claims"));
        let claims = METHODS.iter().find(|m| m.name == "user_claims").unwrap();
        assert_eq!(
            claims.signature(&super::tests::names()),
            "async fn user_claims(&self, subject: &str) -> Result<Option<UserClaims>, MyError>"
        );
        assert_eq!(claims.granted_types(), ["UserClaims"]);
    }

    #[test]
    fn dpop_needs_the_replay_store() {
        let dpop = Extensions {
            dpop: true,
            ..Extensions::default()
        };
        let names: Vec<_> = needed_with(&[Grant::ClientCredentials], dpop)
            .map(|m| m.name)
            .collect();
        assert_eq!(names.last(), Some(&"use_dpop_proof"));
        let method = METHODS.iter().find(|m| m.name == "use_dpop_proof").unwrap();
        assert_eq!(
            method.signature(&super::tests::names()),
            "async fn use_dpop_proof(&self, key: &TokenHash, until: i64) -> Result<bool, MyError>"
        );
    }

    /// The documentation of `#[server]` lists every signature of the table.
    #[test]
    fn the_server_docs_list_every_method() {
        let docs = include_str!("lib.rs");
        for method in &METHODS {
            let signature = method.signature(&names());
            assert!(
                docs.contains(&signature),
                "lib.rs does not document `{signature}`"
            );
        }
    }

    #[test]
    fn extensions_need_their_methods() {
        let names: Vec<_> = needed_with(
            &[Grant::AuthorizationCode],
            Extensions {
                par: true,
                private_key_jwt: true,
                ..Extensions::default()
            },
        )
        .map(|m| m.name)
        .collect();
        assert_eq!(
            &names[names.len() - 3..],
            [
                "save_pushed_request",
                "take_pushed_request",
                "record_assertion_jti"
            ]
        );
        assert!(!needed(&[Grant::AuthorizationCode], true).any(|m| m.needed_by == NeededBy::Par));
        let take = METHODS.iter().find(|m| m.name == "take_pushed_request").unwrap();
        assert_eq!(
            take.signature(&super::tests::names()),
            "async fn take_pushed_request(&self, request_uri: &TokenHash, client_id: &str) -> Result<Option<PushedRequest>, MyError>"
        );
        assert_eq!(take.granted_types(), ["TokenHash", "PushedRequest"]);
        let jti = METHODS.iter().find(|m| m.name == "record_assertion_jti").unwrap();
        assert_eq!(
            jti.signature(&super::tests::names()),
            "async fn record_assertion_jti(&self, jti: &TokenHash, expires_at: i64) -> Result<bool, MyError>"
        );
    }

    #[test]
    fn device_code_needs_the_device_methods_only_when_declared() {
        let device: Vec<_> = needed(&[Grant::DeviceCode], false)
            .filter(|m| m.storage_trait == StorageTrait::DeviceStorage)
            .map(|m| m.name)
            .collect();
        assert_eq!(
            device,
            [
                "save_device_authorization",
                "device_authorization",
                "device_authorization_by_user_code",
                "record_device_poll",
                "decide_device_authorization",
                "take_device_authorization"
            ]
        );
        assert!(
            !needed(&[Grant::AuthorizationCode, Grant::RefreshToken], true)
                .any(|m| m.storage_trait == StorageTrait::DeviceStorage)
        );
        let decide = METHODS
            .iter()
            .find(|m| m.name == "decide_device_authorization")
            .unwrap();
        assert_eq!(
            decide.signature(&names()),
            "async fn decide_device_authorization(&self, user_code: &TokenHash, status: DeviceStatus) -> Result<bool, MyError>"
        );
        assert_eq!(decide.granted_types(), ["TokenHash", "DeviceStatus"]);
        let take = METHODS
            .iter()
            .find(|m| m.name == "take_device_authorization")
            .unwrap();
        assert_eq!(take.granted_types(), ["TokenHash", "DeviceAuthorization"]);
    }

    #[test]
    fn glue_delegates_to_the_inherent_method() {
        let self_ty: Type = syn::parse_quote!(Store);
        let glue = METHODS[3].glue(&self_ty, Span::call_site()).to_string();
        assert!(glue.contains("fn revoke_token_family (& self , family : & :: granted :: __private :: core :: primitive :: str)"), "{glue}");
        assert!(
            glue.contains("< Store > :: revoke_token_family (self , family)"),
            "{glue}"
        );
    }
}
