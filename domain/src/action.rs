//! A job's action: what a run of the job executes. Checked here, once, for the API and the UI;
//! the execution engine trusts only what passed [`JobAction::check`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a run does, by kind: a script for `local`, a container for `docker`, a call for `webhook`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum JobAction {
    /// A file inside the scripts directory, run with these arguments (argv, never a shell string).
    /// With `repo`, the file comes from that repository link of the project instead, at the
    /// commit `ref` names at launch (the run records it).
    Script {
        path: String,
        #[serde(default)]
        args: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        repo: Option<i64>,
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        git_ref: Option<String>,
    },
    /// An ephemeral container from a locally available image. With `repo`, the repository at the
    /// commit `ref` names at launch is mounted read-only at `/workspace` (its working directory).
    Container {
        image: String,
        #[serde(default)]
        command: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        repo: Option<i64>,
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        git_ref: Option<String>,
    },
    /// `ansible-playbook` (local backend): `playbook` from the scripts directory, or from the
    /// repository link `repo` at `ref`; against one of the project's inventories, at the version
    /// pinned at launch (`inventory_version`, filled in by the launch when absent).
    Ansible {
        playbook: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        repo: Option<i64>,
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        git_ref: Option<String>,
        inventory: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inventory_version: Option<i64>,
        /// `--limit`: a host pattern.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<String>,
        /// `--tags`, as a list or one comma-separated string.
        #[serde(
            default,
            deserialize_with = "words",
            skip_serializing_if = "Vec::is_empty"
        )]
        tags: Vec<String>,
        #[serde(
            default,
            deserialize_with = "words",
            skip_serializing_if = "Vec::is_empty"
        )]
        skip_tags: Vec<String>,
        /// Given to the playbook as a JSON file (`-e @file`), never on its command line.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        extra_vars: BTreeMap<String, serde_json::Value>,
        /// `--check`: report what would change, change nothing.
        #[serde(default)]
        check: bool,
        /// `--diff`: show what changes (or would) in files and templates.
        #[serde(default)]
        diff: bool,
        /// A cluster of the project the playbook reaches: `KUBECONFIG` (and
        /// `K8S_AUTH_KUBECONFIG`) name a 0600 file of the run's own with only its context.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cluster: Option<i64>,
    },
    /// Terraform (local backend) in `dir` of the scripts directory, or of the repository link
    /// `repo` at `ref`, in `workspace`: a `plan` run stores its plan and keeps the plan file; an
    /// `apply` run applies exactly the file of the plan run it names (`plan_run`, given at launch).
    Terraform {
        dir: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        repo: Option<i64>,
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        git_ref: Option<String>,
        /// Terraform's workspace (`default` when absent).
        #[serde(default = "default_workspace")]
        workspace: String,
        /// Input variables, given to Terraform as a variables file (never on its command line).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        vars: BTreeMap<String, serde_json::Value>,
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        operation: crate::terraform::TerraformOperation,
        /// The plan run an apply applies (pinned at launch from the launch's `plan_run`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plan_run: Option<i64>,
        /// A cluster of the project the configuration reaches: `KUBECONFIG` and
        /// `KUBE_CONFIG_PATH` (the kubernetes and helm providers) name a 0600 file of the run's
        /// own with only its context.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cluster: Option<i64>,
    },
    /// `kubectl` (local backend) against one of the project's clusters, whose environment must
    /// be the job's: `KUBECONFIG` is a 0600 file of the run's own holding only that cluster's
    /// context, removed when the run ends, and the cluster's namespace is forced.
    Kubectl { cluster: i64, args: Vec<String> },
    /// A signed call to the project's webhook target (CI pipelines: GitHub Actions, GitLab).
    Webhook {
        /// The Git ref a pipeline runs on, when the target is a CI system.
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        git_ref: Option<String>,
        #[serde(default)]
        inputs: BTreeMap<String, String>,
    },
}

impl JobAction {
    /// The repository link the action's files come from, and the ref to run (`None`: the
    /// link's default branch).
    pub fn repository(&self) -> Option<(i64, Option<&str>)> {
        match self {
            JobAction::Script { repo, git_ref, .. }
            | JobAction::Container { repo, git_ref, .. }
            | JobAction::Ansible { repo, git_ref, .. }
            | JobAction::Terraform { repo, git_ref, .. } => {
                repo.map(|repo| (repo, git_ref.as_deref()))
            }
            JobAction::Kubectl { .. } | JobAction::Webhook { .. } => None,
        }
    }
}

