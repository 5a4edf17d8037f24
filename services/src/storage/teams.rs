//! Teams: named groups of users. Changes are admin-only (checked by the caller) and audited.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{audit, now, on_db, reads, writes, Actor, Db, Tx};
use crate::{ServiceError, ServiceResult};

/// A team with its members' ids and usernames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub members: Vec<TeamMember>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamMember {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
}

#[derive(sqlx::FromRow)]
struct TeamRow {
    id: i64,
    name: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    team_id: i64,
    user_id: i64,
    username: String,
    display_name: String,
}

fn checked_name(name: &str) -> ServiceResult<&str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ServiceError::invalid("name", "must not be empty"));
    }
    if name.chars().count() > 80 {
        return Err(ServiceError::invalid(
            "name",
            "must be at most 80 characters",
        ));
    }
    Ok(name)
}

reads! {
    fn team(id: i64) -> Team;
    fn list_teams() -> Vec<Team>;
}

writes! {
    fn create_team(name: &str, actor: &Actor) -> Team;
    fn rename_team(id: i64, name: &str, actor: &Actor) -> Team;
    fn delete_team(id: i64, actor: &Actor) -> ();
    fn add_team_member(team_id: i64, user_id: i64, actor: &Actor) -> Team;
    fn remove_team_member(team_id: i64, user_id: i64, actor: &Actor) -> Team;
}

impl Tx {
    pub async fn create_team(&mut self, name: &str, actor: &Actor) -> ServiceResult<Team> {
        let name = checked_name(name)?;
        let at = now();
        let id: i64 = on_db!(self, c => {
            sqlx::query_scalar("INSERT INTO teams (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id")
                .bind(name)
                .bind(at)
                .fetch_one(&mut *c)
                .await
                .map_err(ServiceError::on_unique("name"))
        })?;
        audit::write(
            self,
            actor,
            "team.create",
            Some(("team", id)),
            &serde_json::json!({ "name": name }),
        )
        .await?;
        self.team(id).await
    }

    pub async fn rename_team(&mut self, id: i64, name: &str, actor: &Actor) -> ServiceResult<Team> {
        let name = checked_name(name)?;
        let changed = on_db!(self, c => {
            sqlx::query("UPDATE teams SET name = $1, updated_at = $2 WHERE id = $3")
                .bind(name)
                .bind(now())
                .bind(id)
                .execute(&mut *c)
                .await
                .map(|done| done.rows_affected())
                .map_err(ServiceError::on_unique("name"))
        })?;
        if changed == 0 {
            return Err(ServiceError::NotFound { what: "team" });
        }
        audit::write(
            self,
            actor,
            "team.update",
            Some(("team", id)),
            &serde_json::json!({ "name": name }),
        )
        .await?;
        self.team(id).await
    }

    pub async fn delete_team(&mut self, id: i64, actor: &Actor) -> ServiceResult<()> {
        let changed = on_db!(self, c => sqlx::query("DELETE FROM teams WHERE id = $1").bind(id).execute(&mut *c).await.map(|done| done.rows_affected()))?;
        if changed == 0 {
            return Err(ServiceError::NotFound { what: "team" });
        }
        audit::write(
            self,
            actor,
            "team.delete",
            Some(("team", id)),
            &serde_json::json!({}),
        )
        .await
    }

    /// Adds a member; adding someone already in the team changes nothing.
    pub async fn add_team_member(
        &mut self,
        team_id: i64,
        user_id: i64,
        actor: &Actor,
    ) -> ServiceResult<Team> {
        self.team(team_id).await?;
        self.user_by_id(user_id).await?;
        let added = on_db!(self, c => {
            sqlx::query(
                "INSERT INTO team_members (team_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(now())
            .execute(&mut *c)
            .await
            .map(|done| done.rows_affected())
        })?;
        if added > 0 {
            audit::write(
                self,
                actor,
                "team.member_add",
                Some(("team", team_id)),
                &serde_json::json!({ "user_id": user_id }),
            )
            .await?;
        }
        self.team(team_id).await
    }

    pub async fn remove_team_member(
        &mut self,
        team_id: i64,
        user_id: i64,
        actor: &Actor,
    ) -> ServiceResult<Team> {
        let removed = on_db!(self, c => {
            sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
                .bind(team_id)
                .bind(user_id)
                .execute(&mut *c)
                .await
                .map(|done| done.rows_affected())
        })?;
        if removed == 0 {
            return Err(ServiceError::NotFound {
                what: "team member",
            });
        }
        audit::write(
            self,
            actor,
            "team.member_remove",
            Some(("team", team_id)),
            &serde_json::json!({ "user_id": user_id }),
        )
        .await?;
        self.team(team_id).await
    }
}

impl Db {
    pub async fn team(&mut self, id: i64) -> ServiceResult<Team> {
        let row = on_db!(self, c => {
            sqlx::query_as::<_, TeamRow>("SELECT id, name, created_at, updated_at FROM teams WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await
        })?
        .ok_or(ServiceError::NotFound { what: "team" })?;
        let mut members = self.team_members(Some(id)).await?;
        Ok(Team {
            members: members.remove(&row.id).unwrap_or_default(),
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// Every team by name, with members.
    pub async fn list_teams(&mut self) -> ServiceResult<Vec<Team>> {
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, TeamRow>("SELECT id, name, created_at, updated_at FROM teams ORDER BY LOWER(name), id")
                .fetch_all(&mut *c)
                .await
        })?;
        let mut members = self.team_members(None).await?;
        Ok(rows
            .into_iter()
            .map(|row| Team {
                members: members.remove(&row.id).unwrap_or_default(),
                id: row.id,
                name: row.name,
                created_at: row.created_at,
                updated_at: row.updated_at,
            })
            .collect())
    }

    async fn team_members(
        &mut self,
        team_id: Option<i64>,
    ) -> ServiceResult<HashMap<i64, Vec<TeamMember>>> {
        let rows = on_db!(self, c => {
            sqlx::query_as::<_, MemberRow>(
                "SELECT m.team_id, u.id AS user_id, u.username, u.display_name FROM team_members m \
                 JOIN users u ON u.id = m.user_id WHERE ($1 IS NULL OR m.team_id = $1) ORDER BY u.username",
            )
            .bind(team_id)
            .fetch_all(&mut *c)
            .await
        })?;
        let mut by_team: HashMap<i64, Vec<TeamMember>> = HashMap::new();
        for row in rows {
            by_team.entry(row.team_id).or_default().push(TeamMember {
                user_id: row.user_id,
                username: row.username,
                display_name: row.display_name,
            });
        }
        Ok(by_team)
    }
}
