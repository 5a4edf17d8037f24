//! `kubectl` runs: the cluster's kubeconfig (only its context, as uHub stored it) in a 0600 file
//! of the run's own directory, `KUBECONFIG` pointing at it, the cluster's namespace forced with
//! `--namespace`, discovery cached in that directory; the directory is removed when the run ends.
//! The action's arguments were checked when the job was saved (no option may pick another
//! kubeconfig, context, namespace or credential).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use zeroize::Zeroizing;

use super::local::{self, RunAs};
use super::output::LogSender;
use super::{CancelSignal, Outcome, WorkDir};

pub struct KubectlRun<'a> {
    /// `UHUB_KUBECTL`, else `kubectl` found on uHub's PATH.
    pub kubectl: Option<&'a Path>,
    pub kubeconfig: &'a str,
    pub namespace: &'a str,
    pub args: &'a [String],
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub run_as: Option<&'a RunAs>,
}

/// `kubectl`: the configured path, else the first on uHub's PATH.
pub fn find_kubectl(configured: Option<&Path>) -> Result<PathBuf, String> {
    local::find_program(configured, "kubectl", "UHUB_KUBECTL", "kubectl")
}

/// The credential values of a stored kubeconfig, masked in the run's log.
pub fn credentials(kubeconfig: &str) -> Vec<Zeroizing<String>> {
    let Ok(config) = serde_json::from_str::<Value>(kubeconfig) else {
        return Vec::new();
    };
    let user = &config["users"][0]["user"];
    [
        "token",
        "password",
        "client-key-data",
        "client-certificate-data",
    ]
    .iter()
    .filter_map(|field| user[*field].as_str())
    .map(|value| Zeroizing::new(value.to_owned()))
    .collect()
}

pub async fn run(
    spec: KubectlRun<'_>,
    log: &LogSender,
    cancel: &CancelSignal,
    on_start: impl Fn(u32),
) -> Outcome {
    match prepared(&spec) {
        Ok((program, home, args)) => {
            let mut env = spec.env.clone();
            env.push((
                "KUBECONFIG".to_owned(),
                home.path().join("kubeconfig").display().to_string(),
            ));
            let outcome = local::run_program(
                local::ProgramRun {
                    program: &program,
                    name: "kubectl",
                    args,
                    env,
                    timeout: spec.timeout,
                    run_as: spec.run_as,
                    home: home.path(),
                    cwd: home.path(),
                },
                log,
                cancel,
                on_start,
            )
            .await;
            // The kubeconfig goes with the run's directory, now.
            drop(home);
            outcome
        }
        Err(reason) => Outcome::failed(reason),
    }
}

/// A directory of the run's own holding `kubeconfig` (0600, given to the run's account when
/// runs use another); removed when dropped.
pub fn kubeconfig_file(kubeconfig: &str, run_as: Option<&RunAs>) -> Result<WorkDir, String> {
    let home = WorkDir::create().map_err(|e| format!("cannot create the run's directory: {e}"))?;
    let file = home.path().join("kubeconfig");
    local::write_private(&file, kubeconfig.as_bytes())?;
    if let Some(user) = run_as {
        local::give_to(user, &[home.path(), &file])?;
    }
    Ok(home)
}

fn prepared(spec: &KubectlRun<'_>) -> Result<(PathBuf, WorkDir, Vec<OsString>), String> {
    let program = find_kubectl(spec.kubectl)?;
    let home = kubeconfig_file(spec.kubeconfig, spec.run_as)?;
    let cache = home.path().join("cache");
    let mut args: Vec<OsString> = vec![
        OsString::from(format!("--namespace={}", spec.namespace)),
        OsString::from(format!("--cache-dir={}", cache.display())),
    ];
    args.extend(spec.args.iter().map(OsString::from));
    Ok((program, home, args))
}
