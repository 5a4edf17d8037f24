//! A project's Ansible inventories: the list on the project sheet (by environment), and the
//! inventory page — the tree of groups, the hosts with their merged variables, lint, versions
//! and what changed between two of them.

use domain::ansible::AnsibleInventory;
use leptos::prelude::*;

use crate::AppError;

/// A project's inventories, by environment then name.
#[server(prefix = "/sfn", endpoint = "inventories/list")]
pub async fn project_inventories(project_id: i64) -> Result<Vec<AnsibleInventory>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::ansible::stored::list(&hub, &caller, project_id).await?)
}
