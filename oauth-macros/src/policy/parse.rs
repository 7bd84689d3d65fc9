//! Stage 1: the attribute's tokens into [`Args`]. Names are looked up here
//! (unknown ones get a did-you-mean), values are parsed (durations, scopes,
//! PKCE modes), and every mistake is recorded with its span; a malformed
//! argument is left out of the model so that later stages do not report it
//! again.

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream, Parser as _};
use syn::punctuated::Punctuated;
use syn::{Ident, Lit, LitStr, Token, Type};

use super::model::{
    Args, ClientAuthArg, DpopArg, Grant, GrantName, GrantSpec, GrantsArg, OpenIdArg, ParArg, Pkce, ScopesArg,
    Signing, TtlArg, TypeArg,
};
use crate::errors::Errors;
use crate::suggest;

/// Every argument of the attribute.
pub(crate) const KEYS: [&str; 13] = [
    "client",
    "token",
    "code",
    "user",
    "grants",
    "access_token_ttl",
    "refresh_token_ttl",
    "code_ttl",
    "scopes",
    "openid",
    "par",
    "client_auth",
    "dpop",
];

/// The client authentication methods `client_auth(...)` opts in to; the
/// others (`client_secret_basic`, `client_secret_post`, `none`) are always on.
pub(crate) const CLIENT_AUTH_METHODS: [&str; 1] = ["private_key_jwt"];

/// `name`, `name = value` or `name(...)`: the shape of every argument and of
/// every grant and option inside `grants(...)`.
struct Item {
    name: Ident,
    /// The name was written as a string literal (`"authorization_code"`):
    /// reported once, then read as the name it holds.
    quoted: Option<LitStr>,
    value: Value,
}

enum Value {
    Flag,
    Assign(TokenStream),
    List(TokenStream),
}

impl Parse for Item {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let (name, quoted) = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            let mut name = syn::parse_str::<Ident>(&lit.value()).map_err(|_| {
                syn::Error::new(
                    lit.span(),
                    "expected a name, not a string: write names without quotes, e.g. \
                     `grants(authorization_code)`",
                )
            })?;
            name.set_span(lit.span());
            (name, Some(lit))
        } else {
            (input.call(Ident::parse_any)?, None)
        };
        let value = if input.peek(Token![=]) {
            let eq: Token![=] = input.parse()?;
            let tokens = until_comma(input)?;
            if tokens.is_empty() {
                return Err(syn::Error::new(
                    eq.span,
                    format!("expected a value for `{name}` after `=`"),
                ));
            }
            Value::Assign(tokens)
        } else if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            Value::List(content.parse()?)
        } else {
            Value::Flag
        };
        Ok(Item { name, quoted, value })
    }
}

/// The tokens up to the next comma that is not inside `<...>` (a type such
/// as `Store<A, B>` holds commas).
fn until_comma(input: ParseStream<'_>) -> syn::Result<TokenStream> {
    let mut tokens = TokenStream::new();
    let mut depth = 0_usize;
    let mut after_minus = false;
    loop {
        let at_comma = depth == 0 && input.peek(Token![,]);
        if input.is_empty() || at_comma {
            break;
        }
        let token: TokenTree = input.parse()?;
        if let TokenTree::Punct(punct) = &token {
            match punct.as_char() {
                '<' => depth += 1,
                '>' if !after_minus => depth = depth.saturating_sub(1),
                _ => {}
            }
            after_minus = punct.as_char() == '-' && punct.spacing() == Spacing::Joint;
        } else {
            after_minus = false;
        }
        tokens.extend([token]);
    }
    Ok(tokens)
}

/// A value of type `T` taking all of `tokens`. A well-formed value followed
/// by more tokens is most likely a forgotten comma: said so, at them.
fn value<T: Parse>(tokens: &TokenStream, expected: &str) -> Result<T, syn::Error> {
    let parser = |input: ParseStream<'_>| {
        let value: T = input.parse()?;
        let rest: TokenStream = input.parse()?;
        Ok((value, rest))
    };
    match parser.parse2(tokens.clone()) {
        Ok((value, rest)) if rest.is_empty() => Ok(value),
        Ok((_, rest)) => Err(syn::Error::new_spanned(
            rest.clone().into_iter().next(),
            format!("expected `,` before `{}`", crate::errors::render(&rest)),
        )),
        Err(_) => Err(syn::Error::new_spanned(tokens, expected)),
    }
}

fn items(tokens: TokenStream) -> syn::Result<Punctuated<Item, Token![,]>> {
    Punctuated::<Item, Token![,]>::parse_terminated.parse2(tokens)
}

/// The items of a list, each quoted name reported (and then read as the
/// name it holds, so that nothing else is reported about it).
fn checked_items(tokens: TokenStream, errors: &mut Errors) -> Option<Punctuated<Item, Token![,]>> {
    let items = errors.ok(items(tokens))?;
    items.iter().for_each(|item| report_quoted(item, errors));
    Some(items)
}

fn report_quoted(item: &Item, errors: &mut Errors) {
    if let Some(lit) = &item.quoted {
        errors.spanned(
            lit,
            format!("`{}` is a name, not a string: write it without quotes", item.name),
        );
    }
}

