//! Ansible in uHub: inventories read in Rust exactly as `ansible-inventory --list` reads them
//! (no Python when analysing), the lint of what usually goes wrong in them, and the results of
//! playbook runs.

mod hosts;
mod ini;
mod inventory;
mod lint;
mod literal;
pub mod stored;
pub(crate) mod yaml;

pub use inventory::Inventory;
pub use lint::Finding;

use serde::Serialize;
use serde_json::Value;

/// The largest inventory uHub analyses (real fleets are bigger than the API's 1 MiB bodies).
pub const MAX_INVENTORY_BYTES: usize = 8 * 1024 * 1024;

/// Why an inventory could not be read: the line (1-based) when one is to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub line: Option<usize>,
    pub reason: String,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// The two formats Ansible's default inventory plugins read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Ini,
    Yaml,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "ini" => Some(Format::Ini),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }

    /// YAML when the first meaningful line looks like YAML (`---`, `key:` with nothing after
    /// it or a mapping), INI otherwise (a `[section]` or a host line).
    pub fn detect(text: &str) -> Format {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if line == "---" || line.starts_with("%YAML") || line.starts_with('{') {
                return Format::Yaml;
            }
            if line.starts_with('[') {
                return Format::Ini;
            }
            return match line.split_once(':') {
                Some((key, rest))
                    if !key.contains(char::is_whitespace)
                        && (rest.is_empty() || rest.starts_with(' ')) =>
                {
                    Format::Yaml
                }
                _ => Format::Ini,
            };
        }
        Format::Ini
    }
}

/// How many hosts and groups an inventory has (`all` not counted, `ungrouped` only when it
/// holds hosts).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub hosts: usize,
    pub groups: usize,
}

/// What `POST /api/v1/ansible/inventories/analyze` answers.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub format: Format,
    /// Exactly what `ansible-inventory -i FILE --list` prints.
    pub inventory: Value,
    pub summary: Summary,
    pub warnings: Vec<String>,
    pub lint: Vec<Finding>,
}

/// About how many bytes `variables` take (their JSON text): what copying them to a host costs.
fn weight(variables: &[(String, Value)]) -> usize {
    variables
        .iter()
        .map(|(key, value)| key.len() + value_weight(value))
        .sum()
}

/// About how many bytes one value takes: its text for strings, a word for scalars, its JSON
/// for the rare lists and dictionaries (written out only for them).
fn value_weight(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len(),
        Value::Number(_) | Value::Bool(_) | Value::Null => 8,
        Value::Array(_) | Value::Object(_) => value.to_string().len(),
    }
}

/// How deep the `--list` document of an inventory may nest: its analysis is stored as JSON and
/// read back by `serde_json`, which stops at 128 levels; what wraps the listing stays under that.
const MAX_LISTING_NESTING: usize = 100;
/// The levels of the listing above a variable's value (`_meta`, `hostvars`, the host, the name).
const LISTING_LEVELS: usize = 4;

/// How many levels of arrays and objects `value` nests (a scalar: 0). Without recursion: the
/// value may come from any inventory.
fn nesting(value: &Value) -> usize {
    let mut deepest = 0;
    let mut open = vec![(value, 0)];
    while let Some((value, depth)) = open.pop() {
        match value {
            Value::Array(items) => open.extend(items.iter().map(|item| (item, depth + 1))),
            Value::Object(fields) => open.extend(fields.values().map(|field| (field, depth + 1))),
            _ => continue,
        }
        deepest = deepest.max(depth + 1);
    }
    deepest
}

/// Reads an inventory as Ansible would, in `format` or the detected one.
pub fn read(text: &str, format: Option<Format>) -> Result<(Format, Inventory), Malformed> {
    if text.len() > MAX_INVENTORY_BYTES {
        return Err(Malformed {
            line: None,
            reason: format!("the inventory is larger than {MAX_INVENTORY_BYTES} bytes"),
        });
    }
    let format = format.unwrap_or_else(|| Format::detect(text));
    let inventory = match format {
        Format::Ini => ini::parse(text)?,
        Format::Yaml => yaml::parse(text)?,
    };
    Ok((format, inventory))
}

/// Reads and analyses an inventory: Ansible's view of it, counts, warnings and lint.
pub fn analyze(text: &str, format: Option<Format>) -> Result<Analysis, Malformed> {
    let (format, inventory) = read(text, format)?;
    let host_groups = inventory
        .host_group_lists()
        .map_err(|reason| Malformed { line: None, reason })?;
    if inventory.merged_weight(&host_groups) > hosts::MAX_VARIABLE_BYTES {
        return Err(Malformed {
            line: None,
            reason: hosts::too_much_variables(),
        });
    }
    let merged = inventory.merged_vars(&host_groups);
    let lint = lint::findings(&inventory, &host_groups, &merged);
    let listed = inventory.to_list_json(merged);
    if nesting(&listed) > MAX_LISTING_NESTING {
        return Err(Malformed {
            line: None,
            reason: format!(
                "the inventory's variables nest more than {} levels deep",
                MAX_LISTING_NESTING - LISTING_LEVELS
            ),
        });
    }
    let groups = listed
        .as_object()
        .map(|o| o.keys().filter(|k| *k != "_meta" && *k != "all").count())
        .unwrap_or(0);
    let mut warnings = Vec::new();
    for group in &inventory.groups {
        if inventory.host(&group.name).is_some() {
            warnings.push(format!(
                "Found both group and host with same name: {}",
                group.name
            ));
        }
    }
    Ok(Analysis {
        format,
        summary: Summary {
            hosts: inventory.hosts.len(),
            groups,
        },
        lint,
        inventory: listed,
        warnings,
    })
}

/// The use case behind `POST /api/v1/ansible/inventories/analyze`: any signed-in user may
/// analyse an inventory (nothing is stored; the text is never logged). The answer is the
/// analysis as JSON. The reading and the writing of the JSON run off the async workers (a big
/// fleet takes tens of milliseconds of CPU and megabytes of answer), two at a time at most.
pub async fn analyze_for(
    caller: &crate::Caller,
    text: String,
    format: Option<Format>,
) -> crate::ServiceResult<Result<Vec<u8>, Malformed>> {
    caller.may(
        domain::policy::Action::Read,
        &domain::policy::Object::none(),
        None,
    )?;
    match stored::off_thread(text, format, |analysis| serde_json::to_vec(&analysis)).await? {
        Ok(Ok(json)) => Ok(Ok(json)),
        Ok(Err(e)) => Err(crate::ServiceError::Internal(format!(
            "the analysis as JSON: {e}"
        ))),
        Err(malformed) => Ok(Err(malformed)),
    }
}
