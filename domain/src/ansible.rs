//! Ansible as uHub shows it: a project's inventories (each a series of analysed versions), what
//! changed between two versions, and the structured results of a playbook run.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What replaces the value of a variable named like a secret in every answer.
pub const MASK: &str = "********";

/// Whether a variable's name says it holds a secret (`ansible_password`, `ansible_become_pass`,
/// `db_token`, `api_key`, `vault_secret`…): its value is never shown. Errs towards masking.
pub fn secret_like(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "pass",
        "secret",
        "token",
        "key",
        "credential",
        "private",
        "cert",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// Masks, in place, every value under a secret-like name at any depth of `value`: secrets are
/// often nested (`mysql_users: [{name, password}]`, `db: {auth: {token}}`). Whether it hid one.
fn mask_nested(value: &mut Value) -> bool {
    match value {
        Value::Object(fields) => mask_vars(fields),
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |hid, item| mask_nested(item) | hid),
        _ => false,
    }
}

/// Masks, in place, the variables of one host or group named like secrets, and the secrets
/// nested in the others. Whether it hid one.
fn mask_vars(vars: &mut serde_json::Map<String, Value>) -> bool {
    let mut hid = false;
    for (name, value) in vars.iter_mut() {
        if secret_like(name) {
            *value = Value::String(MASK.to_owned());
            hid = true;
        } else {
            hid |= mask_nested(value);
        }
    }
    hid
}

/// Masks, in place, the values of secret-like variables in `_meta.hostvars` and in each
/// group's `vars` of an `ansible-inventory --list` document, at any depth.
pub fn mask_listing(listing: &mut Value) {
    let Some(listing) = listing.as_object_mut() else {
        return;
    };
    for (name, entry) in listing.iter_mut() {
        let Some(entry) = entry.as_object_mut() else {
            continue;
        };
        if name == "_meta" {
            if let Some(hosts) = entry.get_mut("hostvars").and_then(Value::as_object_mut) {
                for vars in hosts.values_mut().filter_map(Value::as_object_mut) {
                    mask_vars(vars);
                }
            }
        } else if let Some(vars) = entry.get_mut("vars").and_then(Value::as_object_mut) {
            mask_vars(vars);
        }
    }
}

/// Where an inventory's text comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InventorySource {
    /// Given as text (`content`).
    Content,
    /// Read from a file of a repository link, at a ref (each version records the commit).
    Repository {
        repo: Option<i64>,
        #[serde(rename = "ref")]
        git_ref: Option<String>,
        path: String,
    },
}

/// How many hosts and groups a version has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryCounts {
    pub hosts: usize,
    pub groups: usize,
}

/// An inventory of a project, for one of its environments (or all of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnsibleInventory {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub environment: Option<String>,
    pub source: InventorySource,
    /// The latest version's number (the first is 1).
    pub version: i64,
    /// `ini` or `yaml`, of the latest version.
    pub format: String,
    /// Counts of the latest version.
    pub summary: InventoryCounts,
    /// Lint findings of the latest version.
    pub lint_count: usize,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One version of an inventory, without its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryVersion {
    pub version: i64,
    pub format: String,
    pub summary: InventoryCounts,
    /// The commit it was read from (inventories from a repository).
    pub commit_sha: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// An inventory with one version's analysis (secret-like values masked) and every version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryDetail {
    pub inventory: AnsibleInventory,
    /// The version `analysis` is of.
    pub shown_version: i64,
    /// As `POST /ansible/inventories/analyze` answers it (`inventory`, `summary`, `warnings`,
    /// `lint`), values of secret-like variables masked.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub analysis: Value,
    /// Newest first.
    pub versions: Vec<InventoryVersion>,
}

/// A variable of a host that two versions give different values (masked when secret-like).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariableChange {
    pub host: String,
    pub name: String,
    /// `null` when the variable is new.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub from: Option<Value>,
    /// `null` when the variable is gone.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub to: Option<Value>,
    /// The values are a secret's, or hold one: shown as (or with) `********`.
    pub masked: bool,
}

/// What changed from one version of an inventory to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryDiff {
    pub from: i64,
    pub to: i64,
    pub hosts_added: Vec<String>,
    pub hosts_removed: Vec<String>,
    pub groups_added: Vec<String>,
    pub groups_removed: Vec<String>,
    /// Hosts present in both versions whose merged variables differ, by host then name.
    pub variables_changed: Vec<VariableChange>,
}

