//! An inventory as Ansible's `InventoryData` holds it: groups with children, depth and priority,
//! hosts with their groups, and the variables of each; written out exactly as
//! `ansible-inventory --list` writes it.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{json, Map, Value};

/// A group: its direct hosts and child groups in the order they were added.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub vars: Map<String, Value>,
    pub children: Vec<usize>,
    pub parents: Vec<usize>,
    pub hosts: Vec<usize>,
    /// Distance from `all` along the longest path (Ansible merges shallow groups first).
    pub depth: u32,
    /// `ansible_group_priority` (default 1): among groups of one depth, higher wins.
    pub priority: i64,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub vars: Map<String, Value>,
    /// The groups the host was put in directly.
    pub groups: Vec<usize>,
}

/// Groups and hosts by index; `all` is 0 and `ungrouped` 1, as Ansible creates them.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub groups: Vec<Group>,
    pub hosts: Vec<Host>,
    group_index: HashMap<String, usize>,
    host_index: HashMap<String, usize>,
    /// (group, host) pairs, so that adding a host to a big group stays cheap.
    members: HashSet<(usize, usize)>,
    /// (parent, child) group pairs, for the same reason.
    edges: HashSet<(usize, usize)>,
    /// Groups visited by loop checks and depth updates so far (see [`MAX_GRAPH_WORK`]).
    work: usize,
    /// Each group's ancestors, computed once by [`Inventory::reconcile`].
    ancestors_of: Vec<Vec<usize>>,
}

/// Deeper than this, a group is refused: ansible-inventory itself fails near 1,000 levels
/// (Python's recursion limit), and the writing of the listing recurses once per level.
pub const MAX_GROUP_DEPTH: u32 = 1000;

/// The most group visits loop checks and depth updates may make: a hostile chain of groups
/// costs the square of its length; real inventories stay far below.
const MAX_GRAPH_WORK: usize = 50_000_000;

/// The most (host or group, inherited group) pairs an inventory may hold: a host at the bottom
/// of a deep chain belongs to every group above it.
const MAX_MEMBERSHIPS: usize = 20_000_000;

fn too_deep() -> String {
    format!("groups are nested more than {MAX_GROUP_DEPTH} deep")
}

fn too_tangled() -> String {
    "the groups' children form a graph too large to analyse (more than 50,000,000 steps)".into()
}

pub const ALL: usize = 0;
pub const UNGROUPED: usize = 1;

impl Default for Inventory {
    fn default() -> Self {
        let mut inventory = Inventory {
            groups: Vec::new(),
            hosts: Vec::new(),
            group_index: HashMap::new(),
            host_index: HashMap::new(),
            members: HashSet::new(),
            edges: HashSet::new(),
            work: 0,
            ancestors_of: Vec::new(),
        };
        inventory.add_group("all");
        inventory.add_group("ungrouped");
        // Infallible: two fresh groups cannot form a loop.
        let _ = inventory.add_child(ALL, UNGROUPED);
        inventory
    }
}

impl Inventory {
    pub fn group(&self, name: &str) -> Option<usize> {
        self.group_index.get(name).copied()
    }

    pub fn host(&self, name: &str) -> Option<usize> {
        self.host_index.get(name).copied()
    }

    /// The group named `name`, created when new.
    pub fn add_group(&mut self, name: &str) -> usize {
        if let Some(&index) = self.group_index.get(name) {
            return index;
        }
        let index = self.groups.len();
        self.groups.push(Group {
            name: name.to_owned(),
            vars: Map::new(),
            children: Vec::new(),
            parents: Vec::new(),
            hosts: Vec::new(),
            depth: 0,
            priority: 1,
        });
        self.group_index.insert(name.to_owned(), index);
        index
    }

    /// Adds `name` (created with `port` as `ansible_port` when new) to `group`.
    pub fn add_host(&mut self, name: &str, group: usize, port: Option<u16>) -> usize {
        let index = match self.host_index.get(name) {
            Some(&index) => index,
            None => {
                let index = self.hosts.len();
                let mut vars = Map::new();
                if let Some(port) = port {
                    vars.insert("ansible_port".into(), json!(port));
                }
                self.hosts.push(Host {
                    name: name.to_owned(),
                    vars,
                    groups: Vec::new(),
                });
                self.host_index.insert(name.to_owned(), index);
                index
            }
        };
        self.add_host_to(group, index);
        index
    }

    /// Sets a group's variable; `ansible_group_priority` sets its priority instead.
    pub fn set_group_var(&mut self, group: usize, key: String, value: Value) -> Result<(), String> {
        if key == "ansible_group_priority" {
            self.groups[group].priority = python_int(&value).ok_or_else(|| {
                format!("invalid literal for int(): {value} (ansible_group_priority)")
            })?;
            return Ok(());
        }
        self.groups[group].vars.insert(key, value);
        Ok(())
    }

