//! The people of the team as everyone may see them (id, name, role): the choices of a job's
//! owner, a backlog item's assignee, a team's members.

use domain::Role;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AppError;

/// Someone a job may be given to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
}

/// The active accounts, for choosing a job's owner.
#[server(prefix = "/sfn", endpoint = "people")]
pub async fn people() -> Result<Vec<Person>, AppError> {
    let (hub, caller) = crate::server::use_case()?;
    Ok(services::users::directory(&hub, &caller)
        .await?
        .into_iter()
        .map(|p| Person {
            id: p.id,
            username: p.username,
            display_name: p.display_name,
            role: p.role,
        })
        .collect())
}
