//! Stage 3: code generation from a validated [`Server`]. Emits the user's
//! `impl` block unchanged, then, in an anonymous `const _: () = { ... };`,
//! the storage traits delegating to the user's methods and the `Grants`
//! implementation with the declared policy; plus an inherent `into_server`
//! taking what the policy needs at start (OpenID Connect: the signing keys
//! and the issuer).
//!
//! What a grant needs of the token model (`RefreshableToken`,
//! `SubjectToken`) is checked by the grant's call in `Grants::exchange`,
//! spanned at the grant's name in `grants(...)`: an unmet bound is one error
//! there, with the runtime's `on_unimplemented` message. (A separate
//! assertion would report the same mistake twice.)

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ItemImpl;

use super::model::{Grant, Known, Server};
use crate::errors::render;
use crate::methods::{self, Names, StorageTrait};
use crate::paths;

/// The expansion of a valid server.
pub(crate) fn expand(server: &Server, item: &ItemImpl) -> TokenStream {
    let storage = storage_impls(server);
    let grants = grants_impl(server);
    let openid_code = openid_code_check(server);
    let dpop_token = dpop_token_check(server);
    let into_server = into_server(server);
    quote! {
        #item

        const _: () = {
            #storage
            #grants
            #openid_code
            #dpop_token
        };

        #into_server
    }
}

/// With `openid`, the code model must keep the request's `nonce` and the
/// login's `auth_time` for the id_token: checked at `openid`, where the
/// runtime's `on_unimplemented` message says which fields to add.
fn openid_code_check(server: &Server) -> Option<TokenStream> {
    let openid = server.openid.as_ref()?;
    let code = server.code.as_ref()?;
    let span = openid.key.span();
    let rt = paths::runtime_at(span);
    Some(quote_spanned! {span=>
        fn __granted_openid_code<C: #rt::model::OpenIdCode>() {}
        let _ = __granted_openid_code::<#code>;
    })
}

/// With `dpop`, the token model must record the key a token is bound to,
/// or bound tokens would be stored as bearer tokens: checked at `dpop`.
fn dpop_token_check(server: &Server) -> Option<TokenStream> {
    let dpop = server.dpop.as_ref()?;
    let token = &server.token;
    let span = dpop.key.span();
    let rt = paths::runtime_at(span);
    Some(quote_spanned! {span=>
        fn __granted_dpop_token<T: #rt::model::DpopToken>() {}
        let _ = __granted_dpop_token::<#token>;
    })
}

/// One `impl` per storage trait the enabled grants need.
fn storage_impls(server: &Server) -> TokenStream {
    let rt = paths::runtime();
    let self_ty = &server.self_ty;
    let glue = |storage_trait: StorageTrait| -> TokenStream {
        server
            .methods
            .iter()
            .filter(|m| m.method.storage_trait == storage_trait)
            .map(|m| m.method.glue(self_ty, m.span))
            .collect()
    };
    let (client, token, error) = (&server.client, &server.token, &server.error);
    let base = glue(StorageTrait::Storage);
    let mut out = quote! {
        #[automatically_derived]
        impl #rt::storage::Storage for #self_ty {
            type Client = #client;
            type Token = #token;
            type Error = #error;
            #base
        }
    };
    if let Some(code) = server
        .code
        .as_ref()
        .filter(|_| server.enables(Grant::AuthorizationCode))
    {
        let methods = glue(StorageTrait::CodeStorage);
        out.extend(quote! {
            #[automatically_derived]
            impl #rt::storage::CodeStorage for #self_ty {
                type Code = #code;
                #methods
            }
        });
    }
    if server.enables(Grant::RefreshToken) {
        let methods = glue(StorageTrait::RefreshStorage);
        out.extend(quote! {
            #[automatically_derived]
            impl #rt::storage::RefreshStorage for #self_ty {
                #methods
            }
        });
    }
    if server.enables(Grant::DeviceCode) {
        let methods = glue(StorageTrait::DeviceStorage);
        out.extend(quote! {
            #[automatically_derived]
            impl #rt::storage::DeviceStorage for #self_ty {
                #methods
            }
        });
    }
    if server.dpop.is_some() {
        let methods = glue(StorageTrait::DpopStorage);
        out.extend(quote! {
            #[automatically_derived]
            impl #rt::storage::DpopStorage for #self_ty {
                #methods
            }
        });
    }
    if server.openid.is_some() {
        let methods = glue(StorageTrait::ClaimsStorage);
        out.extend(quote! {
            #[automatically_derived]
            impl #rt::storage::ClaimsStorage for #self_ty {
                #methods
            }
        });
    }
    if server.par.is_some() {
        let methods = glue(StorageTrait::PushedRequestStorage);
        out.extend(quote! {
            #[automatically_derived]
            impl #rt::storage::PushedRequestStorage for #self_ty {
                #methods
            }
        });
    }
    if server.private_key_jwt.is_some() {
        let methods = glue(StorageTrait::AssertionStorage);
        out.extend(quote! {
            #[automatically_derived]
            impl #rt::storage::AssertionStorage for #self_ty {
                #methods
            }
        });
    }
    out.extend(declared_storage(
        self_ty,
        &Declared {
            codes: server.enables(Grant::AuthorizationCode),
            refresh_tokens: server.enables(Grant::RefreshToken),
            pushed_requests: server.par.is_some(),
            assertion_ids: server.private_key_jwt.is_some(),
            device_authorizations: server.enables(Grant::DeviceCode),
            dpop_proofs: server.dpop.is_some(),
        },
    ));
    if let Some(user) = server.user.as_ref().filter(|_| server.enables(Grant::Password)) {
        let methods = glue(StorageTrait::UserStorage);
        out.extend(quote! {
            #[automatically_derived]
            impl #rt::storage::UserStorage for #self_ty {
                type User = #user;
                #methods
            }
        });
    }
    out
}

