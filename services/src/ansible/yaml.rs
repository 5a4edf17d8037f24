//! Ansible's YAML inventory format (`plugins/inventory/yaml.py`) over a YAML 1.1 reading of the
//! text, as PyYAML's safe loader does it: plain `yes`/`on` are booleans, `0755` is octal, `1:30`
//! is 90, `<<` merges, a later duplicate key wins.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

use super::hosts::{expand_pattern, HostBudget};
use super::inventory::Inventory;
use super::weight;
use super::Malformed;

/// A YAML node in document order (mapping keys keep their order: groups and hosts are
/// created in it).
#[derive(Debug, Clone)]
enum Node {
    Scalar(Value),
    List(Vec<Node>),
    Mapping(Vec<(Node, Node)>),
}

impl Node {
    fn to_json(&self) -> Value {
        match self {
            Node::Scalar(v) => v.clone(),
            Node::List(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Node::Mapping(entries) => {
                let mut map = Map::new();
                for (key, value) in entries {
                    map.insert(key_text(key), value.to_json());
                }
                Value::Object(map)
            }
        }
    }
}

fn key_text(key: &Node) -> String {
    match key {
        Node::Scalar(Value::String(s)) => s.clone(),
        Node::Scalar(Value::Null) => "null".into(),
        Node::Scalar(other) => other.to_string(),
        other => other.to_json().to_string(),
    }
}

fn malformed(span: Option<&Span>, reason: impl Into<String>) -> Malformed {
    Malformed {
        line: span.map(|s| s.start.line()),
        reason: reason.into(),
    }
}

/// The most nodes a document may build, aliases counted at their full size: an alias that
/// repeats an alias (a "billion laughs" document) is refused instead of filling the memory.
const MAX_NODES: usize = 5_000_000;

/// The deepest nesting of collections read. Every later step (copying, writing JSON) recurses
/// over the nodes: a document nested a million deep would overflow the thread's stack. PyYAML's
/// own recursive reader gives up near 1,000.
const MAX_DEPTH: usize = 256;

/// A scalar key's identity (`None` for a collection key, which never equals another).
fn key_id(node: &Node) -> Option<String> {
    match node {
        Node::Scalar(Value::String(s)) => Some(format!("s{s}")),
        Node::Scalar(other) => Some(format!("v{other}")),
        _ => None,
    }
}

/// A collection being read: its items or entries (keys indexed, so that a mapping of a
/// hundred thousand hosts stays linear), its anchor, and how many nodes it holds.
enum Open {
    List {
        anchor: usize,
        items: Vec<Node>,
        size: usize,
    },
    Mapping {
        anchor: usize,
        entries: Vec<(Node, Node)>,
        index: std::collections::HashMap<String, usize>,
        key: Option<(Node, usize)>,
        size: usize,
    },
}

fn too_many_nodes(span: &Span) -> Malformed {
    malformed(
        Some(span),
        format!("the document builds more than {MAX_NODES} values (aliases repeating aliases?)"),
    )
}

/// Reads the first document of `text` into nodes.
fn load(text: &str) -> Result<Option<Node>, Malformed> {
    let events = Parser::new_from_str(text);
    let mut anchors: Vec<Option<(Node, usize)>> = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Node> = None;
    let mut built = 0usize;
    for next in events {
        let (event, span) = next.map_err(|e| Malformed {
            line: Some(e.marker().line()),
            reason: e.info().to_owned(),
        })?;
        // `size`: the nodes this node holds; `cost`: the nodes its arrival creates (its
        // children were counted as they came, a copy from an alias costs all of it).
        let (node, size, cost) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let node = Node::Scalar(
                    resolve(&text, style, tag.as_deref()).map_err(|r| malformed(Some(&span), r))?,
                );
                remember(&mut anchors, anchor, &node, 1);
                (node, 1, 1)
            }
            Event::Alias(id) => {
                let Some(Some((node, size))) = anchors.get(id) else {
                    return Err(malformed(Some(&span), "found undefined alias"));
                };
                // Weighed before it is copied: the copy itself is what a bomb aims at.
                if built.saturating_add(*size) > MAX_NODES {
                    return Err(too_many_nodes(&span));
                }
                (node.clone(), *size, *size)
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if stack.len() >= MAX_DEPTH => {
                return Err(malformed(
                    Some(&span),
                    format!("values are nested more than {MAX_DEPTH} deep"),
                ));
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Open::List {
                    anchor,
                    items: Vec::new(),
                    size: 1,
                });
                continue;
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Open::Mapping {
                    anchor,
                    entries: Vec::new(),
                    index: std::collections::HashMap::new(),
                    key: None,
                    size: 1,
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(open) = stack.pop() else {
                    return Err(malformed(Some(&span), "unbalanced collection"));
                };
                let (anchor, node, size) = match open {
                    Open::List {
                        anchor,
                        items,
                        size,
                    } => (anchor, Node::List(items), size),
                    Open::Mapping {
                        anchor,
                        entries,
                        size,
                        ..
                    } => (anchor, Node::Mapping(merge_keys(entries, &span)?), size),
                };
                if anchor != 0 {
                    // The anchor keeps a copy: it costs what the node costs.
                    built = built.saturating_add(size);
                }
                remember(&mut anchors, anchor, &node, size);
                (node, size, 1)
            }
            Event::DocumentEnd => {
                if root.is_some() {
                    break;
                }
                continue;
            }
            _ => continue,
        };
        built = built.saturating_add(cost);
        if built > MAX_NODES {
            return Err(too_many_nodes(&span));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Open::List {
                items, size: total, ..
            }) => {
                items.push(node);
                *total = total.saturating_add(size);
            }
            Some(Open::Mapping {
                entries,
                index,
                key,
                size: total,
                ..
            }) => match key.take() {
                None => *key = Some((node, size)),
                Some((k, key_size)) => {
                    *total = total.saturating_add(size).saturating_add(key_size);
                    // A later duplicate key replaces the earlier one (Ansible warns).
                    let id = key_id(&k);
                    match id.as_ref().and_then(|id| index.get(id).copied()) {
                        Some(at) => entries[at].1 = node,
                        None => {
                            if let Some(id) = id {
                                index.insert(id, entries.len());
                            }
                            entries.push((k, node));
                        }
                    }
                }
            },
        }
    }
    Ok(root)
}

