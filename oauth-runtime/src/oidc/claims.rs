//! The standard claims of a user (OpenID Connect Core §5.1) and which scope
//! releases which (§5.4). Claims a granted scope does not cover are never
//! released, whatever the storage returns.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Scope;

/// The claims each scope value releases (OpenID Connect Core §5.4).
const BY_SCOPE: [(&str, &[&str]); 4] = [
    (
        "profile",
        &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
    ),
    ("email", &["email", "email_verified"]),
    ("address", &["address"]),
    ("phone", &["phone_number", "phone_number_verified"]),
];

/// Every standard claim granted can release, `sub` first (`claims_supported`
/// in discovery).
pub fn standard_claims() -> impl Iterator<Item = &'static str> {
    std::iter::once("sub").chain(BY_SCOPE.iter().flat_map(|(_, claims)| claims.iter().copied()))
}

/// The claims that `scope` releases.
pub fn claims_for_scope(scope: &Scope) -> impl Iterator<Item = &'static str> + '_ {
    BY_SCOPE
        .iter()
        .filter(|(value, _)| scope.contains(value))
        .flat_map(|(_, claims)| claims.iter().copied())
}

/// A claims object that cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// Claims must be a JSON object.
    #[error("user claims must be a JSON object")]
    NotAnObject,
    /// `sub` is the server's stable identifier of the user, never stored claims.
    #[error("`sub` cannot be set in user claims: the server derives it")]
    Subject,
    /// A name that is not a standard claim (often a typo).
    #[error("`{0}` is not an OpenID Connect standard claim (OpenID Connect Core §5.1)")]
    Unknown(String),
}

/// A user's standard claims, as storage returns them.
///
/// ```
/// use oauth_runtime::Scope;
/// use oauth_runtime::oidc::UserClaims;
///
/// let claims = UserClaims::from_json(serde_json::json!({
///     "name": "Alice Liddell",
///     "email": "alice@example.com",
/// }))?;
/// let released = claims.released(&Scope::parse("openid email").unwrap());
/// assert_eq!(released.get("email").unwrap(), "alice@example.com");
/// assert!(released.get("name").is_none(), "`profile` was not granted");
/// # Ok::<(), oauth_runtime::oidc::ClaimsError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "Value")]
pub struct UserClaims(Map<String, Value>);

impl UserClaims {
    /// No claims.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a JSON object of standard claims.
    ///
    /// # Errors
    ///
    /// [`ClaimsError`] for a non-object, `sub`, or a non-standard name.
    pub fn from_json(value: Value) -> Result<Self, ClaimsError> {
        let Value::Object(map) = value else {
            return Err(ClaimsError::NotAnObject);
        };
        for name in map.keys() {
            check_name(name)?;
        }
        Ok(Self(map))
    }

    /// Adds or replaces one claim.
    ///
    /// # Errors
    ///
    /// [`ClaimsError`] for `sub` or a non-standard name.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Result<Self, ClaimsError> {
        check_name(name)?;
        self.0.insert(name.to_owned(), value.into());
        Ok(self)
    }

    /// One claim.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// Whether there are no claims.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The claims `scope` releases, and only those.
    pub fn released(&self, scope: &Scope) -> Map<String, Value> {
        claims_for_scope(scope)
            .filter_map(|name| self.0.get(name).map(|v| (name.to_owned(), v.clone())))
            .collect()
    }

    /// The claims as a JSON object (to store them).
    pub fn to_json(&self) -> Value {
        Value::Object(self.0.clone())
    }
}

fn check_name(name: &str) -> Result<(), ClaimsError> {
    if name == "sub" {
        return Err(ClaimsError::Subject);
    }
    if standard_claims().any(|c| c == name) {
        Ok(())
    } else {
        Err(ClaimsError::Unknown(name.to_owned()))
    }
}

impl TryFrom<Value> for UserClaims {
    type Error = ClaimsError;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        Self::from_json(value)
    }
}

impl From<UserClaims> for Value {
    fn from(claims: UserClaims) -> Self {
        Value::Object(claims.0)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn alice() -> UserClaims {
        UserClaims::from_json(json!({
            "name": "Alice Liddell", "given_name": "Alice",
            "email": "alice@example.com", "email_verified": true,
            "phone_number": "+1 555", "address": {"country": "UK"},
        }))
        .unwrap()
    }

    fn released(scope: &str) -> Vec<String> {
        let mut names: Vec<String> = alice()
            .released(&Scope::parse(scope).unwrap())
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    #[test]
    fn openid_alone_releases_no_claims() {
        assert!(released("openid").is_empty());
    }

    #[test]
    fn profile_releases_profile_claims_only() {
        assert_eq!(released("openid profile"), ["given_name", "name"]);
    }

    #[test]
    fn email_releases_email_and_its_verification() {
        assert_eq!(released("openid email"), ["email", "email_verified"]);
    }

    #[test]
    fn address_and_phone_follow_their_scopes() {
        assert_eq!(released("openid address phone"), ["address", "phone_number"]);
        assert_eq!(released("openid profile email address phone").len(), 6);
    }

    #[test]
    fn non_openid_scopes_release_nothing() {
        assert!(released("read write").is_empty());
    }

    #[test]
    fn sub_typos_and_non_objects_are_refused() {
        assert_eq!(
            UserClaims::from_json(json!({"sub": "x"})),
            Err(ClaimsError::Subject)
        );
        assert_eq!(
            UserClaims::from_json(json!({"emial": "x"})),
            Err(ClaimsError::Unknown("emial".into()))
        );
        assert_eq!(
            UserClaims::from_json(json!(["name"])),
            Err(ClaimsError::NotAnObject)
        );
        assert!(UserClaims::new().with("nickname", "al").is_ok());
        assert!(UserClaims::new().with("password", "x").is_err());
    }

    #[test]
    fn claims_supported_lists_sub_and_every_scope_claim() {
        let all: Vec<_> = standard_claims().collect();
        assert_eq!(all[0], "sub");
        assert!(all.contains(&"email_verified") && all.contains(&"updated_at"));
        assert_eq!(all.len(), 1 + 14 + 2 + 1 + 2);
    }

    #[test]
    fn serde_round_trips_and_validates() {
        let text = serde_json::to_string(&alice()).unwrap();
        assert_eq!(serde_json::from_str::<UserClaims>(&text).unwrap(), alice());
        assert!(serde_json::from_str::<UserClaims>(r#"{"sub":"x"}"#).is_err());
    }
}
