//! `terraform` actions on the local backend. A plan run does `init`, `plan -out`, then
//! `show -json` of the saved plan (read by uHub, never logged: it holds sensitive values in
//! clear) and keeps the plan file as its artifact; an apply run applies exactly the file of the
//! plan run it names. Each (project, workspace) has a working directory of its own under
//! `<data dir>/terraform`, where Terraform's local state stays between runs; the code is copied
//! in afresh for each run.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use domain::terraform::TerraformOperation;
use domain::RunStatus;

use super::local::{self, RunAs};
use super::output::LogSender;
use super::{CancelSignal, Outcome, WorkDir};

/// What a Terraform run needs.
pub struct TerraformRun<'a> {
    /// `UHUB_TERRAFORM`, else `terraform` found on uHub's PATH.
    pub terraform: Option<&'a Path>,
    pub scripts_dir: &'a Path,
    /// The repository's commit, checked out, for a configuration from a repository.
    pub checkout: Option<&'a Path>,
    pub dir: &'a str,
    pub workspace: &'a str,
    pub vars: &'a BTreeMap<String, serde_json::Value>,
    pub operation: TerraformOperation,
    /// The (project, workspace)'s own directory: state between runs.
    pub workspace_dir: PathBuf,
    /// The saved plan: written by a plan run, applied by an apply run.
    pub plan_file: PathBuf,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub run_as: Option<&'a RunAs>,
}

/// The most of `terraform show -json` uHub reads (as `POST /terraform/plans/analyze`).
const MAX_SHOW_BYTES: usize = crate::terraform::MAX_PLAN_BYTES;

/// What Terraform leaves in its working directory that must survive the next run's fresh copy
/// of the code: local state (per workspace) and the providers `init` installed.
const KEPT: [&str; 4] = [
    "terraform.tfstate",
    "terraform.tfstate.backup",
    "terraform.tfstate.d",
    ".terraform",
];

/// `terraform`: the configured path, else the first on uHub's PATH.
pub fn find_terraform(configured: Option<&Path>) -> Result<PathBuf, String> {
    local::find_program(configured, "terraform", "UHUB_TERRAFORM", "Terraform")
}

/// Runs the operation; for a plan, the `terraform show -json` document of the saved plan too.
pub async fn run(
    spec: TerraformRun<'_>,
    log: &LogSender,
    cancel: &CancelSignal,
    on_start: impl Fn(u32),
) -> (Outcome, Option<Vec<u8>>) {
    match run_steps(&spec, log, cancel, &on_start).await {
        Ok(outcome) => outcome,
        Err(reason) => (Outcome::failed(reason), None),
    }
}

