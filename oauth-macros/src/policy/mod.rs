//! `#[server(...)]`: the policy attribute, in three stages: [`parse`] the
//! attribute into a model, [`validate`] it against the `impl` block, and
//! [`expand`] the valid model into the storage glue.

mod expand;
pub(crate) mod model;
pub(crate) mod parse;
mod validate;

use proc_macro2::TokenStream;
use syn::ItemImpl;

use self::model::Known;
use crate::errors::Errors;

/// Expands `#[server(args)] item`. On error, the output is still the user's
/// `item` (so that their methods exist and nothing else breaks) followed by
/// every error, a mention of the model types the attribute names (so that
/// their imports are not reported unused on top of the real mistakes), and
/// stand-ins for what the valid expansion defines (`into_server`, the
/// storage traits, `Grants`), so that the code using the server is not
/// reported either: one mistake, one error.
pub(crate) fn server(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut known = Known::default();
    match expand_server(args, item.clone(), &mut known) {
        Ok(tokens) => tokens,
        Err(errors) => {
            let errors = errors.into_compile_error();
            let core = crate::paths::core();
            let mentioned = [&known.client, &known.token, &known.code, &known.user]
                .into_iter()
                .flatten();
            let stand_ins = expand::stand_ins(&known);
            quote::quote! {
                #item
                #errors
                #(const _: #core::option::Option<#core::marker::PhantomData<#mentioned>> = #core::option::Option::None;)*
                #stand_ins
            }
        }
    }
}

fn expand_server(args: TokenStream, item: TokenStream, known: &mut Known) -> syn::Result<TokenStream> {
    let item: ItemImpl = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            "`#[granted::server(...)]` goes on the `impl` block of your storage type: `impl MyStore { ... }`",
        )
    })?;
    if item.trait_.is_none() && item.generics.params.is_empty() && item.generics.where_clause.is_none() {
        known.self_ty = Some((*item.self_ty).clone());
    }
    let mut errors = Errors::default();
    let args = match parse::parse(args.clone(), &mut errors) {
        Ok(args) => args,
        Err(error) => {
            // The list itself is malformed: only whether it names `openid`
            // is known, for the signature of `into_server`.
            known.openid = args.into_iter().find_map(|token| match token {
                proc_macro2::TokenTree::Ident(ident) if ident == "openid" => Some(ident.span()),
                _ => None,
            });
            return Err(error);
        }
    };
    known.client = args.client.as_ref().map(|a| a.ty.clone());
    known.token = args.token.as_ref().map(|a| a.ty.clone());
    known.code = args.code.as_ref().map(|a| a.ty.clone());
    known.user = args.user.as_ref().map(|a| a.ty.clone());
    known.openid = args.openid.as_ref().map(|o| o.key.span()).or_else(|| {
        args.given
            .iter()
            .find(|key| *key == "openid")
            .map(proc_macro2::Ident::span)
    });
    known.dpop = args.has("dpop");
    if let Some(grants) = &args.grants {
        let named = grants.grants.iter().filter_map(|spec| match spec.name {
            model::GrantName::Supported(grant) => Some(grant),
            model::GrantName::Implicit => None,
        });
        known.grants = named.chain(grants.meant.iter().copied()).collect();
    }
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
        let expanded = expand_server(args, item, &mut Known::default());
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
        let errors = expand_server(args, item, &mut Known::default())
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

    /// One mistake, one error: beside the errors come the storage traits,
    /// `Grants` and `into_server`, with the types that are known.
    #[test]
    fn on_error_stand_ins_keep_the_rest_of_the_crate_quiet() {
        let output = server(
            quote!(
                client = App,
                token = Token,
                code = Code,
                grants(authorisation_code, refresh_token)
            ),
            quote!(impl Store {}),
        )
        .to_string();
        assert!(output.contains("compile_error"), "{output}");
        for expected in [
            "impl :: granted :: __private :: runtime :: storage :: Storage for Store",
            "type Client = App",
            "type Token = Token",
            "type Error = :: granted :: __private :: core :: convert :: Infallible",
            // `authorisation_code` most likely meant `authorization_code`.
            "impl :: granted :: __private :: runtime :: storage :: CodeStorage for Store { type Code = Code",
            "impl :: granted :: __private :: runtime :: storage :: RefreshStorage for Store",
            "impl :: granted :: __private :: runtime :: Grants for Store { type Setup = () ;",
            "impl :: granted :: __private :: runtime :: storage :: DeclaredStorage for Store",
            "pub fn into_server (self) -> :: granted :: __private :: runtime :: Server < Self >",
        ] {
            assert!(output.contains(expected), "`{expected}` missing from {output}");
        }
        assert!(!output.contains("UserStorage"), "{output}");
        assert!(!output.contains("ClaimsStorage"), "{output}");

        // With `openid`, `into_server` takes the keys and the issuer, even when
        // the argument list itself cannot be read.
        for args in [
            quote!(
                client = App,
                token = Tok,
                grants(authorization_code),
                openid,
                issuer = "x"
            ),
            quote!(client = App,, grants(authorization_code), openid),
        ] {
            let output = server(args, quote!(impl Store {})).to_string();
            assert!(
                output.contains("type Setup = :: granted :: __private :: runtime :: OpenIdSetup"),
                "{output}"
            );
            assert!(output.contains("pub fn into_server (self , keys :"), "{output}");
        }
    }

    #[test]
    fn no_stand_ins_for_trait_or_generic_impls() {
        for item in [
            quote!(impl Trait for Store {}),
            quote!(
                impl<T> Store<T> {}
            ),
        ] {
            let output = server(quote!(client = App, grants(nope)), item).to_string();
            assert!(output.contains("compile_error"), "{output}");
            assert!(!output.contains("Grants for"), "{output}");
            assert!(!output.contains("into_server"), "{output}");
        }
    }

    #[test]
    fn only_impl_blocks() {
        let error = expand_server(
            quote!(),
            quote!(
                struct Store;
            ),
            &mut Known::default(),
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
