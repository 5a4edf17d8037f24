//! `ansible` actions on the local backend: `ansible-playbook` against the inventory version
//! pinned at launch, with uHub's callback plugin writing one JSON event per play, task and host
//! result; the events become the run's structured results (`GET /runs/{id}/ansible`) and name
//! the failing task in a failed run's reason. The log stays Ansible's own human-readable output.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use domain::ansible::{AnsibleResults, HostRecap, PlayResults, TaskResult, TaskResults};
use domain::RunStatus;

use super::local::{self, RunAs};
use super::output::LogSender;
use super::{CancelSignal, Outcome, WorkDir};

/// uHub's callback plugin, written into each run's directory.
const CALLBACK_PLUGIN: &str = include_str!("../../assets/ansible/uhub_events.py");

/// The secret that, when a run receives it, becomes a vault password file (0600, removed with
/// the run's directory) instead of a variable.
pub const VAULT_PASSWORD_SECRET: &str = "ANSIBLE_VAULT_PASSWORD";

/// What an Ansible run needs: the action's fields, the pinned inventory's text, where the
/// playbook is.
pub struct AnsibleRun<'a> {
    /// `UHUB_ANSIBLE_PLAYBOOK`, else `ansible-playbook` found on uHub's PATH.
    pub ansible_playbook: Option<&'a Path>,
    pub scripts_dir: &'a Path,
    /// The repository's commit, checked out, for a playbook from a repository.
    pub checkout: Option<&'a Path>,
    pub playbook: &'a str,
    /// The playbook's SHA-256 at launch (a playbook of the scripts directory).
    pub expected_sha256: Option<&'a str>,
    pub inventory_format: &'a str,
    pub inventory: &'a str,
    pub limit: Option<&'a str>,
    pub tags: &'a [String],
    pub skip_tags: &'a [String],
    pub extra_vars: &'a BTreeMap<String, serde_json::Value>,
    pub check: bool,
    pub diff: bool,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub run_as: Option<&'a RunAs>,
}

/// `ansible-playbook`: the configured path, else the first on uHub's PATH.
pub fn find_ansible_playbook(configured: Option<&Path>) -> Result<PathBuf, String> {
    super::local::find_program(
        configured,
        "ansible-playbook",
        "UHUB_ANSIBLE_PLAYBOOK",
        "ansible-core",
    )
}

/// Runs the playbook; the outcome, and the structured results when the callback wrote any.
pub async fn run(
    spec: AnsibleRun<'_>,
    log: &LogSender,
    cancel: &CancelSignal,
    on_start: impl FnOnce(u32),
) -> (Outcome, Option<AnsibleResults>) {
    let program = match find_ansible_playbook(spec.ansible_playbook) {
        Ok(program) => program,
        Err(reason) => return (Outcome::failed(reason), None),
    };
    let root = spec.checkout.unwrap_or(spec.scripts_dir);
    let playbook = match local::resolve_script(root, spec.playbook) {
        Ok(path) => path,
        Err(reason) => {
            return (
                Outcome::failed(reason.replacen("script `", "playbook `", 1)),
                None,
            )
        }
    };
    if spec.checkout.is_none() {
        // What was launched (and approved) is what runs.
        match (
            spec.expected_sha256,
            local::script_digest(spec.scripts_dir, spec.playbook),
        ) {
            (Some(expected), Ok(now)) if expected == now => {}
            (Some(_), Err(reason)) => return (Outcome::failed(reason), None),
            _ => {
                let why = format!(
                    "the playbook `{}` changed since the run was launched: launch it again",
                    spec.playbook
                );
                return (Outcome::failed(why), None);
            }
        }
    }
    let dir = match WorkDir::create() {
        Ok(dir) => dir,
        Err(error) => {
            return (
                Outcome::failed(format!(
                    "cannot create the run's working directory: {error}"
                )),
                None,
            )
        }
    };
    let Prepared { args, env, events } = match prepare(&dir, &spec) {
        Ok(found) => found,
        Err(reason) => return (Outcome::failed(reason), None),
    };
    // Ansible reads `ansible.cfg` from there: a repository's own configuration applies.
    let cwd = root.to_path_buf();
    let mut all_args: Vec<OsString> = vec![playbook.into_os_string()];
    all_args.extend(args);
    let outcome = local::run_program(
        local::ProgramRun {
            program: &program,
            name: "ansible-playbook",
            args: all_args,
            env,
            timeout: spec.timeout,
            run_as: spec.run_as,
            home: dir.path(),
            cwd: &cwd,
        },
        log,
        cancel,
        on_start,
    )
    .await;
    let results = match read_events(&events) {
        Ok(text) => text.map(|text| results_of(&text, spec.check)),
        Err(reason) => {
            log.line(domain::LogStream::System, reason);
            None
        }
    };
    // The vault password file goes now, not only with the directory.
    let _ = std::fs::remove_file(dir.path().join("vault-password"));
    let outcome = match (&outcome.status, &results) {
        (RunStatus::Failed, Some(results)) => match results.first_failure() {
            Some((task, hosts, msg)) => Outcome {
                reason: Some(format!(
                    "task `{task}` failed on {}{}",
                    hosts.join(", "),
                    msg.map(|m| format!(": {}", first_line(&m)))
                        .unwrap_or_default()
                )),
                ..outcome
            },
            None => outcome,
        },
        _ => outcome,
    };
    (outcome, results)
}