impl JobAction {
    /// The project cluster the action reaches, if any.
    pub fn cluster(&self) -> Option<i64> {
        match self {
            JobAction::Kubectl { cluster, .. } => Some(*cluster),
            JobAction::Ansible { cluster, .. } | JobAction::Terraform { cluster, .. } => *cluster,
            _ => None,
        }
    }
}

fn default_workspace() -> String {
    "default".to_owned()
}

/// Variable names as Terraform and Ansible take them: letters, digits and `_`, not starting
/// with a digit; at most 256 of them and 64 KiB in all.
fn check_variables(
    field: &'static str,
    vars: &BTreeMap<String, serde_json::Value>,
) -> Result<(), ActionProblem> {
    if vars.len() > MAX_ITEMS
        || vars.keys().any(|k| {
            k.is_empty()
                || k.len() > 128
                || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                || k.starts_with(|c: char| c.is_ascii_digit())
        })
    {
        return Err(problem(
            field,
            "variable names are letters, digits and _ (not starting with a digit)",
        ));
    }
    if serde_json::to_vec(vars).map_or(true, |j| j.len() > 64 * 1024) {
        return Err(problem(field, "at most 64 KiB of variables"));
    }
    Ok(())
}

/// Tags as a list, or as one comma-separated string (as `ansible-playbook --tags` takes them).
fn words<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Words {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Words::deserialize(deserializer)? {
        Words::One(text) => text
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect(),
        Words::Many(list) => list,
    })
}

/// A ref names one revision: a branch, a tag or a SHA; never an option nor a range.
pub fn plain_ref(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
        && !name.starts_with('-')
        && !name.contains("..")
}

fn check_source(repo: Option<i64>, git_ref: Option<&str>) -> Result<(), ActionProblem> {
    match (repo, git_ref) {
        (None, Some(_)) => Err(problem(
            "action.ref",
            "a ref needs a repository (`repo`: the id of a repository link)",
        )),
        (Some(id), _) if id <= 0 => Err(problem("action.repo", "must be a repository link's id")),
        (_, Some(name)) if !plain_ref(name) => Err(problem(
            "action.ref",
            "must be a branch, a tag or a commit SHA",
        )),
        _ => Ok(()),
    }
}

/// Where an action is wrong: the field (as the API names it) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionProblem {
    pub field: &'static str,
    pub message: String,
}

fn problem(field: &'static str, message: impl Into<String>) -> ActionProblem {
    ActionProblem {
        field,
        message: message.into(),
    }
}

/// Longest argument, path or image reference accepted; anything longer is a mistake.
const MAX_TEXT: usize = 4096;
const MAX_ITEMS: usize = 256;

