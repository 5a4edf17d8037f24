//! Teams: named groups of users. Everyone reads them; admins change them.

use domain::policy::{Action, Object};
use tracing::instrument;

use crate::storage::Team;
use crate::{Caller, Hub, ServiceResult};

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn list(hub: &Hub, caller: &Caller) -> ServiceResult<Vec<Team>> {
    caller.may(Action::Read, &Object::none(), None)?;
    hub.storage.read().await?.list_teams().await
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, team.id = id))]
pub async fn get(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<Team> {
    caller.may(Action::Read, &Object::none(), None)?;
    hub.storage.read().await?.team(id).await
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id))]
pub async fn create(hub: &Hub, caller: &Caller, name: &str) -> ServiceResult<Team> {
    caller.may(Action::ManageTeams, &Object::none(), None)?;
    let mut tx = hub.storage.write().await?;
    let team = tx.create_team(name, &caller.actor()).await?;
    tx.commit().await?;
    Ok(team)
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, team.id = id))]
pub async fn rename(hub: &Hub, caller: &Caller, id: i64, name: &str) -> ServiceResult<Team> {
    caller.may(Action::ManageTeams, &Object::none(), None)?;
    let mut tx = hub.storage.write().await?;
    let team = tx.rename_team(id, name, &caller.actor()).await?;
    tx.commit().await?;
    Ok(team)
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, team.id = id))]
pub async fn delete(hub: &Hub, caller: &Caller, id: i64) -> ServiceResult<()> {
    caller.may(Action::ManageTeams, &Object::none(), None)?;
    let mut tx = hub.storage.write().await?;
    tx.delete_team(id, &caller.actor()).await?;
    tx.commit().await
}

/// Adds a member; adding someone already in the team changes nothing.
#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, team.id = team_id))]
pub async fn add_member(
    hub: &Hub,
    caller: &Caller,
    team_id: i64,
    user_id: i64,
) -> ServiceResult<Team> {
    caller.may(Action::ManageTeams, &Object::none(), None)?;
    let mut tx = hub.storage.write().await?;
    let team = tx
        .add_team_member(team_id, user_id, &caller.actor())
        .await?;
    tx.commit().await?;
    Ok(team)
}

#[instrument(skip_all, fields(user.id = caller.id(), request.id = %caller.request_id, team.id = team_id))]
pub async fn remove_member(
    hub: &Hub,
    caller: &Caller,
    team_id: i64,
    user_id: i64,
) -> ServiceResult<Team> {
    caller.may(Action::ManageTeams, &Object::none(), None)?;
    let mut tx = hub.storage.write().await?;
    let team = tx
        .remove_team_member(team_id, user_id, &caller.actor())
        .await?;
    tx.commit().await?;
    Ok(team)
}
