//! The architecture, checked on the real import graph.
//!
//! Both crates are parsed with `syn` from their `lib.rs`, following `mod`
//! declarations, as a normal build compiles them: `#[cfg(test)]` items, and
//! the test modules they declare, are left out (a test may write a file).
//! Every `use` (groups, `self`, `super`, globs and renames expanded) and every
//! path in code, types and macro arguments becomes an absolute path;
//! `crate::plan` in the binary crate is the core's `ec2_gitops_core::plan`,
//! which `src/lib.rs` re-exports.
//!
//! The layers, from the outside in; each may import the layers below it:
//!
//! | layer      | modules                                           | does                         |
//! |------------|---------------------------------------------------|------------------------------|
//! | front ends | `cli`, `action` (`handlers` over `steps`)         | read input, talk to people   |
//! | use-cases  | `app`                                             | plan, apply, previews, import|
//! | adapters   | `ec2`, `github`, `workspace`, `git`               | I/O: AWS, GitHub, files, git |
//! | core       | `ec2_gitops_core`                                 | pure decisions and texts     |
//!
//! [`LAYERS`] says what each layer must not import; a module outside the
//! table (`progress`, the front ends' progress display) is free. Besides,
//! sibling modules never import each other in a circle, at any depth
//! (`sibling_modules_form_no_cycle`).
//! Not seen: `src/main.rs` (a crate of its own that calls `ec2_gitops::main`,
//! which hands `ec2-gitops action` to the action and the rest to `cli`), and
//! calls that no path shows, such as methods of a type that several modules
//! share (the action's handlers and steps are free functions for that reason).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Attribute, Expr, Ident, ImplItemFn, Item, ItemMod, ItemUse, Token, UseTree};

/// A module or item path, one string a segment: `["ec2_gitops", "ec2"]`.
type ModPath = Vec<String>;

/// Each crate's source folder and name, as paths spell it.
const CRATES: &[(&str, &str)] = &[
    ("src", "ec2_gitops"),
    ("crates/core/src", "ec2_gitops_core"),
];

/// Fewer non-test files than this, and the walk has lost its way.
const MIN_FILES: usize = 80;

/// I/O crates and std's I/O modules. `std::net` only for its sockets and
/// name lookups: its address types are plain values.
const IO: &str = "tokio futures* aws_config aws_sdk_* aws_smithy_* octocrab reqwest hyper libc glob \
                  std::fs std::env std::process std::net::Tcp* std::net::Udp* std::net::ToSocketAddrs";

/// The adapters: the binary crate's modules that do I/O.
const ADAPTERS: &str = "ec2_gitops::ec2 ec2_gitops::github ec2_gitops::workspace ec2_gitops::git";

/// What one layer must not import. Paths are absolute and space-separated;
/// a `*` ends a segment's prefix.
struct Rule {
    /// The rule, for a reader of the architecture.
    doc: &'static str,
    /// The modules it governs, submodules included.
    layer: &'static [&'static str],
    /// The paths they must not name, nor anything under them.
    forbidden: &'static [&'static str],
    /// What to do about a breach.
    fix: &'static str,
}

