//! INVENTORY contract: every operation of `spec/privicore.yaml`, parsed with `openapiv3`, one
//! row each, so that any change to the API surface shows up as a reviewed snapshot diff. The
//! generated operation table (`privicore_api::OPERATIONS`) must say the same as the spec.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use openapiv3::{OpenAPI, Operation, Parameter, ReferenceOr, SecurityRequirement};
use privicore_api::OPERATIONS;
use privicore_api::operations::Auth;

const SOURCES: &[&str] = &["documented", "probe", "inferred"];
const KINDS: &[&str] = &["sync", "async-command", "async-request", "stream"];

/// One operation as the spec states it.
struct Row {
    id: String,
    method: String,
    path: String,
    tag: String,
    security: String,
    request: String,
    source: String,
    kind: String,
    /// Authenticated by an `auth` query parameter (stream and download hosts).
    query_auth: bool,
}

fn spec() -> OpenAPI {
    serde_yaml::from_str(common::spec_text()).expect("spec/privicore.yaml is OpenAPI 3.0")
}

fn extension(op: &Operation, name: &str) -> String {
    op.extensions
        .get(name)
        .and_then(|v| v.as_str())
        .unwrap_or("<missing>")
        .to_owned()
}

/// `none` (explicitly no credentials), `optional(a)` (an empty alternative next to `a`),
/// alternatives joined by ` | `, schemes required together joined by ` + `.
fn security(requirements: Option<&Vec<SecurityRequirement>>) -> String {
    let Some(requirements) = requirements else {
        return "<unspecified>".into();
    };
    if requirements.is_empty() {
        return "none".into();
    }
    let alternatives: Vec<String> = requirements
        .iter()
        .filter(|r| !r.is_empty())
        .map(|r| r.keys().cloned().collect::<Vec<_>>().join(" + "))
        .collect();
    let joined = alternatives.join(" | ");
    if requirements.iter().any(|r| r.is_empty()) {
        format!("optional({joined})")
    } else {
        joined
    }
}

fn rows(spec: &OpenAPI) -> Vec<Row> {
    spec.operations()
        .map(|(path, method, op)| {
            let request = match &op.request_body {
                None => "-".to_owned(),
                Some(ReferenceOr::Reference { reference }) => format!("<{reference}>"),
                Some(ReferenceOr::Item(body)) => {
                    body.content.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            };
            let query_auth = op.parameters.iter().any(|p| {
                matches!(p, ReferenceOr::Item(Parameter::Query { parameter_data, .. })
                    if parameter_data.name == "auth")
            });
            Row {
                id: op
                    .operation_id
                    .clone()
                    .unwrap_or_else(|| "<missing>".into()),
                method: method.to_uppercase(),
                path: path.to_owned(),
                tag: op.tags.join(", "),
                security: security(op.security.as_ref().or(spec.security.as_ref())),
                request,
                source: extension(op, "x-privicore-source"),
                kind: extension(op, "x-privicore-kind"),
                query_auth,
            }
        })
        .collect()
}

fn table(rows: &[Row]) -> String {
    let header = [
        "operationId",
        "method",
        "path",
        "tag",
        "security",
        "request",
        "source",
        "kind",
    ];
    let cells: Vec<[&str; 8]> = rows
        .iter()
        .map(|r| {
            [
                &r.id,
                &r.method,
                &r.path,
                &r.tag,
                &r.security,
                &r.request,
                &r.source,
                &r.kind,
            ]
            .map(String::as_str)
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |row: &[&str]| {
        let padded: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        padded.join(" | ").trim_end().to_owned()
    };
    let rule = widths.map(|width| "-".repeat(width));
    let mut out = vec![line(&header), line(&rule.each_ref().map(String::as_str))];
    out.extend(cells.iter().map(|row| line(row)));
    let count = |select: fn(&Row) -> &str| {
        let mut counts = BTreeMap::<&str, usize>::new();
        for row in rows {
            *counts.entry(select(row)).or_default() += 1;
        }
        counts
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push(String::new());
    out.push(format!("{} operations", rows.len()));
    out.push(format!("by source: {}", count(|r| &r.source)));
    out.push(format!("by kind: {}", count(|r| &r.kind)));
    out.push(format!("by security: {}", count(|r| &r.security)));
    out.join("\n") + "\n"
}

#[test]
fn inventory_snapshot() {
    let rows = rows(&spec());
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description("every operation of spec/privicore.yaml, in spec order");
    settings.bind(|| insta::assert_snapshot!("inventory", table(&rows)));
}

#[test]
fn spec_has_86_attested_operations() {
    let rows = rows(&spec());
    assert_eq!(rows.len(), 86, "operation count");
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), rows.len(), "operation ids are unique");
    for row in &rows {
        assert!(
            SOURCES.contains(&row.source.as_str()),
            "{}: x-privicore-source is {}",
            row.id,
            row.source
        );
        assert!(
            KINDS.contains(&row.kind.as_str()),
            "{}: x-privicore-kind is {}",
            row.id,
            row.kind
        );
        assert_ne!(row.security, "<unspecified>", "{}: no security", row.id);
        assert!(!row.tag.is_empty(), "{}: no tag", row.id);
    }
}

/// The credential an operation needs, decided from the spec alone.
fn auth_from_spec(row: &Row) -> Option<Auth> {
    Some(match row.security.as_str() {
        "none" if row.query_auth => Auth::StreamQuery,
        "none" => Auth::None,
        "dptToken" => Auth::ProfileToken,
        "optional(dptToken)" => Auth::OptionalProfileToken,
        "oauthClientBasic" => Auth::OAuthClientBasic,
        "oauthTokenBasic" => Auth::OAuthTokenBasic,
        _ => return None,
    })
}

/// `async-command` -> `AsyncCommand`, as the table's `Debug` spells it.
fn pascal(kebab: &str) -> String {
    kebab
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or(String::new(), |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

#[test]
fn generated_table_matches_the_spec() {
    let rows = rows(&spec());
    let from_spec: BTreeSet<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r.id.as_str(), r.method.as_str(), r.path.as_str()))
        .collect();
    let from_table: BTreeSet<(&str, &str, &str)> = OPERATIONS
        .iter()
        .map(|op| (op.id, op.method, op.path))
        .collect();
    let only_spec: Vec<_> = from_spec.difference(&from_table).collect();
    let only_table: Vec<_> = from_table.difference(&from_spec).collect();
    assert!(
        only_spec.is_empty() && only_table.is_empty(),
        "OPERATIONS has drifted from the spec (run `cargo xtask generate`)\n\
         only in the spec: {only_spec:?}\nonly in OPERATIONS: {only_table:?}"
    );
    assert_eq!(OPERATIONS.len(), rows.len(), "duplicate rows in OPERATIONS");
    assert!(
        OPERATIONS.windows(2).all(|w| w[0].id < w[1].id),
        "OPERATIONS is sorted by id (operation() binary-searches it)"
    );

    for row in &rows {
        let op = privicore_api::operations::operation(&row.id).expect("looked up by id");
        assert_eq!(op.tag, row.tag, "{}: tag", row.id);
        assert_eq!(
            format!("{:?}", op.source).to_lowercase(),
            row.source,
            "{}: source",
            row.id
        );
        assert_eq!(
            format!("{:?}", op.kind),
            pascal(&row.kind),
            "{}: kind",
            row.id
        );
        assert_eq!(
            Some(op.auth),
            auth_from_spec(row),
            "{}: auth (security {})",
            row.id,
            row.security
        );
    }
}