/// Parses the attribute's arguments. `Err` only when the argument list
/// itself is malformed; every other mistake is recorded in `errors`.
pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> syn::Result<Args> {
    let mut args = Args::default();
    let mut seen: Vec<Ident> = Vec::new();
    let all = items(tokens)?;
    all.iter().for_each(|item| report_quoted(item, errors));
    for item in all {
        let key = item.name.to_string();
        if seen.contains(&item.name) {
            errors.spanned(&item.name, format!("`{key}` is given twice"));
            continue;
        }
        seen.push(item.name.clone());
        match key.as_str() {
            "client" => args.client = type_arg(item, "Client", errors),
            "token" => args.token = type_arg(item, "Token", errors),
            "code" => args.code = type_arg(item, "AuthorizationCode", errors),
            "user" => args.user = type_arg(item, "User", errors),
            "grants" => args.grants = grants(item, errors),
            "access_token_ttl" => args.access_token_ttl = ttl(item, errors),
            "refresh_token_ttl" => args.refresh_token_ttl = ttl(item, errors),
            "code_ttl" => args.code_ttl = ttl(item, errors),
            "scopes" => args.scopes = scopes(item, errors),
            "openid" => args.openid = openid(item, errors),
            "par" => args.par = par(item, errors),
            "client_auth" => args.client_auth = client_auth(item, errors),
            "dpop" => args.dpop = dpop(item, errors),
            _ => unknown_key(&item.name, errors),
        }
    }
    args.given = seen;
    Ok(args)
}

fn unknown_key(name: &Ident, errors: &mut Errors) {
    let key = name.to_string();
    let message = if let Some(message) = deployment_setting(&key) {
        message
    } else if GrantName::from_name(&key).is_some() {
        format!("`{key}` is a grant: list it inside `grants(...)`, e.g. `grants({key})`")
    } else if let Some(close) = suggest::closest(&key, KEYS) {
        format!("unknown argument `{key}`; did you mean `{close}`?")
    } else {
        format!("unknown argument `{key}`: expected {}", suggest::one_of(&KEYS))
    };
    errors.spanned(name, message);
}

/// Settings that belong to a deployment, not to the policy: where each goes.
fn deployment_setting(key: &str) -> Option<String> {
    let message = match key {
        "issuer" | "iss" => {
            "the issuer is not part of the policy: it is the URL of a deployment\n\
             help: an OpenID provider takes it when it is built: \
             `store.into_server(keys, \"https://auth.example.com\")`\n\
             help: without `openid`, set it at start-up: \
             `server.configure(|policy| policy.with_issuer(\"https://auth.example.com\"))`"
        }
        "keys" | "signing_keys" | "key" => {
            "the signing keys are not part of the policy: they are loaded at start-up\n\
             help: with `openid`, pass them to `store.into_server(keys, issuer)`"
        }
        _ => return None,
    };
    Some(message.to_owned())
}

/// `key = Type`, naming a struct with `#[derive(granted::<derive>)]`.
fn type_arg(item: Item, derive: &str, errors: &mut Errors) -> Option<TypeArg> {
    let key = item.name;
    let expected =
        format!("expected `{key} = YourType`, naming a struct with `#[derive(granted::{derive})]`");
    match item.value {
        Value::Assign(tokens) => match value::<Type>(&tokens, &expected) {
            Ok(ty) => return Some(TypeArg { key, ty }),
            Err(error) => errors.push(error),
        },
        Value::Flag | Value::List(_) => errors.spanned(&key, expected),
    }
    None
}

/// `grants(...)`.
fn grants(item: Item, errors: &mut Errors) -> Option<GrantsArg> {
    let key = item.name;
    let Value::List(tokens) = item.value else {
        errors.spanned(
            &key,
            "expected `grants(...)`, e.g. `grants(authorization_code, refresh_token)`",
        );
        return None;
    };
    let entries = checked_items(tokens, errors)?;
    let mut arg = GrantsArg {
        key,
        grants: Vec::new(),
        had_errors: false,
        meant: Vec::new(),
    };
    for entry in entries {
        if let Some(Some(GrantName::Supported(meant))) =
            suggest::closest(&entry.name.to_string(), GrantName::NAMES).map(GrantName::from_name)
        {
            arg.meant.push(meant);
        }
        match grant(entry, errors) {
            Some(spec) if arg.grants.iter().any(|g| g.name == spec.name) => {
                errors.spanned(&spec.ident, format!("grant `{}` is listed twice", spec.ident));
                arg.had_errors = true;
            }
            Some(spec) => arg.grants.push(spec),
            None => arg.had_errors = true,
        }
    }
    Some(arg)
}

