//! Every `UHUB_*` setting with its default and meaning, in one table: `uhub config-reference`
//! prints it and `docs/configuration.md` holds the same text. A test checks the table against
//! the names `config.rs` reads and the document against the table, so neither can drift.

/// One setting of the reference.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub name: &'static str,
    /// What applies when it is unset.
    pub default: &'static str,
    pub meaning: &'static str,
}

/// Every setting `Config::from_lookup` reads. `_FILE` variants are listed with their setting.
pub const SETTINGS: &[Setting] = &[
    Setting { name: "UHUB_BIND", default: "127.0.0.1:3000", meaning: "Address and port the HTTP server listens on (`0.0.0.0:3000` in the image)." },
    Setting { name: "UHUB_DATA_DIR", default: "./data", meaning: "The SQLite database, the generated token secret and master key, scripts, Terraform state, Git mirrors. The only path uHub writes." },
    Setting { name: "UHUB_DATABASE_URL", default: "SQLite in the data directory", meaning: "`sqlite:…` or `postgres://user:pass@host/db` (several replicas need PostgreSQL). Also `UHUB_DATABASE_URL_FILE`." },
    Setting { name: "UHUB_JWT_SECRET", default: "generated into `<data dir>/jwt-secret`", meaning: "Signs sessions and run callbacks; at least 32 characters; every replica needs the same. Also `UHUB_JWT_SECRET_FILE`." },
    Setting { name: "UHUB_MASTER_KEY", default: "generated into `<data dir>/master-key`", meaning: "AES-256 key sealing project secrets (64 hex digits or base64 of 32 bytes); every replica needs the same; never in a backup. Also `UHUB_MASTER_KEY_FILE`." },
    Setting { name: "UHUB_SEED_DEMO", default: "false", meaning: "Load the demo accounts and projects at start-up (existing ones are kept)." },
    Setting { name: "UHUB_SITE_DIR", default: "./target/site", meaning: "The built browser bundle and static files (`/site` in the image)." },
    Setting { name: "UHUB_SCRIPTS_DIR", default: "`<data dir>/scripts`", meaning: "Where `script` actions of the `local` backend live; a path leaving it (`..`, absolute, a symbolic link outside) is refused." },
    Setting { name: "UHUB_LOG", default: "info,sqlx=warn,tower_http=info", meaning: "Log filter (`tracing` syntax), e.g. `debug` or `info,services=debug`." },
    Setting { name: "UHUB_LOG_FORMAT", default: "text", meaning: "`text` for people, `json` (one object per line) for log collectors." },
    Setting { name: "UHUB_PUBLIC_URL", default: "`http://<bind>`", meaning: "How browsers and webhook targets reach uHub; also an accepted `Origin` for cookie-authenticated changes." },
    Setting { name: "UHUB_TIMEZONE", default: "UTC", meaning: "The team's IANA time zone: the calendar's days, the month grid, the iCal feed." },
    Setting { name: "UHUB_MAX_CONCURRENT_RUNS", default: "4", meaning: "Runs executing at once in this process (1–256)." },
    Setting { name: "UHUB_MAX_RUNS_PER_ENVIRONMENT", default: "2", meaning: "Runs executing at once in one environment, all processes together (1–256)." },
    Setting { name: "UHUB_MAX_RUNS_PER_PROJECT", default: "every slot but one", meaning: "Runs executing at once in one project (1–256)." },
    Setting { name: "UHUB_LOCAL_RUN_USER", default: "uHub's own account", meaning: "The account `local` scripts run as, instead of uHub's own (which can read the keys); needs root or CAP_SETUID/CAP_SETGID (docs/security.md)." },
    Setting { name: "UHUB_DOCKER_HOST", default: "unix:///var/run/docker.sock", meaning: "The Docker engine of the docker backend; in production a remote engine over TLS (`tcp://…` with its certificates), never the host's socket." },
    Setting { name: "UHUB_DOCKER_CERT_PATH", default: "none", meaning: "Directory with `ca.pem`, `cert.pem`, `key.pem` (as Docker's `DOCKER_CERT_PATH`): the docker backend reaches a `tcp://` engine over TLS with this client certificate. Required for an engine on another host." },
    Setting { name: "UHUB_WEBHOOK_ALLOWED_HOSTS", default: "none", meaning: "Comma-separated hosts on internal networks (loopback, private, link-local) that webhook targets may nevertheless be on; every other internal address is refused." },
    Setting { name: "UHUB_GITHUB_API_URL", default: "told from each link's host", meaning: "GitHub's REST API for every `github` repository link (else `https://api.github.com` for github.com, `https://<host>/api/v3` for GitHub Enterprise)." },
    Setting { name: "UHUB_GITLAB_URL", default: "https://gitlab.com", meaning: "The team's GitLab: people's personal GitLab tokens are sent to its API only." },
    Setting { name: "UHUB_ANSIBLE_PLAYBOOK", default: "`ansible-playbook` on PATH", meaning: "The `ansible-playbook` that `ansible` actions run." },
    Setting { name: "UHUB_TERRAFORM", default: "`terraform` on PATH", meaning: "The `terraform` that `terraform` actions run." },
    Setting { name: "UHUB_TERRAFORM_RISKS", default: "built-in patterns", meaning: "Risky resource types of plans, by kind (built in: iam, database, dns, network): `kind=word,word;kind=word`; a kind named takes exactly these words, `kind=` removes it, e.g. `storage=_bucket,_s3_;dns=`." },
    Setting { name: "UHUB_KUBECTL", default: "`kubectl` on PATH", meaning: "The `kubectl` that `kubectl` actions run." },
    Setting { name: "UHUB_KUBE_ALLOW_EXEC", default: "false", meaning: "Accept kubeconfigs whose user signs in by running a command on the uHub host (`exec`, `auth-provider`)." },
    Setting { name: "UHUB_VAULT_ADDR", default: "unset: secrets in the database", meaning: "Keep project secrets in Vault / OpenBao KV v2 at this address." },
    Setting { name: "UHUB_VAULT_TOKEN", default: "none", meaning: "uHub's Vault token (not renewed: a periodic token), or use AppRole. Also `UHUB_VAULT_TOKEN_FILE`." },
    Setting { name: "UHUB_VAULT_ROLE_ID", default: "none", meaning: "AppRole role ID (with `UHUB_VAULT_SECRET_ID`); uHub logs in and renews. Also `UHUB_VAULT_ROLE_ID_FILE`." },
    Setting { name: "UHUB_VAULT_SECRET_ID", default: "none", meaning: "AppRole secret ID. Also `UHUB_VAULT_SECRET_ID_FILE`." },
    Setting { name: "UHUB_VAULT_APPROLE_MOUNT", default: "approle", meaning: "Where the AppRole auth method is mounted." },
    Setting { name: "UHUB_VAULT_MOUNT", default: "secret", meaning: "The KV v2 mount." },
    Setting { name: "UHUB_VAULT_PREFIX", default: "uhub", meaning: "uHub's folder in the mount (the policy in `docs/openbao-policy.hcl` names it)." },
    Setting { name: "UHUB_METRICS_INTERVAL", default: "10", meaning: "Seconds between two readings of the host for the server view (1–60)." },
    Setting { name: "UHUB_METRICS_TOKEN", default: "unset: loopback only", meaning: "Bearer token `GET /metrics` asks for (at least 16 characters); without it only loopback clients may scrape. Also `UHUB_METRICS_TOKEN_FILE`." },
];