/// The layers' rules, from the core out.
const LAYERS: &[Rule] = &[
    Rule {
        doc: "The core crate is pure: no runtime, no AWS or GitHub client, no file, environment, process or socket.",
        layer: &["ec2_gitops_core"],
        forbidden: &[IO],
        fix: "do the I/O in an adapter of the binary crate and pass the core its result as a value",
    },
    Rule {
        doc: "Adapters do I/O for the layers above: they use the core's values (model, config, plan, outcome, marker) \
              but not the use-cases and front ends that call them, nor the renderer (people's texts are decided above).",
        layer: &[ADAPTERS],
        forbidden: &["ec2_gitops::app ec2_gitops::cli ec2_gitops::action ec2_gitops_core::render"],
        fix: "return values and let the caller render or decide; take a rendered text as an argument if the adapter must send one",
    },
    Rule {
        doc: "Use-cases (`app`) serve both front ends and know neither.",
        layer: &["ec2_gitops::app"],
        forbidden: &["ec2_gitops::action ec2_gitops::cli"],
        fix: "move what the use-case needs from the front end into `app` or the core",
    },
    Rule {
        doc: "The command line does not reach into the Action: they are two front ends over `app`.",
        layer: &["ec2_gitops::cli"],
        forbidden: &["ec2_gitops::action"],
        fix: "move what both need into `app` (or the core), and have each front end call it",
    },
    Rule {
        doc: "The Action does not reach into the command line: they are two front ends over `app`.",
        layer: &["ec2_gitops::action"],
        forbidden: &["ec2_gitops::cli"],
        fix: "move what both need into `app` (or the core), and have each front end call it",
    },
    Rule {
        doc: "The Action's shared steps never call a handler: a handler maps one event to steps.",
        layer: &["ec2_gitops::action::steps"],
        forbidden: &["ec2_gitops::action::handlers"],
        fix: "move what the handlers share into a step (or `app`, or `render`)",
    },
    Rule {
        doc: "A handler never calls another handler (pull_request).",
        layer: &["ec2_gitops::action::handlers::pull_request"],
        forbidden: &[
            "ec2_gitops::action::handlers::issue_comment ec2_gitops::action::handlers::push ec2_gitops::action::handlers::schedule",
        ],
        fix: "move what the handlers share into `action::steps`",
    },
    Rule {
        doc: "A handler never calls another handler (issue_comment).",
        layer: &["ec2_gitops::action::handlers::issue_comment"],
        forbidden: &[
            "ec2_gitops::action::handlers::pull_request ec2_gitops::action::handlers::push ec2_gitops::action::handlers::schedule",
        ],
        fix: "move what the handlers share into `action::steps`",
    },
    Rule {
        doc: "A handler never calls another handler (push).",
        layer: &["ec2_gitops::action::handlers::push"],
        forbidden: &[
            "ec2_gitops::action::handlers::pull_request ec2_gitops::action::handlers::issue_comment ec2_gitops::action::handlers::schedule",
        ],
        fix: "move what the handlers share into `action::steps`",
    },
    Rule {
        doc: "A handler never calls another handler (schedule).",
        layer: &["ec2_gitops::action::handlers::schedule"],
        forbidden: &[
            "ec2_gitops::action::handlers::pull_request ec2_gitops::action::handlers::issue_comment ec2_gitops::action::handlers::push",
        ],
        fix: "move what the handlers share into `action::steps`",
    },
];

/// The paths of space-separated lists.
fn words(lists: &[&'static str]) -> impl Iterator<Item = &'static str> {
    lists.iter().flat_map(|list| list.split_whitespace())
}

/// A path that code names: a `use` leaf, or a path in code of two segments or more.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Import {
    file: String,
    line: usize,
    /// The module the code is in.
    from: ModPath,
    /// The absolute path named (an item's path goes on past its module).
    to: ModPath,
}

impl Import {
    fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// The parsed crates: their modules and their imports, sorted by file and line.
#[derive(Default)]
struct Graph {
    files: usize,
    modules: BTreeSet<ModPath>,
    imports: Vec<Import>,
}

impl Graph {
    /// Both crates of the workspace, read once.
    fn workspace() -> &'static Graph {
        static GRAPH: OnceLock<Graph> = OnceLock::new();
        GRAPH.get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let mut graph = Graph::default();
            for (src, name) in CRATES {
                graph.load_crate(root, src, name);
            }
            graph.finish();
            assert!(
                graph.files >= MIN_FILES,
                "only {} source files found (at least {MIN_FILES} expected): the module walk is broken",
                graph.files
            );
            graph
        })
    }

    /// Reads the crate rooted at `src/lib.rs`, following `mod` declarations.
    fn load_crate(&mut self, root: &Path, src: &str, name: &str) {
        let mut todo = vec![vec![name.to_string()]];
        while let Some(module) = todo.pop() {
            let file = module_file(root, src, &module);
            let source = std::fs::read_to_string(root.join(&file))
                .unwrap_or_else(|e| panic!("{file} (module {}): {e}", module.join("::")));
            todo.extend(self.add(&file, module, &source));
        }
    }

    /// Adds the module `source` holds, its inline modules and its imports;
    /// returns the modules it declares in files of their own.
    fn add(&mut self, file: &str, module: ModPath, source: &str) -> Vec<ModPath> {
        let ast = syn::parse_file(source).unwrap_or_else(|e| panic!("{file} does not parse: {e}"));
        self.files += 1;
        self.modules.insert(module.clone());
        let mut collector = Collector {
            scopes: vec![Scope::new(module, &ast.items)],
            graph: self,
            file,
            out_of_line: Vec::new(),
        };
        collector.visit_file(&ast);
        collector.out_of_line
    }

    /// Rewrites paths through a crate root's `use` of another crate's module
    /// (`crate::plan` in the binary crate is `ec2_gitops_core::plan`), then
    /// sorts the imports by file and line.
    fn finish(&mut self) {
        let reexports: BTreeMap<ModPath, ModPath> = self
            .imports
            .iter()
            .filter(|i| i.from.len() == 1 && i.to[0] != i.from[0] && self.modules.contains(&i.to))
            .map(|i| {
                (
                    [&i.from[..], &i.to[i.to.len() - 1..]].concat(),
                    i.to.clone(),
                )
            })
            .collect();
        for import in &mut self.imports {
            if let Some(target) = import.to.get(..2).and_then(|head| reexports.get(head)) {
                import.to = [&target[..], &import.to[2..]].concat();
            }
        }
        self.imports.sort();
        self.imports.dedup();
    }

    /// The deepest module that `path` names or is in.
    fn module_of(&self, path: &[String]) -> Option<&ModPath> {
        (1..=path.len())
            .rev()
            .find_map(|n| self.modules.get(&path[..n]))
    }
}

