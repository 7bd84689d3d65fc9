//! The typed model of the `#[server(...)]` attribute: first as parsed (every
//! argument optional, with the spans of what the user wrote), then as
//! validated (everything the expansion needs, known to be consistent).

use proc_macro2::Span;
use syn::{Ident, LitStr, Type};

use crate::methods::Method;

/// A grant granted implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grant {
    AuthorizationCode,
    ClientCredentials,
    Password,
    RefreshToken,
    DeviceCode,
}

impl Grant {
    /// Every grant, in the order the runtime lists them.
    pub(crate) const ALL: [Grant; 5] = [
        Grant::AuthorizationCode,
        Grant::ClientCredentials,
        Grant::Password,
        Grant::RefreshToken,
        Grant::DeviceCode,
    ];

    /// The name in the attribute, and of the runtime's grant module (on the
    /// wire too, except `device_code`: its grant type is a URN).
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => "authorization_code",
            Grant::ClientCredentials => "client_credentials",
            Grant::Password => "password",
            Grant::RefreshToken => "refresh_token",
            Grant::DeviceCode => "device_code",
        }
    }

    /// The variant of the runtime's `GrantType`.
    pub(crate) const fn variant(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => "AuthorizationCode",
            Grant::ClientCredentials => "ClientCredentials",
            Grant::Password => "Password",
            Grant::RefreshToken => "RefreshToken",
            Grant::DeviceCode => "DeviceCode",
        }
    }

    /// The options the grant accepts inside its parentheses.
    pub(crate) const fn options(self) -> &'static [&'static str] {
        match self {
            Grant::AuthorizationCode => &["pkce", "allow_insecure"],
            Grant::ClientCredentials => &[],
            Grant::Password => &["allow_insecure"],
            Grant::RefreshToken => &["rotate"],
            Grant::DeviceCode => &[],
        }
    }
}

/// A name that may appear in `grants(...)`: the grants granted implements,
/// plus `implicit`, which is recognised only to explain why it is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrantName {
    Supported(Grant),
    Implicit,
}

impl GrantName {
    /// Every name `grants(...)` recognises.
    pub(crate) const NAMES: [&'static str; 6] = [
        "authorization_code",
        "client_credentials",
        "password",
        "refresh_token",
        "device_code",
        "implicit",
    ];

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        if name == "implicit" {
            return Some(GrantName::Implicit);
        }
        Grant::ALL
            .into_iter()
            .find(|g| g.name() == name)
            .map(GrantName::Supported)
    }

    pub(crate) const fn options(self) -> &'static [&'static str] {
        match self {
            GrantName::Supported(grant) => grant.options(),
            GrantName::Implicit => &["allow_insecure"],
        }
    }
}

/// How PKCE is enforced (`authorization_code(pkce = "...")`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Pkce {
    #[default]
    S256,
    Required,
    Plain,
}

impl Pkce {
    pub(crate) const NAMES: [&'static str; 3] = ["S256", "required", "plain"];

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "S256" => Some(Pkce::S256),
            "required" => Some(Pkce::Required),
            "plain" => Some(Pkce::Plain),
            _ => None,
        }
    }

    /// The variant of the runtime's `PkcePolicy`.
    pub(crate) const fn variant(self) -> &'static str {
        match self {
            Pkce::S256 => "S256",
            Pkce::Required => "Required",
            Pkce::Plain => "AllowPlain",
        }
    }
}

/// An id_token signing algorithm (`openid(signing = "...")`), by its
/// fully-specified JOSE name (RFC 9864).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Signing {
    #[default]
    Rs256,
    Es256,
    Ed25519,
}

impl Signing {
    pub(crate) const NAMES: [&'static str; 3] = ["RS256", "ES256", "Ed25519"];

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Signing::Rs256),
            "ES256" => Some(Signing::Es256),
            "Ed25519" => Some(Signing::Ed25519),
            _ => None,
        }
    }

    /// The variant of the runtime's `SigningAlg`.
    pub(crate) const fn variant(self) -> &'static str {
        match self {
            Signing::Rs256 => "Rs256",
            Signing::Es256 => "Es256",
            Signing::Ed25519 => "Ed25519",
        }
    }
}

/// `openid` or `openid(signing = "...")`.
#[derive(Debug, Clone)]
pub(crate) struct OpenIdArg {
    pub(crate) key: Ident,
    pub(crate) signing: Signing,
}

/// `par` or `par(required)`: pushed authorization requests (RFC 9126).
#[derive(Debug, Clone)]
pub(crate) struct ParArg {
    pub(crate) key: Ident,
    /// `par(required)`: every authorization request must be pushed.
    pub(crate) required: bool,
}

/// `client_auth(private_key_jwt)`: the opt-in client authentication methods.
#[derive(Debug, Clone)]
pub(crate) struct ClientAuthArg {
    /// `private_key_jwt`, where it was written.
    pub(crate) private_key_jwt: Option<Ident>,
}

/// `dpop` or `dpop(required)`.
#[derive(Debug, Clone)]
pub(crate) struct DpopArg {
    pub(crate) key: Ident,
    /// `dpop(required)`: every token request needs a proof.
    pub(crate) required: bool,
}

/// `key = Type`.
#[derive(Debug, Clone)]
pub(crate) struct TypeArg {
    pub(crate) key: Ident,
    pub(crate) ty: Type,
}

