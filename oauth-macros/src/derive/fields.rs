//! The `#[oauth(role)]` field attributes shared by every derive, parsed into
//! a typed model with spans: which field holds which role.

use syn::punctuated::Punctuated;
use syn::{Data, DeriveInput, Fields, Ident, Meta, Token, Type};

use crate::errors::Errors;
use crate::suggest;

/// A role a field can be marked with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Role {
    /// The name inside `#[oauth(...)]`.
    pub(crate) name: &'static str,
    /// An example field, for the error on a missing role: `id: String`.
    pub(crate) example: &'static str,
    /// Said about the example, e.g. `None marks a public client`; may be empty.
    pub(crate) note: &'static str,
}

/// What a derive accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    /// The derive's name: `Client`.
    pub(crate) derive: &'static str,
    pub(crate) required: &'static [Role],
    pub(crate) optional: &'static [Role],
}

impl Spec {
    fn roles(&self) -> impl Iterator<Item = &'static Role> + '_ {
        self.required.iter().chain(self.optional)
    }

    fn role(&self, name: &str) -> Option<&'static Role> {
        self.roles().find(|r| r.name == name)
    }
}

/// A field marked with a role.
#[derive(Debug, Clone)]
pub(crate) struct Marked<'a> {
    pub(crate) role: &'static str,
    /// The role as written, for spans.
    pub(crate) attr: Ident,
    pub(crate) member: &'a Ident,
    pub(crate) ty: &'a Type,
}

/// A struct whose fields are known to hold each required role once.
#[derive(Debug, Clone)]
pub(crate) struct Model<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) marked: Vec<Marked<'a>>,
    /// Fields without a role, with their types.
    pub(crate) unmarked: Vec<(&'a Ident, &'a Type)>,
}

impl Model<'_> {
    /// The field marked with `role`.
    pub(crate) fn get(&self, role: &str) -> Option<&Marked<'_>> {
        self.marked.iter().find(|m| m.role == role)
    }
}

/// Reads the struct's fields. Records every mistake; `None` when the input
/// is not a struct with named fields.
pub(crate) fn parse<'a>(input: &'a DeriveInput, spec: &Spec, errors: &mut Errors) -> Option<Model<'a>> {
    let derive = format!("#[derive(granted::{})]", spec.derive);
    if !input.generics.params.is_empty() {
        errors.spanned(
            &input.generics,
            format!("{derive} does not support generic structs: use a concrete struct"),
        );
    }
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => fields,
            Fields::Unnamed(_) | Fields::Unit => {
                errors.spanned(
                    &input.ident,
                    format!("{derive} needs a struct with named fields, marked with `#[oauth(...)]`"),
                );
                return None;
            }
        },
        Data::Enum(data) => {
            errors.spanned(
                data.enum_token,
                format!("{derive} goes on a struct with named fields, not on an enum"),
            );
            return None;
        }
        Data::Union(data) => {
            errors.spanned(
                data.union_token,
                format!("{derive} goes on a struct with named fields, not on a union"),
            );
            return None;
        }
    };

    let mut model = Model {
        ident: &input.ident,
        marked: Vec::new(),
        unmarked: Vec::new(),
    };
    // Roles a misspelling probably meant: not reported again as missing.
    let mut meant: Vec<&str> = Vec::new();
    for field in &fields.named {
        let Some(member) = &field.ident else { continue };
        let mut role_of_field: Option<Ident> = None;
        for written in roles_written(field, errors) {
            let name = written.to_string();
            let Some(role) = spec.role(&name) else {
                let known: Vec<&str> = spec.roles().map(|r| r.name).collect();
                let message = match suggest::closest(&name, known.iter().copied()) {
                    Some(close) => {
                        meant.push(close);
                        format!("unknown field role `{name}` for {derive}; did you mean `{close}`?")
                    }
                    None => format!(
                        "unknown field role `{name}` for {derive}: expected {}",
                        suggest::one_of(&known)
                    ),
                };
                errors.spanned(&written, message);
                continue;
            };
            if let Some(first) = &role_of_field {
                errors.spanned(
                    &written,
                    format!("field `{member}` is already marked `#[oauth({first})]`: a field holds one role"),
                );
                continue;
            }
            if let Some(other) = model.get(role.name) {
                errors.spanned(
                    &written,
                    format!(
                        "`#[oauth({name})]` is already on field `{}`: a role goes on one field",
                        other.member
                    ),
                );
                continue;
            }
            role_of_field = Some(written.clone());
            model.marked.push(Marked {
                role: role.name,
                attr: written,
                member,
                ty: &field.ty,
            });
        }
        if role_of_field.is_none() {
            model.unmarked.push((member, &field.ty));
        }
    }

    report_missing(input, spec, &model, &meant, errors);
    Some(model)
}

/// One error on the struct's name for the required roles no field holds,
/// saying which fields to add. Roles a misspelling probably meant (`meant`)
/// were reported already.
fn report_missing(input: &DeriveInput, spec: &Spec, model: &Model<'_>, meant: &[&str], errors: &mut Errors) {
    let derive = format!("#[derive(granted::{})]", spec.derive);
    let missing: Vec<&Role> = spec
        .required
        .iter()
        .filter(|r| model.get(r.name).is_none() && !meant.contains(&r.name))
        .collect();
    let with_note = |role: &Role, open: &str, close: &str| {
        if role.note.is_empty() {
            String::new()
        } else {
            format!("{open}{}{close}", role.note)
        }
    };
    match missing.as_slice() {
        [] => {}
        [role] => errors.spanned(
            &input.ident,
            format!(
                "missing a field marked `#[oauth({0})]`: add `#[oauth({0})] {1}`{2}",
                role.name,
                role.example,
                with_note(role, " (", ")")
            ),
        ),
        roles => {
            let lines: Vec<String> = roles
                .iter()
                .map(|r| {
                    format!(
                        "    #[oauth({})] {},{}",
                        r.name,
                        r.example,
                        with_note(r, " // ", "")
                    )
                })
                .collect();
            errors.spanned(
                &input.ident,
                format!(
                    "{derive} is missing {} fields; add:\n{}",
                    roles.len(),
                    lines.join("\n")
                ),
            );
        }
    }
}

