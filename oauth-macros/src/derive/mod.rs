//! The model derives: `Client`, `Token`, `AuthorizationCode`, `User`. Each
//! reads the struct's `#[oauth(...)]` fields ([`fields`]), checks what is
//! specific to it, and implements the runtime's model trait by calling the
//! runtime's field traits on each field, spanned at the field's type so that
//! a field of an unsupported type is reported there.

pub(crate) mod client;
pub(crate) mod code;
pub(crate) mod fields;
pub(crate) mod token;
pub(crate) mod user;

use proc_macro2::TokenStream;
use quote::{ToTokens as _, quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned as _;

use self::fields::{Marked, Model, Spec};
use crate::errors::Errors;
use crate::paths;

/// Parses the fields against `spec`, runs the derive's own `check`, and
/// expands when nothing was wrong.
fn derive(
    input: &DeriveInput,
    spec: &Spec,
    check: impl FnOnce(&Model<'_>, &mut Errors),
    expand: impl FnOnce(&Model<'_>) -> TokenStream,
) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let model = fields::parse(input, spec, &mut errors);
    if let Some(model) = &model {
        check(model, &mut errors);
    }
    errors.finish()?;
    let tokens = model.as_ref().map(expand).unwrap_or_default();
    Ok(quote! {
        const _: () = {
            #tokens
        };
    })
}

/// The output of a derive: its expansion, or its errors with a stand-in
/// implementation of the model traits (`stand_in`, never run: the crate
/// does not compile), so that the server using the model is not reported on
/// top, asking for the derive that is already there: one mistake, one error.
pub(crate) fn or_stand_in(
    result: syn::Result<TokenStream>,
    input: &DeriveInput,
    stand_in: impl FnOnce(&syn::Ident) -> TokenStream,
) -> TokenStream {
    match result {
        Ok(tokens) => tokens,
        Err(errors) => {
            let errors = errors.into_compile_error();
            // A generic type's impl would need its parameters: left out.
            let stand_in = input.generics.params.is_empty().then(|| stand_in(&input.ident));
            quote! {
                #errors
                const _: () = {
                    #stand_in
                };
            }
        }
    }
}

/// The body of a stand-in method that must return a value it cannot make.
fn never() -> TokenStream {
    let core = paths::core();
    quote!(#core::unreachable!("a stand-in emitted beside a compile error is never called"))
}

/// `<FieldType as runtime::model::Trait>::method`, spanned at the field's
/// type: an unsupported type gets the trait's `on_unimplemented` message
/// pointing at the field.
fn field_trait(field: &Marked<'_>, trait_path: TokenStream, method: &str) -> TokenStream {
    let span = field.ty.span();
    let ty = paths::respan(field.ty.to_token_stream(), span);
    let rt = paths::runtime_at(span);
    let method = syn::Ident::new(method, span);
    quote_spanned!(span=> <#ty as #rt::model::#trait_path>::#method)
}

/// `Default::default()` for a field without a role, spanned at its type.
fn default_for(ty: &syn::Type) -> TokenStream {
    let span = ty.span();
    let core = quote_spanned!(span=> ::granted::__private::core);
    quote_spanned!(span=> <#ty as #core::default::Default>::default())
}

/// A runtime value a token or code field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runtime {
    Hash,
    Text,
    Scope,
    Time,
    Flag,
    Pkce,
}

/// A field of a runtime record (`TokenRecord`, `CodeRecord`): its name, which
/// is also the role that marks it, and the value it holds.
#[derive(Debug, Clone, Copy)]
struct RecordField {
    name: &'static str,
    runtime: Runtime,
    /// `Option<runtime>` in the record.
    optional: bool,
}

const fn field(name: &'static str, runtime: Runtime) -> RecordField {
    RecordField {
        name,
        runtime,
        optional: false,
    }
}

const fn optional(name: &'static str, runtime: Runtime) -> RecordField {
    RecordField {
        name,
        runtime,
        optional: true,
    }
}

impl RecordField {
    /// The record field's type.
    fn ty(&self) -> TokenStream {
        let rt = paths::runtime();
        let core = paths::core();
        let std = paths::std();
        let inner = match self.runtime {
            Runtime::Hash => quote!(#rt::TokenHash),
            Runtime::Text => quote!(#std::string::String),
            Runtime::Scope => quote!(#rt::Scope),
            Runtime::Time => quote!(#core::primitive::i64),
            Runtime::Flag => quote!(#core::primitive::bool),
            Runtime::Pkce => quote!(#rt::PkceMethod),
        };
        if self.optional {
            quote!(#core::option::Option<#inner>)
        } else {
            inner
        }
    }

    /// The value of the record field when no struct field holds it.
    fn absent(&self) -> TokenStream {
        let core = paths::core();
        if self.optional {
            quote!(#core::option::Option::None)
        } else {
            quote!(false)
        }
    }
}

/// `from_record` and `into_record` between the user's struct and `record`,
/// converting each field through `runtime::model::ModelField`.
fn record_conversions(model: &Model<'_>, record: &TokenStream, fields: &[RecordField]) -> TokenStream {
    let rt = paths::runtime();
    let core = paths::core();
    let mut build = Vec::new();
    let mut read = Vec::new();
    for field in fields {
        let name = syn::Ident::new(field.name, proc_macro2::Span::call_site());
        let label = field.name;
        match model.get(field.name) {
            Some(marked) => {
                let ty = field.ty();
                let member = marked.member;
                let from = field_trait(marked, quote!(ModelField<#ty>), "from_runtime");
                let into = field_trait(marked, quote!(ModelField<#ty>), "into_runtime");
                build.push(quote!(#member: #from(record.#name)));
                read.push(quote! {
                    #name: #into(self.#member)
                        .map_err(|error| #rt::model::ModelError::in_field(error, #label))?
                });
            }
            None => {
                let absent = field.absent();
                read.push(quote!(#name: #absent));
            }
        }
    }
    for (member, ty) in &model.unmarked {
        let default = default_for(ty);
        build.push(quote!(#member: #default));
    }
    quote! {
        fn from_record(record: #record) -> Self {
            Self {
                #(#build,)*
            }
        }

        fn into_record(self) -> #core::result::Result<#record, #rt::model::ModelError> {
            #core::result::Result::Ok(#record {
                #(#read,)*
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one table of field types names every role of every derive.
    #[test]
    fn the_field_type_table_lists_every_role() {
        let table = include_str!("../../docs/field-types.md");
        for spec in [&client::SPEC, &token::SPEC, &code::SPEC, &user::SPEC] {
            let derive = spec.derive;
            let rows: Vec<&str> = table
                .lines()
                .filter(|line| line.starts_with(&format!("| `{derive}` |")))
                .collect();
            for role in spec.required.iter().chain(spec.optional) {
                let written = format!("`{}`", role.name);
                assert!(
                    rows.iter()
                        .any(|row| row.split('|').nth(2).is_some_and(|cell| cell.contains(&written))),
                    "docs/field-types.md has no row for {derive} {written}"
                );
            }
        }
    }

    #[test]
    fn a_failed_derive_comes_with_stand_ins_of_its_traits() {
        let input: DeriveInput = syn::parse_quote! {
            struct Token {
                #[oauth(access_token)] a: String,
                #[oauth(familly)] d: String,
            }
        };
        let output = or_stand_in(token::derive(&input), &input, token::stand_in).to_string();
        assert!(output.contains("compile_error"), "{output}");
        for implemented in [
            "TokenModel for Token",
            "SubjectToken for Token",
            "RefreshableToken for Token",
        ] {
            assert!(
                output.contains(implemented),
                "`{implemented}` missing from {output}"
            );
        }
        let input: DeriveInput = syn::parse_quote!(
            struct App {
                id: String,
            }
        );
        let output = or_stand_in(client::derive(&input), &input, client::stand_in).to_string();
        assert!(output.contains("ClientModel for App"), "{output}");
        // A generic struct gets the errors alone.
        let input: DeriveInput = syn::parse_quote!(
            struct App<T> {
                id: T,
            }
        );
        let output = or_stand_in(client::derive(&input), &input, client::stand_in).to_string();
        assert!(
            output.contains("compile_error") && !output.contains("ClientModel"),
            "{output}"
        );
    }
}
