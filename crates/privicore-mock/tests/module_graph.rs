//! The crate's modules depend on each other one way only: the graph of `crate::` references
//! between the top-level modules of `src/` (each `api/*` or `state/*` file counted as its
//! parent module) has no cycle. Read from the source rather than declared, so that a new
//! back-import fails here, with the cycle named.
//!
//! The layers this holds (bottom first): `sync`, `urls`, `generated_routes`, `injected`, `rng`
//! …; `error`, `faults`, `config`, `state`, `job`, `hub`, `record`; `shared`; `auth`,
//! `commands`, `ws`; `api`; `bindings`, `routes`; `dispatch`, `transfer`; `server`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn module_dependencies_have_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src);
    // The modules issue 14 names, so that an empty or mis-read graph cannot pass.
    for module in [
        "api", "routes", "config", "auth", "commands", "shared", "ws", "bindings",
    ] {
        assert!(
            graph.contains_key(module),
            "module {module} not found under src/"
        );
    }
    assert!(
        graph["bindings"].contains("api") && graph["api"].contains("shared"),
        "the parser misses edges: {graph:?}"
    );
    // Every name read must be a module: an unresolved one would be an edge silently lost.
    for (module, deps) in &graph {
        let unknown: Vec<&String> = deps.iter().filter(|d| !graph.contains_key(*d)).collect();
        assert!(
            unknown.is_empty(),
            "{module} names unknown modules {unknown:?}"
        );
    }
    if let Some(cycle) = find_cycle(&graph) {
        panic!("module import cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn a_planted_cycle_is_found() {
    let mut graph = Graph::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    graph.entry("c".into()).or_default();
    assert_eq!(find_cycle(&graph), None);
    graph.get_mut("c").unwrap().insert("a".into());
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

#[test]
fn references_are_read_from_paths_groups_and_root_reexports() {
    let exports = BTreeMap::from([("Variant".to_owned(), "variant".to_owned())]);
    let source = "use crate::shared::Shared;\nuse crate::{commands, dispatch::x};\n\
                  // crate::commented\nfn f(v: crate::Variant) { crate::rng::uuid(); }\n\
                  #[cfg(test)]\nmod tests { use crate::tested; }\n";
    let deps = references(source, &exports);
    let expected: BTreeSet<String> = ["shared", "commands", "dispatch", "variant", "rng"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(deps, expected);
}

/// Every top-level module and the modules its non-test code names.
fn module_graph(src: &Path) -> Graph {
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("read lib.rs");
    let exports = root_exports(&lib);
    let mut graph = Graph::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).expect("under src");
        let name = relative.to_string_lossy().replace('\\', "/");
        if name == "lib.rs" || name == "main.rs" {
            continue;
        }
        let module = name
            .split('/')
            .next()
            .expect("non-empty path")
            .trim_end_matches(".rs")
            .to_owned();
        let text = std::fs::read_to_string(&file).expect("read source");
        let deps = graph.entry(module.clone()).or_default();
        deps.extend(
            references(&text, &exports)
                .into_iter()
                .filter(|d| *d != module),
        );
    }
    graph
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// `pub use module::{A, B};` / `pub use module::A;` in lib.rs: item name -> module, so that
/// `crate::Variant` counts as a reference to `variant`.
fn root_exports(lib: &str) -> BTreeMap<String, String> {
    let mut exports = BTreeMap::new();
    let flat = lib.replace('\n', " ");
    for statement in flat.split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        let items = items.trim().trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            let item = item.trim().rsplit("::").next().unwrap_or("").trim();
            if !item.is_empty() {
                exports.insert(item.to_owned(), module.trim().to_owned());
            }
        }
    }
    exports
}

/// The top-level modules `source` names through `crate::`, outside comments and outside its
/// `#[cfg(test)] mod tests` (tests may reach anywhere).
fn references(source: &str, exports: &BTreeMap<String, String>) -> BTreeSet<String> {
    let code = source
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    let code: String = code
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut deps = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let preceded = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if preceded.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `privicore_crate::` or similar
        }
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end].split(',').collect()
        } else {
            vec![rest]
        };
        for name in names {
            let ident: String = name
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if ident.is_empty() {
                continue;
            }
            let module = exports.get(&ident).cloned().unwrap_or(ident);
            deps.insert(module);
        }
    }
    deps
}

/// A cycle, as the path `a -> … -> a`, if the graph has one (depth-first search).
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}
