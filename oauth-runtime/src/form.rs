//! Strict `application/x-www-form-urlencoded` parsing (RFC 6749 §3.1, §3.2):
//! a repeated parameter is an error, an empty value counts as absent.

use std::borrow::Cow;

use crate::OAuthError;

/// The most parameters one request may carry; OAuth requests need about ten.
pub const MAX_PARAMS: usize = 64;

/// Parameters of a form body or query string, each name at most once.
///
/// ```
/// use oauth_runtime::Params;
///
/// let params = Params::parse(b"grant_type=client_credentials&scope=read+write").unwrap();
/// assert_eq!(params.get("scope"), Some("read write"));
/// assert!(Params::parse(b"scope=a&scope=b").is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Params<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Params<'a> {
    /// Parses a form-urlencoded byte string.
    ///
    /// # Errors
    ///
    /// `invalid_request` when a parameter is repeated, a name is empty, or
    /// there are more than [`MAX_PARAMS`] parameters.
    pub fn parse(input: &'a [u8]) -> Result<Self, OAuthError> {
        let mut pairs: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::new();
        for (name, value) in form_urlencoded::parse(input) {
            if name.is_empty() {
                if value.is_empty() {
                    continue; // stray `&&` or trailing `&`
                }
                return Err(OAuthError::invalid_request("a parameter has no name"));
            }
            if pairs.iter().any(|(seen, _)| *seen == name) {
                return Err(OAuthError::invalid_request(match crate::error::plain(&name) {
                    Some(name) => format!("parameter `{name}` is repeated"),
                    None => "a parameter is repeated".to_owned(),
                }));
            }
            if pairs.len() == MAX_PARAMS {
                return Err(OAuthError::invalid_request("too many parameters"));
            }
            pairs.push((name, value));
        }
        Ok(Self { pairs })
    }

    /// The value of `name`; an empty value is treated as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
            .filter(|v| !v.is_empty())
    }

    /// The value of `name`, or `invalid_request` naming the missing parameter.
    ///
    /// # Errors
    ///
    /// `invalid_request` when the parameter is absent or empty.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter `{name}`")))
    }

    /// Whether `name` is present with a non-empty value.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// All parameters in request order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_and_plus() {
        let params = Params::parse(b"redirect_uri=https%3A%2F%2Fa.example%2Fcb&scope=a+b").unwrap();
        assert_eq!(params.get("redirect_uri"), Some("https://a.example/cb"));
        assert_eq!(params.get("scope"), Some("a b"));
    }

    #[test]
    fn repeated_parameter_is_invalid_request_even_when_empty() {
        let err = Params::parse(b"code=a&code=").unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidRequest);
        assert!(err.description().contains("code"));
    }

    #[test]
    fn empty_value_counts_as_absent() {
        let params = Params::parse(b"scope=&state=x").unwrap();
        assert_eq!(params.get("scope"), None);
        assert!(params.require("scope").is_err());
        assert_eq!(params.require("state").unwrap(), "x");
    }

    #[test]
    fn too_many_parameters_is_rejected() {
        let body: String = (0..=MAX_PARAMS).map(|i| format!("p{i}=v&")).collect();
        assert!(Params::parse(body.as_bytes()).is_err());
    }

    #[test]
    fn nameless_value_is_rejected_but_stray_ampersands_are_not() {
        assert!(Params::parse(b"=x").is_err());
        assert_eq!(Params::parse(b"&&a=1&").unwrap().get("a"), Some("1"));
    }

    #[test]
    fn invalid_utf8_does_not_panic() {
        let params = Params::parse(b"a=%FF%FE&b=\xff").unwrap();
        assert!(params.get("a").is_some());
    }
}