fn remember(anchors: &mut Vec<Option<(Node, usize)>>, anchor: usize, node: &Node, size: usize) {
    if anchor == 0 {
        return;
    }
    if anchors.len() <= anchor {
        anchors.resize(anchor + 1, None);
    }
    anchors[anchor] = Some((node.clone(), size));
}

/// `<<: *base` and `<<: [*a, *b]`: the merged mappings' keys, unless the mapping sets them.
fn merge_keys(entries: Vec<(Node, Node)>, span: &Span) -> Result<Vec<(Node, Node)>, Malformed> {
    let is_merge = |k: &Node| matches!(k, Node::Scalar(Value::String(s)) if s == "<<");
    if !entries.iter().any(|(k, _)| is_merge(k)) {
        return Ok(entries);
    }
    let mut merged: Vec<(Node, Node)> = Vec::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut own: Vec<(Node, Node)> = Vec::new();
    for (key, value) in entries {
        if !is_merge(&key) {
            own.push((key, value));
            continue;
        }
        let sources = match value {
            Node::Mapping(entries) => vec![entries],
            Node::List(items) => items
                .into_iter()
                .map(|item| match item {
                    Node::Mapping(entries) => Ok(entries),
                    _ => Err(malformed(Some(span), "expected a mapping for merging")),
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(malformed(
                    Some(span),
                    "expected a mapping or list of mappings for merging",
                ))
            }
        };
        // The first source wins over later ones.
        for entries in sources {
            for (k, v) in entries {
                match key_id(&k) {
                    Some(id) if seen.contains_key(&id) => {}
                    id => {
                        if let Some(id) = id {
                            seen.insert(id, merged.len());
                        }
                        merged.push((k, v));
                    }
                }
            }
        }
    }
    for (k, v) in own {
        match key_id(&k).and_then(|id| seen.get(&id).copied()) {
            Some(at) => merged[at].1 = v,
            None => {
                if let Some(id) = key_id(&k) {
                    seen.insert(id, merged.len());
                }
                merged.push((k, v));
            }
        }
    }
    Ok(merged)
}

/// A scalar's value under PyYAML's YAML 1.1 resolvers (plain scalars) or its explicit tag.
fn resolve(text: &str, style: ScalarStyle, tag: Option<&str>) -> Result<Value, String> {
    match tag {
        Some("tag:yaml.org,2002:str" | "!!str" | "!unsafe" | "!vault") => {
            return Ok(Value::String(text.to_owned()))
        }
        Some("tag:yaml.org,2002:int" | "!!int") => {
            return int_of(text)
                .map(Value::Number)
                .ok_or_else(|| format!("invalid int '{text}'"))
        }
        Some("tag:yaml.org,2002:float" | "!!float") => {
            return float_of(text).ok_or_else(|| format!("invalid float '{text}'"))
        }
        Some("tag:yaml.org,2002:bool" | "!!bool") => {
            return bool_of(text)
                .map(Value::Bool)
                .ok_or_else(|| format!("invalid bool '{text}'"))
        }
        Some("tag:yaml.org,2002:null" | "!!null") => return Ok(Value::Null),
        Some(other) if !other.is_empty() && other != "!" => {
            return Err(format!(
                "could not determine a constructor for the tag '{other}'"
            ))
        }
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_owned()));
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Value::Null);
    }
    if let Some(b) = bool_of(text) {
        return Ok(Value::Bool(b));
    }
    if let Some(n) = int_of(text) {
        return Ok(Value::Number(n));
    }
    if let Some(f) = float_of(text) {
        return Ok(f);
    }
    if let Some(date) = timestamp_of(text) {
        return Ok(Value::String(date));
    }
    Ok(Value::String(text.to_owned()))
}

