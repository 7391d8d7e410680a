//! SOURCES contract: `spec/sources.json` records, per operation, the evidence behind the
//! spec's `x-privicore-source` label (docs/protocol.md §1.2 and §1.3). The spec and the record
//! must name the same operations with the same labels, and every label must be backed by the
//! kind of evidence it claims: a label is only as good as what it can point to.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use openapiv3::OpenAPI;
use serde::Deserialize;

/// One operation's evidence, as `spec/sources.json` records it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Evidence {
    label: String,
    /// Official endpoint pages whose body was read and give this operation's wire form.
    #[serde(default)]
    official_pages: Vec<String>,
    /// Official pages known only from the navigation, or whose body could not be read.
    #[serde(default)]
    official_nav: Vec<String>,
    /// Official pages (overviews, other endpoints) that mention the operation in prose.
    #[serde(default)]
    official_mentions: Vec<String>,
    /// Files of `boffe/privicore-docs` under `src/probe/` that call or name the route.
    #[serde(default)]
    probe_files: Vec<String>,
    /// Guide files of the same repository (concepts only).
    #[serde(default)]
    guides: Vec<String>,
    /// Weaker material: the hand-authored stub, commit messages, the legacy client.
    #[serde(default)]
    other: Vec<String>,
    /// Why the label is what it is, where that is not obvious.
    #[serde(default)]
    note: Option<String>,
}

fn record() -> BTreeMap<String, Evidence> {
    let path = common::repo_root().join("spec/sources.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every operation's `x-privicore-source`, by operationId (`<missing>` when absent).
fn spec_labels() -> BTreeMap<String, String> {
    let spec: OpenAPI =
        serde_yaml::from_str(common::spec_text()).expect("spec/privicore.yaml is OpenAPI 3.0");
    spec.operations()
        .map(|(path, method, op)| {
            let id = op
                .operation_id
                .clone()
                .unwrap_or_else(|| format!("<no operationId: {method} {path}>"));
            let label = op
                .extensions
                .get("x-privicore-source")
                .and_then(|v| v.as_str())
                .unwrap_or("<missing>")
                .to_owned();
            (id, label)
        })
        .collect()
}

/// An official page slug: lowercase words joined by `-`, ending in the page number and `e0`
/// (endpoint page) or `m0` (overview page), e.g. `authenticate-14411414e0`.
fn is_slug(text: &str) -> bool {
    let Some((words, number)) = text.rsplit_once('-') else {
        return false;
    };
    let digits = number
        .strip_suffix("e0")
        .or_else(|| number.strip_suffix("m0"));
    !words.is_empty()
        && words
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && digits.is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
}

/// A navigation entry: the operation's own page slug, `(navigation)` when only the
/// navigation tree names it, or `(navigation of <slug>)` for the page whose navigation lists it.
fn is_nav_entry(text: &str) -> bool {
    text == "(navigation)"
        || text
            .strip_prefix("(navigation of ")
            .and_then(|rest| rest.strip_suffix(')'))
            .is_some_and(is_slug)
        || is_slug(text)
}

/// Everything wrong with one operation's record, given the spec's label.
fn check(id: &str, spec_label: &str, e: &Evidence, problems: &mut Vec<String>) {
    let mut problem = |text: String| problems.push(format!("{id}: {text}"));
    if spec_label != e.label {
        problem(format!(
            "the spec says x-privicore-source: {spec_label}, spec/sources.json says {}",
            e.label
        ));
    }
    for slug in e.official_pages.iter().chain(&e.official_mentions) {
        if !is_slug(slug) {
            problem(format!("{slug:?} is not an official page slug"));
        }
    }
    for entry in &e.official_nav {
        if !is_nav_entry(entry) {
            problem(format!("{entry:?} is not a navigation entry"));
        }
    }
    for file in &e.probe_files {
        if !(file.starts_with("src/probe/") && file.ends_with(".ts")) {
            problem(format!("{file:?} is not a probe file (src/probe/*.ts)"));
        }
    }
    for file in &e.guides {
        if !(file.starts_with("content/") && file.ends_with(".md")) {
            problem(format!("{file:?} is not a guide (content/*.md)"));
        }
    }
    let lists = [
        ("official_pages", &e.official_pages),
        ("official_nav", &e.official_nav),
        ("official_mentions", &e.official_mentions),
        ("probe_files", &e.probe_files),
        ("guides", &e.guides),
        ("other", &e.other),
    ];
    for (name, list) in lists {
        let distinct: BTreeSet<&String> = list.iter().collect();
        if distinct.len() != list.len() {
            problem(format!("{name} lists an entry twice"));
        }
        if list.iter().any(|entry| entry.trim().is_empty()) {
            problem(format!("{name} has an empty entry"));
        }
    }
    let noted = e.note.as_deref().is_some_and(|n| !n.trim().is_empty());
    match e.label.as_str() {
        "documented" => {
            if e.official_pages.is_empty() {
                problem("documented, but no official page that was read".into());
            }
        }
        "probe" => {
            if e.probe_files.is_empty() {
                problem("probe, but no probe file".into());
            }
            if !e.official_pages.is_empty() && !noted {
                problem(
                    "probe, yet an official page was read: the note must say why the spec \
                     follows the probe"
                        .into(),
                );
            }
        }
        "inferred" => {
            if !e.official_pages.is_empty() {
                problem("inferred, yet an official page was read (documented?)".into());
            }
            if !e.probe_files.is_empty() {
                problem("inferred, yet a probe file covers it (probe?)".into());
            }
        }
        other => problem(format!("unknown label {other:?}")),
    }
}

#[test]
fn every_label_matches_its_recorded_evidence() {
    let spec = spec_labels();
    let record = record();
    let mut problems = Vec::new();
    let spec_ids: BTreeSet<&String> = spec.keys().collect();
    let record_ids: BTreeSet<&String> = record.keys().collect();
    for id in spec_ids.difference(&record_ids) {
        problems.push(format!("{id}: in the spec, missing from spec/sources.json"));
    }
    for id in record_ids.difference(&spec_ids) {
        problems.push(format!(
            "{id}: in spec/sources.json, not an operation of the spec"
        ));
    }
    for (id, label) in &spec {
        if let Some(evidence) = record.get(id) {
            check(id, label, evidence, &mut problems);
        }
    }
    assert!(
        problems.is_empty(),
        "spec/privicore.yaml and spec/sources.json disagree ({} problems):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn slugs_and_navigation_entries_are_recognised() {
    assert!(is_slug("authenticate-14411414e0"));
    assert!(is_slug("data-download-messages-1899093m0"));
    assert!(!is_slug("authenticate"));
    assert!(!is_slug("Authenticate-14411414e0"));
    assert!(!is_slug("authenticate-14411414"));
    assert!(!is_slug("-14411414e0"));
    assert!(is_nav_entry("(navigation)"));
    assert!(is_nav_entry(
        "(navigation of obtain-oauth-app-access-token-14411425e0)"
    ));
    assert!(!is_nav_entry("(navigation of nowhere)"));
    assert!(!is_nav_entry("https://docs.privicore.com"));
}
