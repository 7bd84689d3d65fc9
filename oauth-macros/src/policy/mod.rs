//! `#[server(...)]`: the policy attribute, in three stages: [`parse`] the
//! attribute into a model, [`validate`] it against the `impl` block, and
//! [`expand`] the valid model into the storage glue.

mod expand;
pub(crate) mod model;
pub(crate) mod parse;
mod validate;

use proc_macro2::TokenStream;
use syn::ItemImpl;

use crate::errors::Errors;

/// Expands `#[server(args)] item`. On error, the output is still the user's
/// `item` (so that their methods exist and nothing else breaks) followed by
/// every error, and a mention of the model types the attribute names (so
/// that their imports are not reported unused on top of the real mistakes).
pub(crate) fn server(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut mentioned = Vec::new();
    match expand_server(args, item.clone(), &mut mentioned) {
        Ok(tokens) => tokens,
        Err(errors) => {
            let errors = errors.into_compile_error();
            let core = crate::paths::core();
            quote::quote! {
                #item
                #errors
                #(const _: #core::option::Option<#core::marker::PhantomData<#mentioned>> = #core::option::Option::None;)*
            }
        }
    }
}

fn expand_server(
    args: TokenStream,
    item: TokenStream,
    mentioned: &mut Vec<syn::Type>,
) -> syn::Result<TokenStream> {
    let item: ItemImpl = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            "`#[granted::server(...)]` goes on the `impl` block of your storage type: `impl MyStore { ... }`",
        )
    })?;
    let mut errors = Errors::default();
    let args = parse::parse(args, &mut errors)?;
    mentioned.extend(
        [&args.client, &args.token, &args.code, &args.user]
            .into_iter()
            .flatten()
            .map(|arg| arg.ty.clone()),
    );
    let server = validate::validate(args, &item, &mut errors);
    errors.finish()?;
    server
        .map(|server| expand::expand(&server, &item))
        .ok_or_else(|| syn::Error::new(proc_macro2::Span::call_site(), "invalid `#[granted::server]`"))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use quote::quote;

    use super::*;

    /// The complete expansion of one server, formatted: a snapshot checked
    /// in at `tests/expand/server.expanded.rs`. `UPDATE_EXPAND=1` rewrites it.
    #[test]
    fn expansion_snapshot() {
        let args = quote! {
            client = App, token = Token, code = Code, user = Account,
            grants(
                authorization_code(pkce = "required"),
                refresh_token(rotate = true),
                client_credentials,
                password(allow_insecure),
            ),
            access_token_ttl = "15m", refresh_token_ttl = "7d", code_ttl = "30s",
            scopes = "read write",
        };
        let item = quote! {
            impl Store {
                async fn client(&self, client_id: &str) -> Result<Option<App>, StoreError> { self.find(client_id) }
                async fn save_token(&self, token: Token) -> Result<(), StoreError> { self.put(token) }
                async fn access_token(&self, hash: &TokenHash) -> Result<Option<Token>, StoreError> { self.get(hash) }
                async fn revoke_token_family(&self, family: &str) -> Result<(), StoreError> { self.drop(family) }
                async fn save_code(&self, code: Code) -> Result<(), StoreError> { self.put_code(code) }
                async fn take_code(&self, hash: &TokenHash) -> Result<Option<Code>, StoreError> { self.take(hash) }
                async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<Token>, StoreError> { self.get(hash) }
                async fn rotate_refresh_token(&self, old: &TokenHash, new: Token) -> Result<bool, StoreError> {
                    self.rotate(old, new)
                }
                async fn user_by_username(&self, username: &str) -> Result<Option<Account>, StoreError> {
                    self.user(username)
                }
                fn unrelated(&self) {}
            }
        };
        let mut mentioned = Vec::new();
        let expanded = expand_server(args, item, &mut mentioned);
        assert!(expanded.is_ok(), "{expanded:?}");
        let Ok(expanded) = expanded else { return };
        let file = syn::parse2::<syn::File>(expanded).map(|f| prettyplease::unparse(&f));
        assert!(file.is_ok(), "{file:?}");
        let Ok(actual) = file else { return };
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand/server.expanded.rs");
        if std::env::var_os("UPDATE_EXPAND").is_some() {
            assert!(
                std::fs::write(&path, &actual).is_ok(),
                "cannot write {}",
                path.display()
            );
            return;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            expected == actual,
            "the expansion changed; review it and run with UPDATE_EXPAND=1 to accept:\n{actual}"
        );
    }

    #[test]
    fn errors_are_reported_all_at_once() {
        let args = quote!(
            client = App,
            token = Token,
            grants(refresh, password),
            code_ttl = "0s"
        );
        let item = quote!(impl Store {});
        let errors = expand_server(args, item, &mut Vec::new())
            .err()
            .map(|e| e.into_iter().count());
        // The unknown grant, the zero TTL, the password opt-in, the missing
        // user model, and the five methods.
        assert_eq!(errors, Some(9));
    }

    #[test]
    fn on_error_the_item_stays_and_the_models_are_mentioned() {
        let output = server(quote!(client = App, grants(nope)), quote!(impl Store {})).to_string();
        assert!(output.starts_with("impl Store { }"), "{output}");
        assert!(output.contains("compile_error"), "{output}");
        assert!(output.contains("PhantomData < App >"), "{output}");
    }

    #[test]
    fn only_impl_blocks() {
        let error = expand_server(
            quote!(),
            quote!(
                struct Store;
            ),
            &mut Vec::new(),
        )
        .err()
        .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "`#[granted::server(...)]` goes on the `impl` block of your storage type: `impl MyStore { ... }`"
            )
        );
    }
}
