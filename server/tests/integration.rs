//! The server's integration tests, one test binary: each file of this folder is a module.
//! One binary links the whole server once instead of once per file, which keeps a cold build's
//! link time and disk use down (each link is about 130 MB). `secrets_in_logs` stays a binary of
//! its own: it installs the process's global log subscriber.

mod common;

mod ansible_api;
mod ansible_runs;
mod auth;
mod backup_restore;
mod calendar_api;
mod calendar_follow;
mod code_shape;
mod crash;
mod deploy_manifests;
mod docker_runs;
mod docker_tls;
mod domain_api;
mod doors;
mod git_forges;
mod git_hooks;
mod git_pinned;
mod git_push;
mod guardrails;
mod hardening;
mod hardening_edges;
mod host_metrics;
mod http;
mod image;
mod incident_story;
mod jobs_api;
mod kubernetes_clusters;
mod metrics;
mod openapi;
mod rbac;
mod runs;
mod secrets_in_logs;
mod startup;
mod terraform_api;
mod terraform_runs;
mod vault_openbao;
mod webhook_runs;

/// With `autotests = false`, a file added to `tests/` runs only once a binary names it as a
/// module: this fails until it does, here and for the browser tests (`end2end/tests/chromium.rs`).
#[test]
fn every_test_file_is_compiled_into_a_test_binary() {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (folder, binary, own_binaries) in [
        ("server/tests", "integration.rs", &["integration"][..]),
        ("end2end/tests", "chromium.rs", &["chromium"][..]),
    ] {
        let folder = workspace.join(folder);
        let modules = std::fs::read_to_string(folder.join(binary)).expect("the test binary's root");
        let files = std::fs::read_dir(&folder).expect("the tests folder");
        let missing: Vec<String> = files
            .filter_map(|entry| entry.ok()?.path().file_stem()?.to_str().map(str::to_owned))
            .filter(|stem| folder.join(format!("{stem}.rs")).is_file())
            .filter(|stem| !own_binaries.contains(&stem.as_str()))
            .filter(|stem| !modules.contains(&format!("mod {stem};")))
            .collect();
        assert!(
            missing.is_empty(),
            "{}: {missing:?} never run: add `mod …;` to {binary}",
            folder.display()
        );
    }
}