/// The file of a module: `src/lib.rs`, `src/a/b.rs` or `src/a/b/mod.rs`.
fn module_file(root: &Path, src: &str, module: &[String]) -> String {
    if module.len() == 1 {
        return format!("{src}/lib.rs");
    }
    let base = format!("{src}/{}", module[1..].join("/"));
    let flat = format!("{base}.rs");
    if root.join(&flat).exists() {
        flat
    } else {
        format!("{base}/mod.rs")
    }
}

/// A module being read, and the names of the modules it declares.
struct Scope {
    module: ModPath,
    children: BTreeSet<String>,
}

impl Scope {
    fn new(module: ModPath, items: &[Item]) -> Scope {
        let children = items
            .iter()
            .filter_map(|item| match item {
                Item::Mod(m) if !test_only(&m.attrs) => Some(m.ident.to_string()),
                _ => None,
            })
            .collect();
        Scope { module, children }
    }
}

/// Gathers the imports of one file into the graph.
struct Collector<'g> {
    graph: &'g mut Graph,
    file: &'g str,
    /// The file's module, then the inline module being read, if any.
    scopes: Vec<Scope>,
    /// Modules declared here whose code is in a file of their own.
    out_of_line: Vec<ModPath>,
}

impl Collector<'_> {
    fn scope(&self) -> &Scope {
        self.scopes.last().expect("a file is a module")
    }

    /// The absolute path that `segments`, written in the current module,
    /// names; `global` for a leading `::`. Type-relative paths name none.
    fn resolve(&self, global: bool, segments: &[String]) -> Option<ModPath> {
        let scope = self.scope();
        let (first, rest) = segments.split_first()?;
        let mut path = match first.as_str() {
            _ if global => vec![first.clone()],
            "crate" => vec![scope.module[0].clone()],
            "self" => scope.module.clone(),
            "super" => scope.module[..scope.module.len() - 1].to_vec(),
            "Self" => return None,
            child if scope.children.contains(child) => {
                [&scope.module[..], std::slice::from_ref(first)].concat()
            }
            // An external crate, or a local name (which no rule names).
            _ => vec![first.clone()],
        };
        for segment in rest {
            match segment.as_str() {
                "super" => {
                    path.pop();
                }
                "self" => {}
                _ => path.push(segment.clone()),
            }
        }
        Some(path)
    }

    fn record(&mut self, global: bool, segments: &[String], line: usize) {
        if let Some(to) = self.resolve(global, segments) {
            let from = self.scope().module.clone();
            let file = self.file.to_string();
            self.graph.imports.push(Import {
                file,
                line,
                from,
                to,
            });
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item(&mut self, item: &'ast Item) {
        if !test_only(attrs(item)) {
            visit::visit_item(self, item);
        }
    }

    fn visit_impl_item_fn(&mut self, f: &'ast ImplItemFn) {
        if !test_only(&f.attrs) {
            visit::visit_impl_item_fn(self, f);
        }
    }

    fn visit_item_mod(&mut self, m: &'ast ItemMod) {
        let module = [&self.scope().module[..], &[m.ident.to_string()]].concat();
        self.graph.modules.insert(module.clone());
        match &m.content {
            None => self.out_of_line.push(module),
            Some((_, items)) => {
                self.scopes.push(Scope::new(module, items));
                items.iter().for_each(|item| self.visit_item(item));
                self.scopes.pop();
            }
        }
    }

    fn visit_item_use(&mut self, u: &'ast ItemUse) {
        for (segments, line) in use_leaves(&u.tree, Vec::new()) {
            self.record(u.leading_colon.is_some(), &segments, line);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.segments.len() > 1 {
            let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            self.record(
                path.leading_colon.is_some(),
                &segments,
                line(&path.segments[0].ident),
            );
        }
        visit::visit_path(self, path);
    }

    /// Macro arguments that parse as expressions (`format!`, `assert!`,
    /// `vec!`) are code too.
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        visit::visit_macro(self, mac);
        if let Ok(args) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            args.iter().for_each(|arg| self.visit_expr(arg));
        }
    }
}

