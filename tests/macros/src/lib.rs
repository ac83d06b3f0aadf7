//! `#[baton_e2e::test]`: one end-to-end test, run once on each store engine.
//!
//! ```text
//! /// Docs and other attributes.
//! #[baton_e2e::test]
//! async fn name() { BODY }
//! ```
//!
//! becomes
//!
//! ```text
//! /// Docs and other attributes.
//! async fn name() { BODY }
//!
//! mod name {
//!     /// Docs and other attributes.
//!     #[::tokio::test]
//!     async fn sqlite() {
//!         ::baton_e2e::engine::run(::baton_e2e::engine::Engine::Sqlite, super::name()).await
//!     }
//!     /// Docs and other attributes.
//!     #[::tokio::test]
//!     async fn postgres() {
//!         ::baton_e2e::engine::run(::baton_e2e::engine::Engine::Postgres, super::name()).await
//!     }
//! }
//! ```
//!
//! so the test harness lists `file::name::sqlite` and `file::name::postgres`.
//! The body stays where it was written, as the body of a plain `async fn`:
//! it is compiled once, `return;` and `super::` paths mean what they meant,
//! and a function and a module of one name do not clash (one is a value,
//! the other a type namespace name). `#[ignore]` and `#[should_panic]` go
//! on the two tests only; every other attribute goes on the body function
//! as well, and `#[cfg]` on the module too.
//!
//! The token stream is read by hand: this crate has no dependencies.

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// Run an `async fn` test without arguments once on SQLite and once on
/// PostgreSQL, as `name::sqlite` and `name::postgres`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    if let Some(first) = args.into_iter().next() {
        return compile_error(first.span(), "#[baton_e2e::test] takes no arguments");
    }
    match TestFn::parse(item) {
        Ok(test) => test.expand(),
        Err((span, message)) => compile_error(span, message),
    }
}

/// An outer attribute: `#` and its bracketed group.
struct Attribute {
    tokens: TokenStream,
    /// The first identifier of its path: `doc`, `ignore`, `cfg`, ...
    name: String,
}

impl Attribute {
    /// Attributes that only mean something on a `#[test]` function.
    fn for_tests_only(&self) -> bool {
        matches!(self.name.as_str(), "ignore" | "should_panic")
    }
}

/// The function the attribute was put on.
struct TestFn {
    attributes: Vec<Attribute>,
    name: Ident,
    body: Group,
}

type Error = (Span, &'static str);

impl TestFn {
    fn parse(item: TokenStream) -> Result<Self, Error> {
        let tokens: Vec<TokenTree> = item.into_iter().collect();
        let mut at = 0;
        let mut attributes = Vec::new();
        while let (Some(TokenTree::Punct(hash)), Some(TokenTree::Group(group))) =
            (tokens.get(at), tokens.get(at + 1))
        {
            if hash.as_char() != '#' || group.delimiter() != Delimiter::Bracket {
                break;
            }
            let name = match group.stream().into_iter().next() {
                Some(TokenTree::Ident(ident)) => ident.to_string(),
                _ => String::new(),
            };
            attributes.push(Attribute {
                tokens: tokens[at..at + 2].iter().cloned().collect(),
                name,
            });
            at += 2;
        }
        let span_at = |at: usize| {
            tokens
                .get(at)
                .or(tokens.last())
                .map_or_else(Span::call_site, TokenTree::span)
        };
        // A visibility means nothing on a test; it is dropped.
        if is_ident(tokens.get(at), "pub") {
            at += 1;
            if let Some(TokenTree::Group(group)) = tokens.get(at)
                && group.delimiter() == Delimiter::Parenthesis
            {
                at += 1;
            }
        }
        if !is_ident(tokens.get(at), "async") {
            return Err((span_at(at), "#[baton_e2e::test] needs an `async fn`"));
        }
        at += 1;
        if !is_ident(tokens.get(at), "fn") {
            return Err((span_at(at), "#[baton_e2e::test] needs an `async fn`"));
        }
        at += 1;
        let Some(TokenTree::Ident(name)) = tokens.get(at) else {
            return Err((span_at(at), "expected the test's name"));
        };
        at += 1;
        match tokens.get(at) {
            Some(TokenTree::Group(group))
                if group.delimiter() == Delimiter::Parenthesis && group.stream().is_empty() =>
            {
                at += 1;
            }
            Some(TokenTree::Punct(punct)) if punct.as_char() == '<' => {
                return Err((punct.span(), "a #[baton_e2e::test] cannot be generic"));
            }
            _ => {
                return Err((
                    span_at(at),
                    "a #[baton_e2e::test] function takes no parameters",
                ));
            }
        }
        let body = match tokens.get(at) {
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => group,
            _ => {
                return Err((
                    span_at(at),
                    "a #[baton_e2e::test] returns `()`: expected its body",
                ));
            }
        };
        if let Some(extra) = tokens.get(at + 1) {
            return Err((extra.span(), "unexpected tokens after the test's body"));
        }
        Ok(Self {
            attributes,
            name: name.clone(),
            body: body.clone(),
        })
    }

    fn expand(self) -> TokenStream {
        let mut out = TokenStream::new();
        for attribute in self.attributes.iter().filter(|a| !a.for_tests_only()) {
            out.extend(attribute.tokens.clone());
        }
        out.extend(code("async fn"));
        out.extend([
            TokenTree::Ident(self.name.clone()),
            TokenTree::Group(Group::new(Delimiter::Parenthesis, TokenStream::new())),
            TokenTree::Group(self.body),
        ]);

        let mut tests = TokenStream::new();
        for (function, engine) in [("sqlite", "Sqlite"), ("postgres", "Postgres")] {
            for attribute in &self.attributes {
                tests.extend(attribute.tokens.clone());
            }
            tests.extend(code(&format!(
                "#[::tokio::test] async fn {function}() {{ \
                 ::baton_e2e::engine::run(::baton_e2e::engine::Engine::{engine}, super::{}()).await \
                 }}",
                self.name
            )));
        }
        for attribute in self.attributes.iter().filter(|a| a.name == "cfg") {
            out.extend(attribute.tokens.clone());
        }
        out.extend(code("mod"));
        out.extend([
            TokenTree::Ident(self.name),
            TokenTree::Group(Group::new(Delimiter::Brace, tests)),
        ]);
        out
    }
}

fn is_ident(token: Option<&TokenTree>, word: &str) -> bool {
    matches!(token, Some(TokenTree::Ident(ident)) if ident.to_string() == word)
}

/// Fixed Rust source as tokens (spanned at the attribute).
fn code(source: &str) -> TokenStream {
    source.parse().expect("the macro's own code parses")
}

/// `compile_error!("message");`, pointing at `span`.
fn compile_error(span: Span, message: &str) -> TokenStream {
    let mut text = Literal::string(message);
    text.set_span(span);
    let mut bang = Punct::new('!', Spacing::Alone);
    bang.set_span(span);
    let mut semi = Punct::new(';', Spacing::Alone);
    semi.set_span(span);
    let mut args = Group::new(Delimiter::Parenthesis, TokenTree::Literal(text).into());
    args.set_span(span);
    [
        TokenTree::Ident(Ident::new("compile_error", span)),
        TokenTree::Punct(bang),
        TokenTree::Group(args),
        TokenTree::Punct(semi),
    ]
    .into_iter()
    .collect()
}