/// The most of the events file uHub reads: about 40,000 task results.
const MAX_EVENTS_BYTES: u64 = 32 * 1024 * 1024;

/// The callback's events, read without following a link the playbook may have put in their
/// place (uHub may read what the playbook's account may not) and within a bound. `None` when
/// the playbook wrote none.
fn read_events(path: &Path) -> Result<Option<String>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        // Not through a link; not blocking on a FIFO put in the file's place.
        .custom_flags((nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK).bits())
        .open(path);
    let file = match file {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("the playbook's results cannot be read: {error}")),
    };
    let metadata = file
        .metadata()
        .map_err(|e| format!("the playbook's results cannot be read: {e}"))?;
    if !metadata.is_file() {
        return Err("the playbook's results are not a file: ignored".to_owned());
    }
    if metadata.len() > MAX_EVENTS_BYTES {
        return Err(format!(
            "the playbook's results are larger than {} MiB: not kept (the log has the whole output)",
            MAX_EVENTS_BYTES / 1024 / 1024
        ));
    }
    let mut text = String::new();
    file.take(MAX_EVENTS_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| format!("the playbook's results cannot be read: {e}"))?;
    Ok(Some(text))
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(300).collect()
}

/// What a prepared run's `ansible-playbook` gets, and where its events will be.
struct Prepared {
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    events: PathBuf,
}

