//! Stage 2: every rule of the policy in one place. Takes the parsed
//! [`Args`] and the user's `impl` block, records each violation at the token
//! at fault, and yields a [`Server`] the expansion can trust.

use proc_macro2::Span;
use quote::ToTokens as _;
use syn::spanned::Spanned as _;
use syn::{FnArg, GenericArgument, ImplItem, ImplItemFn, ItemImpl, PathArguments, ReturnType, Type};

use super::model::{
    Args, BoundMethod, DpopArg, Enabled, Grant, GrantName, GrantSpec, OpenIdArg, ParArg, Pkce, Server,
    TypeArg,
};
use crate::errors::{Errors, render};
use crate::methods::{self, Method, Model, Names, NeededBy, Param};

/// The default lifetimes, as the runtime's `Policy::new`.
const ACCESS_TOKEN_TTL: u64 = 3600;
const REFRESH_TOKEN_TTL: u64 = 30 * 86_400;
const CODE_TTL: u64 = 60;

/// Checks the policy and the `impl` block against each other. Returns the
/// server only when nothing at all was wrong (`errors` includes the parse
/// stage's findings).
pub(crate) fn validate(args: Args, item: &ItemImpl, errors: &mut Errors) -> Option<Server> {
    check_impl(item, errors);
    let specs = args
        .grants
        .as_ref()
        .map(|g| g.grants.as_slice())
        .unwrap_or_default();
    let set_known = !args.grants.as_ref().is_some_and(|g| g.had_errors);

    let client = required_type(args.client.as_ref(), &args, "client", "Client", errors);
    let token = required_type(args.token.as_ref(), &args, "token", "Token", errors);

    if args.grants.is_none() && !args.has("grants") {
        errors.at(
            Span::call_site(),
            "no grants enabled: add `grants(...)`, e.g. `grants(client_credentials)`",
        );
    }
    if let Some(grants) = &args.grants
        && grants.grants.is_empty()
        && !grants.had_errors
    {
        errors.spanned(
            &grants.key,
            "no grants enabled: list at least one, e.g. `grants(client_credentials)`",
        );
    }

    let mut enabled = Vec::new();
    for spec in specs {
        check_opt_ins(spec, errors);
        if let GrantName::Supported(grant) = spec.name {
            enabled.push(Enabled {
                grant,
                ident: spec.ident.clone(),
            });
        }
    }
    let grant_list: Vec<Grant> = enabled.iter().map(|e| e.grant).collect();
    let ident_of = |grant: Grant| enabled.iter().find(|e| e.grant == grant).map(|e| &e.ident);

    if let Some(refresh) = ident_of(Grant::RefreshToken)
        && set_known
        && !grant_list.contains(&Grant::AuthorizationCode)
        && !grant_list.contains(&Grant::Password)
        && !grant_list.contains(&Grant::DeviceCode)
    {
        errors.spanned(
            refresh,
            "`refresh_token` is enabled but no grant issues refresh tokens: enable `authorization_code` \
             (or `password` or `device_code`) too; `client_credentials` never issues refresh tokens (RFC 6749 §4.4.3)",
        );
    }

    let code = model_for_grant(
        args.code.as_ref(),
        &args,
        ident_of(Grant::AuthorizationCode),
        ("code", "AuthorizationCode", "authorization_code"),
        set_known,
        errors,
    );
    let user = match ident_of(Grant::Password) {
        Some(password) => {
            if args.user.is_none() && !args.has("user") {
                errors.spanned(
                    password,
                    "grant `password` needs the user model: add `user = YourUser`, naming a struct with \
                     `#[derive(granted::User)]`",
                );
            }
            args.user.as_ref().map(|u| u.ty.clone())
        }
        // Accepted without the password grant: the login page will use it.
        None => args.user.as_ref().map(|u| u.ty.clone()),
    };

    let names = Names {
        client: type_name(args.client.as_ref(), "YourClient"),
        token: type_name(args.token.as_ref(), "YourToken"),
        code: type_name(args.code.as_ref(), "YourCode"),
        user: type_name(args.user.as_ref(), "YourUser"),
        error: String::new(),
    };
    if let Some(openid) = &args.openid
        && set_known
        && !grant_list.contains(&Grant::AuthorizationCode)
    {
        errors.spanned(
            &openid.key,
            "`openid` needs the `authorization_code` grant: OpenID Connect logs users in through the \
             code flow, and id_tokens are issued with its tokens\n\
             help: add `authorization_code` to `grants(...)`",
        );
    }
    if let Some(par) = &args.par
        && set_known
        && !grant_list.contains(&Grant::AuthorizationCode)
    {
        errors.spanned(
            &par.key,
            "`par` needs the `authorization_code` grant: a pushed authorization request (RFC 9126) is \
             an authorization request of the code flow\n\
             help: add `authorization_code` to `grants(...)`",
        );
    }
    let private_key_jwt = args.client_auth.as_ref().and_then(|c| c.private_key_jwt.clone());
    let models = Models {
        client: args.client.as_ref().map(|a| &a.ty),
        token: args.token.as_ref().map(|a| &a.ty),
        code: args.code.as_ref().map(|a| &a.ty),
        user: args.user.as_ref().map(|a| &a.ty),
    };
    let declared = Declared {
        openid: args.openid.as_ref(),
        par: args.par.as_ref(),
        private_key_jwt: private_key_jwt.as_ref(),
        dpop: args.dpop.as_ref(),
    };
    let (methods, error) = check_methods(item, &enabled, &declared, (names, &models), errors);

    let pkce = specs
        .iter()
        .find_map(|s| s.pkce.as_ref().map(|p| p.0))
        .unwrap_or_default();
    let rotate = specs.iter().find_map(|s| s.rotate.map(|r| r.0)).unwrap_or(true);
    let server = Server {
        self_ty: (*item.self_ty).clone(),
        client: client?,
        token: token?,
        code,
        user,
        error: error?,
        grants: enabled,
        pkce,
        rotate_refresh_tokens: rotate,
        access_token_ttl: args.access_token_ttl.map_or(ACCESS_TOKEN_TTL, |t| t.seconds),
        refresh_token_ttl: args.refresh_token_ttl.map_or(REFRESH_TOKEN_TTL, |t| t.seconds),
        code_ttl: args.code_ttl.map_or(CODE_TTL, |t| t.seconds),
        scopes: args.scopes.map(|s| s.scopes),
        openid: args.openid,
        par: args.par,
        private_key_jwt,
        dpop: args.dpop,
        methods,
    };
    errors.is_empty().then_some(server)
}

