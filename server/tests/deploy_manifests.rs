//! The deployment examples of `deploy/`, validated offline as the test command installs the
//! tools: the Kubernetes base rendered by `kubectl kustomize` and checked against the API's
//! schemas by `kubernetes-validate --strict`, the Compose file read by `docker-compose config`.
//! Each validator is also shown a broken copy, so that a validator accepting anything fails here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn tool(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable}: scripts/test.sh installs it (ensure_manifest_tools / ensure_kubectl)")
    })
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Renders a Kustomize directory and validates what it renders; the rendered text and whether
/// the validator accepted it.
fn render_and_validate(dir: &Path, work: &Path) -> (String, Output) {
    let kubectl = tool("UHUB_TEST_KUBECTL");
    let rendered = run(&kubectl, &["kustomize", &dir.display().to_string()]);
    assert!(rendered.status.success(), "kustomize: {}", said(&rendered));
    let text = String::from_utf8_lossy(&rendered.stdout).into_owned();
    let file = work.join("rendered.yaml");
    std::fs::write(&file, &text).expect("rendered");
    let validate = tool("UHUB_TEST_KUBERNETES_VALIDATE");
    let checked = run(&validate, &["--strict", &file.display().to_string()]);
    (text, checked)
}

#[test]
fn the_kubernetes_base_renders_and_passes_strict_validation() {
    let work = tempfile::tempdir().expect("work dir");
    let (rendered, checked) = render_and_validate(&deploy_dir().join("kubernetes"), work.path());
    assert!(
        checked.status.success(),
        "kubernetes-validate: {}",
        said(&checked)
    );
    let report = said(&checked);
    for object in [
        "deployment/uhub",
        "service/uhub",
        "poddisruptionbudget/uhub",
        "namespace/uhub",
    ] {
        assert!(report.contains(object), "{object} not validated: {report}");
    }
    // What the guide promises about the pods.
    for promise in [
        "replicas: 2",
        "runAsNonRoot: true",
        "runAsUser: 65532",
        "readOnlyRootFilesystem: true",
        "allowPrivilegeEscalation: false",
        "- ALL",
        "path: /healthz",
        "path: /readyz",
        "memory: 128Mi",
        "UHUB_DATABASE_URL_FILE",
        "automountServiceAccountToken: false",
        "pod-security.kubernetes.io/enforce: restricted",
    ] {
        assert!(
            rendered.contains(promise),
            "`{promise}` missing:\n{rendered}"
        );
    }
    assert!(
        !rendered.contains("postgres://"),
        "no credential in the manifests"
    );

    // A broken copy (a misspelt field, a number as text) must be refused.
    let broken = work.path().join("broken");
    std::fs::create_dir(&broken).expect("broken dir");
    for entry in std::fs::read_dir(deploy_dir().join("kubernetes")).expect("deploy dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("manifest");
        let text = text
            .replace(
                "readOnlyRootFilesystem: true",
                "readOnlyRootFileSystem: true",
            )
            .replace("replicas: 2", "replicas: two");
        std::fs::write(broken.join(path.file_name().expect("name")), text).expect("copy");
    }
    let (_, refused) = render_and_validate(&broken, work.path());
    assert!(
        !refused.status.success(),
        "the validator accepted a broken Deployment: {}",
        said(&refused)
    );
}

#[test]
fn the_compose_file_is_valid_and_hardened() {
    let compose = tool("UHUB_TEST_COMPOSE");
    let file = deploy_dir().join("compose.yaml");
    let output = run(&compose, &["--file", &file.display().to_string(), "config"]);
    assert!(
        output.status.success(),
        "docker-compose config: {}",
        said(&output)
    );
    let resolved = String::from_utf8_lossy(&output.stdout).into_owned();
    for promise in [
        "read_only: true",
        "user: 65532:65532",
        "no-new-privileges:true",
        "UHUB_DATABASE_URL_FILE: /run/secrets/uhub_database_url",
        "UHUB_VAULT_ROLE_ID_FILE",
        "condition: service_healthy",
    ] {
        assert!(
            resolved.contains(promise),
            "`{promise}` missing:\n{resolved}"
        );
    }
    assert!(
        !resolved.contains("docker.sock"),
        "the Docker socket is never mounted"
    );
    assert!(!resolved.contains("postgres://"), "no credential inline");

    // A broken copy must be refused.
    let work = tempfile::tempdir().expect("work dir");
    let text = std::fs::read_to_string(&file).expect("compose");
    let broken = work.path().join("compose.yaml");
    std::fs::write(
        &broken,
        text.replace("read_only: true", "read_only: [maybe]"),
    )
    .expect("broken");
    std::fs::create_dir_all(work.path().join("openbao")).expect("dir");
    let refused = run(
        &compose,
        &["--file", &broken.display().to_string(), "config"],
    );
    assert!(
        !refused.status.success(),
        "docker-compose accepted a broken file: {}",
        said(&refused)
    );
}