/// Writes what Ansible reads into the run's directory (inventory, callback plugin, extra vars,
/// vault password) and answers the arguments, the environment and the events file.
fn prepare(dir: &WorkDir, spec: &AnsibleRun<'_>) -> Result<Prepared, String> {
    let root = dir.path();
    let write = |name: &str, text: &str, mode: u32| -> Result<PathBuf, String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = root.join(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .map_err(|e| format!("cannot write {name} for Ansible: {e}"))?;
        file.write_all(text.as_bytes())
            .map_err(|e| format!("cannot write {name} for Ansible: {e}"))?;
        Ok(path)
    };
    let home = root.join(".ansible");
    let plugins = root.join("callback_plugins");
    for made in [&home, &plugins] {
        std::fs::create_dir(made)
            .map_err(|e| format!("cannot prepare the run's directory: {e}"))?;
    }
    let inventory_name = if spec.inventory_format == "yaml" {
        "inventory.yml"
    } else {
        "inventory.ini"
    };
    let inventory = write(inventory_name, spec.inventory, 0o600)?;
    let plugin = write("callback_plugins/uhub_events.py", CALLBACK_PLUGIN, 0o644)?;
    let events = root.join("events.jsonl");
    let mut args: Vec<OsString> = vec!["-i".into(), inventory.clone().into_os_string()];
    if spec.check {
        args.push("--check".into());
    }
    if spec.diff {
        args.push("--diff".into());
    }
    if let Some(limit) = spec.limit {
        args.push("--limit".into());
        args.push(limit.into());
    }
    if !spec.tags.is_empty() {
        args.push("--tags".into());
        args.push(spec.tags.join(",").into());
    }
    if !spec.skip_tags.is_empty() {
        args.push("--skip-tags".into());
        args.push(spec.skip_tags.join(",").into());
    }
    let mut owned = vec![inventory, plugin, home.clone(), plugins.clone()];
    if !spec.extra_vars.is_empty() {
        let json = serde_json::to_string(spec.extra_vars)
            .map_err(|e| format!("cannot write the extra variables: {e}"))?;
        let path = write("extra-vars.json", &json, 0o600)?;
        let mut at = OsString::from("@");
        at.push(&path);
        args.push("-e".into());
        args.push(at);
        owned.push(path);
    }
    let mut env: Vec<(String, String)> = Vec::with_capacity(spec.env.len() + 16);
    for (name, value) in &spec.env {
        if name == VAULT_PASSWORD_SECRET {
            let path = write("vault-password", value, 0o600)?;
            args.push("--vault-password-file".into());
            args.push(path.clone().into_os_string());
            owned.push(path);
        } else {
            env.push((name.clone(), value.clone()));
        }
    }
    let home_text = home.display().to_string();
    let settings = [
        ("ANSIBLE_HOME", home_text.clone()),
        ("ANSIBLE_LOCAL_TEMP", format!("{home_text}/tmp")),
        ("ANSIBLE_REMOTE_TEMP", format!("{home_text}/remote-tmp")),
        ("ANSIBLE_SSH_CONTROL_PATH_DIR", format!("{home_text}/cp")),
        ("ANSIBLE_ASYNC_DIR", format!("{home_text}/async")),
        ("ANSIBLE_CALLBACK_PLUGINS", plugins.display().to_string()),
        ("ANSIBLE_CALLBACKS_ENABLED", "uhub_events".to_owned()),
        ("UHUB_ANSIBLE_EVENTS", events.display().to_string()),
        ("ANSIBLE_NOCOLOR", "1".to_owned()),
        ("ANSIBLE_FORCE_COLOR", "0".to_owned()),
        ("ANSIBLE_RETRY_FILES_ENABLED", "0".to_owned()),
        ("ANSIBLE_LOCALHOST_WARNING", "0".to_owned()),
        ("PYTHONUNBUFFERED", "1".to_owned()),
        ("PYTHONDONTWRITEBYTECODE", "1".to_owned()),
    ];
    env.extend(settings.into_iter().map(|(k, v)| (k.to_owned(), v)));
    if let Some(user) = spec.run_as {
        let mut paths: Vec<&Path> = vec![root];
        paths.extend(owned.iter().map(PathBuf::as_path));
        local::give_to(user, &paths)?;
    }
    Ok(Prepared { args, env, events })
}

/// One line of the callback's events file.
#[derive(serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Event {
    Play {
        name: String,
    },
    Task {
        name: String,
        task_id: Option<String>,
    },
    Result {
        task: String,
        task_id: Option<String>,
        host: Option<String>,
        status: String,
        #[serde(default)]
        changed: bool,
        #[serde(default)]
        diff: Option<String>,
        #[serde(default)]
        msg: Option<String>,
    },
    Stats {
        hosts: BTreeMap<String, HostRecap>,
    },
}

/// The structured results, from the callback's events (lines that do not parse are skipped:
/// the file is the run's, written by code the run could change).
pub fn results_of(events: &str, check: bool) -> AnsibleResults {
    let mut results = AnsibleResults {
        check,
        ..AnsibleResults::default()
    };
    // The task a result belongs to: by its id within the current play.
    let mut task_index: BTreeMap<String, usize> = BTreeMap::new();
    for line in events.lines() {
        let Ok(event) = serde_json::from_str::<Event>(line) else {
            continue;
        };
        match event {
            Event::Play { name } => {
                results.plays.push(PlayResults {
                    name,
                    tasks: Vec::new(),
                });
                task_index.clear();
            }
            Event::Task { name, task_id } => {
                let play = current_play(&mut results);
                play.tasks.push(TaskResults {
                    name,
                    results: BTreeMap::new(),
                });
                if let Some(id) = task_id {
                    task_index.insert(id, play.tasks.len() - 1);
                }
            }
            Event::Result {
                task,
                task_id,
                host,
                status,
                changed,
                diff,
                msg,
            } => {
                let play = current_play(&mut results);
                let index = task_id
                    .and_then(|id| task_index.get(&id).copied())
                    .or_else(|| play.tasks.iter().rposition(|t| t.name == task));
                let index = match index {
                    Some(index) => index,
                    None => {
                        play.tasks.push(TaskResults {
                            name: task,
                            results: BTreeMap::new(),
                        });
                        play.tasks.len() - 1
                    }
                };
                if let Some(entry) = play.tasks.get_mut(index) {
                    entry.results.insert(
                        host.unwrap_or_else(|| "?".to_owned()),
                        TaskResult {
                            status,
                            changed,
                            diff,
                            msg,
                        },
                    );
                }
            }
            Event::Stats { hosts } => results.hosts = hosts,
        }
    }
    results
}