/// The differences between two `ansible-inventory --list` documents.
pub fn diff_listings(
    from_version: i64,
    from: &Value,
    to_version: i64,
    to: &Value,
) -> InventoryDiff {
    let hostvars = |listing: &Value| -> BTreeMap<String, serde_json::Map<String, Value>> {
        listing
            .pointer("/_meta/hostvars")
            .and_then(Value::as_object)
            .map(|hosts| {
                hosts
                    .iter()
                    .map(|(h, v)| (h.clone(), v.as_object().cloned().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let groups = |listing: &Value| -> std::collections::BTreeSet<String> {
        listing
            .as_object()
            .map(|o| o.keys().filter(|k| *k != "_meta").cloned().collect())
            .unwrap_or_default()
    };
    let (before, after) = (hostvars(from), hostvars(to));
    let (groups_before, groups_after) = (groups(from), groups(to));
    let mut variables_changed = Vec::new();
    for (host, old) in &before {
        let Some(new) = after.get(host) else { continue };
        let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for name in names {
            let (a, b) = (old.get(name), new.get(name));
            if a == b {
                continue;
            }
            let whole = secret_like(name);
            // Also when only a secret nested in it was hidden.
            let mut masked = whole;
            let mut shown = |v: Option<&Value>| {
                v.map(|v| {
                    if whole {
                        Value::String(MASK.to_owned())
                    } else {
                        let mut shown = v.clone();
                        masked |= mask_nested(&mut shown);
                        shown
                    }
                })
            };
            let (from, to) = (shown(a), shown(b));
            variables_changed.push(VariableChange {
                host: host.clone(),
                name: name.clone(),
                from,
                to,
                masked,
            });
        }
    }
    InventoryDiff {
        from: from_version,
        to: to_version,
        hosts_added: after
            .keys()
            .filter(|h| !before.contains_key(*h))
            .cloned()
            .collect(),
        hosts_removed: before
            .keys()
            .filter(|h| !after.contains_key(*h))
            .cloned()
            .collect(),
        groups_added: groups_after.difference(&groups_before).cloned().collect(),
        groups_removed: groups_before.difference(&groups_after).cloned().collect(),
        variables_changed,
    }
}

/// A host's recap at the end of a playbook run (the `PLAY RECAP` line, as numbers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostRecap {
    pub ok: u32,
    pub changed: u32,
    pub failed: u32,
    pub unreachable: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

/// One host's result of one task. Under `no_log` neither `diff` nor `msg` is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskResult {
    /// `ok`, `changed`, `failed`, `unreachable`, `skipped` or `ignored`.
    pub status: String,
    pub changed: bool,
    pub diff: Option<String>,
    pub msg: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskResults {
    pub name: String,
    /// By host.
    pub results: BTreeMap<String, TaskResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlayResults {
    pub name: String,
    pub tasks: Vec<TaskResults>,
}

/// The structured results of a playbook run: `GET /api/v1/runs/{id}/ansible`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnsibleResults {
    /// The recap, by host.
    pub hosts: BTreeMap<String, HostRecap>,
    pub plays: Vec<PlayResults>,
    /// Whether the run was in check mode (what would change, nothing changed).
    #[serde(default)]
    pub check: bool,
    /// The check run an apply followed (`after_check`), with its results: predicted against
    /// actual changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_check: Option<i64>,
}

impl AnsibleResults {
    /// Passes every text Ansible wrote (names, messages, diffs) through `mask`: the run's
    /// secrets are masked here as in its log.
    pub fn mask_with(&mut self, mask: impl Fn(&str) -> String) {
        for play in &mut self.plays {
            play.name = mask(&play.name);
            for task in &mut play.tasks {
                task.name = mask(&task.name);
                for result in task.results.values_mut() {
                    result.msg = result.msg.as_deref().map(&mask);
                    result.diff = result.diff.as_deref().map(&mask);
                }
            }
        }
    }

    /// The first task that failed (not ignored, not rescued) and the hosts it failed on.
    pub fn first_failure(&self) -> Option<(String, Vec<String>, Option<String>)> {
        for play in &self.plays {
            for task in &play.tasks {
                let failed: Vec<(&String, &TaskResult)> = task
                    .results
                    .iter()
                    .filter(|(_, r)| r.status == "failed" || r.status == "unreachable")
                    .collect();
                if let Some((_, first)) = failed.first() {
                    return Some((
                        task.name.clone(),
                        failed.iter().map(|(h, _)| (*h).clone()).collect(),
                        first.msg.clone(),
                    ));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_secrets_are_recognised() {
        for name in [
            "ansible_password",
            "ansible_become_pass",
            "ansible_ssh_private_key_file",
            "DB_TOKEN",
            "api_key",
            "vault_secret",
        ] {
            assert!(secret_like(name), "{name}");
        }
        for name in ["ansible_host", "ansible_port", "http_port", "region"] {
            assert!(!secret_like(name), "{name}");
        }
    }

    #[test]
    fn a_diff_names_hosts_groups_and_variables_and_masks_secrets() {
        let from = serde_json::json!({
            "_meta": {"hostvars": {
                "web1": {"http_port": 80, "ansible_password": "old"},
                "db1": {}
            }},
            "all": {"children": ["ungrouped", "web"]},
            "web": {"hosts": ["web1"]},
        });
        let to = serde_json::json!({
            "_meta": {"hostvars": {
                "web1": {"http_port": 8080, "ansible_password": "new", "tier": "front"},
                "web2": {}
            }},
            "all": {"children": ["ungrouped", "web", "edge"]},
            "web": {"hosts": ["web1", "web2"]},
            "edge": {"hosts": ["web2"]},
        });
        let diff = diff_listings(1, &from, 2, &to);
        assert_eq!(diff.hosts_added, vec!["web2"]);
        assert_eq!(diff.hosts_removed, vec!["db1"]);
        assert_eq!(diff.groups_added, vec!["edge"]);
        assert!(diff.groups_removed.is_empty());
        let password = diff
            .variables_changed
            .iter()
            .find(|c| c.name == "ansible_password")
            .expect("the password changed");
        assert!(password.masked);
        assert_eq!(password.from, Some(Value::String(MASK.to_owned())));
        assert!(!serde_json::to_string(&diff)
            .unwrap_or_default()
            .contains("new"));
        let port = diff
            .variables_changed
            .iter()
            .find(|c| c.name == "http_port")
            .expect("the port changed");
        assert_eq!(port.to, Some(serde_json::json!(8080)));
        assert_eq!(diff.variables_changed.len(), 3);
    }

    /// Secrets are often nested: a list of accounts, a dictionary of settings. A value under a
    /// secret-like name is masked at any depth, in listings and in diffs.
    #[test]
    fn secrets_nested_in_variables_are_masked_at_any_depth() {
        let nested = |password: &str| {
            serde_json::json!({
                "mysql_users": [{"name": "app", "password": password}],
                "db": {"host": "db1", "auth": {"api_token": password}},
            })
        };
        let mut listing = serde_json::json!({
            "_meta": {"hostvars": {"h": nested("S3cr3t-host")}},
            "web": {"vars": nested("S3cr3t-group")},
        });
        mask_listing(&mut listing);
        let shown = listing.to_string();
        assert!(!shown.contains("S3cr3t"), "{shown}");
        assert_eq!(
            listing.pointer("/_meta/hostvars/h/mysql_users/0/name"),
            Some(&serde_json::json!("app")),
            "what is not a secret stays: {shown}"
        );
        assert_eq!(
            listing.pointer("/web/vars/db/host"),
            Some(&serde_json::json!("db1"))
        );
        let hosts = |vars: Value| serde_json::json!({"_meta": {"hostvars": {"h": vars}}});
        let diff = diff_listings(
            1,
            &hosts(nested("S3cr3t-old")),
            2,
            &hosts(nested("S3cr3t-new")),
        );
        let shown = serde_json::to_string(&diff).unwrap_or_default();
        assert!(!shown.contains("S3cr3t"), "{shown}");
        assert_eq!(diff.variables_changed.len(), 2, "{shown}");
        assert!(diff.variables_changed.iter().all(|change| change.masked));
    }

    #[test]
    fn listings_are_masked_in_hostvars_and_group_vars() {
        let mut listing = serde_json::json!({
            "_meta": {"hostvars": {"h": {"ansible_become_pass": "x", "port": 1}}},
            "web": {"vars": {"api_token": "y"}},
        });
        mask_listing(&mut listing);
        assert_eq!(
            listing.pointer("/_meta/hostvars/h/ansible_become_pass"),
            Some(&Value::String(MASK.to_owned()))
        );
        assert_eq!(
            listing.pointer("/_meta/hostvars/h/port"),
            Some(&serde_json::json!(1))
        );
        assert_eq!(
            listing.pointer("/web/vars/api_token"),
            Some(&Value::String(MASK.to_owned()))
        );
    }
}
