//! `#[derive(User)]`: `UserModel` for a resource owner.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use super::field_trait;
use super::fields::{Model, Role, Spec};
use crate::paths;

pub(crate) const SPEC: Spec = Spec {
    derive: "User",
    required: &[
        Role {
            name: "subject",
            example: "subject: String",
            note: "the stable, opaque user id (`sub`)",
        },
        Role {
            name: "username",
            example: "username: String",
            note: "",
        },
        Role {
            name: "password_hash",
            example: "password_hash: String",
            note: "an argon2 PHC string from `granted::hash_password`",
        },
    ],
    optional: &[],
};

/// Expands `#[derive(User)]`.
pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    super::derive(input, &SPEC, |_, _| {}, expand)
}

/// `UserModel` for a struct whose derive failed.
pub(crate) fn stand_in(ident: &syn::Ident) -> TokenStream {
    let rt = paths::runtime();
    let core = paths::core();
    quote! {
        impl #rt::model::UserModel for #ident {
            fn subject(&self) -> &#core::primitive::str { "" }
            fn username(&self) -> &#core::primitive::str { "" }
            fn password_hash(&self) -> &#core::primitive::str { "" }
        }
    }
}

fn expand(model: &Model<'_>) -> TokenStream {
    let rt = paths::runtime();
    let core = paths::core();
    let ident = model.ident;
    let text = |role: &str| {
        model.get(role).map(|field| {
            let path = field_trait(field, quote!(TextField), "text");
            let member = field.member;
            quote!(#path(&self.#member))
        })
    };
    let (subject, username, password_hash) = (text("subject"), text("username"), text("password_hash"));
    quote! {
        #[automatically_derived]
        impl #rt::model::UserModel for #ident {
            fn subject(&self) -> &#core::primitive::str {
                #subject
            }
            fn username(&self) -> &#core::primitive::str {
                #username
            }
            fn password_hash(&self) -> &#core::primitive::str {
                #password_hash
            }
        }
    }
}