impl JobAction {
    /// Refuses what could never run safely: a script path that leaves the scripts directory, an
    /// empty image, NUL bytes (they would cut an argv string), absurd sizes.
    pub fn check(&self) -> Result<(), ActionProblem> {
        if self.cluster().is_some_and(|id| id <= 0) {
            return Err(problem("action.cluster", "must be a cluster's id"));
        }
        match self {
            JobAction::Script {
                path,
                args,
                repo,
                git_ref,
            } => {
                check_relative_path(path).map_err(|why| problem("action.path", why))?;
                check_list(args).map_err(|why| problem("action.args", why))?;
                check_source(*repo, git_ref.as_deref())
            }
            JobAction::Container {
                image,
                command,
                repo,
                git_ref,
            } => {
                check_source(*repo, git_ref.as_deref())?;
                let image = image.trim();
                if image.is_empty() || image.len() > MAX_TEXT || image.contains(char::is_whitespace)
                {
                    return Err(problem(
                        "action.image",
                        "an image reference is one word, such as busybox:1.36",
                    ));
                }
                check_list(command).map_err(|why| problem("action.command", why))
            }
            JobAction::Ansible {
                playbook,
                repo,
                git_ref,
                inventory,
                inventory_version,
                limit,
                tags,
                skip_tags,
                extra_vars,
                ..
            } => {
                check_relative_path(playbook).map_err(|why| problem("action.playbook", why))?;
                check_source(*repo, git_ref.as_deref())?;
                if *inventory <= 0 {
                    return Err(problem("action.inventory", "must be an inventory's id"));
                }
                if inventory_version.is_some_and(|v| v <= 0) {
                    return Err(problem(
                        "action.inventory_version",
                        "must be a version number",
                    ));
                }
                if let Some(limit) = limit {
                    if limit.trim().is_empty() || !ansible_word(limit) {
                        return Err(problem(
                            "action.limit",
                            "must be a host pattern (no spaces, not starting with -)",
                        ));
                    }
                }
                for (field, list) in [("action.tags", tags), ("action.skip_tags", skip_tags)] {
                    check_list(list).map_err(|why| problem(field, why))?;
                    if list.iter().any(|t| !ansible_word(t) || t.contains(',')) {
                        return Err(problem(field, "each tag is one word"));
                    }
                }
                check_variables("action.extra_vars", extra_vars)
            }
            JobAction::Terraform {
                dir,
                repo,
                git_ref,
                workspace,
                vars,
                operation: _,
                plan_run,
                cluster: _,
            } => {
                if dir != "." {
                    check_relative_path(dir).map_err(|why| problem("action.dir", why))?;
                }
                check_source(*repo, git_ref.as_deref())?;
                if !crate::terraform::workspace_name_ok(workspace) {
                    return Err(problem(
                        "action.workspace",
                        "a workspace name is letters, digits, - and _ (at most 90, not starting with -)",
                    ));
                }
                if plan_run.is_some_and(|id| id <= 0) {
                    return Err(problem("action.plan_run", "must be a plan run's id"));
                }
                check_variables("action.vars", vars)
            }
            JobAction::Kubectl { cluster: _, args } => {
                if args.is_empty() {
                    return Err(problem(
                        "action.args",
                        "give kubectl's arguments, e.g. [\"get\", \"pods\"]",
                    ));
                }
                check_list(args).map_err(|why| problem("action.args", why))?;
                // After `--` come the words of a command run in a container (`exec`): not kubectl's.
                if let Some(why) = args
                    .iter()
                    .take_while(|arg| *arg != "--")
                    .find_map(|arg| kubectl_refusal(arg))
                {
                    return Err(problem("action.args", why));
                }
                if matches!(args.first().map(String::as_str), Some("config" | "plugin")) {
                    return Err(problem(
                        "action.args",
                        "`kubectl config` and `kubectl plugin` are refused: uHub manages the kubeconfig",
                    ));
                }
                Ok(())
            }
            JobAction::Webhook { git_ref, inputs } => {
                if let Some(git_ref) = git_ref {
                    if git_ref.trim().is_empty() || git_ref.len() > MAX_TEXT {
                        return Err(problem("action.ref", "must be a branch or tag name"));
                    }
                }
                if inputs.len() > MAX_ITEMS
                    || inputs
                        .iter()
                        .any(|(k, v)| k.is_empty() || k.len() > MAX_TEXT || v.len() > MAX_TEXT)
                {
                    return Err(problem("action.inputs", "too many or too long inputs"));
                }
                Ok(())
            }
        }
    }
}

/// kubectl's options that would leave the cluster's context, namespace or credentials: the
/// kubeconfig and namespace are uHub's to give.
const KUBECTL_FORBIDDEN: [&str; 20] = [
    "--namespace",
    "--all-namespaces",
    "--kubeconfig",
    "--context",
    "--cluster",
    "--user",
    "--server",
    "--token",
    "--as",
    "--as-group",
    "--as-uid",
    "--username",
    "--password",
    "--client-certificate",
    "--client-key",
    "--certificate-authority",
    "--insecure-skip-tls-verify",
    "--tls-server-name",
    "--cache-dir",
    "--raw",
];

/// Why a kubectl argument is refused, if it is: a forbidden long option (also as `--x=y`), or
/// a group of short options holding `-n` (namespace), `-A` (all namespaces) or `-s` (server).
fn kubectl_refusal(arg: &str) -> Option<String> {
    if let Some(long) = arg.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or(long);
        return KUBECTL_FORBIDDEN
            .iter()
            .any(|forbidden| forbidden[2..] == *name)
            .then(|| format!("`--{name}` is refused: the cluster, its namespace and credentials are uHub's to give"));
    }
    let shorts = arg.strip_prefix('-')?;
    if shorts.is_empty() {
        return None;
    }
    let flags = shorts.split('=').next().unwrap_or(shorts);
    flags
        .chars()
        .find(|c| matches!(c, 'n' | 'A' | 's'))
        .map(|c| format!("`-{c}` (in `{arg}`) is refused: the namespace and server are uHub's to give; write value flags apart (`-o name`)"))
}

