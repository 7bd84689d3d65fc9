//! `#[derive(Token)]`: `TokenModel` for an issued token, plus
//! `SubjectToken` with a `subject` field and `RefreshableToken` with the
//! four refresh fields, and `DpopToken` with a `jkt` field.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use super::fields::{Model, Role, Spec};
use super::{RecordField, Runtime, field, optional, record_conversions};
use crate::errors::Errors;
use crate::paths;

pub(crate) const SPEC: Spec = Spec {
    derive: "Token",
    required: &[
        Role {
            name: "access_token",
            example: "access_token_hash: String",
            note: "the SHA-256 of the access token, in hex",
        },
        Role {
            name: "client_id",
            example: "client_id: String",
            note: "",
        },
        Role {
            name: "scope",
            example: "scope: String",
            note: "space-separated",
        },
        Role {
            name: "family",
            example: "family: String",
            note: "tokens of one grant share a family",
        },
        Role {
            name: "issued_at",
            example: "issued_at: i64",
            note: "Unix seconds",
        },
        Role {
            name: "expires_at",
            example: "expires_at: i64",
            note: "Unix seconds",
        },
    ],
    optional: &[
        Role {
            name: "subject",
            example: "subject: Option<String>",
            note: "",
        },
        Role {
            name: "refresh_token",
            example: "refresh_token_hash: Option<String>",
            note: "",
        },
        Role {
            name: "refresh_expires_at",
            example: "refresh_expires_at: Option<i64>",
            note: "",
        },
        Role {
            name: "rotated",
            example: "rotated: bool",
            note: "",
        },
        Role {
            name: "refresh_scope",
            example: "refresh_scope: Option<String>",
            note: "",
        },
        Role {
            name: "jkt",
            example: "jkt: Option<String>",
            note: "the DPoP key a token is bound to",
        },
    ],
};

/// `TokenRecord`'s fields.
const FIELDS: [RecordField; 12] = [
    field("access_token", Runtime::Hash),
    optional("refresh_token", Runtime::Hash),
    field("client_id", Runtime::Text),
    optional("subject", Runtime::Text),
    field("scope", Runtime::Scope),
    field("family", Runtime::Text),
    field("issued_at", Runtime::Time),
    field("expires_at", Runtime::Time),
    optional("refresh_expires_at", Runtime::Time),
    field("rotated", Runtime::Flag),
    optional("refresh_scope", Runtime::Scope),
    optional("jkt", Runtime::Text),
];

/// The fields a token model needs to hold refresh tokens: all or none.
/// `refresh_scope` keeps the refresh token's scope when a refresh narrowed
/// the access token's (RFC 6749 §6), so it belongs to the set.
const REFRESH: [&str; 4] = ["refresh_token", "refresh_expires_at", "rotated", "refresh_scope"];

/// Expands `#[derive(Token)]`.
pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    super::derive(input, &SPEC, check_refresh_fields, expand)
}

/// `TokenModel` and its optional traits for a struct whose derive failed:
/// whatever the grants ask of the model is there.
pub(crate) fn stand_in(ident: &syn::Ident) -> TokenStream {
    let rt = paths::runtime();
    let core = paths::core();
    let never = super::never();
    quote! {
        impl #rt::model::TokenModel for #ident {
            fn from_record(_: #rt::model::TokenRecord) -> Self { #never }
            fn into_record(self) -> #core::result::Result<#rt::model::TokenRecord, #rt::model::ModelError> { #never }
        }
        impl #rt::model::SubjectToken for #ident {}
        impl #rt::model::RefreshableToken for #ident {}
        impl #rt::model::DpopToken for #ident {}
    }
}

/// The refresh fields come as a set.
fn check_refresh_fields(model: &Model<'_>, errors: &mut Errors) {
    let present: Vec<_> = REFRESH.iter().filter_map(|r| model.get(r)).collect();
    let Some(first) = present.first() else { return };
    if present.len() == REFRESH.len() {
        return;
    }
    let missing: Vec<String> = SPEC
        .optional
        .iter()
        .filter(|role| REFRESH.contains(&role.name) && model.get(role.name).is_none())
        .map(|role| format!("`#[oauth({})] {}`", role.name, role.example))
        .collect();
    let present_names: Vec<String> = present
        .iter()
        .map(|m| format!("`#[oauth({})]`", m.role))
        .collect();
    errors.spanned(
        &first.attr,
        format!(
            "a token model that keeps refresh tokens needs all four refresh fields: add {}, or remove {}",
            all_of(&missing),
            all_of(&present_names)
        ),
    );
}

