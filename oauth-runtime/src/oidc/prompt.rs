//! The `prompt` parameter of the authorization request (OpenID Connect Core
//! §3.1.2.1): whether the server may, must or must not interact with the user.

/// A `prompt` value that cannot be honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PromptError {
    /// A value OpenID Connect does not define (kept here; not in the message,
    /// which may reach a log or a response).
    #[error("unsupported prompt value")]
    Unknown(String),
    /// `none` asks for no interaction, the others for some.
    #[error("prompt=none cannot be combined with other values")]
    NoneWithOthers,
}

/// The parsed `prompt` parameter.
///
/// ```
/// use oauth_runtime::oidc::Prompt;
///
/// let prompt = Prompt::parse(Some("login consent")).unwrap();
/// assert!(prompt.login() && prompt.consent() && !prompt.none());
/// assert!(Prompt::parse(Some("none login")).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Prompt {
    none: bool,
    login: bool,
    consent: bool,
    select_account: bool,
}

impl Prompt {
    /// Parses the space-separated values; `None` means no prompt parameter.
    ///
    /// # Errors
    ///
    /// [`PromptError`] for an unknown value, or `none` with another value.
    pub fn parse(value: Option<&str>) -> Result<Self, PromptError> {
        let mut prompt = Self::default();
        for value in value.unwrap_or_default().split(' ').filter(|v| !v.is_empty()) {
            match value {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => prompt.select_account = true,
                other => return Err(PromptError::Unknown(other.to_owned())),
            }
        }
        if prompt.none && (prompt.login || prompt.consent || prompt.select_account) {
            return Err(PromptError::NoneWithOthers);
        }
        Ok(prompt)
    }

    /// `none`: answer without showing any page, or fail with
    /// `login_required` / `consent_required`.
    pub fn none(&self) -> bool {
        self.none
    }

    /// `login`: the user must authenticate again, even with a session.
    pub fn login(&self) -> bool {
        self.login
    }

    /// `consent`: ask for consent again, even if given before.
    pub fn consent(&self) -> bool {
        self.consent
    }

    /// `select_account`: let the user pick an account.
    pub fn select_account(&self) -> bool {
        self.select_account
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_or_empty_prompt_asks_nothing() {
        assert_eq!(Prompt::parse(None), Ok(Prompt::default()));
        assert_eq!(Prompt::parse(Some("")), Ok(Prompt::default()));
    }

    #[test]
    fn each_value_is_recognised() {
        assert!(Prompt::parse(Some("none")).unwrap().none());
        assert!(Prompt::parse(Some("login")).unwrap().login());
        assert!(Prompt::parse(Some("consent")).unwrap().consent());
        assert!(Prompt::parse(Some("select_account")).unwrap().select_account());
    }

    #[test]
    fn none_alone_and_known_values_only() {
        assert_eq!(
            Prompt::parse(Some("none consent")),
            Err(PromptError::NoneWithOthers)
        );
        assert_eq!(
            Prompt::parse(Some("login maybe")),
            Err(PromptError::Unknown("maybe".into()))
        );
    }
}