    pub fn set_host_var(&mut self, host: usize, key: String, value: Value) {
        self.hosts[host].vars.insert(key, value);
    }

    /// Makes `child` a child group of `parent`, refusing loops as Ansible does.
    pub fn add_child(&mut self, parent: usize, child: usize) -> Result<(), String> {
        if parent == child {
            return Err(format!(
                "can't add group to itself ({})",
                self.groups[parent].name
            ));
        }
        if !self.edges.insert((parent, child)) {
            return Ok(());
        }
        // A loop only if `parent` is below `child`; a child without children has nothing below.
        if !self.groups[child].children.is_empty() {
            let above = self.ancestors(parent);
            self.spend(above.len())?;
            if above.contains(&child) {
                return Err(format!(
                    "Adding group '{}' as child to '{}' creates a recursive dependency loop.",
                    self.groups[child].name, self.groups[parent].name
                ));
            }
        }
        self.groups[parent].children.push(child);
        self.groups[child].parents.push(parent);
        let depth = self.groups[parent].depth + 1;
        self.deepen(child, depth)
    }

    fn spend(&mut self, steps: usize) -> Result<(), String> {
        self.work = self.work.saturating_add(steps);
        if self.work > MAX_GRAPH_WORK {
            return Err(too_tangled());
        }
        Ok(())
    }

    /// Raises `group`'s depth to at least `depth`, and its descendants' below it.
    fn deepen(&mut self, group: usize, depth: u32) -> Result<(), String> {
        let mut pending = vec![(group, depth)];
        while let Some((group, depth)) = pending.pop() {
            if self.groups[group].depth >= depth {
                continue;
            }
            if depth > MAX_GROUP_DEPTH {
                return Err(too_deep());
            }
            self.spend(1)?;
            self.groups[group].depth = depth;
            for &child in &self.groups[group].children {
                pending.push((child, depth + 1));
            }
        }
        Ok(())
    }

