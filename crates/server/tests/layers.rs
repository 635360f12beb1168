//! The layering rule of docs/architecture.md, checked on the source: routes ->
//! domain -> database and storage. Nothing below the HTTP layer imports from
//! it, a route never calls another route, and no two files import each
//! other, however indirectly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// Every source file by its module path (`["http", "routes"]` for
/// `http/routes/mod.rs`), with its text minus its unit tests.
fn sources() -> BTreeMap<Vec<String>, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(Path::new(SRC), &mut files);
    files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(SRC).expect("under src");
            let mut module: Vec<String> = relative
                .with_extension("")
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            let code = match text.find("#[cfg(test)]") {
                Some(at) => text[..at].to_owned(),
                None => text,
            };
            (module, code)
        })
        .collect()
}

/// The module files `code` (in `module`) names through `crate::` or `super::`
/// paths, each resolved to the deepest module that has a file.
fn imports(
    module: &[String],
    code: &str,
    modules: &BTreeSet<Vec<String>>,
) -> BTreeSet<Vec<String>> {
    let resolve = |path: Vec<String>| -> Option<Vec<String>> {
        (0..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|prefix| modules.contains(prefix))
    };
    let mut found = BTreeSet::new();
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '{' || c == ','))
        .collect();
    for word in words {
        let word = word.trim_start_matches(['{', ',']);
        let (base, rest) = if let Some(rest) = word.strip_prefix("crate::") {
            (Vec::new(), rest)
        } else if word.starts_with("super::") {
            // `super` is the parent module, for `x/mod.rs` as for `x.rs`.
            let mut base = module.to_vec();
            let mut rest = word;
            while let Some(tail) = rest.strip_prefix("super::") {
                base.pop();
                rest = tail;
            }
            (base, rest)
        } else {
            continue;
        };
        let mut path = base;
        path.extend(
            rest.split("::")
                .take_while(|s| !s.is_empty() && !s.starts_with('{'))
                .map(str::to_owned),
        );
        // `use crate::{a, b}` and `use super::{x, y::z}`: each braced name too.
        let braced: Vec<Vec<String>> = rest
            .split_once('{')
            .map(|(_, names)| {
                names
                    .split(',')
                    .map(|name| {
                        let mut p = path.clone();
                        p.extend(
                            name.trim_matches(['{', '}', ' '])
                                .split("::")
                                .filter(|s| !s.is_empty() && *s != "self")
                                .map(str::to_owned),
                        );
                        p
                    })
                    .collect()
            })
            .unwrap_or_default();
        for target in std::iter::once(path).chain(braced) {
            if let Some(file) = resolve(target)
                && file != module
            {
                found.insert(file);
            }
        }
    }
    found
}

#[test]
fn nothing_below_the_http_layer_imports_it() {
    for (module, code) in sources() {
        let in_http = module.first().is_some_and(|m| m == "http");
        let top = module.is_empty() || module == ["server"];
        if in_http || top {
            continue;
        }
        for needle in ["crate::http", "ApiError"] {
            assert!(
                !code.contains(needle),
                "{} uses {needle}: only the HTTP layer may",
                module.join("/")
            );
        }
        // The domain and what it stands on know nothing of HTTP frameworks.
        let below = [
            "uploads",
            "db",
            "storage",
            "processing",
            "janitor",
            "auth",
            "config",
        ];
        if module.first().is_some_and(|m| below.contains(&m.as_str())) {
            assert!(
                !code.contains("axum"),
                "{} uses axum: only the HTTP layer may",
                module.join("/")
            );
        }
    }
}

#[test]
fn no_source_files_import_each_other_in_a_cycle() {
    let sources = sources();
    let modules: BTreeSet<Vec<String>> = sources.keys().cloned().collect();
    let graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = sources
        .iter()
        .map(|(module, code)| (module.clone(), imports(module, code, &modules)))
        .collect();
    // Depth-first search for a back edge, keeping the path for the message.
    fn visit(
        node: &Vec<String>,
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        done: &mut BTreeSet<Vec<String>>,
        path: &mut Vec<Vec<String>>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = path.iter().position(|n| n == node) {
            let cycle: Vec<String> = path[at..]
                .iter()
                .chain(std::iter::once(node))
                .map(|m| {
                    if m.is_empty() {
                        "lib".into()
                    } else {
                        m.join("/")
                    }
                })
                .collect();
            panic!("import cycle: {}", cycle.join(" -> "));
        }
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, done, path);
        }
        path.pop();
        done.insert(node.clone());
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut done, &mut Vec::new());
    }
    assert!(done.len() > 50, "only {} files read", done.len());
}

/// Whether `code` handles requests: route files hold `pub async fn`
/// handlers; what routes share (responses, paging, parsers) holds none.
fn is_route(code: &str) -> bool {
    code.contains("pub async fn")
}

#[test]
fn a_route_never_calls_another_route() {
    let sources = sources();
    let modules: BTreeSet<Vec<String>> = sources.keys().cloned().collect();
    let routes = ["http".to_owned(), "routes".to_owned()];
    let in_routes = |module: &Vec<String>| module.len() > 2 && module.starts_with(&routes);
    // A resource's mod.rs gathers its routes into a router: not a route itself.
    let is_mod = |module: &Vec<String>| {
        modules
            .iter()
            .any(|m| m.len() > module.len() && m.starts_with(module))
    };
    let route_files: BTreeSet<&Vec<String>> = sources
        .iter()
        .filter(|(module, code)| in_routes(module) && !is_mod(module) && is_route(code))
        .map(|(module, _)| module)
        .collect();
    assert!(
        route_files.len() > 20,
        "only {} route files found",
        route_files.len()
    );
    for module in &route_files {
        for import in imports(module, &sources[*module], &modules) {
            assert!(
                !route_files.contains(&import),
                "{} imports {}: a route calls the domain, not another route",
                module.join("/"),
                import.join("/")
            );
        }
    }
}