fn bool_of(text: &str) -> Option<bool> {
    match text {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// YAML 1.1 ints: `0b1010`, `0755` (octal), `0x1F`, `1_000`, `1:30` (sexagesimal), signed.
fn int_of(text: &str) -> Option<Number> {
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() {
        return None;
    }
    let plain: String = body.chars().filter(|&c| c != '_').collect();
    let value: i128 = if let Some(bits) = body.strip_prefix("0b") {
        if bits.is_empty() || !bits.chars().all(|c| c == '0' || c == '1' || c == '_') {
            return None;
        }
        i128::from_str_radix(&plain[2..], 2).ok()?
    } else if let Some(hex) = body.strip_prefix("0x") {
        if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit() || c == '_') {
            return None;
        }
        i128::from_str_radix(&plain[2..], 16).ok()?
    } else if body.starts_with('0') && body.len() > 1 {
        if !body.chars().all(|c| ('0'..='7').contains(&c) || c == '_') {
            return None;
        }
        i128::from_str_radix(&plain, 8).ok()?
    } else if body.contains(':') {
        // [1-9][0-9_]*(:[0-5]?[0-9])+
        let mut parts = body.split(':');
        let first = parts.next()?;
        if !first.starts_with(|c: char| ('1'..='9').contains(&c))
            || !first.chars().all(|c| c.is_ascii_digit() || c == '_')
        {
            return None;
        }
        let mut value: i128 = first.replace('_', "").parse().ok()?;
        for part in parts {
            if part.is_empty() || part.len() > 2 || !part.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let digit: i128 = part.parse().ok()?;
            if part.len() == 2 && digit >= 60 {
                return None;
            }
            value = value * 60 + digit;
        }
        value
    } else {
        if body == "0" {
            0
        } else if body.starts_with(|c: char| ('1'..='9').contains(&c))
            && body.chars().all(|c| c.is_ascii_digit() || c == '_')
        {
            plain.parse().ok()?
        } else {
            return None;
        }
    };
    let value = if negative { -value } else { value };
    i64::try_from(value)
        .map(Number::from)
        .ok()
        .or_else(|| u64::try_from(value).ok().map(Number::from))
}

/// YAML 1.1 floats as PyYAML reads them (an exponent needs its sign: `1e5` is a string).
fn float_of(text: &str) -> Option<Value> {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let negative = text.starts_with('-');
    if matches!(body, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        // JSON has no infinity; Ansible would print `Infinity`. Kept as text.
        return Some(Value::String(text.to_owned()));
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let (whole, fraction) = mantissa.split_once('.')?;
    let digits_or_underscore = |s: &str| s.chars().all(|c| c.is_ascii_digit() || c == '_');
    let whole_ok = if whole.is_empty() {
        !fraction.is_empty() && fraction.starts_with(|c: char| c.is_ascii_digit() || c == '_')
    } else {
        whole.starts_with(|c: char| c.is_ascii_digit()) && digits_or_underscore(whole)
    };
    if !whole_ok || !digits_or_underscore(fraction) {
        return None;
    }
    if let Some(exponent) = exponent {
        let digits = exponent.strip_prefix(['-', '+'])?;
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
    }
    let cleaned: String = mantissa.chars().filter(|&c| c != '_').collect();
    let cleaned = if cleaned.ends_with('.') {
        format!("{cleaned}0")
    } else {
        cleaned
    };
    let cleaned = if cleaned.starts_with('.') {
        format!("0{cleaned}")
    } else {
        cleaned
    };
    let full = match exponent {
        Some(e) => format!("{cleaned}e{e}"),
        None => cleaned,
    };
    let value: f64 = full.parse().ok()?;
    Number::from_f64(if negative { -value } else { value }).map(Value::Number)
}

/// `2001-12-14` (a date, printed by Ansible as the same text) or a full timestamp; dates are
/// kept as their text, which is what the JSON shows.
fn timestamp_of(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let is_date = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    is_date.then(|| text.to_owned())
}

pub fn parse(text: &str) -> Result<Inventory, Malformed> {
    let root = load(text)?;
    let entries = match root {
        None | Some(Node::Scalar(Value::Null)) => {
            return Err(malformed(None, "Parsed empty YAML file"));
        }
        Some(Node::Mapping(entries)) if entries.is_empty() => {
            return Err(malformed(None, "Parsed empty YAML file"));
        }
        Some(Node::Mapping(entries)) => entries,
        Some(other) => {
            return Err(malformed(
                None,
                format!(
                    "YAML inventory has invalid structure, it should be a dictionary, got: {}",
                    type_name(&other)
                ),
            ))
        }
    };
    if entries.iter().any(|(k, v)| {
        key_text(k) == "plugin" && !matches!(v, Node::Scalar(Value::Null | Value::Bool(false)))
    }) {
        return Err(malformed(
            None,
            "Plugin configuration YAML file, not YAML inventory",
        ));
    }
    let mut inventory = Inventory::default();
    let mut budget = HostBudget::default();
    for (name, data) in &entries {
        parse_group(&mut inventory, &mut budget, name, data)?;
    }
    inventory.reconcile().map_err(|r| malformed(None, r))?;
    Ok(inventory)
}

fn type_name(node: &Node) -> &'static str {
    match node {
        Node::Scalar(Value::String(_)) => "<class 'str'>",
        Node::Scalar(Value::Number(n)) if n.is_f64() => "<class 'float'>",
        Node::Scalar(Value::Number(_)) => "<class 'int'>",
        Node::Scalar(Value::Bool(_)) => "<class 'bool'>",
        Node::Scalar(_) => "<class 'NoneType'>",
        Node::List(_) => "<class 'list'>",
        Node::Mapping(_) => "<class 'dict'>",
    }
}

/// `_parse_group`: creates the group, then reads `vars`, `children` and `hosts` in the order
/// the mapping gives them. Returns the group's index (`None` when the entry is skipped).
fn parse_group(
    inventory: &mut Inventory,
    budget: &mut HostBudget,
    name: &Node,
    data: &Node,
) -> Result<Option<usize>, Malformed> {
    let entries: &[(Node, Node)] = match data {
        Node::Mapping(entries) => entries,
        Node::Scalar(Value::Null) => &[],
        // Ansible warns and skips a group whose definition is not a mapping.
        _ => return Ok(None),
    };
    let Node::Scalar(Value::String(group_name)) = name else {
        return Err(malformed(
            None,
            format!(
                "Invalid group name supplied, expected a string but got {} for {}",
                type_name(name),
                key_text(name)
            ),
        ));
    };
    if group_name.is_empty() {
        return Err(malformed(None, "Invalid empty/false group name provided"));
    }
    let group = inventory.add_group(group_name);
    // A section given as a bare string is a mapping of that one name.
    // A section given as a bare string is a mapping of that one name; a mapping is read in
    // place (copying it would copy every group below it, at every level).
    fn section(node: &Node) -> Option<std::borrow::Cow<'_, [(Node, Node)]>> {
        match node {
            Node::Mapping(entries) => Some(std::borrow::Cow::Borrowed(entries.as_slice())),
            Node::Scalar(Value::String(s)) => Some(std::borrow::Cow::Owned(vec![(
                Node::Scalar(Value::String(s.clone())),
                Node::Scalar(Value::Null),
            )])),
            _ => None,
        }
    }
    for wanted in ["vars", "children", "hosts"] {
        if let Some((_, value)) = entries.iter().find(|(k, _)| key_text(k) == wanted) {
            if section(value).is_none() && !matches!(value, Node::Scalar(Value::Null)) {
                return Err(malformed(
                    None,
                    format!(
                        "Invalid \"{wanted}\" entry for \"{group_name}\" group, requires a dictionary, found \"{}\" instead.",
                        type_name(value)
                    ),
                ));
            }
        }
    }
    for (key, value) in entries {
        let key = key_text(key);
        let Some(items) = section(value) else {
            continue;
        };
        let items: &[(Node, Node)] = &items;
        match key.as_str() {
            "vars" => {
                for (var, value) in items {
                    inventory
                        .set_group_var(group, key_text(var), value.to_json())
                        .map_err(|r| malformed(None, r))?;
                }
            }
            "children" => {
                for (child_name, child_data) in items {
                    let child = match parse_group(inventory, budget, child_name, child_data)? {
                        Some(child) => child,
                        None => inventory.group(&key_text(child_name)).ok_or_else(|| {
                            malformed(
                                None,
                                format!("{} is not a known host nor group", key_text(child_name)),
                            )
                        })?,
                    };
                    inventory
                        .add_child(group, child)
                        .map_err(|r| malformed(None, r))?;
                }
            }
            "hosts" => {
                for (pattern, host_data) in items {
                    let Node::Scalar(Value::String(pattern)) = pattern else {
                        return Err(malformed(
                            None,
                            format!("Host pattern {} must be a string. Enclose integers/floats in quotation marks.", key_text(pattern)),
                        ));
                    };
                    let (names, port) = expand_pattern(pattern).map_err(|r| malformed(None, r))?;
                    let vars = match host_data {
                        Node::Mapping(vars) => vars.as_slice(),
                        Node::Scalar(Value::Null | Value::Bool(false)) => &[],
                        Node::Scalar(Value::String(s)) if s.is_empty() => &[],
                        Node::Scalar(Value::Number(n)) if n.as_f64() == Some(0.0) => &[],
                        Node::List(items) if items.is_empty() => &[],
                        other => {
                            return Err(malformed(
                                None,
                                format!(
                                    "Invalid data from file, expected dictionary and got:\n\n{}",
                                    other.to_json()
                                ),
                            ))
                        }
                    };
                    let vars: Vec<(String, Value)> = vars
                        .iter()
                        .map(|(var, value)| (key_text(var), value.to_json()))
                        .collect();
                    budget
                        .spend(names.len(), weight(&vars))
                        .map_err(|r| malformed(None, r))?;
                    for name in names {
                        let host = inventory.add_host(&name, group, port);
                        for (var, value) in &vars {
                            inventory.set_host_var(host, var.clone(), value.clone());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(Some(group))
}

/// Any YAML document as JSON (YAML 1.1 scalars, anchors and merges resolved, bounded like an
/// inventory); the error gives a line and a reason that never repeats the document's values.
pub(crate) fn to_json(text: &str) -> Result<Value, Option<usize>> {
    load(text)
        .map(|root| root.map_or(Value::Null, |node| node.to_json()))
        .map_err(|malformed| malformed.line)
}