/// The attribute goes on a plain inherent `impl` block.
fn check_impl(item: &ItemImpl, errors: &mut Errors) {
    if let Some((_, path, _)) = &item.trait_ {
        errors.spanned(
            path,
            "`#[granted::server]` goes on an inherent `impl` block holding the storage methods \
             (`impl MyStore { ... }`), not on a trait impl",
        );
    }
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        errors.spanned(
            &item.generics,
            "`#[granted::server]` does not support generic `impl` blocks: implement it for a concrete type",
        );
    }
}

fn required_type(
    arg: Option<&TypeArg>,
    args: &Args,
    key: &str,
    derive: &str,
    errors: &mut Errors,
) -> Option<Type> {
    if arg.is_none() && !args.has(key) {
        errors.at(
            Span::call_site(),
            format!(
                "missing the {key} model: add `{key} = Your{derive}`, naming a struct with \
                 `#[derive(granted::{derive})]`"
            ),
        );
    }
    arg.map(|a| a.ty.clone())
}

/// A model only one grant uses: required with the grant, refused without it.
fn model_for_grant(
    arg: Option<&TypeArg>,
    args: &Args,
    grant: Option<&syn::Ident>,
    (key, derive, grant_name): (&str, &str, &str),
    set_known: bool,
    errors: &mut Errors,
) -> Option<Type> {
    match (grant, arg) {
        (Some(ident), None) if !args.has(key) => {
            errors.spanned(
                ident,
                format!(
                    "grant `{grant_name}` needs the {} model: add `{key} = Your{derive}`, naming a struct with \
                     `#[derive(granted::{derive})]`",
                    if key == "code" { "authorization code" } else { key }
                ),
            );
            None
        }
        (None, Some(arg)) if set_known => {
            errors.spanned(
                &arg.key,
                format!(
                    "`{key} = {}` is only used by the `{grant_name}` grant, which is not enabled: \
                     remove it, or add `{grant_name}` to `grants(...)`",
                    render(&arg.ty)
                ),
            );
            None
        }
        (Some(_), arg) => arg.map(|a| a.ty.clone()),
        (None, _) => None,
    }
}