/// The storage traits besides `Storage` that the policy made the storage
/// implement.
#[derive(Default)]
struct Declared {
    codes: bool,
    refresh_tokens: bool,
    pushed_requests: bool,
    assertion_ids: bool,
    device_authorizations: bool,
    dpop_proofs: bool,
}

/// `DeclaredStorage`: which storage traits the grants made the storage
/// implement, for tools generic over storages (the conformance kit).
fn declared_storage(self_ty: &syn::Type, declared: &Declared) -> TokenStream {
    let rt = paths::runtime();
    let calls: Vec<TokenStream> = [
        (declared.codes, quote!(visitor.codes();)),
        (declared.refresh_tokens, quote!(visitor.refresh_tokens();)),
        (declared.pushed_requests, quote!(visitor.pushed_requests();)),
        (declared.assertion_ids, quote!(visitor.assertion_ids();)),
        (declared.dpop_proofs, quote!(visitor.dpop_proofs();)),
        (
            declared.device_authorizations,
            quote!(visitor.device_authorizations();),
        ),
    ]
    .into_iter()
    .filter_map(|(declared, call)| declared.then_some(call))
    .collect();
    let visitor = if calls.is_empty() {
        quote!(_)
    } else {
        quote!(visitor)
    };
    quote! {
        #[automatically_derived]
        impl #rt::storage::DeclaredStorage for #self_ty {
            fn declare<V: #rt::storage::StorageVisitor<Self>>(#visitor: &mut V) {
                #(#calls)*
            }
        }
    }
}