/// One grant with its options; `None` when anything about it is wrong.
fn grant(item: Item, errors: &mut Errors) -> Option<GrantSpec> {
    let written = item.name.to_string();
    let Some(name) = GrantName::from_name(&written) else {
        let message = match suggest::closest(&written, GrantName::NAMES) {
            Some(close) => format!("unknown grant `{written}`; did you mean `{close}`?"),
            None => format!(
                "unknown grant `{written}`: granted implements {}",
                suggest::one_of(&Grant::ALL.map(Grant::name))
            ),
        };
        errors.spanned(&item.name, message);
        return None;
    };
    let mut spec = GrantSpec {
        name,
        ident: item.name,
        pkce: None,
        rotate: None,
        allow_insecure: None,
    };
    let options = match item.value {
        Value::Flag => return Some(spec),
        Value::List(tokens) => checked_items(tokens, errors)?,
        Value::Assign(tokens) => {
            errors.spanned(
                tokens,
                format!("a grant takes its options in parentheses: `{written}(...)`"),
            );
            return None;
        }
    };
    let known = name.options();
    let mut ok = true;
    let mut seen: Vec<Ident> = Vec::new();
    for option in options {
        let option_name = option.name.to_string();
        if !known.contains(&option_name.as_str()) {
            let message = if known.is_empty() {
                format!("unknown option `{option_name}`: `{written}` takes no options")
            } else {
                format!(
                    "unknown option `{option_name}` for `{written}`{}",
                    match suggest::closest(&option_name, known.iter().copied()) {
                        Some(close) => format!("; did you mean `{close}`?"),
                        None => format!(": expected {}", suggest::one_of(known)),
                    }
                )
            };
            errors.spanned(&option.name, message);
            ok = false;
            continue;
        }
        if seen.contains(&option.name) {
            errors.spanned(&option.name, format!("option `{option_name}` is given twice"));
            ok = false;
            continue;
        }
        seen.push(option.name.clone());
        ok &= match option_name.as_str() {
            "pkce" => pkce(option, &mut spec, errors),
            "rotate" => rotate(option, &mut spec, errors),
            _ => allow_insecure(option, &mut spec, errors),
        };
    }
    ok.then_some(spec)
}

fn pkce(option: Item, spec: &mut GrantSpec, errors: &mut Errors) -> bool {
    let expected = format!("expected `pkce = ` followed by {}", quoted(&Pkce::NAMES));
    let lit = match option.value {
        Value::Assign(tokens) => match value::<LitStr>(&tokens, &expected) {
            Ok(lit) => lit,
            Err(error) => {
                errors.push(error);
                return false;
            }
        },
        Value::Flag | Value::List(_) => {
            errors.spanned(&option.name, expected);
            return false;
        }
    };
    let value = lit.value();
    let Some(mode) = Pkce::from_name(&value) else {
        let hint = match suggest::closest(&value, Pkce::NAMES) {
            Some(close) => format!("; did you mean `\"{close}\"`?"),
            None => format!(": expected {}", quoted(&Pkce::NAMES)),
        };
        errors.spanned(&lit, format!("unknown PKCE mode `\"{value}\"`{hint}"));
        return false;
    };
    spec.pkce = Some((mode, lit));
    true
}

fn rotate(option: Item, spec: &mut GrantSpec, errors: &mut Errors) -> bool {
    match option.value {
        Value::Flag => {
            spec.rotate = Some((true, option.name.span()));
            true
        }
        Value::Assign(tokens) => {
            match value::<syn::LitBool>(&tokens, "expected `rotate = true` or `rotate = false`") {
                Ok(lit) => {
                    spec.rotate = Some((lit.value, lit.span));
                    true
                }
                Err(error) => {
                    errors.push(error);
                    false
                }
            }
        }
        Value::List(tokens) => {
            errors.spanned(tokens, "expected `rotate = true` or `rotate = false`");
            false
        }
    }
}

fn allow_insecure(option: Item, spec: &mut GrantSpec, errors: &mut Errors) -> bool {
    match option.value {
        Value::Flag => {
            spec.allow_insecure = Some(option.name);
            true
        }
        Value::Assign(tokens) | Value::List(tokens) => {
            errors.spanned(tokens, "write the opt-in alone: `allow_insecure`");
            false
        }
    }
}

/// `par` or `par(required)`.
fn par(item: Item, errors: &mut Errors) -> Option<ParArg> {
    let key = item.name;
    let expected = "expected `par` or `par(required)`";
    let tokens = match item.value {
        Value::Flag => return Some(ParArg { key, required: false }),
        Value::List(tokens) => tokens,
        Value::Assign(tokens) => {
            errors.spanned(tokens, expected);
            return None;
        }
    };
    let options = checked_items(tokens, errors)?;
    let mut required = false;
    let mut ok = true;
    for option in options {
        match (option.name.to_string().as_str(), &option.value) {
            ("required", Value::Flag) if !required => required = true,
            ("required", Value::Flag) => {
                errors.spanned(&option.name, "option `required` is given twice");
                ok = false;
            }
            (name, _) => {
                let message = match suggest::closest(name, ["required"]) {
                    Some(close) if close != name => {
                        format!("unknown option `{name}` for `par`; did you mean `{close}`?")
                    }
                    _ => format!("{expected}: `par` takes only the flag `required`"),
                };
                errors.spanned(&option.name, message);
                ok = false;
            }
        }
    }
    ok.then_some(ParArg { key, required })
}

