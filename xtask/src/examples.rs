//! Turns progenitor's ```` ```ignore ```` usage examples into examples that compile.
//!
//! progenitor documents every operation with a snippet such as
//!
//! ```text
//! let response = client.delete_data_token()
//!     .body(body)
//!     .send()
//!     .await;
//! ```
//!
//! marked `ignore`, because `client` and `body` come from nowhere. Left like that, nothing
//! checks that the documented calls still exist after a regeneration. This rewrites each one
//! as a `no_run` doctest: hidden lines declare `client` and one variable per setter, typed
//! as the setter's `TryInto` target (read from the generated builders), so `cargo test`
//! compiles every example against the real API.

use std::collections::BTreeMap;

use quote::ToTokens;

/// The setters of each operation builder: builder name -> setter name -> value type.
type Setters = BTreeMap<String, BTreeMap<String, String>>;

/// Rewrites every ```` ```ignore ```` operation example in `source` (the formatted generated
/// client). Fails, naming the operation, on an example it cannot make compile.
pub fn compile_examples(source: &str) -> Result<String, String> {
    let file = syn::parse_file(source).map_err(|e| format!("the generated client: {e}"))?;
    let setters = builder_setters(&file);
    let builders = operation_builders(&file);

    let mut out = String::with_capacity(source.len() + source.len() / 8);
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(indent) = line.strip_suffix("/// ```ignore") else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let mut body = Vec::new();
        for next in lines.by_ref() {
            let content = next
                .strip_prefix(indent)
                .and_then(|l| l.strip_prefix("///"))
                .ok_or_else(|| format!("an example ends outside its doc comment: `{next}`"))?;
            if content.trim() == "```" {
                break;
            }
            body.push(content.strip_prefix(' ').unwrap_or(content).to_owned());
        }
        for example_line in example(&body, &builders, &setters)? {
            out.push_str(indent);
            out.push_str("///");
            if !example_line.is_empty() {
                out.push(' ');
                out.push_str(&example_line);
            }
            out.push('\n');
        }
    }
    Ok(out)
}

/// The lines of one compiled example, fences included.
fn example(
    body: &[String],
    builders: &BTreeMap<String, String>,
    setters: &Setters,
) -> Result<Vec<String>, String> {
    let first = body.first().map(String::as_str).unwrap_or_default();
    let operation = first
        .trim()
        .strip_prefix("let response = client.")
        .and_then(|rest| rest.strip_suffix("()"))
        .ok_or_else(|| format!("an example that does not start with a client call: `{first}`"))?;
    let builder = builders
        .get(operation)
        .ok_or_else(|| format!("{operation}: no builder found for its example"))?;
    let known = setters.get(builder).cloned().unwrap_or_default();

    let mut lines = vec![
        "```no_run".to_owned(),
        "# async fn example(client: &privicore_api::Client) {".to_owned(),
    ];
    for line in &body[1..] {
        // `.name(name)`: the value is a variable of the setter's type.
        let Some(name) = line
            .trim()
            .strip_prefix('.')
            .and_then(|call| call.split_once('('))
            .map(|(name, _)| name)
            .filter(|name| !matches!(*name, "send" | "await;"))
        else {
            continue;
        };
        let ty = known.get(name).ok_or_else(|| {
            format!("{operation}: its example sets `{name}`, which {builder} lacks")
        })?;
        lines.push(format!("# let {name}: {ty} = todo!();"));
    }
    lines.extend(body.iter().cloned());
    lines.push("# }".to_owned());
    lines.push("```".to_owned());
    Ok(lines)
}

/// The top-level `builder` module's setters: for each `impl X`, each method generic over one
/// type `V` with `V: std::convert::TryInto<T>`, as a public path to `T`.
fn builder_setters(file: &syn::File) -> Setters {
    let mut setters = Setters::new();
    for item in &file.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        if module.ident != "builder" {
            continue;
        }
        let Some((_, items)) = &module.content else {
            continue;
        };
        for item in items {
            let syn::Item::Impl(block) = item else {
                continue;
            };
            let Some(builder) = type_name(&block.self_ty) else {
                continue;
            };
            let entry = setters.entry(builder).or_default();
            for item in &block.items {
                let syn::ImplItem::Fn(method) = item else {
                    continue;
                };
                if let Some(target) = try_into_target(&method.sig) {
                    entry.insert(method.sig.ident.to_string(), public_path(&target));
                }
            }
        }
    }
    setters
}