/// `a`, `a and b`, `a, b and c`.
fn all_of(items: &[String]) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn expand(model: &Model<'_>) -> TokenStream {
    let rt = paths::runtime();
    let ident = model.ident;
    let record = quote!(#rt::model::TokenRecord);
    let conversions = record_conversions(model, &record, &FIELDS);
    let subject = model.get("subject").map(|_| {
        quote! {
            #[automatically_derived]
            impl #rt::model::SubjectToken for #ident {}
        }
    });
    let refreshable = REFRESH.iter().all(|r| model.get(r).is_some()).then(|| {
        quote! {
            #[automatically_derived]
            impl #rt::model::RefreshableToken for #ident {}
        }
    });
    let dpop = model.get("jkt").map(|_| {
        quote! {
            #[automatically_derived]
            impl #rt::model::DpopToken for #ident {}
        }
    });
    quote! {
        #[automatically_derived]
        impl #rt::model::TokenModel for #ident {
            #conversions
        }
        #subject
        #refreshable
        #dpop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(input: &DeriveInput) -> Vec<String> {
        derive(input)
            .err()
            .map(|e| e.into_iter().map(|e| e.to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn refresh_fields_come_as_a_set() {
        let input: DeriveInput = syn::parse_quote! {
            struct Token {
                #[oauth(access_token)] a: String,
                #[oauth(client_id)] b: String,
                #[oauth(scope)] c: String,
                #[oauth(family)] d: String,
                #[oauth(issued_at)] e: i64,
                #[oauth(expires_at)] f: i64,
                #[oauth(refresh_token)] g: Option<String>,
            }
        };
        assert_eq!(
            messages(&input),
            [
                "a token model that keeps refresh tokens needs all four refresh fields: add \
              `#[oauth(refresh_expires_at)] refresh_expires_at: Option<i64>`, `#[oauth(rotated)] rotated: bool` \
              and `#[oauth(refresh_scope)] refresh_scope: Option<String>`, \
              or remove `#[oauth(refresh_token)]`"
            ]
        );
    }

    #[test]
    fn a_refresh_model_without_refresh_scope_is_told_to_add_it() {
        let input: DeriveInput = syn::parse_quote! {
            struct Token {
                #[oauth(access_token)] a: String,
                #[oauth(client_id)] b: String,
                #[oauth(scope)] c: String,
                #[oauth(family)] d: String,
                #[oauth(issued_at)] e: i64,
                #[oauth(expires_at)] f: i64,
                #[oauth(refresh_token)] g: Option<String>,
                #[oauth(refresh_expires_at)] h: Option<i64>,
                #[oauth(rotated)] i: bool,
            }
        };
        assert_eq!(
            messages(&input),
            [
                "a token model that keeps refresh tokens needs all four refresh fields: add \
              `#[oauth(refresh_scope)] refresh_scope: Option<String>`, or remove \
              `#[oauth(refresh_token)]`, `#[oauth(refresh_expires_at)]` and `#[oauth(rotated)]`"
            ]
        );
    }

    #[test]
    fn optional_traits_follow_the_fields() {
        let input: DeriveInput = syn::parse_quote! {
            struct Token {
                #[oauth(access_token)] a: String,
                #[oauth(client_id)] b: String,
                #[oauth(scope)] c: String,
                #[oauth(family)] d: String,
                #[oauth(issued_at)] e: i64,
                #[oauth(expires_at)] f: i64,
                #[oauth(subject)] g: Option<String>,
                note: String,
            }
        };
        let expanded = derive(&input).map(|t| t.to_string()).unwrap_or_default();
        assert!(expanded.contains("SubjectToken for Token"));
        assert!(!expanded.contains("RefreshableToken"));
        assert!(expanded.contains("rotated : false"));
        assert!(expanded.contains(
            "note : < String as :: granted :: __private :: core :: default :: Default > :: default ()"
        ));
    }
}
