//! Terraform plans as uHub shows them: the analysis of a `terraform show -json` document
//! (computed by the server, redacted), the plans stored for a project's workspaces, the
//! comparison of two plans and the lock of a workspace.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What replaces a sensitive value.
pub const SENSITIVE: &str = "(sensitive)";
/// What replaces a value Terraform knows only after the apply.
pub const UNKNOWN: &str = "(known after apply)";

/// Each resource change counted once, in one bucket (`import` and `move` are counted besides).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub replace: usize,
    pub read: usize,
    pub no_op: usize,
    #[serde(rename = "move")]
    pub moved: usize,
    pub import: usize,
    pub forget: usize,
}

impl Summary {
    /// Terraform's "Plan: X to add, Y to change, Z to destroy".
    pub fn terraform_line(&self) -> (usize, usize, usize) {
        (
            self.create + self.replace,
            self.update,
            self.delete + self.replace,
        )
    }
}

/// One attribute that changes (or is set, or removed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeChange {
    pub path: String,
    pub before: Value,
    pub after: Value,
    pub sensitive: bool,
    pub unknown: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceChange {
    pub address: String,
    pub module: Option<String>,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
    pub provider: Option<String>,
    pub actions: Vec<String>,
    pub action_reason: Option<String>,
    pub replace_paths: Vec<String>,
    pub risk: Vec<String>,
    pub changes: Vec<AttributeChange>,
    /// More attributes changed than are listed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub changes_truncated: bool,
    /// The address it had before a `moved` block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_address: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub importing: bool,
}

/// A change made outside Terraform since the last apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub address: String,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputChange {
    pub name: String,
    pub actions: Vec<String>,
    pub sensitive: bool,
}

/// What `POST /api/v1/terraform/plans/analyze` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanAnalysis {
    pub format_version: String,
    pub terraform_version: Option<String>,
    pub plan_sha256: String,
    pub summary: Summary,
    pub resources: Vec<ResourceChange>,
    pub drift: Vec<Drift>,
    pub outputs: Vec<OutputChange>,
    pub errored: bool,
}

/// What Terraform does to one resource, from its change's `actions`: each change is one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Create,
    Update,
    Delete,
    /// Destroyed and created, in either order.
    Replace,
    Read,
    NoOp,
    Forget,
}

impl ChangeKind {
    /// The kind of `actions` as Terraform writes them; `None` for a list it never writes.
    pub fn of(actions: &[String]) -> Option<ChangeKind> {
        let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
        Some(match actions.as_slice() {
            ["create"] => ChangeKind::Create,
            ["update"] => ChangeKind::Update,
            ["delete"] => ChangeKind::Delete,
            ["delete", "create"] | ["create", "delete"] => ChangeKind::Replace,
            ["read"] => ChangeKind::Read,
            ["no-op"] => ChangeKind::NoOp,
            ["forget"] => ChangeKind::Forget,
            // Terraform 1.10+: a resource created and then left out of the state.
            ["create", "forget"] => ChangeKind::Create,
            _ => return None,
        })
    }

    /// Its name in pages and styles (`no-op` as Terraform spells it).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Create => "create",
            ChangeKind::Update => "update",
            ChangeKind::Delete => "delete",
            ChangeKind::Replace => "replace",
            ChangeKind::Read => "read",
            ChangeKind::NoOp => "no-op",
            ChangeKind::Forget => "forget",
        }
    }
}

/// A plan kept for one of a project's workspaces: uploaded, or made by a plan run. Only the
/// redacted analysis is kept, with the digest of the document it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerraformPlan {
    pub id: i64,
    pub project_id: i64,
    /// The workspace the plan is for: plans of one name are the successive plans of one workspace.
    pub name: String,
    pub environment: Option<String>,
    pub job_id: Option<i64>,
    /// The plan run that made it (`null` for an uploaded plan).
    pub run_id: Option<i64>,
    /// SHA-256 (hex) of the `terraform show -json` document: what an approval approves.
    pub plan_sha256: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub summary: Summary,
    /// Resources flagged with a risk (destroy, replace, iam, database, dns, network…).
    pub risky: usize,
    /// The commit the plan was made at (plan runs from a repository).
    pub commit_sha: Option<String>,
    pub created_by: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// A newer plan exists for the workspace: this one may no longer be applied.
    pub superseded: bool,
    /// The analysis (resources, drift, outputs), in the answer for one plan only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub analysis: Option<PlanAnalysis>,
}

/// A resource whose actions differ between two plans of a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionChange {
    pub address: String,
    /// Its actions in the plan compared against (`null`: not in that plan).
    pub before: Option<Vec<String>>,
    /// Its actions in this plan (`null`: not in this plan).
    pub after: Option<Vec<String>>,
}

/// `GET /projects/{id}/terraform-plans/{plan}/diff?against=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanDiff {
    pub plan: i64,
    pub against: i64,
    pub changed: Vec<ActionChange>,
}

/// The resources whose actions differ from `against` to `plan`, by address.
pub fn diff_plans(plan: &PlanAnalysis, against: &PlanAnalysis) -> Vec<ActionChange> {
    use std::collections::BTreeMap;
    /// A resource's actions in `against`, then in `plan`.
    type Both<'a> = (Option<&'a Vec<String>>, Option<&'a Vec<String>>);
    let mut by_address: BTreeMap<&str, Both<'_>> = BTreeMap::new();
    for resource in &against.resources {
        by_address.entry(&resource.address).or_default().0 = Some(&resource.actions);
    }
    for resource in &plan.resources {
        by_address.entry(&resource.address).or_default().1 = Some(&resource.actions);
    }
    by_address
        .into_iter()
        .filter(|(_, (before, after))| before != after)
        .map(|(address, (before, after))| ActionChange {
            address: address.to_owned(),
            before: before.cloned(),
            after: after.cloned(),
        })
        .collect()
}

/// A workspace held by a plan or apply run until it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceLock {
    pub workspace: String,
    pub run_id: i64,
    pub locked_at: chrono::DateTime<chrono::Utc>,
}

/// One approval of a run: who, when, and for a Terraform apply the plan they saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    pub user_id: i64,
    pub username: Option<String>,
    pub plan_sha256: Option<String>,
    pub comment: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// `GET /runs/{id}/terraform`: the plan a plan run made, or the plan an apply run applies, with
/// the apply's approvals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunTerraform {
    pub operation: TerraformOperation,
    /// `null` while a plan run has not stored its plan yet.
    pub plan: Option<TerraformPlan>,
    /// Approvals of the plan now in force (others were voided by a new plan or commit).
    pub approvals: Vec<Approval>,
    /// How many distinct approvers the apply needs: two when the plan destroys or replaces.
    pub approvals_needed: usize,
}

/// What a `terraform` action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TerraformOperation {
    /// `init`, `plan -out`, `show -json`: the plan is stored, its file kept for the apply.
    Plan,
    /// `apply` of exactly the file a plan run saved.
    Apply,
}

/// Approvers an apply of `plan` needs: two distinct ones when it destroys or replaces anything.
pub fn approvals_needed(summary: &Summary) -> usize {
    if summary.delete + summary.replace > 0 {
        2
    } else {
        1
    }
}

/// A Terraform workspace name as Terraform accepts it (letters, digits, `-`, `_`), at most 90,
/// never read as an option (no leading `-`).
pub fn workspace_name_ok(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name.len() <= 90
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