/// The explicit opt-ins of insecure choices.
fn check_opt_ins(spec: &GrantSpec, errors: &mut Errors) {
    match spec.name {
        GrantName::Implicit if spec.allow_insecure.is_some() => errors.spanned(
            &spec.ident,
            "granted does not implement the implicit grant, even with `allow_insecure`: use \
             `authorization_code` with PKCE (the default `pkce = \"S256\"`) for browser and native apps",
        ),
        GrantName::Implicit => errors.spanned(
            &spec.ident,
            "the implicit grant is insecure: it returns the access token in the redirect URL, where it \
             leaks through browser history, referrers and logs; RFC 9700 §2.1.2 and OAuth 2.1 drop it\n\
             help: use `authorization_code`, whose default `pkce = \"S256\"` protects browser and native apps",
        ),
        GrantName::Supported(Grant::Password) if spec.allow_insecure.is_none() => errors.spanned(
            &spec.ident,
            "the password grant is insecure: the client sees the user's password, and the user cannot use \
             two-factor or single sign-on; RFC 9700 §2.4 says it MUST NOT be used\n\
             help: prefer `authorization_code`; to enable it anyway write `password(allow_insecure)`",
        ),
        GrantName::Supported(Grant::AuthorizationCode) => match (&spec.pkce, &spec.allow_insecure) {
            (Some((Pkce::Plain, lit)), None) => errors.spanned(
                lit,
                "PKCE `plain` sends the verifier itself as the challenge, so it does not protect against an \
                 attacker who can read the authorization request (RFC 9700 §2.1.1)\n\
                 help: keep the default `\"S256\"`; to allow `plain` anyway write \
                 `authorization_code(pkce = \"plain\", allow_insecure)`",
            ),
            (Some((Pkce::Plain, _)), Some(_)) => {}
            (_, Some(opt_in)) => errors.spanned(
                opt_in,
                "`allow_insecure` opts in to `pkce = \"plain\"`, which is not chosen here: remove it",
            ),
            (_, None) => {}
        },
        GrantName::Supported(_) => {}
    }
}

fn type_name(arg: Option<&TypeArg>, placeholder: &str) -> String {
    arg.map_or_else(|| placeholder.to_owned(), |a| render(&a.ty))
}

/// The declared extensions that need storage methods, where they were written.
struct Declared<'a> {
    openid: Option<&'a OpenIdArg>,
    par: Option<&'a ParArg>,
    private_key_jwt: Option<&'a syn::Ident>,
    dpop: Option<&'a DpopArg>,
}