    /// Every group above `group`.
    pub fn ancestors(&self, group: usize) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut pending = self.groups[group].parents.clone();
        while let Some(parent) = pending.pop() {
            if seen.insert(parent) {
                pending.extend(self.groups[parent].parents.iter().copied());
            }
        }
        seen
    }

    /// Each group's ancestors, computed once: from its parents' (parents come first in depth
    /// order), so that a chain costs its length, not its square.
    fn ancestor_table(&self) -> Result<Vec<Vec<usize>>, String> {
        let mut order: Vec<usize> = (0..self.groups.len()).collect();
        order.sort_by_key(|&g| self.groups[g].depth);
        let mut table: Vec<Vec<usize>> = vec![Vec::new(); self.groups.len()];
        let mut total = 0usize;
        for group in order {
            let mut above: BTreeSet<usize> = BTreeSet::new();
            for &parent in &self.groups[group].parents {
                above.insert(parent);
                above.extend(table[parent].iter().copied());
            }
            total = total.saturating_add(above.len());
            if total > MAX_MEMBERSHIPS {
                return Err(too_tangled());
            }
            table[group] = above.into_iter().collect();
        }
        Ok(table)
    }

    /// Every group of each host (direct and inherited), sorted as Ansible merges them: by depth,
    /// then priority, then name.
    pub fn host_group_lists(&self) -> Result<Vec<Vec<usize>>, String> {
        let ancestors = &self.ancestors_of;
        let mut order: Vec<usize> = (0..self.groups.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&self.groups[a], &self.groups[b]);
            (a.depth, a.priority, &a.name).cmp(&(b.depth, b.priority, &b.name))
        });
        let mut rank = vec![0; self.groups.len()];
        for (position, &group) in order.iter().enumerate() {
            rank[group] = position;
        }
        let mut total = 0usize;
        let mut lists = Vec::with_capacity(self.hosts.len());
        for host in &self.hosts {
            let mut groups: Vec<usize> = host
                .groups
                .iter()
                .flat_map(|&g| std::iter::once(g).chain(ancestors[g].iter().copied()))
                .collect();
            groups.sort_by_key(|&g| rank[g]);
            groups.dedup();
            total = total.saturating_add(groups.len());
            if total > MAX_MEMBERSHIPS {
                return Err(too_tangled());
            }
            lists.push(groups);
        }
        Ok(lists)
    }

    /// About how many bytes each host's merged variables take together (each group's weighed
    /// once): checked before they are copied.
    pub fn merged_weight(&self, host_groups: &[Vec<usize>]) -> usize {
        let weigh = |vars: &Map<String, Value>| -> usize {
            vars.iter()
                .map(|(key, value)| key.len() + super::value_weight(value))
                .sum()
        };
        let group_weight: Vec<usize> = self.groups.iter().map(|g| weigh(&g.vars)).collect();
        self.hosts
            .iter()
            .zip(host_groups)
            .map(|(host, groups)| {
                groups
                    .iter()
                    .map(|&g| group_weight[g])
                    .sum::<usize>()
                    .saturating_add(weigh(&host.vars))
            })
            .fold(0usize, usize::saturating_add)
    }

    /// Ansible's `reconcile_inventory`: groups without a parent become children of `all`; hosts
    /// in no group but `all` go to `ungrouped`, and leave it once they are in another group.
    pub fn reconcile(&mut self) -> Result<(), String> {
        for group in 0..self.groups.len() {
            if group != ALL && self.groups[group].parents.is_empty() {
                self.add_child(ALL, group)?;
            }
        }
        self.ancestors_of = self.ancestor_table()?;
        let ancestors = &self.ancestors_of;
        let mut leaving = HashSet::new();
        let mut arriving = Vec::new();
        for host in 0..self.hosts.len() {
            let direct = &self.hosts[host].groups;
            let in_ungrouped = direct
                .iter()
                .any(|&g| g == UNGROUPED || ancestors[g].contains(&UNGROUPED));
            let elsewhere = direct.iter().any(|&g| {
                std::iter::once(g)
                    .chain(ancestors[g].iter().copied())
                    .any(|g| g != ALL && g != UNGROUPED)
            });
            if in_ungrouped && elsewhere {
                leaving.insert(host);
            } else if !in_ungrouped && !elsewhere {
                arriving.push(host);
            }
        }
        for &host in &leaving {
            self.hosts[host].groups.retain(|&g| g != UNGROUPED);
            self.members.remove(&(UNGROUPED, host));
        }
        if !leaving.is_empty() {
            self.groups[UNGROUPED]
                .hosts
                .retain(|h| !leaving.contains(h));
        }
        for host in arriving {
            self.add_host_to(UNGROUPED, host);
        }
        Ok(())
    }

    fn add_host_to(&mut self, group: usize, host: usize) {
        if self.members.insert((group, host)) {
            self.groups[group].hosts.push(host);
            self.hosts[host].groups.push(group);
        }
    }

    /// Each host's variables merged as Ansible merges them: its groups by depth, then priority,
    /// then name (each replacing what the one before set), then the host's own.
    pub fn merged_vars(&self, host_groups: &[Vec<usize>]) -> Vec<Map<String, Value>> {
        self.hosts
            .iter()
            .zip(host_groups)
            .map(|(host, groups)| {
                let mut vars = Map::new();
                for &group in groups {
                    for (key, value) in &self.groups[group].vars {
                        vars.insert(key.clone(), value.clone());
                    }
                }
                for (key, value) in &host.vars {
                    vars.insert(key.clone(), value.clone());
                }
                vars
            })
            .collect()
    }

    /// Exactly what `ansible-inventory -i FILE --list` prints for this inventory, given each
    /// host's merged variables.
    pub fn to_list_json(&self, merged: Vec<Map<String, Value>>) -> Value {
        let mut out = Map::new();
        let mut seen = vec![false; self.groups.len()];
        self.format_group(ALL, &mut out, &mut seen);
        let mut hostvars = Map::new();
        for (host, vars) in self.hosts.iter().zip(merged) {
            if !vars.is_empty() {
                hostvars.insert(host.name.clone(), Value::Object(vars));
            }
        }
        out.insert(
            "_meta".into(),
            json!({"hostvars": hostvars, "profile": "inventory_legacy"}),
        );
        Value::Object(out)
    }

    fn format_group(&self, group: usize, out: &mut Map<String, Value>, seen: &mut [bool]) {
        let mut entry = Map::new();
        if group != ALL {
            let hosts: Vec<Value> = self.groups[group]
                .hosts
                .iter()
                .map(|&h| Value::String(self.hosts[h].name.clone()))
                .collect();
            if !hosts.is_empty() {
                entry.insert("hosts".into(), Value::Array(hosts));
            }
        }
        let mut children = Vec::new();
        for &child in &self.groups[group].children {
            children.push(Value::String(self.groups[child].name.clone()));
            if !seen[child] {
                self.format_group(child, out, seen);
                seen[child] = true;
            }
        }
        if !children.is_empty() {
            entry.insert("children".into(), Value::Array(children));
        }
        if !entry.is_empty() {
            out.insert(self.groups[group].name.clone(), Value::Object(entry));
        }
    }
}

/// Python's `int(value)` for the values an inventory can hold.
fn python_int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::String(s) => s.trim().replace('_', "").parse().ok(),
        _ => None,
    }
}