/// `client_auth(private_key_jwt)`.
fn client_auth(item: Item, errors: &mut Errors) -> Option<ClientAuthArg> {
    let key = item.name;
    let expected = "expected the opt-in client authentication methods: `client_auth(private_key_jwt)`";
    let Value::List(tokens) = item.value else {
        errors.spanned(&key, expected);
        return None;
    };
    let methods = checked_items(tokens, errors)?;
    let mut arg = ClientAuthArg {
        private_key_jwt: None,
    };
    let mut ok = true;
    for method in methods {
        let name = method.name.to_string();
        if !matches!(method.value, Value::Flag) {
            errors.spanned(&method.name, format!("write the method alone: `{name}`"));
            ok = false;
            continue;
        }
        match name.as_str() {
            "private_key_jwt" if arg.private_key_jwt.is_some() => {
                errors.spanned(&method.name, "`private_key_jwt` is listed twice");
                ok = false;
            }
            "private_key_jwt" => arg.private_key_jwt = Some(method.name),
            "client_secret_basic" | "client_secret_post" | "none" => {
                errors.spanned(
                    &method.name,
                    format!(
                        "`{name}` is always accepted (for clients registered with it): list only the opt-in \
                         methods, {}",
                        suggest::one_of(&CLIENT_AUTH_METHODS)
                    ),
                );
                ok = false;
            }
            _ => {
                let message = match suggest::closest(&name, CLIENT_AUTH_METHODS) {
                    Some(close) => {
                        format!("unknown client authentication method `{name}`; did you mean `{close}`?")
                    }
                    None => format!(
                        "unknown client authentication method `{name}`: expected {}",
                        suggest::one_of(&CLIENT_AUTH_METHODS)
                    ),
                };
                errors.spanned(&method.name, message);
                ok = false;
            }
        }
    }
    ok.then_some(arg)
}

/// `openid` or `openid(signing = "RS256")`.
fn openid(item: Item, errors: &mut Errors) -> Option<OpenIdArg> {
    let key = item.name;
    let expected = "expected `openid` or `openid(signing = \"RS256\")`";
    let options = match item.value {
        Value::Flag => {
            return Some(OpenIdArg {
                key,
                signing: Signing::default(),
            });
        }
        Value::List(tokens) => checked_items(tokens, errors)?,
        Value::Assign(tokens) => {
            errors.spanned(tokens, expected);
            return None;
        }
    };
    let mut signing = None;
    let mut ok = true;
    for option in options {
        let name = option.name.to_string();
        if name != "signing" {
            let hint = match suggest::closest(&name, ["signing"]) {
                Some(close) => format!("; did you mean `{close}`?"),
                None => ": `openid` takes `signing = \"RS256\"`, `\"ES256\"` or `\"Ed25519\"`".to_owned(),
            };
            errors.spanned(
                &option.name,
                format!("unknown option `{name}` for `openid`{hint}"),
            );
            ok = false;
            continue;
        }
        if signing.is_some() {
            errors.spanned(&option.name, "option `signing` is given twice");
            ok = false;
            continue;
        }
        match signing_alg(option, errors) {
            Some(alg) => signing = Some(alg),
            None => ok = false,
        }
    }
    ok.then(|| OpenIdArg {
        key,
        signing: signing.unwrap_or_default(),
    })
}

/// `dpop` or `dpop(required)`.
fn dpop(item: Item, errors: &mut Errors) -> Option<DpopArg> {
    let key = item.name;
    let options = match item.value {
        Value::Flag => return Some(DpopArg { key, required: false }),
        Value::List(tokens) => checked_items(tokens, errors)?,
        Value::Assign(tokens) => {
            errors.spanned(tokens, "expected `dpop` or `dpop(required)`");
            return None;
        }
    };
    let mut required = false;
    let mut ok = true;
    for option in options {
        let name = option.name.to_string();
        if name != "required" {
            let hint = match suggest::closest(&name, ["required"]) {
                Some(close) => format!("; did you mean `{close}`?"),
                None => ": `dpop` takes only `required` (every token request needs a proof)".to_owned(),
            };
            errors.spanned(&option.name, format!("unknown option `{name}` for `dpop`{hint}"));
            ok = false;
        } else if required {
            errors.spanned(&option.name, "option `required` is given twice");
            ok = false;
        } else if let Value::Flag = option.value {
            required = true;
        } else {
            errors.spanned(&option.name, "write the option alone: `dpop(required)`");
            ok = false;
        }
    }
    ok.then_some(DpopArg { key, required })
}