/// Finds each needed method in the `impl` block and checks its shape and
/// error type. Returns the bound methods and the storage error type.
fn check_methods(
    item: &ItemImpl,
    enabled: &[Enabled],
    declared: &Declared<'_>,
    (mut names, models): (Names, &Models<'_>),
    errors: &mut Errors,
) -> (Vec<BoundMethod>, Option<Type>) {
    let grants: Vec<Grant> = enabled.iter().map(|e| e.grant).collect();
    let openid = declared.openid;
    let extensions = methods::Extensions {
        openid: openid.is_some(),
        par: declared.par.is_some(),
        private_key_jwt: declared.private_key_jwt.is_some(),
        dpop: declared.dpop.is_some(),
    };
    let needed: Vec<&'static Method> = methods::needed_with(&grants, extensions).collect();
    let found = |name: &str| {
        item.items.iter().find_map(|i| match i {
            ImplItem::Fn(f) if f.sig.ident == name => Some(f),
            _ => None,
        })
    };

    // The error type: from `client`, else from the first method that names one.
    let reference = needed
        .iter()
        .filter_map(|m| found(m.name).map(|f| (m, f)))
        .find_map(|(m, f)| error_type(f).map(|e| (m.name, e)));
    names.error = reference
        .as_ref()
        .map_or_else(|| "YourError".to_owned(), |(_, e)| render(*e));

    let self_ty = render(&item.self_ty);
    let mut bound = Vec::new();
    for method in needed {
        let Some(user_fn) = found(method.name) else {
            let (who, span) = match method.needed_by {
                NeededBy::EveryServer => ("every server needs".to_owned(), item.self_ty.span()),
                NeededBy::Grant(grant) => (
                    format!("grant `{}` needs", grant.name()),
                    enabled
                        .iter()
                        .find(|e| e.grant == grant)
                        .map_or_else(Span::call_site, |e| e.ident.span()),
                ),
                NeededBy::OpenId => (
                    "`openid` needs".to_owned(),
                    openid.map_or_else(Span::call_site, |o| o.key.span()),
                ),
                NeededBy::Par => (
                    "`par` needs".to_owned(),
                    declared.par.map_or_else(Span::call_site, |p| p.key.span()),
                ),
                NeededBy::PrivateKeyJwt => (
                    "`private_key_jwt` needs".to_owned(),
                    declared
                        .private_key_jwt
                        .map_or_else(Span::call_site, syn::Ident::span),
                ),
                NeededBy::Dpop => (
                    "`dpop` needs".to_owned(),
                    declared.dpop.map_or_else(Span::call_site, |d| d.key.span()),
                ),
            };
            let mut message = format!(
                "{who} a storage method that is missing: `{}`\nhelp: add to `impl {self_ty}`:\n    {}",
                method.name,
                method.signature(&names)
            );
            for ty in method.granted_types() {
                message.push_str(&format!("\nnote: `{ty}` is `granted::{ty}`"));
            }
            message.push_str(&format!(
                "\nnote: only the methods of the `impl` block under `#[granted::server]` count: \
                 if `{}` is in another `impl {self_ty}` block, move it into this one",
                method.name
            ));
            errors.at(span, message);
            continue;
        };
        if !check_shape(method, user_fn, &names, errors)
            || !check_params(method, user_fn, &names, models, errors)
        {
            continue;
        }
        match (error_type(user_fn), &reference) {
            (None, _) => errors.spanned(
                &user_fn.sig.output,
                format!(
                    "storage method `{}` must return a `Result` that names its error type\n\
                     expected: {}\n\
                     note: granted reads the storage error type from it; write it out even if you \
                     have a `Result` alias",
                    method.name,
                    method.signature(&names)
                ),
            ),
            (Some(error), Some((reference_name, reference)))
                if *reference_name != method.name && differ(error, reference) =>
            {
                errors.spanned(
                    error,
                    format!(
                        "storage methods must share one error type: `{reference_name}` returns `{}`, \
                         `{}` returns `{}`",
                        render(*reference),
                        method.name,
                        render(error)
                    ),
                );
            }
            _ => {}
        }
        bound.push(BoundMethod {
            method,
            span: user_fn.sig.ident.span(),
        });
    }
    let error = reference.map(|(_, e)| e.clone());
    (bound, error)
}

/// `async`, `&self`, and the number of parameters. Parameter types are
/// checked next ([`check_params`]); the `Ok` types are left to the compiler,
/// through the generated glue, whose errors point at the method.
fn check_shape(method: &Method, user_fn: &ImplItemFn, names: &Names, errors: &mut Errors) -> bool {
    let sig = &user_fn.sig;
    let mut problems = Vec::new();
    if sig.asyncness.is_none() {
        problems.push("be `async`".to_owned());
    }
    let by_ref = matches!(
        sig.inputs.first(),
        Some(FnArg::Receiver(r)) if matches!(&*r.ty, Type::Reference(t) if t.mutability.is_none())
    );
    if !by_ref {
        problems.push("take `&self`".to_owned());
    }
    let has_receiver = matches!(sig.inputs.first(), Some(FnArg::Receiver(_)));
    let params = sig.inputs.len() - usize::from(has_receiver);
    if params != method.arity() {
        let plural = if method.arity() == 1 { "" } else { "s" };
        problems.push(format!(
            "take {} parameter{plural} after `&self` (found {params})",
            method.arity()
        ));
    }
    if problems.is_empty() {
        return true;
    }
    let problems = match problems.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    };
    errors.spanned(
        sig,
        format!(
            "storage method `{}` must {problems}\nexpected: {}\n   found: {}",
            method.name,
            method.signature(names),
            render(sig)
        ),
    );
    false
}