/// Each leaf of a `use` tree: its path as written, and its line.
fn use_leaves(tree: &UseTree, prefix: Vec<String>) -> Vec<(Vec<String>, usize)> {
    let with = |ident: &Ident| [&prefix[..], &[ident.to_string()]].concat();
    match tree {
        UseTree::Path(p) => use_leaves(&p.tree, with(&p.ident)),
        UseTree::Name(n) => vec![(with(&n.ident), line(&n.ident))],
        UseTree::Rename(r) => vec![(with(&r.ident), line(&r.ident))],
        UseTree::Glob(g) => vec![(prefix.clone(), g.star_token.spans[0].start().line)],
        UseTree::Group(g) => g
            .items
            .iter()
            .flat_map(|t| use_leaves(t, prefix.clone()))
            .collect(),
    }
}

fn line(ident: &Ident) -> usize {
    ident.span().start().line
}

/// Whether `attrs` hold `#[cfg(test)]`.
fn test_only(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().is_ident("cfg") && a.parse_args::<Ident>().is_ok_and(|i| i == "test"))
}

/// The attributes of the items that `#[cfg(test)]` marks.
fn attrs(item: &Item) -> &[Attribute] {
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// Whether `path` starts with `prefix` (`a::b*`: a `*` ends a segment's prefix).
fn starts_with(path: &[String], prefix: &str) -> bool {
    let prefix: Vec<&str> = prefix.split("::").collect();
    prefix.len() <= path.len()
        && prefix
            .iter()
            .zip(path)
            .all(|(p, segment)| match p.strip_suffix('*') {
                Some(start) => segment.starts_with(start),
                None => segment == p,
            })
}

/// The imports that break `rule`: `file:line: path`.
fn breaches(rule: &Rule, graph: &Graph) -> Vec<String> {
    graph
        .imports
        .iter()
        .filter(|i| words(rule.layer).any(|l| starts_with(&i.from, l)))
        .filter(|i| words(rule.forbidden).any(|f| starts_with(&i.to, f)))
        .map(|i| format!("{}: {}", i.at(), i.to.join("::")))
        .collect()
}

/// A dependency between two sibling modules, and the import behind it.
struct Edge<'g> {
    parent: &'g [String],
    from: &'g str,
    to: &'g str,
    import: &'g Import,
}