/// `signing = "..."`: the algorithms granted signs with, and why the others
/// are refused.
fn signing_alg(option: Item, errors: &mut Errors) -> Option<Signing> {
    let expected = format!("expected `signing = ` followed by {}", quoted(&Signing::NAMES));
    let lit = match option.value {
        Value::Assign(tokens) => match value::<LitStr>(&tokens, &expected) {
            Ok(lit) => lit,
            Err(error) => {
                errors.push(error);
                return None;
            }
        },
        Value::Flag | Value::List(_) => {
            errors.spanned(&option.name, expected);
            return None;
        }
    };
    let value = lit.value();
    if let Some(alg) = Signing::from_name(&value) {
        return Some(alg);
    }
    let message = match value.as_str() {
        "EdDSA" => "`\"EdDSA\"` is deprecated: it does not say which curve (RFC 9864)\n\
                    help: write the fully-specified `\"Ed25519\"`"
            .to_owned(),
        "none" => "unsigned id_tokens can be forged by anyone (OpenID Connect Core §2 allows them only \
                   for flows granted does not implement)\nhelp: use `\"RS256\"`"
            .to_owned(),
        "HS256" | "HS384" | "HS512" => format!(
            "`\"{value}\"` signs with the client secret, which granted keeps only as a hash, and lets every \
             holder of the secret forge id_tokens\nhelp: use an asymmetric algorithm: {}",
            quoted(&Signing::NAMES)
        ),
        _ => match suggest::closest(&value, Signing::NAMES) {
            Some(close) => format!("unknown signing algorithm `\"{value}\"`; did you mean `\"{close}\"`?"),
            None => format!(
                "unknown signing algorithm `\"{value}\"`: expected {}",
                quoted(&Signing::NAMES)
            ),
        },
    };
    errors.spanned(&lit, message);
    None
}

/// `key = "1h"`.
fn ttl(item: Item, errors: &mut Errors) -> Option<TtlArg> {
    let key = item.name;
    let expected = format!("expected a duration such as `{key} = \"1h\"`");
    let tokens = match item.value {
        Value::Assign(tokens) => tokens,
        Value::Flag | Value::List(_) => {
            errors.spanned(&key, expected);
            return None;
        }
    };
    match value::<Lit>(&tokens, &expected) {
        Ok(Lit::Str(lit)) => match parse_ttl(&lit.value()) {
            Ok(seconds) => Some(TtlArg { seconds }),
            Err(message) => {
                errors.spanned(&lit, message);
                None
            }
        },
        Ok(Lit::Int(int)) => {
            errors.spanned(
                &int,
                format!(
                    "a duration is a string with a unit: write `\"{}s\"` for seconds",
                    int.base10_digits()
                ),
            );
            None
        }
        Ok(_) => {
            errors.spanned(tokens, expected);
            None
        }
        Err(error) => {
            errors.push(error);
            None
        }
    }
}

const UNITS: [(&str, u64); 4] = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)];

/// Spelled-out units and the unit to write instead.
const UNIT_NAMES: [(&str, &str); 14] = [
    ("sec", "s"),
    ("secs", "s"),
    ("second", "s"),
    ("seconds", "s"),
    ("min", "m"),
    ("mins", "m"),
    ("minute", "m"),
    ("minutes", "m"),
    ("hr", "h"),
    ("hrs", "h"),
    ("hour", "h"),
    ("hours", "h"),
    ("day", "d"),
    ("days", "d"),
];

/// Parses a TTL with the runtime's rules (`parse_duration`): a positive
/// whole number followed by `s`, `m`, `h` or `d`. The error says what to write.
pub(crate) fn parse_ttl(text: &str) -> Result<u64, String> {
    let units = "`s`, `m`, `h` or `d`";
    let Some(split) = text.find(|c: char| !c.is_ascii_digit()) else {
        return Err(if text.is_empty() {
            format!("expected a duration such as `\"1h\"`: a whole number and a unit ({units})")
        } else {
            format!(
                "the duration `\"{text}\"` needs a unit: write `\"{text}s\"` for seconds (units: {units})"
            )
        });
    };
    let (number, unit) = text.split_at(split);
    if number.is_empty() || unit.starts_with('.') || unit.starts_with(',') {
        return Err(format!(
            "a duration is a positive whole number followed by a unit, e.g. `\"90m\"`; found `\"{text}\"`"
        ));
    }
    let Ok(number) = number.parse::<u64>() else {
        return Err("the duration is too long".to_owned());
    };
    let Some(seconds_per_unit) = UNITS.iter().find(|(u, _)| *u == unit).map(|(_, s)| *s) else {
        return Err(unknown_unit(number, unit));
    };
    if number == 0 {
        return Err("a TTL of zero would expire at once".to_owned());
    }
    number
        .checked_mul(seconds_per_unit)
        .ok_or_else(|| "the duration is too long".to_owned())
}

fn unknown_unit(number: u64, unit: &str) -> String {
    let trimmed = unit.trim();
    let meant = UNIT_NAMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(trimmed))
        .map(|(_, u)| *u)
        .or_else(|| {
            UNITS
                .iter()
                .map(|(u, _)| *u)
                .find(|u| u.eq_ignore_ascii_case(trimmed))
        });
    let hint = match (meant, trimmed) {
        (Some(u), _) => format!("; did you mean `{u}`? write `\"{number}{u}\"`"),
        (None, "w" | "wk" | "week" | "weeks") => {
            format!(": weeks are written in days: `\"{}d\"`", number.saturating_mul(7))
        }
        (None, "ms" | "us" | "ns") => ": a TTL is at least a second: use `s`, `m`, `h` or `d`".to_owned(),
        (None, _) => ": use `s`, `m`, `h` or `d`".to_owned(),
    };
    format!("unknown duration unit `{unit}`{hint}")
}

