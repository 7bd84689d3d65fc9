//! `#[derive(Client)]`: `ClientModel` for a registered client.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use super::field_trait;
use super::fields::{Model, Role, Spec};
use crate::paths;

pub(crate) const SPEC: Spec = Spec {
    derive: "Client",
    required: &[
        Role {
            name: "client_id",
            example: "id: String",
            note: "",
        },
        Role {
            name: "client_secret",
            example: "secret_hash: Option<String>",
            note: "None marks a public client",
        },
        Role {
            name: "redirect_uris",
            example: "redirect_uris: Vec<String>",
            note: "",
        },
        Role {
            name: "grant_types",
            example: "grant_types: Vec<String>",
            note: "",
        },
        Role {
            name: "scope",
            example: "scope: String",
            note: "space-separated",
        },
    ],
    optional: &[
        Role {
            name: "token_endpoint_auth_method",
            example: "auth_method: String",
            note: "",
        },
        Role {
            name: "jwks",
            example: "jwks: Option<String>",
            note: "a JWK Set as JSON text, for private_key_jwt",
        },
        Role {
            name: "require_pushed_authorization_requests",
            example: "require_par: bool",
            note: "",
        },
    ],
};

/// Expands `#[derive(Client)]`.
pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    super::derive(input, &SPEC, |_, _| {}, expand)
}

/// `ClientModel` for a struct whose derive failed.
pub(crate) fn stand_in(ident: &syn::Ident) -> TokenStream {
    let rt = paths::runtime();
    let core = paths::core();
    quote! {
        impl #rt::model::ClientModel for #ident {
            fn client_id(&self) -> &#core::primitive::str { "" }
            fn secret_hash(&self) -> #core::option::Option<&#core::primitive::str> { #core::option::Option::None }
            fn redirect_uris(&self) -> #rt::model::StrIter<'_> { #rt::model::StrIter::words("") }
            fn grant_types(&self) -> #rt::model::StrIter<'_> { #rt::model::StrIter::words("") }
            fn scope(&self) -> #rt::model::StrIter<'_> { #rt::model::StrIter::words("") }
        }
    }
}

fn expand(model: &Model<'_>) -> TokenStream {
    let rt = paths::runtime();
    let core = paths::core();
    let ident = model.ident;
    let call = |role: &str, trait_path: TokenStream, method: &str| {
        model.get(role).map(|field| {
            let path = field_trait(field, trait_path, method);
            let member = field.member;
            quote!(#path(&self.#member))
        })
    };
    let client_id = call("client_id", quote!(TextField), "text");
    let secret = call("client_secret", quote!(OptionalTextField), "optional_text");
    let redirect_uris = call("redirect_uris", quote!(ListField), "items");
    let grant_types = call("grant_types", quote!(ListField), "items");
    let scope = call("scope", quote!(ListField), "items");
    let auth_method = call(
        "token_endpoint_auth_method",
        quote!(AuthMethodField),
        "auth_method",
    )
    .map(|call| {
        quote! {
            fn auth_method(&self) -> #core::option::Option<#rt::model::AuthMethod> {
                #call
            }
        }
    });
    let jwks = call("jwks", quote!(OptionalTextField), "optional_text").map(|call| {
        quote! {
            fn jwks(&self) -> #core::option::Option<&#core::primitive::str> {
                #call
            }
        }
    });
    let require_par = call("require_pushed_authorization_requests", quote!(FlagField), "flag").map(|call| {
        quote! {
            fn requires_pushed_authorization_requests(&self) -> #core::primitive::bool {
                #call
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl #rt::model::ClientModel for #ident {
            fn client_id(&self) -> &#core::primitive::str {
                #client_id
            }
            fn secret_hash(&self) -> #core::option::Option<&#core::primitive::str> {
                #secret
            }
            fn redirect_uris(&self) -> #rt::model::StrIter<'_> {
                #redirect_uris
            }
            fn grant_types(&self) -> #rt::model::StrIter<'_> {
                #grant_types
            }
            fn scope(&self) -> #rt::model::StrIter<'_> {
                #scope
            }
            #auth_method
            #jwks
            #require_par
        }
    }
}