/// One entry of `grants(...)`, with its options.
#[derive(Debug, Clone)]
pub(crate) struct GrantSpec {
    pub(crate) name: GrantName,
    /// The grant's name as written.
    pub(crate) ident: Ident,
    /// `pkce = "..."`, with the literal.
    pub(crate) pkce: Option<(Pkce, LitStr)>,
    /// `rotate = true|false` (or bare `rotate`), with its span.
    pub(crate) rotate: Option<(bool, Span)>,
    /// The `allow_insecure` opt-in.
    pub(crate) allow_insecure: Option<Ident>,
}

/// `grants(...)`.
#[derive(Debug, Clone)]
pub(crate) struct GrantsArg {
    pub(crate) key: Ident,
    /// The well-formed grants, in order.
    pub(crate) grants: Vec<GrantSpec>,
    /// Whether an entry was left out for a mistake (already reported): rules
    /// about the set of grants are then skipped, as the set is not known.
    pub(crate) had_errors: bool,
    /// The grants that misspelt entries most likely meant (`authorisation_code`
    /// for `authorization_code`): after the error, the rest of the crate is
    /// compiled as if they were enabled, so that it is not reported on top.
    pub(crate) meant: Vec<Grant>,
}

/// `key = "1h"`, parsed to seconds.
#[derive(Debug, Clone)]
pub(crate) struct TtlArg {
    pub(crate) seconds: u64,
}

/// `scopes = "read write"`.
#[derive(Debug, Clone)]
pub(crate) struct ScopesArg {
    pub(crate) scopes: Vec<String>,
}

/// The attribute as written: every argument that was given and well formed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Args {
    pub(crate) client: Option<TypeArg>,
    pub(crate) token: Option<TypeArg>,
    pub(crate) code: Option<TypeArg>,
    pub(crate) user: Option<TypeArg>,
    pub(crate) grants: Option<GrantsArg>,
    pub(crate) access_token_ttl: Option<TtlArg>,
    pub(crate) refresh_token_ttl: Option<TtlArg>,
    pub(crate) code_ttl: Option<TtlArg>,
    pub(crate) scopes: Option<ScopesArg>,
    pub(crate) openid: Option<OpenIdArg>,
    pub(crate) par: Option<ParArg>,
    pub(crate) client_auth: Option<ClientAuthArg>,
    pub(crate) dpop: Option<DpopArg>,
    /// Every argument name given, well formed or not: a malformed argument
    /// is reported once, never again as missing.
    pub(crate) given: Vec<Ident>,
}

impl Args {
    /// Whether the argument `key` was given.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.given.iter().any(|k| k == key)
    }
}

/// An enabled grant and where it was named.
#[derive(Debug, Clone)]
pub(crate) struct Enabled {
    pub(crate) grant: Grant,
    pub(crate) ident: Ident,
}

/// A storage method of the user's impl bound to the table entry it fills.
#[derive(Debug, Clone)]
pub(crate) struct BoundMethod {
    pub(crate) method: &'static Method,
    /// The user's method signature's span: glue errors point there.
    pub(crate) span: Span,
}

/// A server known to be consistent: what the expansion generates from.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    /// The type of the `impl` block.
    pub(crate) self_ty: Type,
    pub(crate) client: Type,
    pub(crate) token: Type,
    /// Set exactly when `authorization_code` is enabled.
    pub(crate) code: Option<Type>,
    /// Set when `password` is enabled, and when given anyway.
    pub(crate) user: Option<Type>,
    /// The storage error type, inferred from the methods.
    pub(crate) error: Type,
    /// In declaration order.
    pub(crate) grants: Vec<Enabled>,
    pub(crate) pkce: Pkce,
    pub(crate) rotate_refresh_tokens: bool,
    pub(crate) access_token_ttl: u64,
    pub(crate) refresh_token_ttl: u64,
    pub(crate) code_ttl: u64,
    pub(crate) scopes: Option<Vec<String>>,
    /// OpenID Connect, when declared.
    pub(crate) openid: Option<OpenIdArg>,
    /// Pushed authorization requests, when declared.
    pub(crate) par: Option<ParArg>,
    /// `private_key_jwt` client authentication, where declared.
    pub(crate) private_key_jwt: Option<Ident>,
    /// DPoP, when declared.
    pub(crate) dpop: Option<DpopArg>,
    /// Exactly the methods the enabled grants need, in table order.
    pub(crate) methods: Vec<BoundMethod>,
}

impl Server {
    /// Whether `grant` is enabled.
    pub(crate) fn enables(&self, grant: Grant) -> bool {
        self.grants.iter().any(|g| g.grant == grant)
    }
}

/// What is known of a server whose attribute has mistakes: enough to emit,
/// beside the errors, the items the rest of the crate uses (`into_server`,
/// the storage traits, `Grants`), so that one mistake is one error. Every
/// field holds what was written and well formed, or nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Known {
    /// The type of the `impl` block, when it is a plain inherent one.
    pub(crate) self_ty: Option<Type>,
    pub(crate) client: Option<Type>,
    pub(crate) token: Option<Type>,
    pub(crate) code: Option<Type>,
    pub(crate) user: Option<Type>,
    /// The grants written, and those misspelt names most likely meant.
    pub(crate) grants: Vec<Grant>,
    /// Where `openid` was written.
    pub(crate) openid: Option<Span>,
    /// `dpop` was written.
    pub(crate) dpop: bool,
}

impl Known {
    /// Whether `grant` is, or probably was meant to be, enabled.
    pub(crate) fn enables(&self, grant: Grant) -> bool {
        self.grants.contains(&grant)
    }
}