/// The model types the attribute names, as written.
struct Models<'a> {
    client: Option<&'a Type>,
    token: Option<&'a Type>,
    code: Option<&'a Type>,
    user: Option<&'a Type>,
}

impl Models<'_> {
    fn of(&self, model: Model) -> Option<&Type> {
        match model {
            Model::Client => self.client,
            Model::Token => self.token,
            Model::Code => self.code,
            Model::User => self.user,
        }
    }
}

/// The type of each parameter after `&self` (the arity is already right):
/// `&str`, `&TokenHash`, or the model by value. A mismatch would otherwise
/// surface as a raw type error inside the generated glue, with suggestions
/// that do not apply to the user's code.
fn check_params(
    method: &Method,
    user_fn: &ImplItemFn,
    names: &Names,
    models: &Models<'_>,
    errors: &mut Errors,
) -> bool {
    let inputs = user_fn.sig.inputs.iter().filter_map(|input| match input {
        FnArg::Typed(typed) => Some(&*typed.ty),
        FnArg::Receiver(_) => None,
    });
    let mut wrong = Vec::new();
    for ((name, param), ty) in method.params.iter().zip(inputs) {
        if let Some(why) = param_mismatch(*param, ty, models) {
            wrong.push((*name, *param, ty, why));
        }
    }
    let Some((_, _, first, _)) = wrong.first() else {
        return true;
    };
    let described: Vec<String> = wrong
        .iter()
        .map(|(name, param, ty, why)| {
            format!(
                "`{name}: {}`, not `{}` ({why})",
                methods::param_type(*param, names),
                render(*ty)
            )
        })
        .collect();
    let list = described.join(", and ");
    let mut message = format!(
        "storage method `{}` must take {list}\nexpected: {}\n   found: {}",
        method.name,
        method.signature(names),
        render(&user_fn.sig)
    );
    for ty in method.granted_types() {
        message.push_str(&format!("\nnote: `{ty}` is `granted::{ty}`"));
    }
    errors.spanned(first, message);
    false
}

/// Why `ty` cannot be the parameter `param`, if it cannot.
fn param_mismatch(param: Param, ty: &Type, models: &Models<'_>) -> Option<&'static str> {
    let ty = peel(ty);
    let referent = match ty {
        Type::Reference(reference) if reference.mutability.is_none() => Some(peel(&reference.elem)),
        _ => None,
    };
    let last_segment = |ty: &Type| match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    };
    match param {
        Param::Str => match referent {
            Some(inner) if last_segment(inner).as_deref() == Some("str") => None,
            Some(_) => Some("the runtime lends a string slice"),
            None => Some("the runtime lends the text, it does not give it away"),
        },
        Param::Hash => match referent {
            Some(inner) if last_segment(inner).as_deref() == Some("TokenHash") => None,
            Some(_) => Some("codes and tokens are looked up by their SHA-256, never by their value"),
            None => Some("the runtime lends the hash, it does not give it away"),
        },
        Param::Time => match last_segment(ty).as_deref() {
            Some("i64" | "UnixTime") => None,
            _ => Some("times are Unix seconds, `i64`"),
        },
        Param::Model(model) => {
            if matches!(ty, Type::Reference(_)) {
                return Some("the storage takes ownership of what it stores");
            }
            match models.of(model) {
                Some(expected) if differ(ty, expected) => Some("the model type named in the attribute"),
                _ => None,
            }
        }
        Param::PushedRequest => match last_segment(ty).as_deref() {
            _ if matches!(ty, Type::Reference(_)) => Some("the storage takes ownership of what it stores"),
            Some("PushedRequest") => None,
            _ => Some("the runtime's record of a pushed request"),
        },
        Param::DeviceAuthorization => match last_segment(ty).as_deref() {
            _ if matches!(ty, Type::Reference(_)) => Some("the storage takes ownership of what it stores"),
            Some("DeviceAuthorization") => None,
            _ => Some("the runtime's record of a device authorization"),
        },
        Param::DeviceStatus => match last_segment(ty).as_deref() {
            _ if matches!(ty, Type::Reference(_)) => Some("the storage takes ownership of what it stores"),
            Some("DeviceStatus") => None,
            _ => Some("the runtime's status of a device authorization"),
        },
    }
}