async fn run_steps(
    spec: &TerraformRun<'_>,
    log: &LogSender,
    cancel: &CancelSignal,
    on_start: &impl Fn(u32),
) -> Result<(Outcome, Option<Vec<u8>>), String> {
    let program = find_terraform(spec.terraform)?;
    let source = configuration_dir(spec.checkout.unwrap_or(spec.scripts_dir), spec.dir)?;
    if spec.operation == TerraformOperation::Apply && !spec.plan_file.is_file() {
        return Err(
            "the plan run's saved plan file is gone (uHub's data directory was changed): plan again"
                .to_owned(),
        );
    }
    let work = spec.workspace_dir.join("work");
    refresh(&source, &work).map_err(|e| format!("cannot prepare the working directory: {e}"))?;
    let home = WorkDir::create().map_err(|e| format!("cannot create the run's directory: {e}"))?;
    // No CLI configuration of the host's user: an empty one of the run's own.
    let cli_config = home.path().join("terraformrc");
    local::write_private(&cli_config, b"")?;
    let mut env = spec.env.clone();
    env.extend([
        ("TF_IN_AUTOMATION".to_owned(), "1".to_owned()),
        // No call home to HashiCorp's checkpoint service (version and security bulletins):
        // uHub's hosts may have no way out, and a run must not wait on one.
        ("CHECKPOINT_DISABLE".to_owned(), "1".to_owned()),
        ("TF_INPUT".to_owned(), "0".to_owned()),
        (
            "TF_CLI_CONFIG_FILE".to_owned(),
            cli_config.display().to_string(),
        ),
    ]);
    if let Some(user) = spec.run_as {
        local::give_to(user, &[home.path(), &cli_config])?;
        give_tree(user, &spec.workspace_dir)?;
        if let Some(plans) = spec.plan_file.parent() {
            local::give_to(user, &[plans])?;
        }
    }
    let step = |args: Vec<OsString>, name: &'static str| local::ProgramRun {
        program: &program,
        name,
        args,
        env: env.clone(),
        timeout: spec.timeout,
        run_as: spec.run_as,
        home: home.path(),
        cwd: &work,
    };
    let words = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
    let mut steps = vec![(
        words(&["init", "-input=false", "-no-color"]),
        "terraform init",
    )];
    if spec.workspace != "default" {
        steps.push((
            words(&[
                "workspace",
                "select",
                "-or-create=true",
                "-no-color",
                spec.workspace,
            ]),
            "terraform workspace select",
        ));
    }
    match spec.operation {
        TerraformOperation::Plan => {
            let mut plan = words(&["plan", "-input=false", "-no-color"]);
            plan.push(OsString::from(format!("-out={}", spec.plan_file.display())));
            if !spec.vars.is_empty() {
                // Variables in a file of the run's own (0600), never on the command line.
                let vars_file = home.path().join("uhub.tfvars.json");
                let text = serde_json::to_vec(spec.vars)
                    .map_err(|e| format!("cannot write the variables: {e}"))?;
                local::write_private(&vars_file, &text)?;
                if let Some(user) = spec.run_as {
                    local::give_to(user, &[&vars_file])?;
                }
                plan.push(OsString::from(format!("-var-file={}", vars_file.display())));
            }
            steps.push((plan, "terraform plan"));
        }
        TerraformOperation::Apply => {
            let mut apply = words(&["apply", "-input=false", "-no-color"]);
            apply.push(spec.plan_file.clone().into_os_string());
            steps.push((apply, "terraform apply"));
        }
    }
    let deadline = tokio::time::Instant::now() + spec.timeout;
    let mut last = None;
    for (args, name) in steps {
        let mut program_run = step(args, name);
        program_run.timeout = deadline.saturating_duration_since(tokio::time::Instant::now());
        let outcome = local::run_program(program_run, log, cancel, on_start).await;
        let failed = outcome.status != RunStatus::Success;
        last = Some(outcome);
        if failed {
            break;
        }
    }
    // The variables go now, not only with the run's directory: `show` does not read them.
    let _ = std::fs::remove_file(home.path().join("uhub.tfvars.json"));
    // `init` always runs: there is a last outcome.
    let outcome = last.unwrap_or_else(|| Outcome::failed("no Terraform step ran".to_owned()));
    if outcome.status != RunStatus::Success || spec.operation == TerraformOperation::Apply {
        return Ok((outcome, None));
    }
    let mut show = words(&["show", "-json", "-no-color"]);
    show.push(spec.plan_file.clone().into_os_string());
    let document = capture(
        &program,
        show,
        &env,
        home.path(),
        &work,
        deadline.saturating_duration_since(tokio::time::Instant::now()),
        spec.run_as,
    )
    .await?;
    Ok((outcome, Some(document)))
}

/// The configuration's directory, inside `root` (no way out through `..` or a link).
fn configuration_dir(root: &Path, dir: &str) -> Result<PathBuf, String> {
    let root = root
        .canonicalize()
        .map_err(|e| format!("cannot read {}: {e}", root.display()))?;
    let wanted = if dir == "." {
        root.clone()
    } else {
        root.join(dir)
    };
    let found = wanted
        .canonicalize()
        .map_err(|_| format!("the directory `{dir}` does not exist"))?;
    if !found.starts_with(&root) {
        return Err(format!("the directory `{dir}` leads out of its root"));
    }
    if !found.is_dir() {
        return Err(format!("`{dir}` is not a directory"));
    }
    Ok(found)
}

