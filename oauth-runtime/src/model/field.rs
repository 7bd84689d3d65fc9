//! Conversions between the field types users pick for their models and the
//! runtime's own types. The derives call these, so a field of an unsupported
//! type is a compile error that names the field and the types it may have.

use std::fmt;

use crate::{AuthMethod, PkceMethod, Scope, TokenHash};

/// A stored field could not be read back (for example a hash that is not hex).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored field `{field}` is unreadable: {reason}")]
pub struct ModelError {
    field: &'static str,
    reason: String,
}

impl ModelError {
    /// A new error for `field`.
    pub fn new(field: &'static str, reason: impl fmt::Display) -> Self {
        Self {
            field,
            reason: reason.to_string(),
        }
    }

    /// Tags an error with the field it came from.
    #[must_use]
    pub fn in_field(mut self, field: &'static str) -> Self {
        self.field = field;
        self
    }
}

/// An iterator over the items of a list field: a space-separated `String`, a
/// `Vec<String>` or a [`Scope`].
#[derive(Debug, Clone)]
pub struct StrIter<'a>(Inner<'a>);

#[derive(Debug, Clone)]
enum Inner<'a> {
    Words(std::str::SplitAsciiWhitespace<'a>),
    Slice(std::slice::Iter<'a, String>),
}

impl<'a> StrIter<'a> {
    /// Items of a space-separated string.
    pub fn words(text: &'a str) -> Self {
        Self(Inner::Words(text.split_ascii_whitespace()))
    }

    /// Items of a slice of strings.
    pub fn slice(items: &'a [String]) -> Self {
        Self(Inner::Slice(items.iter()))
    }
}

impl<'a> Iterator for StrIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match &mut self.0 {
            Inner::Words(words) => words.next(),
            Inner::Slice(items) => items.next().map(String::as_str),
        }
    }
}

/// A text field of a read-only model (client id, username, ...).
#[diagnostic::on_unimplemented(
    message = "this field must be text, found `{Self}`",
    label = "expected `String`",
    note = "use `String` (or `Box<str>`, `&'static str`) for this field"
)]
pub trait TextField {
    /// The text.
    fn text(&self) -> &str;
}

impl TextField for String {
    fn text(&self) -> &str {
        self
    }
}

impl TextField for Box<str> {
    fn text(&self) -> &str {
        self
    }
}

impl TextField for &'static str {
    fn text(&self) -> &str {
        self
    }
}

/// An optional text field of a read-only model (a client secret hash).
#[diagnostic::on_unimplemented(
    message = "this field must be optional text, found `{Self}`",
    label = "expected `Option<String>`",
    note = "use `Option<String>`: `None` marks a public client"
)]
pub trait OptionalTextField {
    /// The text, if any.
    fn optional_text(&self) -> Option<&str>;
}

impl OptionalTextField for Option<String> {
    fn optional_text(&self) -> Option<&str> {
        self.as_deref()
    }
}

impl OptionalTextField for Option<Box<str>> {
    fn optional_text(&self) -> Option<&str> {
        self.as_deref()
    }
}

/// A list field of a read-only model (redirect URIs, grant types, scope).
#[diagnostic::on_unimplemented(
    message = "this field must be a string or a list of strings, found `{Self}`",
    label = "expected `String` (space-separated) or `Vec<String>`",
    note = "use `Vec<String>`, a space-separated `String`, or `granted::Scope`"
)]
pub trait ListField {
    /// The items.
    fn items(&self) -> StrIter<'_>;
}

impl ListField for String {
    fn items(&self) -> StrIter<'_> {
        StrIter::words(self)
    }
}

impl ListField for Vec<String> {
    fn items(&self) -> StrIter<'_> {
        StrIter::slice(self)
    }
}

impl ListField for Box<[String]> {
    fn items(&self) -> StrIter<'_> {
        StrIter::slice(self)
    }
}

impl ListField for Scope {
    fn items(&self) -> StrIter<'_> {
        StrIter::slice(self.tokens())
    }
}

/// A yes-or-no field of a read-only model (a client's
/// `require_pushed_authorization_requests`).
#[diagnostic::on_unimplemented(
    message = "this field must be a flag, found `{Self}`",
    label = "expected `bool`",
    note = "use `bool`"
)]
pub trait FlagField {
    /// The flag.
    fn flag(&self) -> bool;
}

impl FlagField for bool {
    fn flag(&self) -> bool {
        *self
    }
}

/// A field of the token endpoint authentication method.
#[diagnostic::on_unimplemented(
    message = "this field must name a token endpoint auth method, found `{Self}`",
    label = "expected `String` or `granted::AuthMethod`",
    note = "use a `String` holding `client_secret_basic`, `client_secret_post`, `none` or `private_key_jwt`"
)]
pub trait AuthMethodField {
    /// The method; `None` when the stored name is not supported.
    fn auth_method(&self) -> Option<AuthMethod>;
}

impl AuthMethodField for String {
    fn auth_method(&self) -> Option<AuthMethod> {
        AuthMethod::from_name(self)
    }
}

impl AuthMethodField for AuthMethod {
    fn auth_method(&self) -> Option<AuthMethod> {
        Some(*self)
    }
}

impl AuthMethodField for Option<String> {
    fn auth_method(&self) -> Option<AuthMethod> {
        self.as_deref().and_then(AuthMethod::from_name)
    }
}

