//! `x-privicore-pagination`: which operations are page-numbered lists, and how they page.
//!
//! Rendered into the operation table (`OperationMeta::pagination`), so the SDK's paginators
//! and the bare-array normalisation read the spec's fact instead of a hand-kept list. The
//! extension is checked against the operation it sits on: its two query parameters must be
//! declared, and the `200` answer's schema must have the items array and the integer total it
//! names, so a typo fails the generation instead of a list at run time.

use openapiv3::{OpenAPI, Operation, Parameter, ReferenceOr, Schema, SchemaKind, Type};
use serde_json::Value;

/// The keys the extension takes; `style` is the only one with a fixed value.
const KEYS: &[&str] = &["style", "page_param", "per_page_param", "items", "total"];

/// `None`, or `Some(Pagination { .. })` as Rust source, for `op`.
pub fn render(spec: &OpenAPI, op: &Operation) -> Result<String, String> {
    let Some(extension) = op.extensions.get("x-privicore-pagination") else {
        return Ok("None".into());
    };
    let fields = extension
        .as_object()
        .ok_or("x-privicore-pagination is not a mapping")?;
    if let Some(unknown) = fields.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!("x-privicore-pagination: unknown key `{unknown}`"));
    }
    let text = |key: &str| {
        fields
            .get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("x-privicore-pagination: `{key}` must be a string"))
    };
    if text("style")? != "page" {
        return Err("x-privicore-pagination: the only style is `page`".into());
    }
    let (page, per_page) = (text("page_param")?, text("per_page_param")?);
    for name in [page, per_page] {
        if !has_query_parameter(op, name) {
            return Err(format!(
                "x-privicore-pagination names query parameter `{name}`, which is not declared"
            ));
        }
    }
    let (items, total) = (text("items")?, text("total")?);
    let envelope = answer_schema(spec, op)?;
    match field(spec, envelope, &[items]).map(|s| &s.schema_kind) {
        Some(SchemaKind::Type(Type::Array(_))) => {}
        _ => {
            return Err(format!(
                "x-privicore-pagination: `{items}` is not an array of the answer"
            ));
        }
    }
    let path: Vec<&str> = total.split('.').collect();
    match field(spec, envelope, &path).map(|s| &s.schema_kind) {
        Some(SchemaKind::Type(Type::Integer(_))) => {}
        _ => {
            return Err(format!(
                "x-privicore-pagination: `{total}` is not an integer of the answer"
            ));
        }
    }
    Ok(format!(
        "Some(Pagination {{ page_param: {page:?}, per_page_param: {per_page:?}, \
         items: {items:?}, total: {total:?} }})"
    ))
}

fn has_query_parameter(op: &Operation, name: &str) -> bool {
    op.parameters.iter().any(|p| match p {
        ReferenceOr::Item(Parameter::Query { parameter_data, .. }) => parameter_data.name == name,
        _ => false,
    })
}

/// The schema of the `200` JSON answer.
fn answer_schema<'a>(spec: &'a OpenAPI, op: &'a Operation) -> Result<&'a Schema, String> {
    let schema = op
        .responses
        .responses
        .get(&openapiv3::StatusCode::Code(200))
        .and_then(|r| r.as_item())
        .and_then(|r| r.content.get("application/json"))
        .and_then(|media| media.schema.as_ref())
        .ok_or("x-privicore-pagination: no `200` JSON answer")?;
    resolve(spec, schema).ok_or_else(|| "x-privicore-pagination: unresolved answer schema".into())
}

/// The schema at `path` (property names) inside `schema`.
fn field<'a>(spec: &'a OpenAPI, schema: &'a Schema, path: &[&str]) -> Option<&'a Schema> {
    let Some((first, rest)) = path.split_first() else {
        return Some(schema);
    };
    let SchemaKind::Type(Type::Object(object)) = &schema.schema_kind else {
        return None;
    };
    let next = match object.properties.get(*first)? {
        ReferenceOr::Item(inline) => inline.as_ref(),
        ReferenceOr::Reference { reference } => named(spec, reference)?,
    };
    field(spec, next, rest)
}

fn resolve<'a>(spec: &'a OpenAPI, schema: &'a ReferenceOr<Schema>) -> Option<&'a Schema> {
    match schema {
        ReferenceOr::Item(inline) => Some(inline),
        ReferenceOr::Reference { reference } => named(spec, reference),
    }
}

fn named<'a>(spec: &'a OpenAPI, reference: &str) -> Option<&'a Schema> {
    let name = reference.strip_prefix("#/components/schemas/")?;
    spec.components.as_ref()?.schemas.get(name)?.as_item()
}