/// Empties `work` but for Terraform's state and providers, then copies the configuration in
/// (regular files and directories only: a link could bring in a file of the uHub host).
fn refresh(source: &Path, work: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(work)?;
    for entry in std::fs::read_dir(work)? {
        let entry = entry?;
        let name = entry.file_name();
        if KEPT.iter().any(|kept| name == *kept) {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    copy_tree(source, work, 0)
}

fn copy_tree(from: &Path, to: &Path, depth: usize) -> std::io::Result<()> {
    if depth > 32 {
        return Ok(());
    }
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".git" || (depth == 0 && KEPT.iter().any(|kept| name == *kept)) {
            continue;
        }
        let kind = entry.file_type()?;
        let target = to.join(&name);
        if kind.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target, depth + 1)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Gives the workspace's directory, and everything in it, to the account runs run as.
fn give_tree(user: &RunAs, dir: &Path) -> Result<(), String> {
    local::give_to(user, &[dir])?;
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => give_tree(user, &path)?,
            Ok(kind) if kind.is_file() => local::give_to(user, &[&path])?,
            _ => {}
        }
    }
    Ok(())
}

/// Runs `terraform show -json`, its output kept by uHub (never logged), at most 32 MiB.
async fn capture(
    program: &Path,
    args: Vec<OsString>,
    env: &[(String, String)],
    home: &Path,
    cwd: &Path,
    timeout: Duration,
    run_as: Option<&RunAs>,
) -> Result<Vec<u8>, String> {
    use tokio::io::AsyncReadExt;
    let mut command = tokio::process::Command::new(program);
    if let Some(user) = run_as {
        command.uid(user.uid).gid(user.gid);
    }
    command
        .args(&args)
        .env_clear()
        .envs(local::base_environment(home))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start `terraform show`: {e}"))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| "`terraform show` has no output".to_owned())?;
    let read = async {
        let mut document = Vec::new();
        (&mut stdout)
            .take(MAX_SHOW_BYTES as u64 + 1)
            .read_to_end(&mut document)
            .await
            .map_err(|e| format!("cannot read `terraform show`: {e}"))?;
        let status = child
            .wait()
            .await
            .map_err(|e| format!("cannot wait for `terraform show`: {e}"))?;
        Ok::<_, String>((document, status))
    };
    let (document, status) = tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| format!("`terraform show` timed out after {} s", timeout.as_secs()))??;
    if document.len() > MAX_SHOW_BYTES {
        return Err(format!(
            "the plan is larger than {} MiB: not kept",
            MAX_SHOW_BYTES / 1024 / 1024
        ));
    }
    if !status.success() {
        return Err(format!("`terraform show -json` failed ({status})"));
    }
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_terraform_names_the_setting() {
        let missing = find_terraform(Some(Path::new("/nonexistent/terraform")));
        assert!(missing.is_err_and(|why| why.contains("UHUB_TERRAFORM")));
    }

    #[test]
    fn the_configuration_stays_inside_its_root_and_links_are_not_copied() {
        let root = tempfile::tempdir().expect("root");
        std::fs::create_dir_all(root.path().join("infra/modules/x")).expect("dirs");
        std::fs::write(root.path().join("infra/main.tf"), "# main").expect("main");
        std::fs::write(root.path().join("infra/modules/x/x.tf"), "# x").expect("x");
        std::os::unix::fs::symlink("/etc/passwd", root.path().join("infra/passwd")).expect("link");
        assert!(configuration_dir(root.path(), "../").is_err());
        std::os::unix::fs::symlink("/etc", root.path().join("out")).expect("link");
        assert!(configuration_dir(root.path(), "out").is_err());
        let source = configuration_dir(root.path(), "infra").expect("inside");
        let work = root.path().join("work");
        std::fs::create_dir_all(work.join("terraform.tfstate.d/blue")).expect("state dir");
        std::fs::write(work.join("terraform.tfstate"), "{}").expect("state");
        std::fs::write(work.join("old.tf"), "# gone").expect("old");
        refresh(&source, &work).expect("refresh");
        assert!(work.join("main.tf").is_file() && work.join("modules/x/x.tf").is_file());
        assert!(!work.join("old.tf").exists(), "code of an earlier run goes");
        assert!(
            work.join("terraform.tfstate").is_file()
                && work.join("terraform.tfstate.d/blue").is_dir()
        );
        assert!(!work.join("passwd").exists(), "links are not followed");
    }
}
