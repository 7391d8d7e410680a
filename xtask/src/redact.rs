//! Redacted `Debug` for the generated types that carry a secret.
//!
//! progenitor derives `Debug` on every type, so a request body holding a password (or an
//! answer holding a token) would print it. The spec marks those fields (`format: password`,
//! or `x-privicore-secret: true`); for each type that has one, this pass drops the derived
//! `Debug` and writes one that prints `[redacted]` in the secret fields' place. It runs on the
//! unformatted generator output, on the types and on their `builder` twins alike.

use std::collections::{BTreeMap, BTreeSet};

use openapiv3::{
    OpenAPI, ReferenceOr, Schema, SchemaKind, StringFormat, Type, VariantOrUnknownOrEmpty,
};

use crate::handlers::pascal;

/// The generated type names with secret fields, each with the wire names of those fields.
pub fn secret_fields(spec: &OpenAPI) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    let mut visit = |name: String, schema: &Schema| {
        let SchemaKind::Type(Type::Object(object)) = &schema.schema_kind else {
            return;
        };
        let secrets: BTreeSet<String> = object
            .properties
            .iter()
            .filter(|(_, property)| property.as_item().is_some_and(|p| is_secret(p)))
            .map(|(wire, _)| wire.clone())
            .collect();
        if !secrets.is_empty() {
            out.insert(name, secrets);
        }
    };
    if let Some(components) = &spec.components {
        for (name, schema) in &components.schemas {
            if let ReferenceOr::Item(schema) = schema {
                visit(name.clone(), schema);
            }
        }
    }
    for (_, _, op) in spec.operations() {
        let (Some(id), Some(ReferenceOr::Item(body))) = (&op.operation_id, &op.request_body) else {
            continue;
        };
        for media in body.content.values() {
            if let Some(ReferenceOr::Item(schema)) = &media.schema {
                visit(format!("{}Body", pascal(id)), schema);
            }
        }
    }
    out
}

/// Whether a property is a secret: `format: password` or `x-privicore-secret: true`.
pub fn is_secret(schema: &Schema) -> bool {
    let flagged = schema
        .schema_data
        .extensions
        .get("x-privicore-secret")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let password = matches!(
        &schema.schema_kind,
        SchemaKind::Type(Type::String(s))
            if s.format == VariantOrUnknownOrEmpty::Item(StringFormat::Password)
    );
    flagged || password
}

/// Rewrites `source` (prettyplease output): every struct named in `secrets` loses its derived
/// `Debug` and gets one that redacts the fields whose wire name is listed. `wire_to_ident`
/// maps a type's wire names to its Rust field names. Fails when a listed type is not found,
/// so a renamed type cannot silently lose its redaction.
pub fn redact(
    source: &str,
    secrets: &BTreeMap<String, BTreeSet<String>>,
    wire_to_ident: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<String, String> {
    let lines: Vec<&str> = source.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut seen = BTreeSet::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let name = trimmed
            .strip_prefix("pub struct ")
            .and_then(|rest| rest.strip_suffix(" {"))
            .filter(|name| secrets.contains_key(*name));
        let Some(name) = name else {
            out.push(line.to_string());
            index += 1;
            continue;
        };
        // The derive is among the attribute lines just above the struct.
        let mut derive_at = None;
        for back in (0..out.len()).rev() {
            let previous = out[back].trim_start();
            if !(previous.starts_with("#[") || previous.starts_with("///")) {
                break;
            }
            if previous.starts_with("#[derive(") {
                derive_at = Some(back);
                break;
            }
        }
        let derive_at = derive_at.ok_or_else(|| format!("struct {name}: no derive found"))?;
        out[derive_at] = drop_debug(&out[derive_at])
            .ok_or_else(|| format!("struct {name}: its derive has no Debug"))?;
        out.push(line.to_string());
        index += 1;
        let field_indent = format!("{indent}    ");
        let mut fields = Vec::new();
        while index < lines.len() && lines[index] != format!("{indent}}}") {
            let field_line = lines[index];
            if let Some(rest) = field_line.strip_prefix(&field_indent)
                && !rest.starts_with(char::is_whitespace)
            {
                let rest = rest.strip_prefix("pub ").unwrap_or(rest);
                if let Some((ident, _)) = rest.split_once(':')
                    && ident
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '#')
                {
                    fields.push(ident.to_string());
                }
            }
            out.push(field_line.to_string());
            index += 1;
        }
        if index < lines.len() {
            out.push(lines[index].to_string());
            index += 1;
        }
        let idents = wire_to_ident.get(name);
        let secret_idents: BTreeSet<&str> = secrets[name]
            .iter()
            .map(|wire| {
                idents
                    .and_then(|map| map.get(wire))
                    .map(String::as_str)
                    .ok_or_else(|| format!("{name}: no field for secret `{wire}`"))
            })
            .collect::<Result<_, _>>()?;
        for secret in &secret_idents {
            if !fields.iter().any(|f| f == secret) {
                return Err(format!(
                    "{name}: secret field {secret} not found in the struct"
                ));
            }
        }
        let mut body = format!("f.debug_struct({name:?})");
        for field in &fields {
            if secret_idents.contains(field.as_str()) {
                body.push_str(&format!(".field({field:?}, &format_args!(\"[redacted]\"))"));
            } else {
                body.push_str(&format!(".field({field:?}, &self.{field})"));
            }
        }
        out.push(format!(
            "{indent}impl ::std::fmt::Debug for {name} {{ fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{ {body}.finish() }} }}"
        ));
        seen.insert(name.to_string());
    }
    for name in secrets.keys() {
        if !seen.contains(name) {
            return Err(format!(
                "type {name} has secret fields in the spec but progenitor generated no such struct"
            ));
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    Ok(text)
}

/// `#[derive(A, Debug, B)]` without `Debug`; `None` when there is no `Debug`.
fn drop_debug(line: &str) -> Option<String> {
    let start = line.find("#[derive(")? + "#[derive(".len();
    let end = line.rfind(")]")?;
    let items: Vec<&str> = line[start..end].split(',').map(str::trim).collect();
    if !items.contains(&"Debug") {
        return None;
    }
    let kept: Vec<&str> = items.into_iter().filter(|i| *i != "Debug").collect();
    Some(format!("{}{})]", &line[..start], kept.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_field_is_redacted_and_the_rest_kept() {
        let source = "pub mod types {\n    #[derive(Clone, Debug)]\n    pub struct LoginBody {\n        pub password: String,\n        pub username: String,\n    }\n}\n";
        let secrets = BTreeMap::from([(
            "LoginBody".to_string(),
            BTreeSet::from(["password".to_string()]),
        )]);
        let idents = BTreeMap::from([(
            "LoginBody".to_string(),
            BTreeMap::from([
                ("password".to_string(), "password".to_string()),
                ("username".to_string(), "username".to_string()),
            ]),
        )]);
        let out = redact(source, &secrets, &idents).expect("redacts");
        assert!(out.contains("#[derive(Clone)]"), "{out}");
        assert!(
            out.contains(".field(\"password\", &format_args!(\"[redacted]\"))"),
            "{out}"
        );
        assert!(
            out.contains(".field(\"username\", &self.username)"),
            "{out}"
        );
    }

    #[test]
    fn a_missing_type_fails_generation() {
        let secrets = BTreeMap::from([("Gone".to_string(), BTreeSet::from(["x".to_string()]))]);
        assert!(redact("pub struct Other {\n}\n", &secrets, &BTreeMap::new()).is_err());
    }
}