/// The edge an import makes between the siblings that hold its two ends;
/// none within one module's subtree, across crates or out of them.
fn sibling_edge<'g>(graph: &'g Graph, import: &'g Import) -> Option<Edge<'g>> {
    let target = graph.module_of(&import.to)?;
    let common = import
        .from
        .iter()
        .zip(target)
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 || common == import.from.len() || common == target.len() {
        return None;
    }
    Some(Edge {
        parent: &target[..common],
        from: &import.from[common],
        to: &target[common],
        import,
    })
}

/// Each group of sibling modules that import each other in a circle, with
/// the imports between them.
fn cycles(graph: &Graph) -> Vec<String> {
    let mut by_parent: BTreeMap<&[String], Vec<Edge>> = BTreeMap::new();
    for edge in graph.imports.iter().filter_map(|i| sibling_edge(graph, i)) {
        by_parent.entry(edge.parent).or_default().push(edge);
    }
    let mut found = Vec::new();
    for (parent, edges) in &by_parent {
        for group in circles(edges) {
            let inside: Vec<&Edge> = edges
                .iter()
                .filter(|e| group.contains(&e.from) && group.contains(&e.to))
                .collect();
            found.push(format!(
                "in `{}`, {} import each other:\n    {}",
                parent.join("::"),
                group.join(", "),
                describe(&inside).join("\n    ")
            ));
        }
    }
    found
}

/// One line per line of code: `file:line: a → b::Item, c::Other`.
fn describe(edges: &[&Edge]) -> Vec<String> {
    edges
        .chunk_by(|a, b| a.import.at() == b.import.at())
        .map(|same_line| {
            let e = same_line[0];
            let named: Vec<String> = same_line
                .iter()
                .map(|e| e.import.to[e.parent.len()..].join("::"))
                .collect();
            format!("{}: {} → {}", e.import.at(), e.from, named.join(", "))
        })
        .collect()
}

/// The strongly connected groups of more than one sibling.
fn circles<'g>(edges: &[Edge<'g>]) -> BTreeSet<Vec<&'g str>> {
    let reach = |start: &'g str| {
        let mut seen = BTreeSet::from([start]);
        let mut todo = vec![start];
        while let Some(node) = todo.pop() {
            for e in edges.iter().filter(|e| e.from == node) {
                if seen.insert(e.to) {
                    todo.push(e.to);
                }
            }
        }
        seen
    };
    let nodes: BTreeSet<&str> = edges.iter().map(|e| e.from).collect();
    nodes
        .iter()
        .map(|&n| {
            let ahead = reach(n);
            nodes
                .iter()
                .copied()
                .filter(|&m| ahead.contains(m) && reach(m).contains(n))
                .collect::<Vec<_>>()
        })
        .filter(|group| group.len() > 1)
        .collect()
}

