//! Error accumulation (like serde's `Ctxt`): every stage records all the
//! mistakes it finds, so that a user with three mistakes sees three errors.

use std::fmt::Display;

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::ToTokens;

/// The errors found so far.
#[derive(Default)]
pub(crate) struct Errors {
    error: Option<syn::Error>,
}

impl Errors {
    /// Records an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.error {
            Some(existing) => existing.combine(error),
            None => self.error = Some(error),
        }
    }

    /// Records an error spanning `tokens`.
    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error at `span`.
    pub(crate) fn at(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Records the error of a failed step and returns its value, if any.
    pub(crate) fn ok<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    /// Whether nothing was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.error.is_none()
    }

    /// `Err` with every recorded error, or `Ok`.
    pub(crate) fn finish(self) -> syn::Result<()> {
        self.error.map_or(Ok(()), Err)
    }
}

/// Renders tokens the way a person writes them, for error messages:
/// `& self` becomes `&self`, `Option < T >` becomes `Option<T>`.
pub(crate) fn render(tokens: &impl ToTokens) -> String {
    let mut out = String::new();
    render_into(tokens.to_token_stream(), &mut out);
    out
}

fn render_into(tokens: TokenStream, out: &mut String) {
    // Whether the previous token sticks to the next one (`&`, `<`, `::`).
    let mut glue_next = true;
    let mut previous: Option<TokenTree> = None;
    for token in tokens {
        if !glue_next && !glue_before(&token, previous.as_ref()) {
            out.push(' ');
        }
        glue_next = match &token {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{ ", " }"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                render_into(group.stream(), out);
                out.push_str(close);
                false
            }
            TokenTree::Ident(ident) => {
                out.push_str(&ident.to_string());
                false
            }
            TokenTree::Literal(literal) => {
                out.push_str(&literal.to_string());
                false
            }
            TokenTree::Punct(punct) => {
                out.push(punct.as_char());
                match punct.as_char() {
                    '&' | '<' | '\'' | '?' | '#' => true,
                    // The second `:` of `::`.
                    ':' if matches!(&previous, Some(TokenTree::Punct(p)) if p.as_char() == ':') => true,
                    _ => punct.spacing() == proc_macro2::Spacing::Joint,
                }
            }
        };
        previous = Some(token);
    }
}

/// Whether `token` sticks to the token before it.
fn glue_before(token: &TokenTree, previous: Option<&TokenTree>) -> bool {
    match token {
        TokenTree::Punct(punct) => match punct.as_char() {
            // `x: ::std::...`: a path after a lone colon keeps its space.
            ':' => !matches!(
                previous,
                Some(TokenTree::Punct(p)) if p.as_char() == ':' && p.spacing() == proc_macro2::Spacing::Alone
            ),
            c => matches!(c, ',' | ';' | '<' | '>' | '.'),
        },
        TokenTree::Group(group) => {
            group.delimiter() == Delimiter::Parenthesis && matches!(previous, Some(TokenTree::Ident(_)))
        }
        TokenTree::Ident(_) | TokenTree::Literal(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(text: &str) -> String {
        let tokens: TokenStream = syn::parse_str(text).unwrap_or_default();
        render(&tokens)
    }

    #[test]
    fn renders_signatures_like_a_person_writes_them() {
        let sig = "async fn take_code(&self, hash: &TokenHash) -> Result<Option<Code>, Self::Error>";
        assert_eq!(rendered(sig), sig);
        let sig = "fn rotate_refresh_token(&mut self, old: &'a granted::TokenHash) -> Result<bool, E>";
        assert_eq!(rendered(sig), sig);
        let sig = "fn f(x: Vec<Option<i64>>, y: impl Future<Output = ()> + Send)";
        assert_eq!(rendered(sig), sig);
        assert_eq!(
            rendered("fn f(x: &[u8], y: ::std::string::String)"),
            "fn f(x: &[u8], y: ::std::string::String)"
        );
    }
}