/// Each `Client` method that returns `builder::X`: operation name -> `X`.
fn operation_builders(file: &syn::File) -> BTreeMap<String, String> {
    let mut builders = BTreeMap::new();
    for item in &file.items {
        let syn::Item::Impl(block) = item else {
            continue;
        };
        if type_name(&block.self_ty).as_deref() != Some("Client") {
            continue;
        }
        for item in &block.items {
            let syn::ImplItem::Fn(method) = item else {
                continue;
            };
            let syn::ReturnType::Type(_, ty) = &method.sig.output else {
                continue;
            };
            if let syn::Type::Path(path) = &**ty
                && path.path.segments.len() == 2
                && path.path.segments[0].ident == "builder"
            {
                let builder = path.path.segments[1].ident.to_string();
                builders.insert(method.sig.ident.to_string(), builder);
            }
        }
    }
    builders
}

fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// `T` in a `where V: std::convert::TryInto<T>` bound of the method's signature, `V` being
/// its type parameter (progenitor names it `V`, or `B` for a body).
fn try_into_target(sig: &syn::Signature) -> Option<syn::Type> {
    let parameter = sig.generics.type_params().next()?.ident.to_string();
    let clause = sig.generics.where_clause.as_ref()?;
    clause.predicates.iter().find_map(|predicate| {
        let syn::WherePredicate::Type(predicate) = predicate else {
            return None;
        };
        if predicate.bounded_ty.to_token_stream().to_string() != parameter {
            return None;
        }
        predicate.bounds.iter().find_map(|bound| {
            let syn::TypeParamBound::Trait(bound) = bound else {
                return None;
            };
            let last = bound.path.segments.last()?;
            if last.ident != "TryInto" {
                return None;
            }
            let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
                return None;
            };
            arguments.args.iter().find_map(|argument| match argument {
                syn::GenericArgument::Type(ty) => Some(ty.clone()),
                _ => None,
            })
        })
    })
}

/// The type as a path a doctest can name: the generated code's `types::X` lives in
/// `privicore_api::types`.
fn public_path(ty: &syn::Type) -> String {
    let text = ty.to_token_stream().to_string().replace(' ', "");
    match text.strip_prefix("types::") {
        Some(rest) => format!("privicore_api::types::{rest}"),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"pub struct Client;
impl Client {
    /// Delete a token
    ///
    /// ```ignore
    /// let response = client.delete_token()
    ///     .token(token)
    ///     .body(body)
    ///     .send()
    ///     .await;
    /// ```
    pub fn delete_token(&self) -> builder::DeleteToken<'_> {
        builder::DeleteToken::new(self)
    }
}
pub mod builder {
    pub struct DeleteToken<'a> { client: &'a super::Client }
    impl<'a> DeleteToken<'a> {
        pub fn token<V>(mut self, value: V) -> Self
        where
            V: std::convert::TryInto<::std::string::String>,
        {
            self
        }
        pub fn body<V>(mut self, value: V) -> Self
        where
            V: std::convert::TryInto<types::DeleteBody>,
            <V as std::convert::TryInto<types::DeleteBody>>::Error: std::fmt::Display,
        {
            self
        }
    }
}
"#;

    #[test]
    fn an_ignored_example_becomes_one_that_compiles() {
        let out = compile_examples(SOURCE).expect("rewritten");
        let expected = "    /// ```no_run
    /// # async fn example(client: &privicore_api::Client) {
    /// # let token: ::std::string::String = todo!();
    /// # let body: privicore_api::types::DeleteBody = todo!();
    /// let response = client.delete_token()
    ///     .token(token)
    ///     .body(body)
    ///     .send()
    ///     .await;
    /// # }
    /// ```
";
        assert!(out.contains(expected), "{out}");
        assert!(!out.contains("```ignore"));
    }

    #[test]
    fn an_example_with_an_unknown_setter_is_an_error_naming_the_operation() {
        let broken = SOURCE.replace(".body(body)", ".bogus(bogus)");
        let err = compile_examples(&broken).expect_err("refused");
        assert!(
            err.contains("delete_token") && err.contains("bogus"),
            "{err}"
        );
    }

    #[test]
    fn code_without_ignored_examples_is_left_alone() {
        let source = "/// Docs\nfn f() {}\n";
        assert_eq!(compile_examples(source).expect("unchanged"), source);
    }
}