/// A field of a token or code model holding a runtime value of type `T`,
/// converted both ways: into the field when the runtime issues a record, and
/// back when storage returns it.
#[diagnostic::on_unimplemented(
    message = "a field of type `{Self}` cannot hold a `{T}`",
    label = "unsupported type for this `#[oauth(...)]` field",
    note = "hashes: `String` (hex) or `granted::TokenHash`; scope: `String` or `Vec<String>`; times: `i64` (Unix seconds); text: `String`; wrap in `Option` where the value is optional"
)]
pub trait ModelField<T>: Sized {
    /// The field holding `value`.
    fn from_runtime(value: T) -> Self;
    /// The runtime value held by the field.
    ///
    /// # Errors
    ///
    /// [`ModelError`] when the stored value is unreadable.
    fn into_runtime(self) -> Result<T, ModelError>;
}

macro_rules! identity_fields {
    ($($ty:ty),*) => {$(
        impl ModelField<$ty> for $ty {
            fn from_runtime(value: $ty) -> Self {
                value
            }
            fn into_runtime(self) -> Result<$ty, ModelError> {
                Ok(self)
            }
        }
    )*};
}

identity_fields!(TokenHash, Scope, String, i64, bool, PkceMethod);

impl ModelField<TokenHash> for String {
    fn from_runtime(value: TokenHash) -> Self {
        value.to_string()
    }
    fn into_runtime(self) -> Result<TokenHash, ModelError> {
        self.parse().map_err(|e| ModelError::new("hash", e))
    }
}

impl ModelField<TokenHash> for Vec<u8> {
    fn from_runtime(value: TokenHash) -> Self {
        value.as_bytes().to_vec()
    }
    fn into_runtime(self) -> Result<TokenHash, ModelError> {
        <[u8; 32]>::try_from(self.as_slice())
            .map(TokenHash::from_bytes)
            .map_err(|_| ModelError::new("hash", "expected 32 bytes"))
    }
}

impl ModelField<Scope> for String {
    fn from_runtime(value: Scope) -> Self {
        value.to_string()
    }
    fn into_runtime(self) -> Result<Scope, ModelError> {
        Scope::parse(&self).map_err(|e| ModelError::new("scope", e.description()))
    }
}

impl ModelField<Scope> for Vec<String> {
    fn from_runtime(value: Scope) -> Self {
        value.iter().map(str::to_owned).collect()
    }
    fn into_runtime(self) -> Result<Scope, ModelError> {
        Scope::parse(&self.join(" ")).map_err(|e| ModelError::new("scope", e.description()))
    }
}

impl ModelField<String> for Box<str> {
    fn from_runtime(value: String) -> Self {
        value.into_boxed_str()
    }
    fn into_runtime(self) -> Result<String, ModelError> {
        Ok(self.into_string())
    }
}

impl ModelField<i64> for u64 {
    fn from_runtime(value: i64) -> Self {
        u64::try_from(value).unwrap_or(0)
    }
    fn into_runtime(self) -> Result<i64, ModelError> {
        i64::try_from(self).map_err(|e| ModelError::new("time", e))
    }
}

impl ModelField<PkceMethod> for String {
    fn from_runtime(value: PkceMethod) -> Self {
        value.as_str().to_owned()
    }
    fn into_runtime(self) -> Result<PkceMethod, ModelError> {
        PkceMethod::from_name(&self)
            .ok_or_else(|| ModelError::new("code_challenge_method", "unknown PKCE method"))
    }
}

impl<T, X: ModelField<T>> ModelField<Option<T>> for Option<X> {
    fn from_runtime(value: Option<T>) -> Self {
        value.map(X::from_runtime)
    }
    fn into_runtime(self) -> Result<Option<T>, ModelError> {
        self.map(X::into_runtime).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_fields_iterate_their_items() {
        let words = String::from("read  write");
        assert_eq!(words.items().collect::<Vec<_>>(), ["read", "write"]);
        let list = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(list.items().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn hash_fields_round_trip_and_reject_corruption() {
        let hash = TokenHash::of("t");
        let text: String = ModelField::from_runtime(hash);
        assert_eq!(ModelField::<TokenHash>::into_runtime(text).unwrap(), hash);
        let bytes: Vec<u8> = ModelField::from_runtime(hash);
        assert_eq!(ModelField::<TokenHash>::into_runtime(bytes).unwrap(), hash);
        assert!(ModelField::<TokenHash>::into_runtime(String::from("nope")).is_err());
        assert!(ModelField::<TokenHash>::into_runtime(vec![1u8, 2]).is_err());
    }

    #[test]
    fn optional_fields_map_through() {
        let none: Option<String> = ModelField::<Option<TokenHash>>::from_runtime(None);
        assert_eq!(none, None);
        let corrupt = Some(String::from("zz"));
        assert!(ModelField::<Option<TokenHash>>::into_runtime(corrupt).is_err());
    }

    #[test]
    fn stored_scope_is_validated() {
        assert!(ModelField::<Scope>::into_runtime(String::from("a  b")).is_err());
        let scope = ModelField::<Scope>::into_runtime(vec!["a".to_owned()]).unwrap();
        assert_eq!(scope.to_string(), "a");
    }
}
