//! What usually goes wrong in an inventory, found before anything runs: a host in production
//! and elsewhere, one address under two names, two groups of one depth fighting over a
//! variable (the winner is decided by the groups' names), empty groups.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value};

use super::inventory::{Inventory, ALL, UNGROUPED};

/// A variable at one depth and priority: the groups setting it there tie.
type SetterKey<'a> = (&'a str, u32, i64);

/// One finding: a stable `rule`, a sentence, and what it is about.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// The words of a group's name (`prod-web` → `prod`, `web`).
fn words(name: &str) -> impl Iterator<Item = String> + '_ {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

fn is_production(name: &str) -> bool {
    words(name).any(|w| matches!(w.as_str(), "prod" | "production" | "prd" | "live"))
}

fn is_non_production(name: &str) -> bool {
    words(name).any(|w| {
        matches!(
            w.as_str(),
            "dev"
                | "development"
                | "staging"
                | "stage"
                | "stg"
                | "test"
                | "testing"
                | "qa"
                | "uat"
                | "preprod"
                | "sandbox"
                | "demo"
        )
    })
}

/// The findings, given each host's groups (inherited ones included) and merged variables.
pub fn findings(
    inventory: &Inventory,
    host_groups: &[Vec<usize>],
    merged: &[Map<String, Value>],
) -> Vec<Finding> {
    let mut found = Vec::new();
    let name = |g: usize| inventory.groups[g].name.clone();

    // A host both in production and not (each group's kind decided once).
    let production: Vec<bool> = inventory
        .groups
        .iter()
        .map(|g| is_production(&g.name))
        .collect();
    let non_production: Vec<bool> = inventory
        .groups
        .iter()
        .map(|g| is_non_production(&g.name))
        .collect();
    for (host, entry) in inventory.hosts.iter().enumerate() {
        let groups = &host_groups[host];
        if !groups.iter().any(|&g| production[g]) || !groups.iter().any(|&g| non_production[g]) {
            continue;
        }
        let prod: Vec<String> = groups
            .iter()
            .copied()
            .filter(|&g| production[g])
            .map(name)
            .collect();
        let other: Vec<String> = groups
            .iter()
            .copied()
            .filter(|&g| non_production[g])
            .map(name)
            .collect();
        found.push(Finding {
            rule: "production_and_non_production",
            message: format!(
                "{} is in the production group {} and in the non-production group {}",
                entry.name,
                prod.join(", "),
                other.join(", ")
            ),
            hosts: vec![entry.name.clone()],
            groups: prod.into_iter().chain(other).collect(),
        });
    }

    // One address, several names.
    let mut by_address: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (host, entry) in inventory.hosts.iter().enumerate() {
        let address = match merged[host].get("ansible_host") {
            Some(Value::String(address)) => address.clone(),
            Some(other) => other.to_string(),
            None => entry.name.clone(),
        };
        by_address
            .entry(address)
            .or_default()
            .push(entry.name.clone());
    }
    for (address, names) in by_address {
        if names.len() > 1 {
            found.push(Finding {
                rule: "one_address_two_names",
                message: format!("{} all connect to {address}", names.join(", ")),
                hosts: names,
                groups: Vec::new(),
            });
        }
    }

    // Two groups of one depth and priority giving a host's variable different values.
    let mut conflicts: BTreeMap<(String, Vec<String>), Vec<String>> = BTreeMap::new();
    // Hosts of one fleet share a few sets of groups: each set is weighed once.
    let mut weighed: BTreeMap<&[usize], Vec<(String, Vec<String>)>> = BTreeMap::new();
    for (host, entry) in inventory.hosts.iter().enumerate() {
        let groups = host_groups[host].as_slice();
        let disputes = weighed.entry(groups).or_insert_with(|| {
            let mut setters: BTreeMap<SetterKey, Vec<(usize, &Value)>> = BTreeMap::new();
            for &group in groups {
                let g = &inventory.groups[group];
                for (key, value) in &g.vars {
                    setters
                        .entry((key.as_str(), g.depth, g.priority))
                        .or_default()
                        .push((group, value));
                }
            }
            let mut disputes = Vec::new();
            for ((key, _, _), setters) in setters {
                let values: BTreeSet<String> = setters.iter().map(|(_, v)| v.to_string()).collect();
                if values.len() > 1 {
                    let mut names: Vec<String> = setters.iter().map(|&(g, _)| name(g)).collect();
                    names.sort();
                    disputes.push((key.to_owned(), names));
                }
            }
            disputes
        });
        for (key, names) in disputes.iter() {
            if !entry.vars.contains_key(key) {
                conflicts
                    .entry((key.clone(), names.clone()))
                    .or_default()
                    .push(entry.name.clone());
            }
        }
    }
    for ((key, groups), hosts) in conflicts {
        let winner = groups.last().cloned().unwrap_or_default();
        found.push(Finding {
            rule: "same_depth_conflict",
            message: format!(
                "groups {} set {key} differently at the same depth; {winner} wins only because of its name (set ansible_group_priority)",
                groups.join(", ")
            ),
            hosts,
            groups,
        });
    }

    // Empty groups.
    for (index, group) in inventory.groups.iter().enumerate() {
        if index != ALL && index != UNGROUPED && group.hosts.is_empty() && group.children.is_empty()
        {
            found.push(Finding {
                rule: "empty_group",
                message: format!("group {} has no hosts and no children", group.name),
                hosts: Vec::new(),
                groups: vec![group.name.clone()],
            });
        }
    }
    found
}
