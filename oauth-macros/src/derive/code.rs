//! `#[derive(AuthorizationCode)]`: `CodeModel` for an authorization code.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use super::fields::{Model, Role, Spec};
use super::{RecordField, Runtime, field, optional, record_conversions};
use crate::paths;

pub(crate) const SPEC: Spec = Spec {
    derive: "AuthorizationCode",
    required: &[
        Role {
            name: "code",
            example: "code_hash: String",
            note: "the SHA-256 of the code, in hex",
        },
        Role {
            name: "client_id",
            example: "client_id: String",
            note: "",
        },
        Role {
            name: "redirect_uri",
            example: "redirect_uri: Option<String>",
            note: "",
        },
        Role {
            name: "scope",
            example: "scope: String",
            note: "space-separated",
        },
        Role {
            name: "subject",
            example: "subject: String",
            note: "",
        },
        Role {
            name: "code_challenge",
            example: "code_challenge: Option<String>",
            note: "",
        },
        Role {
            name: "code_challenge_method",
            example: "code_challenge_method: Option<String>",
            note: "",
        },
        Role {
            name: "expires_at",
            example: "expires_at: i64",
            note: "Unix seconds",
        },
    ],
    optional: &[
        Role {
            name: "nonce",
            example: "nonce: Option<String>",
            note: "",
        },
        Role {
            name: "auth_time",
            example: "auth_time: Option<i64>",
            note: "Unix seconds; OpenID Connect's `auth_time`",
        },
    ],
};

/// `CodeRecord`'s fields.
const FIELDS: [RecordField; 10] = [
    field("code", Runtime::Hash),
    field("client_id", Runtime::Text),
    optional("redirect_uri", Runtime::Text),
    field("scope", Runtime::Scope),
    field("subject", Runtime::Text),
    optional("code_challenge", Runtime::Text),
    optional("code_challenge_method", Runtime::Pkce),
    optional("nonce", Runtime::Text),
    optional("auth_time", Runtime::Time),
    field("expires_at", Runtime::Time),
];

/// Expands `#[derive(AuthorizationCode)]`.
pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    super::derive(input, &SPEC, |_, _| {}, expand)
}

/// `CodeModel` and `OpenIdCode` for a struct whose derive failed.
pub(crate) fn stand_in(ident: &syn::Ident) -> TokenStream {
    let rt = paths::runtime();
    let core = paths::core();
    let never = super::never();
    quote! {
        impl #rt::model::CodeModel for #ident {
            fn from_record(_: #rt::model::CodeRecord) -> Self { #never }
            fn into_record(self) -> #core::result::Result<#rt::model::CodeRecord, #rt::model::ModelError> { #never }
        }
        impl #rt::model::OpenIdCode for #ident {}
    }
}

fn expand(model: &Model<'_>) -> TokenStream {
    let rt = paths::runtime();
    let ident = model.ident;
    let record = quote!(#rt::model::CodeRecord);
    let conversions = record_conversions(model, &record, &FIELDS);
    let openid = ["nonce", "auth_time"]
        .iter()
        .all(|role| model.get(role).is_some())
        .then(|| {
            quote! {
                #[automatically_derived]
                impl #rt::model::OpenIdCode for #ident {}
            }
        });
    quote! {
        #[automatically_derived]
        impl #rt::model::CodeModel for #ident {
            #conversions
        }
        #openid
    }
}