/// The reference as a Markdown table.
pub fn markdown() -> String {
    let mut text = String::from("| Setting | Default | Meaning |\n|---|---|---|\n");
    for setting in SETTINGS {
        text.push_str(&format!(
            "| `{}` | {} | {} |\n",
            setting.name, setting.default, setting.meaning
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every name `config.rs` reads, from its source (the `_FILE` variants folded into their
    /// setting, which documents them).
    fn names_read_by_config() -> BTreeSet<String> {
        let source = include_str!("config.rs");
        let code = source.split("#[cfg(test)]").next().unwrap_or(source);
        code.split('"')
            .skip(1)
            .step_by(2)
            .filter(|word| {
                word.starts_with("UHUB_")
                    && word.len() > 5
                    && word.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            })
            .map(|word| word.trim_end_matches("_FILE").to_owned())
            .collect()
    }

    #[test]
    fn the_reference_lists_exactly_the_settings_read() {
        let documented: BTreeSet<String> = SETTINGS.iter().map(|s| s.name.to_owned()).collect();
        assert_eq!(documented.len(), SETTINGS.len(), "a setting listed twice");
        let read = names_read_by_config();
        assert_eq!(
            read.difference(&documented).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "read by config.rs but missing from the reference"
        );
        assert_eq!(
            documented.difference(&read).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "in the reference but read nowhere"
        );
    }

    #[test]
    fn the_configuration_document_holds_the_generated_table() {
        let document = include_str!("../../docs/configuration.md");
        assert!(
            document.contains(&markdown()),
            "docs/configuration.md is out of date: paste the output of `uhub config-reference` into it"
        );
    }
}