/// The role names of a field's `#[oauth(...)]` attributes, in order.
fn roles_written(field: &syn::Field, errors: &mut Errors) -> Vec<Ident> {
    let mut roles = Vec::new();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("oauth")) {
        let Meta::List(list) = &attr.meta else {
            errors.spanned(
                attr,
                "expected a role: `#[oauth(role)]`, e.g. `#[oauth(client_id)]`",
            );
            continue;
        };
        let Some(metas) = errors.ok(list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated))
        else {
            continue;
        };
        if metas.is_empty() {
            errors.spanned(
                attr,
                "expected a role: `#[oauth(role)]`, e.g. `#[oauth(client_id)]`",
            );
        }
        for meta in metas {
            match meta {
                Meta::Path(path) if path.get_ident().is_some() => {
                    roles.extend(path.get_ident().cloned());
                }
                other => errors.spanned(other, "expected a role name alone, e.g. `#[oauth(client_id)]`"),
            }
        }
    }
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: Spec = Spec {
        derive: "Thing",
        required: &[
            Role {
                name: "id",
                example: "id: String",
                note: "",
            },
            Role {
                name: "secret",
                example: "secret: Option<String>",
                note: "None marks a public client",
            },
        ],
        optional: &[Role {
            name: "extra",
            example: "extra: String",
            note: "",
        }],
    };

    fn messages(input: DeriveInput) -> (Vec<String>, usize) {
        let mut errors = Errors::default();
        let marked = parse(&input, &SPEC, &mut errors).map_or(0, |m| m.marked.len());
        let messages = errors
            .finish()
            .err()
            .map(|e| e.into_iter().map(|e| e.to_string()).collect())
            .unwrap_or_default();
        (messages, marked)
    }

    #[test]
    fn reads_roles_and_unmarked_fields() {
        let input: DeriveInput = syn::parse_quote! {
            struct Thing { #[oauth(id)] a: String, #[oauth(secret)] b: Option<String>, c: u8 }
        };
        let mut errors = Errors::default();
        let model = parse(&input, &SPEC, &mut errors);
        assert!(errors.is_empty());
        let Some(model) = model else { return };
        assert_eq!(
            model.get("id").map(|m| m.member.to_string()).as_deref(),
            Some("a")
        );
        assert_eq!(model.unmarked.len(), 1);
    }

    #[test]
    fn a_missing_role_names_the_field_to_add() {
        let input: DeriveInput = syn::parse_quote!(
            struct Thing {
                #[oauth(id)]
                a: String,
            }
        );
        assert_eq!(
            messages(input).0,
            [
                "missing a field marked `#[oauth(secret)]`: add `#[oauth(secret)] secret: Option<String>` (None marks a public client)"
            ]
        );
        let input: DeriveInput = syn::parse_quote!(
            struct Thing {
                a: String,
            }
        );
        assert_eq!(
            messages(input).0,
            ["#[derive(granted::Thing)] is missing 2 fields; add:\n    \
              #[oauth(id)] id: String,\n    #[oauth(secret)] secret: Option<String>, // None marks a public client"]
        );
    }

    #[test]
    fn misspelt_and_repeated_roles_are_errors() {
        let input: DeriveInput = syn::parse_quote! {
            struct Thing {
                #[oauth(id)] a: String,
                #[oauth(secrte)] b: Option<String>,
                #[oauth(id)] c: String,
                #[oauth(extra, id)] d: String,
                #[oauth(what)] e: String,
                #[oauth] f: String,
                #[oauth(x = 1)] g: String,
            }
        };
        assert_eq!(
            messages(input).0,
            [
                "unknown field role `secrte` for #[derive(granted::Thing)]; did you mean `secret`?",
                "`#[oauth(id)]` is already on field `a`: a role goes on one field",
                "field `d` is already marked `#[oauth(extra)]`: a field holds one role",
                "unknown field role `what` for #[derive(granted::Thing)]: expected `id`, `secret` or `extra`",
                "expected a role: `#[oauth(role)]`, e.g. `#[oauth(client_id)]`",
                "expected a role name alone, e.g. `#[oauth(client_id)]`",
            ]
        );
    }

    #[test]
    fn only_structs_with_named_fields() {
        assert_eq!(
            messages(syn::parse_quote!(
                enum Thing {
                    A,
                }
            ))
            .0,
            ["#[derive(granted::Thing)] goes on a struct with named fields, not on an enum"]
        );
        assert_eq!(
            messages(syn::parse_quote!(
                struct Thing(String);
            ))
            .0,
            ["#[derive(granted::Thing)] needs a struct with named fields, marked with `#[oauth(...)]`"]
        );
        let generic = syn::parse_quote!(
            struct Thing<T> {
                #[oauth(id)]
                a: T,
                #[oauth(secret)]
                b: T,
            }
        );
        assert_eq!(
            messages(generic).0,
            ["#[derive(granted::Thing)] does not support generic structs: use a concrete struct"]
        );
    }
}
