//! The absolute paths generated code uses: only items re-exported by the
//! `granted` facade under `granted::__private`, so that users need no direct
//! dependency on the runtime crate.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;

/// `::granted::__private::runtime`, the runtime crate.
pub(crate) fn runtime() -> TokenStream {
    runtime_at(Span::call_site())
}

/// `::granted::__private::runtime` with every token at `span`, so that an
/// error about an item reached through it points at `span`.
pub(crate) fn runtime_at(span: Span) -> TokenStream {
    quote_spanned!(span=> ::granted::__private::runtime)
}

/// `::granted::__private::core`.
pub(crate) fn core() -> TokenStream {
    quote_spanned!(Span::call_site()=> ::granted::__private::core)
}

/// `::granted::__private::std`.
pub(crate) fn std() -> TokenStream {
    quote_spanned!(Span::call_site()=> ::granted::__private::std)
}

/// `tokens` with every span set to `span`, so that an error about them
/// points at `span`.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut new = proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                new.set_span(span);
                token = proc_macro2::TokenTree::Group(new);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}