/// `ty` without the parentheses or invisible groups around it (a type
/// passed through a `macro_rules!` arrives in a group).
fn peel(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => peel(&group.elem),
        Type::Paren(paren) => peel(&paren.elem),
        _ => ty,
    }
}

/// `E` of a method returning `Result<_, E>`.
fn error_type(user_fn: &ImplItemFn) -> Option<&Type> {
    let ReturnType::Type(_, ty) = &user_fn.sig.output else {
        return None;
    };
    let Type::Path(path) = &**ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [GenericArgument::Type(_), GenericArgument::Type(error)] => Some(error),
        _ => None,
    }
}

/// Whether two error types are certainly different. Paths that end alike
/// (`io::Error`, `std::io::Error`) may be one type: the compiler decides.
fn differ(a: &Type, b: &Type) -> bool {
    let text = |t: &Type| t.to_token_stream().to_string();
    if text(a) == text(b) {
        return false;
    }
    let last = |t: &Type| match t {
        Type::Path(p) => p.path.segments.last().map(|s| s.to_token_stream().to_string()),
        _ => None,
    };
    match (last(a), last(b)) {
        (Some(x), Some(y)) => x != y,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use super::*;
    use crate::policy::parse;

    const BASE: &str = "
        async fn client(&self, client_id: &str) -> Result<Option<App>, StoreError> { todo!() }
        async fn save_token(&self, token: Token) -> Result<(), StoreError> { todo!() }
        async fn access_token(&self, hash: &TokenHash) -> Result<Option<Token>, StoreError> { todo!() }
        async fn revoke_token_family(&self, family: &str) -> Result<(), StoreError> { todo!() }
    ";

    fn check(args: TokenStream, methods: &str) -> Result<Server, Vec<String>> {
        let mut errors = Errors::default();
        let item: ItemImpl = match syn::parse_str(&format!("impl Store {{ {methods} }}")) {
            Ok(item) => item,
            Err(e) => return Err(vec![e.to_string()]),
        };
        let args = match parse::parse(args, &mut errors) {
            Ok(args) => args,
            Err(e) => return Err(vec![e.to_string()]),
        };
        let server = validate(args, &item, &mut errors);
        match (errors.finish(), server) {
            (Ok(()), Some(server)) => Ok(server),
            (Err(e), _) => Err(e.into_iter().map(|e| e.to_string()).collect()),
            (Ok(()), None) => Err(vec!["no server and no error".to_owned()]),
        }
    }

    fn errors_of(args: TokenStream, methods: &str) -> Vec<String> {
        check(args, methods).err().unwrap_or_default()
    }

    #[test]
    fn a_minimal_server_is_valid() {
        let server = check(
            quote!(client = App, token = Token, grants(client_credentials)),
            BASE,
        );
        assert!(server.is_ok(), "{server:?}");
        let Ok(server) = server else { return };
        assert_eq!(server.methods.len(), 4);
        assert_eq!(render(&server.error), "StoreError");
        assert_eq!(server.access_token_ttl, 3600);
        assert_eq!(server.refresh_token_ttl, 30 * 86_400);
        assert_eq!(server.code_ttl, 60);
        assert_eq!(server.pkce, Pkce::S256);
        assert!(server.rotate_refresh_tokens);
        assert!(server.code.is_none() && server.user.is_none());
    }

    #[test]
    fn a_missing_method_names_the_grant_the_method_and_its_signature() {
        let methods = format!(
            "{BASE} async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<Token>, StoreError> {{ todo!() }}
                    async fn save_code(&self, code: Code) -> Result<(), StoreError> {{ todo!() }}
                    async fn take_code(&self, hash: &TokenHash) -> Result<Option<Code>, StoreError> {{ todo!() }}"
        );
        assert_eq!(
            errors_of(
                quote!(
                    client = App,
                    token = Token,
                    code = Code,
                    grants(authorization_code, refresh_token)
                ),
                &methods
            ),
            [
                "grant `refresh_token` needs a storage method that is missing: `rotate_refresh_token`\n\
              help: add to `impl Store`:\n    \
              async fn rotate_refresh_token(&self, old: &TokenHash, new: Token) -> Result<bool, StoreError>\n\
              note: `TokenHash` is `granted::TokenHash`\n\
              note: only the methods of the `impl` block under `#[granted::server]` count: if \
              `rotate_refresh_token` is in another `impl Store` block, move it into this one"
            ]
        );
    }

    #[test]
    fn missing_base_methods_are_needed_by_every_server() {
        let errors = errors_of(
            quote!(client = App, token = Token, grants(client_credentials)),
            "",
        );
        assert_eq!(errors.len(), 4);
        assert!(errors[0].starts_with("every server needs a storage method that is missing: `client`"));
        assert!(
            errors[0].contains("async fn client(&self, client_id: &str) -> Result<Option<App>, YourError>")
        );
    }

    #[test]
    fn signatures_are_checked() {
        let methods = BASE.replace(
            "async fn save_token(&self, token: Token)",
            "fn save_token(&mut self)",
        );
        assert_eq!(
            errors_of(
                quote!(client = App, token = Token, grants(client_credentials)),
                &methods
            ),
            [
                "storage method `save_token` must be `async`, take `&self` and take 1 parameter after `&self` (found 0)\n\
              expected: async fn save_token(&self, token: Token) -> Result<(), StoreError>\n   \
              found: fn save_token(&mut self) -> Result<(), StoreError>"
            ]
        );
    }

    #[test]
    fn parameter_types_are_checked_with_the_expected_signature() {
        let code = quote!(
            client = App,
            token = Token,
            code = Code,
            grants(authorization_code)
        );
        let methods = format!(
            "{BASE} async fn save_code(&self, code: Code) -> Result<(), StoreError> {{ todo!() }}
                    async fn take_code(&self, hash: &str) -> Result<Option<Code>, StoreError> {{ todo!() }}"
        );
        assert_eq!(
            errors_of(code.clone(), &methods),
            [
                "storage method `take_code` must take `hash: &TokenHash`, not `&str` (codes and tokens are looked up \
                 by their SHA-256, never by their value)\n\
                 expected: async fn take_code(&self, hash: &TokenHash) -> Result<Option<Code>, StoreError>\n   \
                 found: async fn take_code(&self, hash: &str) -> Result<Option<Code>, StoreError>\n\
                 note: `TokenHash` is `granted::TokenHash`"
            ]
        );
        let methods = BASE
            .replace(
                "client(&self, client_id: &str)",
                "client(&self, client_id: String)",
            )
            .replace(
                "save_token(&self, token: Token)",
                "save_token(&self, token: &Token)",
            );
        let errors = errors_of(
            quote!(client = App, token = Token, grants(client_credentials)),
            &methods,
        );
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(errors[0].starts_with(
            "storage method `client` must take `client_id: &str`, not `String` (the runtime lends the text, it does \
             not give it away)"
        ));
        assert!(errors[1].starts_with(
            "storage method `save_token` must take `token: Token`, not `&Token` (the storage takes ownership of what it \
             stores)"
        ));
        // Another model type, and two wrong parameters in one method.
        let methods = format!(
            "{BASE} async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<Token>, StoreError> {{ todo!() }}
                    async fn save_code(&self, code: Code) -> Result<(), StoreError> {{ todo!() }}
                    async fn take_code(&self, hash: &TokenHash) -> Result<Option<Code>, StoreError> {{ todo!() }}
                    async fn rotate_refresh_token(&self, old: TokenHash, new: App) -> Result<bool, StoreError> {{ todo!() }}"
        );
        let errors = errors_of(
            quote!(
                client = App,
                token = Token,
                code = Code,
                grants(authorization_code, refresh_token)
            ),
            &methods,
        );
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].starts_with(
                "storage method `rotate_refresh_token` must take `old: &TokenHash`, not `TokenHash` (the runtime lends \
                 the hash, it does not give it away), and `new: Token`, not `App` (the model type named in the \
                 attribute)"
            ),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn parameter_types_may_be_spelt_with_paths_and_lifetimes() {
        let methods = BASE
            .replace(
                "client(&self, client_id: &str)",
                "client<'a>(&self, client_id: &'a str)",
            )
            .replace(
                "save_token(&self, token: Token)",
                "save_token(&self, mut token: crate::Token)",
            )
            .replace(
                "access_token(&self, hash: &TokenHash)",
                "access_token(&self, hash: &granted::TokenHash)",
            )
            .replace(
                "revoke_token_family(&self, family: &str)",
                "revoke_token_family(&self, family: &(str))",
            );
        assert!(
            check(
                quote!(client = App, token = Token, grants(client_credentials)),
                &methods
            )
            .is_ok()
        );
    }

    #[test]
    fn methods_share_one_error_type() {
        let methods = BASE.replace(
            "Result<(), StoreError> { todo!() }\n        async fn access",
            "Result<(), Other> { todo!() }\n        async fn access",
        );
        assert_eq!(
            errors_of(
                quote!(client = App, token = Token, grants(client_credentials)),
                &methods
            ),
            [
                "storage methods must share one error type: `client` returns `StoreError`, `save_token` returns `Other`"
            ]
        );
        let methods = BASE.replace("Result<Option<App>, StoreError>", "Option<App>");
        let errors = errors_of(
            quote!(client = App, token = Token, grants(client_credentials)),
            &methods,
        );
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("storage method `client` must return a `Result` that names its error type")
        );
    }

    #[test]
    fn insecure_grants_need_an_opt_in() {
        let errors = errors_of(
            quote!(
                client = App,
                token = Token,
                user = U,
                grants(password, implicit, authorization_code(pkce = "plain")),
                code = C
            ),
            BASE,
        );
        assert_eq!(errors.len(), 6, "{errors:#?}");
        assert!(errors[0].starts_with("the password grant is insecure"));
        assert!(errors[1].starts_with("the implicit grant is insecure"));
        assert!(errors[2].starts_with("PKCE `plain` sends the verifier itself"));
        assert!(errors[3].contains("`save_code`"));
        assert!(errors[4].contains("`take_code`"));
        assert!(errors[5].contains("`user_by_username`"));
        let errors = errors_of(
            quote!(
                client = App,
                token = Token,
                grants(client_credentials, implicit(allow_insecure))
            ),
            BASE,
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("granted does not implement the implicit grant"));
    }

    #[test]
    fn grant_sets_are_checked() {
        let errors = errors_of(
            quote!(
                client = App,
                token = Token,
                grants(client_credentials, refresh_token)
            ),
            BASE,
        );
        assert!(errors[0].starts_with("`refresh_token` is enabled but no grant issues refresh tokens"));
        assert_eq!(
            errors_of(quote!(client = App, token = Token), BASE),
            ["no grants enabled: add `grants(...)`, e.g. `grants(client_credentials)`"]
        );
        assert_eq!(
            errors_of(quote!(client = App, token = Token, grants()), BASE),
            ["no grants enabled: list at least one, e.g. `grants(client_credentials)`"]
        );
    }

    #[test]
    fn model_types_follow_the_grants() {
        let errors = errors_of(
            quote!(
                client = App,
                token = Token,
                code = Code,
                grants(client_credentials)
            ),
            BASE,
        );
        assert_eq!(
            errors,
            [
                "`code = Code` is only used by the `authorization_code` grant, which is not enabled: remove it, \
              or add `authorization_code` to `grants(...)`"
            ]
        );
        let errors = errors_of(quote!(token = Token, grants(authorization_code)), BASE);
        assert!(errors[0].starts_with("missing the client model: add `client = YourClient`"));
        assert!(errors[1].starts_with("grant `authorization_code` needs the authorization code model"));
        // `user` is accepted without the password grant.
        assert!(
            check(
                quote!(client = App, token = Token, user = U, grants(client_credentials)),
                BASE
            )
            .is_ok()
        );
    }

    #[test]
    fn a_misspelt_grant_does_not_cascade() {
        let errors = errors_of(
            quote!(
                client = App,
                token = Token,
                code = Code,
                grants(authorisation_code, refresh_token)
            ),
            BASE,
        );
        assert!(
            errors
                .iter()
                .all(|e| !e.contains("only used by") && !e.contains("issues refresh")),
            "{errors:#?}"
        );
    }

    #[test]
    fn only_inherent_non_generic_impls() {
        let mut errors = Errors::default();
        let item: ItemImpl = syn::parse_quote!(
            impl<T> Trait for Store<T> {}
        );
        check_impl(&item, &mut errors);
        assert_eq!(errors.finish().map_err(|e| e.into_iter().count()), Err(2));
    }
}
