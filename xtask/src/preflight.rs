//! The rules a spec must follow before progenitor sees it.
//!
//! progenitor 0.15.1 panics with messages that name no operation (or, worse, generates wrong
//! code silently) when a spec breaks these rules; docs/generation.md §2 lists them and
//! why. Each violation names the operation and the rule, and all of them are reported
//! at once so one run shows everything to fix.

use std::collections::BTreeSet;

use openapiv3::{
    OpenAPI, Operation, Parameter, ParameterSchemaOrContent, QueryStyle, ReferenceOr, Response,
    Schema, SchemaKind, StatusCode, Type,
};

/// The security schemes the hooks in `privicore-api` know how to apply.
pub const KNOWN_SCHEMES: &[&str] = &["dptToken", "oauthClientBasic", "oauthTokenBasic"];

const SOURCES: &[&str] = &["documented", "probe", "inferred"];
const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";
const BINARY: &str = "application/octet-stream";
const ERROR_SCHEMA: &str = "#/components/schemas/ApiError";

/// One broken rule: where, which rule, and what was found.
#[derive(Debug)]
pub struct Violation {
    pub operation: String,
    pub rule: &'static str,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.operation, self.rule, self.detail)
    }
}

/// Checks the whole document; an empty list means progenitor may run.
pub fn check(spec: &OpenAPI) -> Vec<Violation> {
    let mut found = Vec::new();
    if !spec.openapi.starts_with("3.0.") {
        found.push(Violation {
            operation: "(document)".into(),
            rule: "the document must be OpenAPI 3.0.x (progenitor rejects 3.1)",
            detail: format!("openapi: {}", spec.openapi),
        });
    }
    let mut seen_ids = BTreeSet::new();
    for (path, method, op) in spec.operations() {
        let name = match &op.operation_id {
            Some(id) => id.clone(),
            None => format!("{} {path}", method.to_uppercase()),
        };
        let mut push = |rule: &'static str, detail: String| {
            found.push(Violation {
                operation: name.clone(),
                rule,
                detail,
            })
        };
        check_identity(op, &mut seen_ids, &mut push);
        check_parameters(spec, op, &mut push);
        check_request_body(spec, op, &mut push);
        check_responses(spec, op, &mut push);
        check_security(op, &mut push);
    }
    found
}