fn current_play(results: &mut AnsibleResults) -> &mut PlayResults {
    if results.plays.is_empty() {
        results.plays.push(PlayResults {
            name: String::new(),
            tasks: Vec::new(),
        });
    }
    let last = results.plays.len() - 1;
    &mut results.plays[last]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_not_read_through_a_link_nor_beyond_a_bound() {
        let dir = tempfile::tempdir().expect("dir");
        let secret = dir.path().join("secret.jsonl");
        std::fs::write(&secret, r#"{"event": "play", "name": "uHub's own file"}"#).expect("write");
        let link = dir.path().join("events.jsonl");
        std::os::unix::fs::symlink(&secret, &link).expect("link");
        assert!(read_events(&link).is_err(), "a link is not followed");
        assert_eq!(read_events(&dir.path().join("none.jsonl")), Ok(None));
        let big = dir.path().join("big.jsonl");
        let file = std::fs::File::create(&big).expect("big");
        file.set_len(MAX_EVENTS_BYTES + 1).expect("grow");
        assert!(read_events(&big).is_err(), "too big");
        let fifo = dir.path().join("fifo.jsonl");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("fifo");
        assert!(
            read_events(&fifo).is_err(),
            "a FIFO is refused without waiting for a writer"
        );
    }

    #[test]
    fn a_missing_ansible_playbook_names_the_setting() {
        let missing = Path::new("/nonexistent/ansible-playbook");
        let why = find_ansible_playbook(Some(missing)).expect_err("missing");
        assert!(why.contains("UHUB_ANSIBLE_PLAYBOOK"), "{why}");
    }

    #[test]
    fn events_become_plays_tasks_and_a_recap() {
        let events = [
            r#"{"event": "play", "name": "Configure"}"#,
            r#"{"event": "task", "name": "Write", "play": "Configure", "task_id": "t1", "handler": false}"#,
            r#"{"event": "result", "play": "Configure", "task": "Write", "task_id": "t1", "host": "web1", "status": "changed", "changed": true, "rescued": false, "diff": "--- before\n+++ after\n", "msg": null}"#,
            "not json",
            r#"{"event": "task", "name": "Fail", "play": "Configure", "task_id": "t2", "handler": false}"#,
            r#"{"event": "result", "play": "Configure", "task": "Fail", "task_id": "t2", "host": "web1", "status": "failed", "changed": false, "rescued": false, "diff": null, "msg": "boom\nmore"}"#,
            r#"{"event": "stats", "hosts": {"web1": {"ok": 1, "changed": 1, "failed": 1, "unreachable": 0, "skipped": 0, "rescued": 0, "ignored": 0}}}"#,
        ]
        .join("\n");
        let results = results_of(&events, false);
        assert_eq!(results.plays.len(), 1);
        assert_eq!(results.plays[0].tasks.len(), 2);
        assert_eq!(results.hosts["web1"].changed, 1);
        assert_eq!(
            results.plays[0].tasks[0].results["web1"].diff.as_deref(),
            Some("--- before\n+++ after\n")
        );
        let (task, hosts, msg) = results.first_failure().expect("a failure");
        let mut masked = results.clone();
        masked.mask_with(|text| text.replace("boom", "****"));
        assert_eq!(
            masked.plays[0].tasks[1].results["web1"].msg.as_deref(),
            Some("****\nmore")
        );
        assert_eq!(
            (task.as_str(), hosts, msg.as_deref()),
            ("Fail", vec!["web1".to_owned()], Some("boom\nmore"))
        );
    }
}
