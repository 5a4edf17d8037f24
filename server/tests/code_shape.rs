//! The shape of the code, checked: no source file of the four crates over 800 lines (tables of
//! translations excepted), and no import circle between the modules of one level (`a` uses `b`
//! and `b` uses `a`, directly or around a longer loop). A feature that grows gets a folder of
//! small modules, each depending on the ones below it. And no form field of the UI that shows its
//! value only once hydrated.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The source folders held to this shape.
const CRATES: [&str; 4] = ["domain/src", "services/src", "app/src", "server/src"];
/// The longest file allowed.
const MAX_LINES: usize = 800;
/// Files that are tables, not logic: the French of every string of the UI.
const TABLES: [&str; 1] = ["app/src/i18n.rs"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(folder: &Path, found: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(folder).unwrap_or_else(|e| panic!("{folder:?}: {e}"));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_source_file_is_over_800_lines() {
    let root = workspace();
    let mut too_long = Vec::new();
    let mut files = 0;
    for folder in CRATES {
        let mut found = Vec::new();
        rust_files(&root.join(folder), &mut found);
        for path in found {
            files += 1;
            let relative = path.strip_prefix(&root).unwrap_or(&path).to_path_buf();
            if TABLES.iter().any(|t| relative == Path::new(t)) {
                continue;
            }
            let lines = std::fs::read_to_string(&path)
                .expect("a source file")
                .lines()
                .count();
            if lines > MAX_LINES {
                too_long.push(format!("{} ({lines} lines)", relative.display()));
            }
        }
    }
    assert!(files > 50, "the walk found only {files} files");
    assert!(
        too_long.is_empty(),
        "split these into modules of at most {MAX_LINES} lines: {too_long:?}"
    );
}

/// A module as a path from its crate's root (`["calendar", "body"]`); `mod.rs` and `lib.rs` stand
/// for their folder. `no_browser.rs` is the server's `browser` module.
fn module_of(source: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(source).expect("a file of the crate");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    if let Some(last) = parts.last_mut() {
        if last == "no_browser" {
            *last = "browser".to_owned();
        }
    }
    parts
}

/// The leading identifiers after `prefix::` in `text`: `crate::a::b` gives `a`, and
/// `crate::{a, b::c}` gives `a` and `b`.
fn names_after(text: &str, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().last();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                names.push(name);
            }
        } else {
            names.push(
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

/// Every module that `module`'s code refers to, as paths from the crate's root (the first
/// segments only: where the reference enters the tree). `super` of `a/b.rs` is `a`, and of
/// `a/mod.rs` the parent of `a`: one less segment either way.
fn references(module: &[String], code: &str) -> Vec<Vec<String>> {
    let mut found: Vec<Vec<String>> = names_after(code, "crate::")
        .into_iter()
        .map(|name| vec![name])
        .collect();
    let parent = &module[..module.len().saturating_sub(1)];
    for name in names_after(code, "super::") {
        let mut path = parent.to_vec();
        path.push(name);
        found.push(path);
    }
    found
}

#[test]
fn no_import_circle_between_modules() {
    let root = workspace();
    let mut circles = Vec::new();
    for folder in CRATES {
        let source = root.join(folder);
        let mut files = Vec::new();
        rust_files(&source, &mut files);
        let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&source, f)).collect();
        // Edges between siblings: a (under parent P) uses b (under P) when code anywhere inside
        // a refers to b or to something inside b.
        let mut edges: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
        for file in &files {
            let module = module_of(&source, file);
            let code = std::fs::read_to_string(file).expect("a source file");
            // Comments mention paths too: only code counts.
            let code: String = code
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            for target in references(&module, &code) {
                // The level where `module` and `target` part: their first differing segment.
                let common = module
                    .iter()
                    .zip(&target)
                    .take_while(|(a, b)| a == b)
                    .count();
                if common >= module.len() || common >= target.len() {
                    // One inside the other (a parent using its child, or the reverse).
                    continue;
                }
                let from = module[..=common].to_vec();
                let to = target[common].clone();
                let mut sibling = from[..common].to_vec();
                sibling.push(to.clone());
                if !modules.contains(&sibling) {
                    // Not a module: an item of the parent (`crate::AppError`).
                    continue;
                }
                edges.entry(from).or_default().insert(to);
            }
        }
        // Depth-first search for a way back to where it started.
        for start in edges.keys() {
            let parent = &start[..start.len() - 1];
            let name = &start[start.len() - 1];
            let mut stack = vec![(name.clone(), vec![name.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((at, path)) = stack.pop() {
                let mut key = parent.to_vec();
                key.push(at.clone());
                for next in edges.get(&key).into_iter().flatten() {
                    if next == name {
                        circles.push(format!(
                            "{folder}: {}{}",
                            if parent.is_empty() {
                                String::new()
                            } else {
                                format!("{}::", parent.join("::"))
                            },
                            [path.clone(), vec![next.clone()]].concat().join(" → ")
                        ));
                    } else if seen.insert(next.clone()) {
                        stack.push((next.clone(), [path.clone(), vec![next.clone()]].concat()));
                    }
                }
            }
        }
    }
    circles.sort();
    circles.dedup();
    assert!(
        circles.is_empty(),
        "modules that use each other (move what both need below them):\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_circle_finder_sees_references() {
    assert_eq!(
        names_after(
            "use crate::{i18n::t, ui::PageTitle}; crate::server::hub()",
            "crate::"
        ),
        ["i18n", "ui", "server"]
    );
    assert_eq!(names_after("use super::state::Drag;", "super::"), ["state"]);
    assert!(names_after("my_crate::x", "crate::").is_empty());
}

/// `scripts/build.sh` builds one browser bundle per group of islands the pages name
/// (`app::layout::ISLAND_GROUPS`): a group it forgot would leave its pages static.
#[test]
fn the_build_builds_every_group_of_islands() {
    let script = std::fs::read_to_string(workspace().join("scripts/build.sh")).expect("build.sh");
    let line = script
        .lines()
        .find_map(|line| line.strip_prefix("ISLAND_GROUPS=\"")?.strip_suffix('"'))
        .expect("build.sh sets ISLAND_GROUPS=\"…\"");
    let built: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        built,
        app::layout::ISLAND_GROUPS,
        "build.sh's ISLAND_GROUPS"
    );
}

/// The `<input …/>` elements of a view's source whose value is set only as a property
/// (`prop:value` without `value=`, `prop:checked` without `checked=`): properties exist only in
/// the browser, so the server-rendered first view (before, or without, hydration) would show
/// those fields empty or unchecked. Password fields are left out: a secret typed there must
/// never become an attribute of the page (they start empty anyway).
fn inputs_blank_before_hydration(source: &str) -> Vec<String> {
    let mut blank = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find("<input") {
        let element = &rest[start..];
        let end = element.find("/>").map_or(element.len(), |end| end + 2);
        let element = &element[..end];
        rest = &rest[start + end..];
        if element.contains("type=\"password\"") {
            continue;
        }
        for property in ["value", "checked"] {
            let prop = format!("prop:{property}=");
            let attribute = format!("{property}=");
            let has_attribute = element
                .replace(&prop, "")
                .split_whitespace()
                .any(|word| word.starts_with(&attribute));
            if element.contains(&prop) && !has_attribute {
                blank.push(element.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
    }
    blank
}

/// Every field of a form shows its value in the server-rendered page: an edit form, a filter
/// read from the address or a radio group's choice were blank until the bundle hydrated (the
/// project settings tab and the profile showed empty fields on their first view).
#[test]
fn form_fields_show_their_value_before_hydration() {
    let mut files = Vec::new();
    rust_files(&workspace().join("app/src"), &mut files);
    let mut blank = Vec::new();
    for path in files {
        let source = std::fs::read_to_string(&path).expect("a source file");
        for element in inputs_blank_before_hydration(&source) {
            blank.push(format!("{}: {element}", path.display()));
        }
    }
    assert!(
        blank.is_empty(),
        "fields set only as properties:\n{}",
        blank.join("\n")
    );
}

#[test]
fn the_blank_field_finder_sees_properties_alone() {
    let found = inputs_blank_before_hydration(
        r#"<input name="a" prop:value=move || a.get()/>
           <input name="b" value=move || b.get() prop:value=move || b.get()/>
           <input type="checkbox" prop:checked=move || c.get() on:change=set/>
           <input type="password" prop:value=move || secret.get()/>"#,
    );
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("name=\"a\""));
    assert!(found[1].contains("checkbox"));
}