fn check_identity(
    op: &Operation,
    seen: &mut BTreeSet<String>,
    push: &mut impl FnMut(&'static str, String),
) {
    match &op.operation_id {
        None => push("every operation needs an operationId", String::new()),
        Some(id) => {
            let snake = !id.is_empty()
                && id.starts_with(|c: char| c.is_ascii_lowercase())
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !snake {
                push("operationId must be snake_case", id.clone());
            }
            if !seen.insert(id.clone()) {
                push("operationId must be unique", id.clone());
            }
        }
    }
    if op.tags.len() != 1 {
        push(
            "exactly one tag (its documentation group)",
            format!("{:?}", op.tags),
        );
    }
    if op.summary.as_deref().unwrap_or("").trim().is_empty() {
        push("a summary is required", String::new());
    }
    let description = op.description.as_deref().unwrap_or("");
    if description.trim().is_empty() {
        push("a description is required", String::new());
    }
    match op
        .extensions
        .get("x-privicore-source")
        .and_then(|v| v.as_str())
    {
        Some(source) if SOURCES.contains(&source) => {
            if source == "inferred" && !description.contains("Inferred") {
                push(
                    "an inferred operation says in its description what is unknown (`**Inferred.** ...`)",
                    String::new(),
                );
            }
        }
        other => push(
            "x-privicore-source must be documented, probe or inferred",
            format!("{other:?}"),
        ),
    }
}

fn check_parameters(spec: &OpenAPI, op: &Operation, push: &mut impl FnMut(&'static str, String)) {
    for parameter in &op.parameters {
        let Some(parameter) = resolve_parameter(spec, parameter) else {
            push("parameter $ref must resolve", format!("{parameter:?}"));
            continue;
        };
        match parameter {
            Parameter::Cookie { parameter_data, .. } => push(
                "no cookie parameters (progenitor rejects them)",
                parameter_data.name.clone(),
            ),
            Parameter::Query {
                parameter_data,
                style,
                ..
            } => {
                if !matches!(style, QueryStyle::Form) {
                    push(
                        "query parameters use style form (no deepObject: name PHP-style keys literally)",
                        parameter_data.name.clone(),
                    );
                }
                if parameter_data.explode == Some(false) {
                    push(
                        "query parameters use explode: true",
                        parameter_data.name.clone(),
                    );
                }
            }
            Parameter::Header { parameter_data, .. } => {
                let lower = parameter_data.name.to_ascii_lowercase();
                if lower == "x-dpt-authorization" || lower == "authorization" {
                    push(
                        "credentials are applied by the hooks from `security`, not declared as header parameters",
                        parameter_data.name.clone(),
                    );
                }
            }
            Parameter::Path { .. } => {}
        }
        if let ParameterSchemaOrContent::Content(_) = &parameter.parameter_data_ref().format {
            push(
                "parameters use `schema`, not `content`",
                parameter.parameter_data_ref().name.clone(),
            );
        }
    }
}

fn check_request_body(spec: &OpenAPI, op: &Operation, push: &mut impl FnMut(&'static str, String)) {
    let Some(body) = &op.request_body else { return };
    let body = match body {
        ReferenceOr::Item(body) => body,
        ReferenceOr::Reference { reference } => {
            push(
                "request bodies are written inline (a $ref body is not checked)",
                reference.clone(),
            );
            return;
        }
    };
    if body.content.len() != 1 {
        push(
            "exactly one request content type (progenitor panics on two)",
            body.content.keys().cloned().collect::<Vec<_>>().join(", "),
        );
    }
    for (content_type, media) in &body.content {
        if !media.encoding.is_empty() {
            push(
                "no `encoding` block on a request body (progenitor panics)",
                content_type.clone(),
            );
        }
        let schema = media.schema.as_ref();
        match content_type.as_str() {
            FORM => {
                let Some(schema) = schema.and_then(|s| resolve_schema(spec, s)) else {
                    push("a form body needs a schema", content_type.clone());
                    continue;
                };
                for (field, property) in object_properties(schema) {
                    let property = match property {
                        ReferenceOr::Item(item) => Some(item.as_ref()),
                        ReferenceOr::Reference { reference } => lookup_schema(spec, reference),
                    };
                    let scalar = property.is_some_and(|p| {
                        matches!(
                            p.schema_kind,
                            SchemaKind::Type(
                                Type::String(_)
                                    | Type::Integer(_)
                                    | Type::Number(_)
                                    | Type::Boolean(_)
                            )
                        )
                    });
                    if !scalar {
                        push(
                            "form bodies carry scalar fields only (an array or object fails at run time)",
                            field.clone(),
                        );
                    }
                }
            }
            JSON => {
                if schema.is_none() {
                    push("a JSON body needs a schema", content_type.clone());
                }
            }
            BINARY => {
                let exact = schema.is_some_and(
                    |s| matches!(s, ReferenceOr::Item(item) if is_binary_string(item)),
                );
                if !exact {
                    push(
                        "an octet-stream body is exactly {type: string, format: binary}",
                        content_type.clone(),
                    );
                }
            }
            other => push(
                "request content type is form, JSON or octet-stream (no multipart, no */*)",
                other.to_string(),
            ),
        }
    }
}

fn check_responses(spec: &OpenAPI, op: &Operation, push: &mut impl FnMut(&'static str, String)) {
    let mut success_shapes = BTreeSet::new();
    if op.responses.default.is_some() {
        push(
            "declare error statuses explicitly (no `default` response)",
            String::new(),
        );
    }
    for (status, response) in &op.responses.responses {
        let code = match status {
            StatusCode::Code(code) => *code,
            StatusCode::Range(range) => *range * 100,
        };
        if (200..300).contains(&code) {
            let Some(response) = resolve_response(spec, response) else {
                push("response $ref must resolve", status.to_string());
                continue;
            };
            if response.content.len() > 1 {
                push("one response content type per status", status.to_string());
            }
            match response.content.iter().next() {
                None => {
                    success_shapes.insert("(no body)".to_string());
                }
                Some((content_type, media)) => match &media.schema {
                    Some(ReferenceOr::Reference { reference }) => {
                        success_shapes.insert(reference.clone());
                    }
                    Some(ReferenceOr::Item(item))
                        if content_type == BINARY && is_binary_string(item) =>
                    {
                        success_shapes.insert("(binary)".to_string());
                    }
                    _ => push(
                        "2xx JSON bodies use a $ref to components (inline schemas silently collapse: progenitor #928)",
                        status.to_string(),
                    ),
                },
            }
        } else {
            let reference = match response {
                ReferenceOr::Reference { reference } => Some(reference.clone()),
                ReferenceOr::Item(_) => None,
            };
            let schema = resolve_response(spec, response)
                .and_then(|r| r.content.get(JSON))
                .and_then(|m| m.schema.as_ref());
            let ok = reference.is_some()
                && matches!(schema, Some(ReferenceOr::Reference { reference }) if reference == ERROR_SCHEMA);
            if !ok {
                push(
                    "error responses are a $ref to components/responses whose body is the shared ApiError",
                    status.to_string(),
                );
            }
        }
    }
    if success_shapes.is_empty() {
        push("at least one 2xx response", String::new());
    }
    if success_shapes.len() > 1 {
        push(
            "every 2xx response of an operation has the same body (progenitor asserts response_types.len() <= 1)",
            success_shapes.into_iter().collect::<Vec<_>>().join(" vs "),
        );
    }
}

fn check_security(op: &Operation, push: &mut impl FnMut(&'static str, String)) {
    let Some(requirements) = &op.security else {
        push(
            "declare `security` on every operation (the hooks apply credentials from it; [] for none)",
            String::new(),
        );
        return;
    };
    for requirement in requirements {
        if requirement.len() > 1 {
            push(
                "one scheme per security requirement",
                format!("{:?}", requirement.keys().collect::<Vec<_>>()),
            );
        }
        for scheme in requirement.keys() {
            if !KNOWN_SCHEMES.contains(&scheme.as_str()) {
                push(
                    "security schemes are dptToken, oauthClientBasic or oauthTokenBasic",
                    scheme.clone(),
                );
            }
        }
    }
}

fn is_binary_string(schema: &Schema) -> bool {
    matches!(
        &schema.schema_kind,
        SchemaKind::Type(Type::String(s))
            if matches!(&s.format, openapiv3::VariantOrUnknownOrEmpty::Item(openapiv3::StringFormat::Binary))
    )
}

fn object_properties(schema: &Schema) -> Vec<(&String, &ReferenceOr<Box<Schema>>)> {
    match &schema.schema_kind {
        SchemaKind::Type(Type::Object(object)) => object.properties.iter().collect(),
        _ => Vec::new(),
    }
}

fn lookup_schema<'a>(spec: &'a OpenAPI, reference: &str) -> Option<&'a Schema> {
    let name = reference.strip_prefix("#/components/schemas/")?;
    match spec.components.as_ref()?.schemas.get(name)? {
        ReferenceOr::Item(schema) => Some(schema),
        ReferenceOr::Reference { reference } => lookup_schema(spec, reference),
    }
}

fn resolve_schema<'a>(spec: &'a OpenAPI, schema: &'a ReferenceOr<Schema>) -> Option<&'a Schema> {
    match schema {
        ReferenceOr::Item(schema) => Some(schema),
        ReferenceOr::Reference { reference } => lookup_schema(spec, reference),
    }
}

fn resolve_response<'a>(
    spec: &'a OpenAPI,
    response: &'a ReferenceOr<Response>,
) -> Option<&'a Response> {
    match response {
        ReferenceOr::Item(response) => Some(response),
        ReferenceOr::Reference { reference } => {
            let name = reference.strip_prefix("#/components/responses/")?;
            match spec.components.as_ref()?.responses.get(name)? {
                ReferenceOr::Item(response) => Some(response),
                ReferenceOr::Reference { .. } => None,
            }
        }
    }
}

fn resolve_parameter<'a>(
    spec: &'a OpenAPI,
    parameter: &'a ReferenceOr<Parameter>,
) -> Option<&'a Parameter> {
    match parameter {
        ReferenceOr::Item(parameter) => Some(parameter),
        ReferenceOr::Reference { reference } => {
            let name = reference.strip_prefix("#/components/parameters/")?;
            match spec.components.as_ref()?.parameters.get(name)? {
                ReferenceOr::Item(parameter) => Some(parameter),
                ReferenceOr::Reference { .. } => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-operation spec; `operation` is spliced in under `paths./x.post`.
    fn spec(operation: &str) -> OpenAPI {
        let text = format!(
            r#"
openapi: 3.0.3
info: {{title: t, version: "1"}}
paths:
  /x:
    post:
{operation}
components:
  schemas:
    ApiError: {{type: object}}
    Ok: {{type: object}}
  responses:
    Invalid:
      description: bad
      content:
        application/json:
          schema: {{$ref: '#/components/schemas/ApiError'}}
"#
        );
        serde_yaml::from_str(&text).expect("valid test spec")
    }

    const GOOD: &str = r#"      operationId: do_it
      tags: [Group]
      summary: Do it
      description: Does it.
      x-privicore-source: documented
      security: []
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, properties: {a: {type: string}}}
      responses:
        "202":
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Ok'}
        "422": {$ref: '#/components/responses/Invalid'}"#;

    fn rules(operation: &str) -> Vec<&'static str> {
        check(&spec(operation))
            .into_iter()
            .map(|v| v.rule)
            .collect()
    }

    #[test]
    fn a_conforming_operation_passes() {
        assert!(rules(GOOD).is_empty(), "{:?}", rules(GOOD));
    }

    #[test]
    fn each_rule_names_the_operation_and_the_rule() {
        let cases = [
            (
                GOOD.replace("operationId: do_it", "operationId: doIt"),
                "operationId must be snake_case",
            ),
            (
                GOOD.replace(
                    "x-privicore-source: documented",
                    "x-privicore-source: guessed",
                ),
                "x-privicore-source must be documented, probe or inferred",
            ),
            (
                GOOD.replace(
                    "x-privicore-source: documented",
                    "x-privicore-source: inferred",
                ),
                "an inferred operation says in its description what is unknown (`**Inferred.** ...`)",
            ),
            (
                GOOD.replace("      security: []\n", ""),
                "declare `security` on every operation (the hooks apply credentials from it; [] for none)",
            ),
            (
                GOOD.replace(
                    "{a: {type: string}}",
                    "{a: {type: array, items: {type: string}}}",
                ),
                "form bodies carry scalar fields only (an array or object fails at run time)",
            ),
            (
                GOOD.replace("application/x-www-form-urlencoded:", "multipart/form-data:"),
                "request content type is form, JSON or octet-stream (no multipart, no */*)",
            ),
            (
                GOOD.replace(
                    "schema: {$ref: '#/components/schemas/Ok'}",
                    "schema: {type: object}",
                ),
                "2xx JSON bodies use a $ref to components (inline schemas silently collapse: progenitor #928)",
            ),
            (
                GOOD.replace(
                    r#""422": {$ref: '#/components/responses/Invalid'}"#,
                    "\"422\": {description: bad}",
                ),
                "error responses are a $ref to components/responses whose body is the shared ApiError",
            ),
            (
                format!("{GOOD}\n        \"200\": {{description: other}}"),
                "every 2xx response of an operation has the same body (progenitor asserts response_types.len() <= 1)",
            ),
        ];
        for (operation, rule) in cases {
            let found = check(&spec(&operation));
            assert!(
                found.iter().any(|v| v.rule == rule),
                "expected `{rule}`, got {found:?}"
            );
            assert!(
                found.iter().all(|v| v.to_string().starts_with("do")),
                "{found:?}"
            );
        }
    }
}