#[test]
fn each_layer_imports_only_what_it_may() {
    let graph = Graph::workspace();
    let failures: Vec<String> = LAYERS
        .iter()
        .filter_map(|rule| {
            let found = breaches(rule, graph);
            (!found.is_empty()).then(|| {
                format!(
                    "{}\n  {}\n  what to do: {}",
                    rule.doc,
                    found.join("\n  "),
                    rule.fix
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "layer rules broken:\n\n{}\n",
        failures.join("\n\n")
    );
}

#[test]
fn sibling_modules_form_no_cycle() {
    let found = cycles(Graph::workspace());
    assert!(
        found.is_empty(),
        "sibling modules import each other in a circle; move what they share into a module that \
         both import (or into their parent), or merge them:\n\n{}\n",
        found.join("\n\n")
    );
}

#[test]
fn the_rules_name_modules_that_exist() {
    let graph = Graph::workspace();
    for path in LAYERS
        .iter()
        .flat_map(|r| words(r.layer).chain(words(r.forbidden)))
    {
        let path: ModPath = path.split("::").map(String::from).collect();
        if CRATES.iter().any(|(_, name)| path[0] == *name) {
            assert!(
                graph.modules.contains(&path),
                "LAYERS names {}, which is no module",
                path.join("::")
            );
        }
    }
}

/// A graph of in-memory modules, each a path and its code (the path is also
/// the file's name).
fn graph_of(modules: &[(&str, &str)]) -> Graph {
    let mut graph = Graph::default();
    for (module, source) in modules {
        graph.add(
            module,
            module.split("::").map(String::from).collect(),
            source,
        );
    }
    graph.finish();
    graph
}

#[test]
fn uses_and_paths_resolve_to_absolute_paths() {
    let graph = graph_of(&[
        ("ec2_gitops", "pub use ec2_gitops_core::render;\nmod ec2;"),
        ("ec2_gitops_core::render", ""),
        (
            "ec2_gitops::ec2::read",
            r#"
use super::{call::{self, Retry as R}, limits::*};
use crate::render::text;
mod inner { use super::super::lease; }
fn f() -> std::io::Result<()> { println!("{}", crate::github::name()); }
#[cfg(test)]
mod tests { use crate::cli; }
impl X { #[cfg(test)] fn helper() { crate::action::run(); } }
"#,
        ),
    ]);
    let found: Vec<(usize, String)> = graph
        .imports
        .iter()
        .filter(|i| i.file == "ec2_gitops::ec2::read")
        .map(|i| (i.line, i.to.join("::")))
        .collect();
    let expected = [
        (2, "ec2_gitops::ec2::call"),
        (2, "ec2_gitops::ec2::call::Retry"),
        (2, "ec2_gitops::ec2::limits"),
        (3, "ec2_gitops_core::render::text"),
        (4, "ec2_gitops::ec2::lease"),
        (5, "ec2_gitops::github::name"),
        (5, "std::io::Result"),
    ];
    assert_eq!(found, expected.map(|(l, p)| (l, p.to_string())));
}

#[test]
fn each_rule_refuses_each_path_it_forbids() {
    for rule in LAYERS {
        for layer in words(rule.layer) {
            let own_crate = format!("{}::", layer.split("::").next().unwrap());
            for forbidden in words(rule.forbidden) {
                let written = match forbidden.strip_prefix(&own_crate) {
                    Some(inside) => format!("crate::{inside}"),
                    None => forbidden.to_string(),
                };
                let code = format!("use {}::Item;", written.replace('*', "x"));
                let graph = graph_of(&[(layer, code.as_str())]);
                assert_eq!(breaches(rule, &graph).len(), 1, "{layer}: use {written}");
            }
        }
    }
}

#[test]
fn the_rules_let_each_layer_use_the_layers_below() {
    let graph = graph_of(&[
        (
            "ec2_gitops_core::config",
            "use std::net::IpAddr;\nuse std::collections::BTreeMap;",
        ),
        (
            "ec2_gitops::action::handlers::push",
            "use crate::action::steps::{apply, drift};",
        ),
        (
            "ec2_gitops::ec2::lease",
            "use crate::{iam, model::Desired, plan::Plan, outcome, marker};",
        ),
        ("ec2_gitops::github", "use crate::{ec2, workspace, git};"),
        ("ec2_gitops::app", "use crate::{ec2, github, render};"),
        ("ec2_gitops::action", "use crate::{app, github, render};"),
    ]);
    for rule in LAYERS {
        assert_eq!(breaches(rule, &graph), Vec::<String>::new(), "{}", rule.doc);
    }
}

#[test]
fn a_circle_of_siblings_is_found_with_its_imports() {
    let graph = graph_of(&[
        ("c::m", "mod a;\nmod b;\nmod c;\npub use a::Stack;"),
        ("c::m::a", "use super::b::read;"),
        ("c::m::b", "use super::Stack;\nuse super::c::Instance;"),
        ("c::m::c", "fn f() { crate::m::a::run(); }"),
        ("c::n", "use crate::m::Stack;"),
    ]);
    let found = cycles(&graph);
    assert_eq!(found.len(), 1, "{found:#?}");
    let text = &found[0];
    assert!(
        text.starts_with("in `c::m`, a, b, c import each other"),
        "{text}"
    );
    for at in [
        "c::m::a:1: a → b::read",
        "c::m::b:2: b → c::Instance",
        "c::m::c:1: c → a::run",
    ] {
        assert!(text.contains(at), "{at} missing from {text}");
    }
    assert!(
        !text.contains("c::m::b:1"),
        "a child importing its parent is no edge: {text}"
    );
}
