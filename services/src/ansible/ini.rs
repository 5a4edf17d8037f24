//! Ansible's INI inventory format, read line by line as `plugins/inventory/ini.py` reads it:
//! sections `[group]`, `[group:children]`, `[group:vars]`, host lines with variables, groups
//! named before they are defined, and the same errors (with their line).

use std::collections::HashMap;

use super::hosts::{expand_pattern, shlex_split, HostBudget};
use super::inventory::{Inventory, UNGROUPED};
use super::literal::value_of;
use super::Malformed;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Hosts,
    Children,
    Vars,
}

/// A group named before it was defined: by a `[g:vars]` section, or as a child.
struct Pending {
    line: usize,
    state: State,
    parents: Vec<usize>,
}

pub fn parse(text: &str) -> Result<Inventory, Malformed> {
    let mut inventory = Inventory::default();
    let mut pending: HashMap<String, Pending> = HashMap::new();
    // Declaration order, so that the error names the first undefined group as Ansible does.
    let mut pending_order: Vec<String> = Vec::new();
    let mut group = UNGROUPED;
    let mut state = State::Hosts;
    let mut budget = HostBudget::default();
    for (number, raw) in text.lines().enumerate() {
        let line_number = number + 1;
        let fail = |reason: String| Malformed {
            line: Some(line_number),
            reason,
        };
        let line = raw.trim_matches(python_space);
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some((name, kind)) = section(line) {
            let next_state = match kind {
                None | Some("hosts") => State::Hosts,
                Some("children") => State::Children,
                Some("vars") => State::Vars,
                Some(other) => {
                    return Err(fail(format!(
                        "Section [{name}:{other}] has unknown type: {other}"
                    )))
                }
            };
            state = next_state;
            if inventory.group(name).is_none()
                && state == State::Vars
                && !pending.contains_key(name)
            {
                pending.insert(
                    name.to_owned(),
                    Pending {
                        line: line_number,
                        state,
                        parents: Vec::new(),
                    },
                );
                pending_order.push(name.to_owned());
            }
            group = inventory.add_group(name);
            if state != State::Vars {
                if let Some(declared) = pending.get(name) {
                    match declared.state {
                        State::Children => add_pending_children(&mut inventory, &mut pending, name)
                            .map_err(&fail)?,
                        _ => {
                            pending.remove(name);
                        }
                    }
                }
            }
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(fail(format!(
                "Invalid section entry: '{line}'. Please make sure that there are no spaces in the section entry, and that there are no other invalid characters"
            )));
        }
        match state {
            State::Hosts => {
                let tokens = shlex_split(line)
                    .map_err(|e| fail(format!("Error parsing host definition '{line}': {e}")))?;
                let Some(pattern) = tokens.first() else {
                    continue;
                };
                let (names, port) = expand_pattern(pattern).map_err(&fail)?;
                let mut variables = Vec::new();
                for token in &tokens[1..] {
                    let Some((key, value)) = token.split_once('=') else {
                        return Err(fail(format!(
                            "Expected key=value host variable assignment, got: {token}"
                        )));
                    };
                    variables.push((key.to_owned(), value_of(value)));
                }
                budget
                    .spend(names.len(), super::weight(&variables))
                    .map_err(&fail)?;
                for name in names {
                    let host = inventory.add_host(&name, group, port);
                    for (key, value) in &variables {
                        inventory.set_host_var(host, key.clone(), value.clone());
                    }
                }
            }
            State::Vars => {
                let Some((key, value)) = line.split_once('=') else {
                    return Err(fail(format!("Expected key=value, got: {line}")));
                };
                let key = key.trim_matches(python_space).to_owned();
                let value = value_of(value.trim_matches(python_space));
                inventory.set_group_var(group, key, value).map_err(&fail)?;
            }
            State::Children => {
                let child = group_name(line)
                    .ok_or_else(|| fail(format!("Expected group name, got: {line}")))?;
                match inventory.group(child) {
                    Some(existing) => inventory.add_child(group, existing).map_err(&fail)?,
                    None => match pending.get_mut(child) {
                        Some(declared) => declared.parents.push(group),
                        None => {
                            pending.insert(
                                child.to_owned(),
                                Pending {
                                    line: line_number,
                                    state: State::Children,
                                    parents: vec![group],
                                },
                            );
                            pending_order.push(child.to_owned());
                        }
                    },
                }
            }
        }
    }
    for name in pending_order {
        let Some(declared) = pending.get(&name) else {
            continue;
        };
        let reason = match declared.state {
            State::Vars => format!("Section [{name}:vars] not valid for undefined group '{name}'."),
            _ => {
                let parent = declared
                    .parents
                    .last()
                    .map(|&p| inventory.groups[p].name.clone())
                    .unwrap_or_default();
                format!("Section [{parent}:children] includes undefined group '{name}'.")
            }
        };
        return Err(Malformed {
            line: Some(declared.line),
            reason,
        });
    }
    inventory
        .reconcile()
        .map_err(|reason| Malformed { line: None, reason })?;
    Ok(inventory)
}

/// `_add_pending_children`: the group is now defined, so its waiting parents take it, and a
/// waiting parent that was itself a pending child is resolved in turn.
fn add_pending_children(
    inventory: &mut Inventory,
    pending: &mut HashMap<String, Pending>,
    name: &str,
) -> Result<(), String> {
    let Some(declared) = pending.remove(name) else {
        return Ok(());
    };
    let Some(child) = inventory.group(name) else {
        return Ok(());
    };
    for parent in declared.parents {
        inventory.add_child(parent, child)?;
        let parent_name = inventory.groups[parent].name.clone();
        if pending
            .get(&parent_name)
            .is_some_and(|p| p.state == State::Children)
        {
            add_pending_children(inventory, pending, &parent_name)?;
        }
    }
    Ok(())
}

/// Python's `str.strip()` whitespace (enough of it for inventories).
fn python_space(c: char) -> bool {
    c.is_whitespace() || c == '\x1c' || c == '\x1d' || c == '\x1e' || c == '\x1f'
}

/// `^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$`: a section header's group and kind.
fn section(line: &str) -> Option<(&str, Option<&str>)> {
    let rest = line.strip_prefix('[')?;
    let close = rest.find(']')?;
    let inside = &rest[..close];
    let after = rest[close + 1..].trim_start_matches(python_space);
    if !(after.is_empty() || after.starts_with('#')) {
        return None;
    }
    let (name, kind) = match inside.split_once(':') {
        Some((name, kind)) => (name, Some(kind)),
        None => (inside, None),
    };
    let name_ok = !name.is_empty()
        && !name
            .chars()
            .any(|c| c == ':' || c == ']' || c.is_whitespace());
    let kind_ok =
        kind.is_none_or(|k| !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_'));
    (name_ok && kind_ok).then_some((name, kind))
}

/// `^([^:\]\s]+)\s*(?:#.*)?$`: a child group's name.
fn group_name(line: &str) -> Option<&str> {
    let end = line
        .find(|c: char| c == ':' || c == ']' || c.is_whitespace())
        .unwrap_or(line.len());
    let name = &line[..end];
    let after = line[end..].trim_start_matches(python_space);
    (!name.is_empty() && (after.is_empty() || after.starts_with('#'))).then_some(name)
}