/// `scopes = "read write"`.
fn scopes(item: Item, errors: &mut Errors) -> Option<ScopesArg> {
    let key = item.name;
    let expected = "expected the declared scopes, space-separated: `scopes = \"read write\"`";
    let lit = match item.value {
        Value::Assign(tokens) => match value::<LitStr>(&tokens, expected) {
            Ok(lit) => lit,
            Err(error) => {
                errors.push(error);
                return None;
            }
        },
        Value::Flag | Value::List(_) => {
            errors.spanned(&key, expected);
            return None;
        }
    };
    match parse_scopes(&lit.value()) {
        Ok(scopes) => Some(ScopesArg { scopes }),
        Err(message) => {
            errors.spanned(&lit, message);
            None
        }
    }
}

/// Parses declared scopes with RFC 6749 §3.3's rules, like the runtime's
/// `Scope::parse`, and refuses duplicates. Commas are refused too: §3.3
/// allows them inside a scope token, but in a declaration they are a list
/// written the wrong way (`"read, write"` would declare `read,`).
pub(crate) fn parse_scopes(text: &str) -> Result<Vec<String>, String> {
    if text.trim().is_empty() {
        return Err("declare at least one scope, or remove `scopes`".to_owned());
    }
    if text.contains(',') {
        let spaced: Vec<&str> = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .collect();
        return Err(format!(
            "scopes are separated by spaces, not commas (RFC 6749 §3.3): write `scopes = \"{}\"`",
            spaced.join(" ")
        ));
    }
    let mut scopes: Vec<String> = Vec::new();
    for token in text.split(' ') {
        if token.is_empty() {
            return Err("scopes are separated by single spaces".to_owned());
        }
        if let Some(bad) = token.chars().find(|c| !is_nqchar(*c)) {
            return Err(format!(
                "scope `{token}` holds {}, which a scope may not hold (RFC 6749 §3.3: visible ASCII except `\"` and `\\`)",
                describe(bad)
            ));
        }
        if scopes.iter().any(|s| s == token) {
            return Err(format!("scope `{token}` is declared twice"));
        }
        scopes.push(token.to_owned());
    }
    Ok(scopes)
}

/// RFC 6749 `NQCHAR`: `%x21 / %x23-5B / %x5D-7E`.
fn is_nqchar(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
}

fn describe(c: char) -> String {
    if c.is_whitespace() || c.is_control() {
        format!("the character {}", c.escape_default())
    } else {
        format!("`{c}`")
    }
}

