//! Scopes (RFC 6749 §3.3): space-separated tokens of visible ASCII.

use std::fmt;

use crate::OAuthError;

/// A set of scope tokens, in the order first given, without duplicates.
///
/// ```
/// use oauth_runtime::Scope;
///
/// let granted: Scope = "read write".parse().unwrap();
/// let asked: Scope = "read".parse().unwrap();
/// assert!(asked.is_subset_of(&granted));
/// assert_eq!(granted.to_string(), "read write");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope {
    tokens: Vec<String>,
}

impl Scope {
    /// The empty scope.
    pub const fn empty() -> Self {
        Self { tokens: Vec::new() }
    }

    /// Parses a space-separated scope string.
    ///
    /// # Errors
    ///
    /// `invalid_scope` when a token holds a character outside RFC 6749's
    /// `NQCHAR` (`%x21 / %x23-5B / %x5D-7E`) or tokens are separated by
    /// anything but single spaces.
    pub fn parse(input: &str) -> Result<Self, OAuthError> {
        let mut scope = Self::empty();
        if input.is_empty() {
            return Ok(scope);
        }
        for token in input.split(' ') {
            if token.is_empty() {
                return Err(OAuthError::invalid_scope(
                    "scope tokens must be separated by single spaces",
                ));
            }
            if !token.bytes().all(is_nqchar) {
                return Err(OAuthError::invalid_scope(
                    "a scope token holds a character that is not allowed",
                ));
            }
            scope.insert(token);
        }
        Ok(scope)
    }

    /// Builds a scope from trusted tokens (e.g. a client's registration),
    /// skipping empty and invalid ones.
    pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Self {
        let mut scope = Self::empty();
        for token in tokens {
            if !token.is_empty() && token.bytes().all(is_nqchar) {
                scope.insert(token);
            }
        }
        scope
    }

    fn insert(&mut self, token: &str) {
        if !self.contains(token) {
            self.tokens.push(token.to_owned());
        }
    }

    /// Whether the scope holds `token`.
    pub fn contains(&self, token: &str) -> bool {
        self.tokens.iter().any(|t| t == token)
    }

    /// Whether every token of `self` is in `other`.
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.tokens.iter().all(|t| other.contains(t))
    }

    /// Whether every token of `self` is among `allowed`.
    pub fn is_within<'a>(&self, allowed: impl Iterator<Item = &'a str> + Clone) -> bool {
        self.tokens.iter().all(|t| allowed.clone().any(|a| a == t))
    }

    /// The first token of `self` not in `other`, for error messages.
    pub fn first_outside(&self, other: &Scope) -> Option<&str> {
        self.tokens
            .iter()
            .find(|t| !other.contains(t))
            .map(String::as_str)
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The tokens as owned strings, in order.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// The tokens in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().map(String::as_str)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, token) in self.tokens.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Scope {
    type Err = OAuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

const fn is_nqchar(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// Resolves the scope of a request against what a client may have: absent
/// means everything allowed, and any token outside it is `invalid_scope`
/// (never silently narrowed).
///
/// # Errors
///
/// `invalid_scope` naming the first token outside `allowed`.
pub fn resolve(requested: Option<&str>, allowed: &Scope) -> Result<Scope, OAuthError> {
    let Some(requested) = requested else {
        return Ok(allowed.clone());
    };
    let scope = Scope::parse(requested)?;
    match scope.first_outside(allowed) {
        None => Ok(scope),
        Some(token) => Err(OAuthError::invalid_scope(match crate::error::plain(token) {
            Some(token) => format!("scope `{token}` is not allowed"),
            None => "a requested scope is not allowed".to_owned(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dedups_and_displays() {
        let scope = Scope::parse("read write read").unwrap();
        assert_eq!(scope.to_string(), "read write");
    }

    #[test]
    fn rejects_bad_characters_and_double_spaces() {
        for bad in ["read  write", " read", "read\"", "re\\ad", "réad", "read\twrite"] {
            assert!(Scope::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn resolve_defaults_to_allowed_and_rejects_wider() {
        let allowed = Scope::parse("read write").unwrap();
        assert_eq!(resolve(None, &allowed).unwrap(), allowed);
        assert_eq!(resolve(Some("read"), &allowed).unwrap().to_string(), "read");
        let err = resolve(Some("read admin"), &allowed).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidScope);
        assert!(err.description().contains("admin"));
    }
}