/// `Grants`: the declared policy and the dispatch to the enabled grants.
fn grants_impl(server: &Server) -> TokenStream {
    let rt = paths::runtime();
    let core = paths::core();
    let self_ty = &server.self_ty;
    let variants = server
        .grants
        .iter()
        .map(|g| format_ident!("{}", g.grant.variant()));
    let pkce = format_ident!("{}", server.pkce.variant());
    let rotate = server.rotate_refresh_tokens;
    let seconds = |n: u64| {
        let n = Literal::u64_unsuffixed(n);
        quote!(#core::time::Duration::from_secs(#n))
    };
    let access = seconds(server.access_token_ttl);
    let refresh = seconds(server.refresh_token_ttl);
    let code = seconds(server.code_ttl);
    let scopes = server
        .scopes
        .as_ref()
        .map(|scopes| quote!(.with_scopes_supported([#(#scopes),*])));
    let openid = server.openid.as_ref().map(|openid| {
        let alg = format_ident!("{}", openid.signing.variant());
        quote!(.with_openid(#rt::oidc::SigningAlg::#alg))
    });
    let arms = server.grants.iter().map(|enabled| {
        let variant = format_ident!("{}", enabled.grant.variant());
        let module = format_ident!("{}", enabled.grant.name());
        // Every token at the grant's name: this call is the compile-time check
        // of what the grant needs of the token model, reported there.
        let span = enabled.ident.span();
        let grant_rt = paths::runtime_at(span);
        let call = quote_spanned! {span=>
            #grant_rt::grants::#module::exchange(self, request).await
        };
        quote!(#rt::GrantType::#variant => #call,)
    });
    // Revocation and introspection also find refresh tokens when they are kept.
    let find_token = server.enables(Grant::RefreshToken).then(|| {
        quote! {
            fn find_token(
                &self,
                hash: &#rt::TokenHash,
            ) -> impl #core::future::Future<
                Output = #core::result::Result<#core::option::Option<#rt::FoundToken>, #rt::OAuthError>,
            > + #core::marker::Send {
                #rt::lookup::access_or_refresh_token(self, hash)
            }
        }
    });
    let setup = if server.openid.is_some() {
        quote!(#rt::OpenIdSetup)
    } else {
        quote!(())
    };
    let (par_policy, par_methods) = par_items(server);
    let (jwt_policy, jwt_methods) = private_key_jwt_items(server);
    let device_methods = device_items(server);
    let dpop = server.dpop.as_ref().map(|dpop| {
        let mode = format_ident!("{}", if dpop.required { "Required" } else { "Optional" });
        quote!(.with_dpop(#rt::DpopPolicy::#mode))
    });
    // Proofs are recorded through the storage's own method.
    let use_dpop_proof = server.dpop.is_some().then(|| {
        quote! {
            fn use_dpop_proof(
                &self,
                key: &#rt::TokenHash,
                until: #core::primitive::i64,
            ) -> impl #core::future::Future<
                Output = #core::result::Result<#core::primitive::bool, #rt::OAuthError>,
            > + #core::marker::Send {
                async move {
                    <Self as #rt::storage::DpopStorage>::use_dpop_proof(self, key, until)
                        .await
                        .map_err(|error| #rt::OAuthError::storage(&error))
                }
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl #rt::Grants for #self_ty {
            type Setup = #setup;

            fn policy(&self) -> #rt::Policy {
                #rt::Policy::new([#(#rt::GrantType::#variants),*])
                    .with_pkce(#rt::PkcePolicy::#pkce)
                    .with_refresh_rotation(#rotate)
                    .with_access_token_ttl(#access)
                    .with_refresh_token_ttl(#refresh)
                    .with_code_ttl(#code)
                    #scopes
                    #openid
                    #par_policy
                    #jwt_policy
                    #dpop
            }

            fn exchange(
                &self,
                grant: #rt::GrantType,
                request: #rt::GrantRequest<'_, <Self as #rt::storage::Storage>::Client>,
            ) -> impl #core::future::Future<
                Output = #core::result::Result<#rt::TokenResponse, #rt::OAuthError>,
            > + #core::marker::Send {
                async move {
                    match grant {
                        #(#arms)*
                        _ => #core::result::Result::Err(#rt::OAuthError::new(
                            #rt::ErrorCode::UnsupportedGrantType,
                            "this grant type is not enabled",
                        )),
                    }
                }
            }

            #find_token
            #par_methods
            #jwt_methods
            #use_dpop_proof
            #device_methods
        }
    }
}

/// With `par`: the policy's declaration and the `Grants` methods that reach
/// the pushed request storage.
fn par_items(server: &Server) -> (Option<TokenStream>, Option<TokenStream>) {
    let Some(par) = &server.par else {
        return (None, None);
    };
    let rt = paths::runtime();
    let core = paths::core();
    let mode = if par.required {
        format_ident!("Required")
    } else {
        format_ident!("Optional")
    };
    let policy = quote!(.with_par(#rt::ParPolicy::#mode));
    let methods = quote! {
        fn save_pushed_request(
            &self,
            request: #rt::par::PushedRequest,
        ) -> impl #core::future::Future<
            Output = #core::result::Result<(), #rt::OAuthError>,
        > + #core::marker::Send {
            #rt::par::save(self, request)
        }

        fn take_pushed_request(
            &self,
            request_uri: &#rt::TokenHash,
            client_id: &#core::primitive::str,
        ) -> impl #core::future::Future<
            Output = #core::result::Result<#core::option::Option<#rt::par::PushedRequest>, #rt::OAuthError>,
        > + #core::marker::Send {
            #rt::par::take(self, request_uri, client_id)
        }
    };
    (Some(policy), Some(methods))
}

/// With `grants(device_code)`: the `Grants` methods that reach the device
/// authorization storage (the endpoint and the verification page use them).
fn device_items(server: &Server) -> Option<TokenStream> {
    if !server.enables(Grant::DeviceCode) {
        return None;
    }
    let rt = paths::runtime();
    let core = paths::core();
    Some(quote! {
        fn save_device_authorization(
            &self,
            authorization: #rt::device::DeviceAuthorization,
        ) -> impl #core::future::Future<
            Output = #core::result::Result<(), #rt::OAuthError>,
        > + #core::marker::Send {
            #rt::device::save(self, authorization)
        }

        fn device_authorization_by_user_code(
            &self,
            user_code: &#rt::TokenHash,
        ) -> impl #core::future::Future<
            Output = #core::result::Result<
                #core::option::Option<#rt::device::DeviceAuthorization>,
                #rt::OAuthError,
            >,
        > + #core::marker::Send {
            #rt::device::by_user_code(self, user_code)
        }

        fn decide_device_authorization(
            &self,
            user_code: &#rt::TokenHash,
            status: #rt::device::DeviceStatus,
        ) -> impl #core::future::Future<
            Output = #core::result::Result<#core::primitive::bool, #rt::OAuthError>,
        > + #core::marker::Send {
            #rt::device::decide(self, user_code, status)
        }
    })
}

/// With `client_auth(private_key_jwt)`: the policy's declaration and the
/// `Grants` method that reaches the assertion id storage.
fn private_key_jwt_items(server: &Server) -> (Option<TokenStream>, Option<TokenStream>) {
    if server.private_key_jwt.is_none() {
        return (None, None);
    }
    let rt = paths::runtime();
    let core = paths::core();
    let policy = quote!(.with_private_key_jwt());
    let methods = quote! {
        fn record_assertion_jti(
            &self,
            jti: &#rt::TokenHash,
            expires_at: #core::primitive::i64,
        ) -> impl #core::future::Future<
            Output = #core::result::Result<#core::primitive::bool, #rt::OAuthError>,
        > + #core::marker::Send {
            #rt::assertion::record_jti(self, jti, expires_at)
        }
    };
    (Some(policy), Some(methods))
}

/// `into_server`, documented with the declared policy and the storage
/// methods it relies on.
fn into_server(server: &Server) -> TokenStream {
    let self_ty = &server.self_ty;
    let grants: Vec<Grant> = server.grants.iter().map(|g| g.grant).collect();
    let names: Vec<String> = grants.iter().map(|g| format!("`{}`", g.name())).collect();
    let type_names = Names {
        client: render(&server.client),
        token: render(&server.token),
        code: server.code.as_ref().map_or_else(String::new, render),
        user: server.user.as_ref().map_or_else(String::new, render),
        error: render(&server.error),
    };
    let mut doc = vec![
        "The authorization server of this storage, with the policy declared in".to_owned(),
        "`#[granted::server(...)]`.".to_owned(),
        String::new(),
        format!("Grants: {}.", names.join(", ")),
        String::new(),
        "It calls these methods of this `impl` block:".to_owned(),
        String::new(),
    ];
    let extensions = methods::Extensions {
        openid: server.openid.is_some(),
        par: server.par.is_some(),
        private_key_jwt: server.private_key_jwt.is_some(),
        dpop: server.dpop.is_some(),
    };
    doc.extend(methods::doc_lines(&grants, extensions, &type_names));
    if server.openid.is_some() {
        doc.extend([
            String::new(),
            "OpenID Connect is declared: `keys` sign the id_tokens (generate them with".to_owned(),
            "`granted::SigningKey::generate` once, store them, and load them on start),".to_owned(),
            "and `issuer` is the provider's issuer identifier, the URL it is reached at".to_owned(),
            "(`https://auth.example.com`): the `iss` of every id_token and of the metadata.".to_owned(),
        ]);
    }
    into_server_fn(self_ty, server.openid.as_ref().map(|o| o.key.span()), &doc)
}

/// `impl Self { pub fn into_server(...) }`: with `openid` (written at
/// `openid`), taking the signing keys and the issuer.
fn into_server_fn(self_ty: &syn::Type, openid: Option<proc_macro2::Span>, doc: &[String]) -> TokenStream {
    let rt = paths::runtime();
    let core = paths::core();
    let std = paths::std();
    let doc = doc.iter().map(|line| format!(" {line}"));
    let (params, build) = if openid.is_some() {
        (
            quote!(self, keys: #rt::oidc::KeyRing, issuer: impl #core::convert::Into<#std::string::String>),
            quote!(#rt::Server::with_setup(self, #rt::OpenIdSetup::new(keys, issuer))),
        )
    } else {
        (quote!(self), quote!(#rt::Server::new(self)))
    };
    // With `openid`, the method is spanned at it: a call without the keys
    // or the issuer shows the `openid` that asks for them.
    let span = openid.unwrap_or_else(proc_macro2::Span::call_site);
    let signature = quote_spanned!(span=> pub fn into_server(#params) -> #rt::Server<Self>);
    quote! {
        #[automatically_derived]
        impl #self_ty {
            #(#[doc = #doc])*
            #[must_use]
            #[allow(dead_code)]
            #signature {
                #build
            }
        }
    }
}

/// The stand-ins emitted beside the errors of an attribute with mistakes:
/// the storage traits, `Grants` and `into_server` that the valid expansion
/// would define, with the types that are known (the runtime's records in
/// place of the others) and futures that never complete. They are never
/// run, as the crate does not compile; they keep the code that uses the
/// server from being reported on top of the mistake. Nothing is emitted for
/// a trait or generic `impl` block, whose self type is not a plain type.
pub(crate) fn stand_ins(known: &Known) -> TokenStream {
    let Some(self_ty) = &known.self_ty else {
        return TokenStream::new();
    };
    let rt = paths::runtime();
    let core = paths::core();
    let or_record = |ty: &Option<syn::Type>, record: &str| {
        let record = format_ident!("{}", record);
        ty.as_ref().map_or_else(|| quote!(#rt::#record), |ty| quote!(#ty))
    };
    let stand_ins = |storage_trait: StorageTrait| -> TokenStream {
        methods::METHODS
            .iter()
            .filter(|m| m.storage_trait == storage_trait)
            .map(methods::Method::stand_in)
            .collect()
    };
    let (client, token) = (
        or_record(&known.client, "ClientRecord"),
        or_record(&known.token, "TokenRecord"),
    );
    let base = stand_ins(StorageTrait::Storage);
    let mut out = quote! {
        impl #rt::storage::Storage for #self_ty {
            type Client = #client;
            type Token = #token;
            type Error = #core::convert::Infallible;
            #base
        }
    };
    if known.enables(Grant::AuthorizationCode) || known.code.is_some() {
        let code = or_record(&known.code, "CodeRecord");
        let methods = stand_ins(StorageTrait::CodeStorage);
        out.extend(quote! {
            impl #rt::storage::CodeStorage for #self_ty {
                type Code = #code;
                #methods
            }
        });
    }
    if known.enables(Grant::RefreshToken) {
        let methods = stand_ins(StorageTrait::RefreshStorage);
        out.extend(quote!(impl #rt::storage::RefreshStorage for #self_ty { #methods }));
    }
    if known.enables(Grant::Password) || known.user.is_some() {
        let user = or_record(&known.user, "UserRecord");
        let methods = stand_ins(StorageTrait::UserStorage);
        out.extend(quote! {
            impl #rt::storage::UserStorage for #self_ty {
                type User = #user;
                #methods
            }
        });
    }
    if known.openid.is_some() {
        let methods = stand_ins(StorageTrait::ClaimsStorage);
        out.extend(quote!(impl #rt::storage::ClaimsStorage for #self_ty { #methods }));
    }
    if known.dpop {
        let methods = stand_ins(StorageTrait::DpopStorage);
        out.extend(quote!(impl #rt::storage::DpopStorage for #self_ty { #methods }));
    }
    let setup = if known.openid.is_some() {
        quote!(#rt::OpenIdSetup)
    } else {
        quote!(())
    };
    let into_server = into_server_fn(self_ty, known.openid, &[]);
    let declared = declared_storage(self_ty, &Declared::default());
    quote! {
        const _: () = {
            #out
            #declared

            impl #rt::Grants for #self_ty {
                type Setup = #setup;

                fn policy(&self) -> #rt::Policy {
                    #rt::Policy::new([])
                }

                fn exchange(
                    &self,
                    _: #rt::GrantType,
                    _: #rt::GrantRequest<'_, <Self as #rt::storage::Storage>::Client>,
                ) -> impl #core::future::Future<
                    Output = #core::result::Result<#rt::TokenResponse, #rt::OAuthError>,
                > + #core::marker::Send {
                    #core::future::pending()
                }
            }
        };

        #into_server
    }
}