fn quoted(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    let refs: Vec<&str> = quoted.iter().map(String::as_str).collect();
    suggest::one_of(&refs)
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    /// The messages of parsing `tokens`, and the arguments it kept.
    fn run(tokens: TokenStream) -> (Option<Args>, Vec<String>) {
        let mut errors = Errors::default();
        let args = parse(tokens, &mut errors);
        let mut messages: Vec<String> = match errors.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        let args = match args {
            Ok(args) => Some(args),
            Err(e) => {
                messages.push(e.to_string());
                None
            }
        };
        (args, messages)
    }

    fn messages(tokens: TokenStream) -> Vec<String> {
        run(tokens).1
    }

    fn ttl_error(text: &str) -> String {
        parse_ttl(text).err().unwrap_or_default()
    }

    #[test]
    fn dpop_is_a_flag_or_required() {
        let (args, errs) = run(quote!(dpop));
        assert!(errs.is_empty(), "{errs:?}");
        assert!(!args.and_then(|a| a.dpop).unwrap().required);
        let (args, errs) = run(quote!(dpop(required)));
        assert!(errs.is_empty(), "{errs:?}");
        assert!(args.and_then(|a| a.dpop).unwrap().required);
        assert_eq!(
            messages(quote!(dpop(requird))),
            ["unknown option `requird` for `dpop`; did you mean `required`?"]
        );
        assert_eq!(
            messages(quote!(dpop = true)),
            ["expected `dpop` or `dpop(required)`"]
        );
        assert_eq!(
            messages(quote!(dpop(required = true))),
            ["write the option alone: `dpop(required)`"]
        );
        assert_eq!(
            messages(quote!(dpo)),
            ["unknown argument `dpo`; did you mean `dpop`?"]
        );
    }

    #[test]
    fn parses_a_complete_attribute() {
        let (args, messages) = run(quote! {
            client = App, token = Token, code = Code, user = Account,
            grants(authorization_code(pkce = "required"), refresh_token(rotate = false), client_credentials,
                   password(allow_insecure)),
            access_token_ttl = "15m", refresh_token_ttl = "7d", code_ttl = "30s",
            scopes = "read write",
        });
        assert_eq!(messages, Vec::<String>::new());
        let Some(args) = args else { return };
        assert!(args.client.is_some() && args.token.is_some() && args.code.is_some() && args.user.is_some());
        let grants = args.grants.map(|g| g.grants).unwrap_or_default();
        assert_eq!(grants.len(), 4);
        assert_eq!(grants[0].pkce.as_ref().map(|p| p.0), Some(Pkce::Required));
        assert_eq!(grants[1].rotate.map(|r| r.0), Some(false));
        assert!(grants[3].allow_insecure.is_some());
        assert_eq!(args.access_token_ttl.map(|t| t.seconds), Some(900));
        assert_eq!(args.refresh_token_ttl.map(|t| t.seconds), Some(7 * 86_400));
        assert_eq!(args.code_ttl.map(|t| t.seconds), Some(30));
        assert_eq!(
            args.scopes.map(|s| s.scopes),
            Some(vec!["read".to_owned(), "write".to_owned()])
        );
    }

    #[test]
    fn generic_types_keep_their_commas() {
        let (args, messages) = run(quote!(client = Model<A, B>, token = Token, grants(client_credentials)));
        assert_eq!(messages, Vec::<String>::new());
        assert!(args.and_then(|a| a.token).is_some());
    }

    #[test]
    fn unknown_names_get_a_did_you_mean() {
        assert_eq!(
            messages(quote!(grants(refresh, client_credential))),
            [
                "unknown grant `refresh`; did you mean `refresh_token`?",
                "unknown grant `client_credential`; did you mean `client_credentials`?"
            ]
        );
        assert_eq!(
            messages(quote!(grants(device_cod))),
            ["unknown grant `device_cod`; did you mean `device_code`?"]
        );
        assert_eq!(
            messages(quote!(grant(client_credentials), acess_token_ttl = "1h")),
            [
                "unknown argument `grant`; did you mean `grants`?",
                "unknown argument `acess_token_ttl`; did you mean `access_token_ttl`?"
            ]
        );
        assert!(
            messages(quote!(issuer = "https://as.example"))[0]
                .starts_with("the issuer is not part of the policy: it is the URL of a deployment\nhelp: an OpenID provider takes it when it is built: `store.into_server(keys,")
        );
        assert_eq!(
            messages(quote!(client_credentials)),
            [
                "`client_credentials` is a grant: list it inside `grants(...)`, e.g. `grants(client_credentials)`"
            ]
        );
    }

    #[test]
    fn unknown_options_get_a_did_you_mean() {
        assert_eq!(
            messages(quote!(grants(
                refresh_token(rotation = true),
                client_credentials(pkce = "S256")
            ))),
            [
                "unknown option `rotation` for `refresh_token`; did you mean `rotate`?",
                "unknown option `pkce`: `client_credentials` takes no options"
            ]
        );
        assert_eq!(
            messages(quote!(grants(authorization_code(pkce = "s256")))),
            ["unknown PKCE mode `\"s256\"`; did you mean `\"S256\"`?"]
        );
        assert_eq!(
            messages(quote!(grants(authorization_code(pkce = S256)))),
            ["expected `pkce = ` followed by `\"S256\"`, `\"required\"` or `\"plain\"`"]
        );
    }

    #[test]
    fn repeats_are_errors_at_the_second() {
        assert_eq!(
            messages(quote!(
                grants(client_credentials, client_credentials),
                client = A,
                client = B
            )),
            [
                "grant `client_credentials` is listed twice",
                "`client` is given twice"
            ]
        );
        assert_eq!(
            messages(quote!(grants(refresh_token(rotate, rotate = false)))),
            ["option `rotate` is given twice"]
        );
    }

    #[test]
    fn durations_follow_the_runtime_rules() {
        assert_eq!(parse_ttl("60s"), Ok(60));
        assert_eq!(parse_ttl("15m"), Ok(900));
        assert_eq!(parse_ttl("1h"), Ok(3600));
        assert_eq!(parse_ttl("30d"), Ok(2_592_000));
        assert_eq!(ttl_error("0s"), "a TTL of zero would expire at once");
        assert_eq!(
            ttl_error("5min"),
            "unknown duration unit `min`; did you mean `m`? write `\"5m\"`"
        );
        assert_eq!(
            ttl_error("10sec"),
            "unknown duration unit `sec`; did you mean `s`? write `\"10s\"`"
        );
        assert_eq!(
            ttl_error("2hours"),
            "unknown duration unit `hours`; did you mean `h`? write `\"2h\"`"
        );
        assert_eq!(
            ttl_error("30days"),
            "unknown duration unit `days`; did you mean `d`? write `\"30d\"`"
        );
        assert_eq!(
            ttl_error("2w"),
            "unknown duration unit `w`: weeks are written in days: `\"14d\"`"
        );
        assert_eq!(
            ttl_error("1x"),
            "unknown duration unit `x`: use `s`, `m`, `h` or `d`"
        );
        assert!(parse_ttl("60").is_err_and(|e| e.contains("write `\"60s\"`")));
        assert!(parse_ttl("h").is_err_and(|e| e.contains("whole number")));
        assert!(parse_ttl("-1s").is_err());
        assert!(parse_ttl("1.5h").is_err_and(|e| e.contains("whole number")));
        assert_eq!(ttl_error("999999999999999999d"), "the duration is too long");
        assert!(parse_ttl("").is_err());
    }

    #[test]
    fn ttl_values_must_be_strings() {
        assert_eq!(
            messages(quote!(
                access_token_ttl = 3600,
                code_ttl = "0m",
                refresh_token_ttl
            )),
            [
                "a duration is a string with a unit: write `\"3600s\"` for seconds",
                "a TTL of zero would expire at once",
                "expected a duration such as `refresh_token_ttl = \"1h\"`"
            ]
        );
    }

    #[test]
    fn scopes_follow_rfc_6749() {
        assert_eq!(
            parse_scopes("read write"),
            Ok(vec!["read".to_owned(), "write".to_owned()])
        );
        assert!(parse_scopes("").is_err());
        assert!(parse_scopes("read  write").is_err());
        assert!(parse_scopes("read read").is_err_and(|e| e.contains("twice")));
        assert!(parse_scopes("ré").is_err_and(|e| e.contains("`é`")));
        assert!(parse_scopes("a\"b").is_err());
        assert_eq!(
            parse_scopes("read, write"),
            Err(
                "scopes are separated by spaces, not commas (RFC 6749 §3.3): write `scopes = \"read write\"`"
                    .to_owned()
            )
        );
        assert!(parse_scopes("read,write").is_err_and(|e| e.contains("`scopes = \"read write\"`")));
        assert!(parse_scopes("read\twrite").is_err_and(|e| e.contains("the character \\t")));
    }

    #[test]
    fn malformed_values_are_explained() {
        assert_eq!(
            messages(quote!(client, grants = client_credentials, token = 3)),
            [
                "expected `client = YourType`, naming a struct with `#[derive(granted::Client)]`",
                "expected `grants(...)`, e.g. `grants(authorization_code, refresh_token)`",
                "expected `token = YourType`, naming a struct with `#[derive(granted::Token)]`"
            ]
        );
        assert_eq!(
            messages(quote!(grants(
                password(allow_insecure = true),
                refresh_token = true
            ))),
            [
                "write the opt-in alone: `allow_insecure`",
                "a grant takes its options in parentheses: `refresh_token(...)`"
            ]
        );
    }

    #[test]
    fn quoted_names_are_one_error_and_read_as_names() {
        let (args, messages) = run(quote!(
            "client" = App,
            token = Token,
            grants("authorization_code", refresh_token("rotate"))
        ));
        assert_eq!(
            messages,
            [
                "`client` is a name, not a string: write it without quotes",
                "`authorization_code` is a name, not a string: write it without quotes",
                "`rotate` is a name, not a string: write it without quotes"
            ]
        );
        let Some(args) = args else { return };
        assert!(args.client.is_some());
        let grants = args.grants.map(|g| g.grants).unwrap_or_default();
        assert_eq!(
            grants.iter().map(|g| g.name).collect::<Vec<_>>(),
            [
                GrantName::Supported(Grant::AuthorizationCode),
                GrantName::Supported(Grant::RefreshToken)
            ]
        );
        assert_eq!(
            messages_of_str("grants(\"authorization code\")"),
            ["expected a name, not a string: write names without quotes, e.g. `grants(authorization_code)`"]
        );
    }

    fn messages_of_str(text: &str) -> Vec<String> {
        messages(text.parse().unwrap_or_default())
    }

    #[test]
    fn misspelt_grants_record_what_they_meant() {
        let (args, _) = run(quote!(grants(authorisation_code, refresh, nonsense)));
        let grants = args.and_then(|a| a.grants);
        assert_eq!(
            grants.map(|g| g.meant),
            Some(vec![Grant::AuthorizationCode, Grant::RefreshToken])
        );
    }

    #[test]
    fn a_forgotten_comma_is_pointed_out() {
        assert_eq!(
            messages(quote!(client = App token = Token, access_token_ttl = "1h" code_ttl = "1m")),
            [
                "expected `,` before `token = Token`",
                "expected `,` before `code_ttl = \"1m\"`"
            ]
        );
    }

    #[test]
    fn extensions_parse_and_explain_their_mistakes() {
        let (args, found) = run(quote!(par(required), client_auth(private_key_jwt)));
        assert_eq!(found, Vec::<String>::new());
        let Some(args) = args else { return };
        assert!(args.par.is_some_and(|p| p.required));
        assert!(args.client_auth.is_some_and(|c| c.private_key_jwt.is_some()));
        let (args, _) = run(quote!(par));
        assert!(args.and_then(|a| a.par).is_some_and(|p| !p.required));
        assert_eq!(
            messages(quote!(par(requird), client_auth(private_key_jwk))),
            [
                "unknown option `requird` for `par`; did you mean `required`?",
                "unknown client authentication method `private_key_jwk`; did you mean `private_key_jwt`?"
            ]
        );
        assert_eq!(
            messages(quote!(par = true, client_auth = "private_key_jwt")),
            [
                "expected `par` or `par(required)`",
                "expected the opt-in client authentication methods: `client_auth(private_key_jwt)`"
            ]
        );
        assert!(
            messages(quote!(client_auth(client_secret_basic)))[0]
                .starts_with("`client_secret_basic` is always accepted")
        );
    }

    #[test]
    fn a_malformed_list_is_one_error() {
        let (args, messages) = run(quote!(client = App,, token = Token));
        assert!(args.is_none());
        assert_eq!(messages.len(), 1);
    }
}