/// One word of an `ansible-playbook` option: never an option itself, no spaces or NUL.
fn ansible_word(word: &str) -> bool {
    !word.is_empty()
        && word.len() <= MAX_TEXT
        && !word.starts_with('-')
        && !word.contains(|c: char| c.is_whitespace() || c.is_control())
}

/// A path relative to the scripts directory that cannot climb out of it.
pub fn check_relative_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() || path.len() > MAX_TEXT {
        return Err("must name a file in the scripts directory");
    }
    if path.contains('\0') {
        return Err("must not contain a NUL byte");
    }
    if path.starts_with('/') || path.starts_with('\\') || path.contains(':') {
        return Err("must be relative to the scripts directory");
    }
    if path
        .split(['/', '\\'])
        .any(|part| part == ".." || part.is_empty())
    {
        return Err("must stay inside the scripts directory (no `..`, no empty parts)");
    }
    Ok(())
}

fn check_list(items: &[String]) -> Result<(), &'static str> {
    if items.len() > MAX_ITEMS {
        return Err("too many items");
    }
    if items.iter().any(|a| a.contains('\0') || a.len() > MAX_TEXT) {
        return Err("an item contains a NUL byte or is too long");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_stays_in_its_cluster_and_namespace() {
        let kubectl = |args: &[&str]| JobAction::Kubectl {
            cluster: 3,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
        };
        for allowed in [
            &["get", "pods", "-o", "name"][..],
            &["rollout", "restart", "deployment/web"],
            &["exec", "-it", "web-1", "--", "sh", "-c", "ls -n /"],
            &["logs", "--tail=20", "web-1"],
        ] {
            assert!(kubectl(allowed).check().is_ok(), "{allowed:?}");
        }
        for refused in [
            &["get", "pods", "-n", "kube-system"][..],
            &["get", "pods", "--namespace=kube-system"],
            &["get", "pods", "-A"],
            &["get", "secrets", "--all-namespaces"],
            &["--kubeconfig", "/root/.kube/config", "get", "pods"],
            &["get", "pods", "--context=admin"],
            &["get", "pods", "-s", "https://other:6443"],
            &["get", "pods", "-nkube-system"],
            &["get", "pods", "--token=abc"],
            &["config", "view"],
            &[],
        ] {
            assert!(kubectl(refused).check().is_err(), "{refused:?}");
        }
        assert!(JobAction::Kubectl {
            cluster: 0,
            args: vec!["get".into()]
        }
        .check()
        .is_err());
    }

    #[test]
    fn script_paths_stay_inside_the_scripts_directory() {
        for good in ["deploy.sh", "ops/rotate-logs.sh", "a.b/c"] {
            assert_eq!(check_relative_path(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x.sh",
            "ops/../../x",
            "a//b",
            "C:\\x",
            "\\\\host\\share",
            "x\0y",
        ] {
            assert!(check_relative_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn actions_are_read_by_kind_and_refuse_unknown_fields() {
        let action: Result<JobAction, _> = serde_json::from_str(
            r#"{"kind": "script", "path": "deploy.sh", "args": ["--dry-run"]}"#,
        );
        assert_eq!(
            action.ok(),
            Some(JobAction::Script {
                path: "deploy.sh".to_owned(),
                args: vec!["--dry-run".to_owned()],
                repo: None,
                git_ref: None,
            })
        );
        assert!(
            serde_json::from_str::<JobAction>(r#"{"kind": "shell", "cmd": "rm -rf /"}"#).is_err()
        );
        assert!(serde_json::from_str::<JobAction>(
            r#"{"kind": "script", "path": "a", "shell": true}"#
        )
        .is_err());
        let webhook: Result<JobAction, _> =
            serde_json::from_str(r#"{"kind": "webhook", "ref": "main", "inputs": {"tag": "v1"}}"#);
        assert!(webhook.is_ok_and(|w| w.check().is_ok()));
    }

    #[test]
    fn a_repository_action_names_one_revision() {
        let from_repo: JobAction = serde_json::from_str(
            r#"{"kind": "script", "repo": 3, "ref": "main", "path": "deploy/run.sh"}"#,
        )
        .expect("a repository script");
        assert_eq!(from_repo.check(), Ok(()));
        assert_eq!(from_repo.repository(), Some((3, Some("main"))));
        // Without a repository, nothing changes in what is stored (digests stay the same).
        let plain = JobAction::Script {
            path: "a.sh".to_owned(),
            args: vec![],
            repo: None,
            git_ref: None,
        };
        assert_eq!(
            serde_json::to_string(&plain).ok().as_deref(),
            Some(r#"{"kind":"script","path":"a.sh","args":[]}"#)
        );
        for (json, field) in [
            (
                r#"{"kind": "script", "ref": "main", "path": "a"}"#,
                "action.ref",
            ),
            (
                r#"{"kind": "script", "repo": 1, "ref": "--upload-pack=x", "path": "a"}"#,
                "action.ref",
            ),
            (
                r#"{"kind": "script", "repo": 1, "ref": "main..dev", "path": "a"}"#,
                "action.ref",
            ),
            (
                r#"{"kind": "container", "repo": 0, "image": "x"}"#,
                "action.repo",
            ),
        ] {
            let action: JobAction = serde_json::from_str(json).expect("parses");
            assert_eq!(action.check().map_err(|p| p.field), Err(field), "{json}");
        }
    }

    #[test]
    fn terraform_actions_name_a_directory_a_workspace_and_variables() {
        let action: JobAction = serde_json::from_str(
            r#"{"kind": "terraform", "dir": "infra/dns", "repo": 2, "ref": "main", "vars": {"size": 2}, "operation": "plan"}"#,
        )
        .expect("a terraform action");
        assert_eq!(action.check(), Ok(()));
        assert!(
            matches!(&action, JobAction::Terraform { workspace, .. } if workspace == "default")
        );
        for (json, field) in [
            (
                r#"{"kind": "terraform", "dir": "../x", "operation": "plan"}"#,
                "action.dir",
            ),
            (
                r#"{"kind": "terraform", "dir": "/etc", "operation": "apply"}"#,
                "action.dir",
            ),
            (
                r#"{"kind": "terraform", "dir": ".", "workspace": "-or-create", "operation": "plan"}"#,
                "action.workspace",
            ),
            (
                r#"{"kind": "terraform", "dir": ".", "vars": {"a b": 1}, "operation": "plan"}"#,
                "action.vars",
            ),
            (
                r#"{"kind": "terraform", "dir": ".", "plan_run": 0, "operation": "apply"}"#,
                "action.plan_run",
            ),
        ] {
            let action: JobAction = serde_json::from_str(json).expect("parses");
            assert_eq!(action.check().map_err(|p| p.field), Err(field), "{json}");
        }
        assert!(serde_json::from_str::<JobAction>(
            r#"{"kind": "terraform", "dir": ".", "operation": "destroy"}"#
        )
        .is_err());
    }

    #[test]
    fn ansible_actions_take_words_not_options() {
        let action: JobAction = serde_json::from_str(
            r#"{"kind": "ansible", "playbook": "site.yml", "repo": 2, "ref": "main", "inventory": 4,
                "limit": "web*", "tags": "deploy, config", "extra_vars": {"greeting": "hi"}, "check": true, "diff": true}"#,
        )
        .expect("an ansible action");
        assert_eq!(action.check(), Ok(()));
        assert!(
            matches!(&action, JobAction::Ansible { tags, .. } if tags == &["deploy", "config"])
        );
        for (json, field) in [
            (
                r#"{"kind": "ansible", "playbook": "../x.yml", "inventory": 1}"#,
                "action.playbook",
            ),
            (
                r#"{"kind": "ansible", "playbook": "x.yml", "inventory": 0}"#,
                "action.inventory",
            ),
            (
                r#"{"kind": "ansible", "playbook": "x.yml", "inventory": 1, "limit": "--become"}"#,
                "action.limit",
            ),
            (
                r#"{"kind": "ansible", "playbook": "x.yml", "inventory": 1, "limit": "a b"}"#,
                "action.limit",
            ),
            (
                r#"{"kind": "ansible", "playbook": "x.yml", "inventory": 1, "tags": ["-x"]}"#,
                "action.tags",
            ),
            (
                r#"{"kind": "ansible", "playbook": "x.yml", "inventory": 1, "extra_vars": {"a-b": 1}}"#,
                "action.extra_vars",
            ),
        ] {
            let action: JobAction = serde_json::from_str(json).expect("parses");
            assert_eq!(action.check().map_err(|p| p.field), Err(field), "{json}");
        }
    }

    #[test]
    fn containers_need_an_image() {
        let blank = JobAction::Container {
            image: " ".to_owned(),
            command: vec![],
            repo: None,
            git_ref: None,
        };
        assert_eq!(blank.check().map_err(|p| p.field), Err("action.image"));
    }
}
