//! Configuration from `UHUB_*` environment variables. Every setting has a default that makes
//! `uhub` start with nothing set; every error names the setting at fault.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A configuration problem, always tied to the variable that caused it.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(setting: &'static str, message: impl Into<String>) -> Self {
        ConfigError {
            setting,
            message: message.into(),
        }
    }
}

/// A secret value: never printed, not even in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `key=value` lines for people.
    Text,
    /// One JSON object per line for log collectors.
    Json,
}

/// The parsed configuration. Secrets that must be generated or read from disk are resolved at
/// start-up (see `startup`), not here: parsing has no side effects.
#[derive(Debug, Clone)]
pub struct Config {
    /// `UHUB_BIND`: where the HTTP server listens.
    pub bind: SocketAddr,
    /// `UHUB_DATA_DIR`: the SQLite file, the generated JWT secret, run artefacts.
    pub data_dir: PathBuf,
    /// `UHUB_DATABASE_URL` / `_FILE`: `sqlite:…` or `postgres://…`; `None` = SQLite in the data dir.
    pub database_url: Option<Secret>,
    /// `UHUB_JWT_SECRET` / `_FILE`: `None` = generated once into the data dir.
    pub jwt_secret: Option<Secret>,
    /// `UHUB_SEED_DEMO`: load the demo accounts and projects at start-up.
    pub seed_demo: bool,
    /// `UHUB_LOG`: a tracing filter such as `info` or `uhub=debug,info`.
    pub log_filter: String,
    /// `UHUB_LOG_FORMAT`: `text` or `json`.
    pub log_format: LogFormat,
    /// `UHUB_SITE_DIR`: the built browser bundle and static files.
    pub site_dir: PathBuf,
    /// `UHUB_SCRIPTS_DIR`: where `script` actions live; `None` = `<data dir>/scripts`.
    pub scripts_dir: Option<PathBuf>,
    /// `UHUB_MASTER_KEY` / `_FILE`: the key of project secrets; `None` = generated into the data dir.
    pub master_key: Option<Secret>,
    /// `UHUB_MAX_CONCURRENT_RUNS`: runs executing at once in this process.
    pub max_concurrent_runs: usize,
    /// `UHUB_MAX_RUNS_PER_ENVIRONMENT`: runs executing at once in one environment.
    pub max_runs_per_environment: u32,
    /// `UHUB_MAX_RUNS_PER_PROJECT`: runs executing at once in one project; `None` = every slot
    /// but one, so that another project can always start.
    pub max_runs_per_project: Option<u32>,
    /// `UHUB_WEBHOOK_ALLOWED_HOSTS`: comma-separated host names (or addresses) on internal
    /// networks that webhook targets may nevertheless be on.
    pub webhook_allowed_hosts: Vec<String>,
    /// `UHUB_GITHUB_API_URL`: GitHub's API for every `github` repository link (GitHub
    /// Enterprise behind a proxy); otherwise told from each link's host.
    pub github_api_url: Option<String>,
    /// `UHUB_GITLAB_URL`: the team's GitLab (default gitlab.com), where people's personal
    /// GitLab tokens may be sent.
    pub gitlab_url: Option<String>,
    /// `UHUB_ANSIBLE_PLAYBOOK`: the `ansible-playbook` that `ansible` actions run (else the
    /// first on uHub's PATH, looked up at each run).
    pub ansible_playbook: Option<PathBuf>,
    /// `UHUB_TERRAFORM`: the `terraform` that `terraform` actions run (else the first on PATH).
    pub terraform: Option<PathBuf>,
    /// `UHUB_TERRAFORM_RISKS`: changes to the risky resource types of plans
    /// (`kind=word,word;kind=word`; see `services::terraform::RiskPatterns::with_overrides`).
    pub terraform_risks: services::terraform::RiskPatterns,
    /// `UHUB_LOCAL_RUN_USER`: the account local scripts run as (uHub must be able to switch to
    /// it, i.e. run as root or with CAP_SETUID/CAP_SETGID); `None` = uHub's own account.
    pub local_run_user: Option<String>,
    /// `UHUB_DOCKER_HOST`: the Docker engine of the docker backend.
    pub docker_host: String,
    /// `UHUB_DOCKER_CERT_PATH`: `ca.pem`, `cert.pem`, `key.pem` for a `tcp://` engine over TLS;
    /// required when that engine is on another host.
    pub docker_cert_path: Option<PathBuf>,
    /// `UHUB_PUBLIC_URL`: how others (webhook targets) reach this uHub; `None` = `http://<bind>`.
    pub public_url: Option<String>,
    /// `UHUB_KUBECTL`: the `kubectl` that `kubectl` actions run (else the first on PATH).
    pub kubectl: Option<PathBuf>,
    /// `UHUB_KUBE_ALLOW_EXEC`: accept kubeconfigs whose user signs in by running a command on the
    /// uHub host (`exec`, `auth-provider`); `false` by default.
    pub kube_allow_exec: bool,
    /// `UHUB_VAULT_ADDR` (+ `UHUB_VAULT_TOKEN` / `_FILE`, `UHUB_VAULT_MOUNT`, `UHUB_VAULT_PREFIX`):
    /// project secrets in Vault KV v2 instead of the database; `None` = the database.
    pub vault: Option<VaultConfig>,
    /// `UHUB_TIMEZONE`: the team's IANA time zone, in which the calendar lays out days (all-day
    /// jobs, the month grid, the iCal feed); `UTC` by default.
    pub timezone: chrono_tz::Tz,
    /// `UHUB_METRICS_INTERVAL`: seconds between two readings of the host (1 to 60, 10 by
    /// default).
    pub metrics_interval: std::time::Duration,
    /// `UHUB_METRICS_TOKEN` / `_FILE`: the bearer token `GET /metrics` asks for; `None` = only
    /// clients on the loopback interface may scrape.
    pub metrics_token: Option<Secret>,
}

/// Where project secrets live when Vault is used.
#[derive(Debug, Clone)]
pub struct VaultConfig {
    /// `UHUB_VAULT_ADDR`, e.g. `https://vault.internal:8200`.
    pub address: String,
    /// How uHub signs in: a token, or AppRole credentials.
    pub auth: VaultCredentials,
    /// `UHUB_VAULT_MOUNT`: the KV v2 mount, `secret` by default.
    pub mount: String,
    /// `UHUB_VAULT_PREFIX`: uHub's folder in the mount, `uhub` by default.
    pub prefix: String,
}

/// uHub's identity in Vault; the policy it needs is `docs/openbao-policy.hcl`.
#[derive(Debug, Clone)]
pub enum VaultCredentials {
    /// `UHUB_VAULT_TOKEN` / `_FILE`: a token allowed to read, write, list and delete under the
    /// prefix; never renewed by uHub (a periodic token, or AppRole below).
    Token(Secret),
    /// `UHUB_VAULT_ROLE_ID` / `_FILE` + `UHUB_VAULT_SECRET_ID` / `_FILE` (and
    /// `UHUB_VAULT_APPROLE_MOUNT`, `approle` by default): uHub logs in, renews its token and logs
    /// in again when it can no longer be renewed.
    AppRole {
        mount: String,
        role_id: Secret,
        secret_id: Secret,
    },
}

pub const DEFAULT_BIND: &str = "127.0.0.1:3000";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_SITE_DIR: &str = "./target/site";
pub const DEFAULT_LOG: &str = "info,sqlx=warn,tower_http=info";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    /// Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.is_empty());

        let bind_text = get("UHUB_BIND").unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let bind = bind_text.parse().map_err(|_| {
            ConfigError::new(
                "UHUB_BIND",
                format!("`{bind_text}` is not an address like 127.0.0.1:3000"),
            )
        })?;

        let seed_demo = match get("UHUB_SEED_DEMO") {
            None => false,
            Some(text) => parse_bool(&text).ok_or_else(|| {
                ConfigError::new("UHUB_SEED_DEMO", format!("`{text}` is not true or false"))
            })?,
        };

        let kube_allow_exec = match get("UHUB_KUBE_ALLOW_EXEC") {
            None => false,
            Some(text) => parse_bool(&text).ok_or_else(|| {
                ConfigError::new(
                    "UHUB_KUBE_ALLOW_EXEC",
                    format!("`{text}` is not true or false"),
                )
            })?,
        };

        let log_format = match get("UHUB_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "UHUB_LOG_FORMAT",
                    format!("`{other}` is not text or json"),
                ))
            }
        };

        let max_concurrent_runs = match get("UHUB_MAX_CONCURRENT_RUNS") {
            None => 4,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=256).contains(n))
                .ok_or_else(|| {
                    ConfigError::new(
                        "UHUB_MAX_CONCURRENT_RUNS",
                        format!("`{text}` is not a number between 1 and 256"),
                    )
                })?,
        };

        let max_runs_per_environment = match get("UHUB_MAX_RUNS_PER_ENVIRONMENT") {
            None => 2,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=256).contains(n))
                .ok_or_else(|| {
                    ConfigError::new(
                        "UHUB_MAX_RUNS_PER_ENVIRONMENT",
                        format!("`{text}` is not a number between 1 and 256"),
                    )
                })?,
        };

        let max_runs_per_project = match get("UHUB_MAX_RUNS_PER_PROJECT") {
            None => None,
            Some(text) => Some(
                text.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=256).contains(n))
                    .ok_or_else(|| {
                        ConfigError::new(
                            "UHUB_MAX_RUNS_PER_PROJECT",
                            format!("`{text}` is not a number between 1 and 256"),
                        )
                    })?,
            ),
        };

        let webhook_allowed_hosts: Vec<String> = get("UHUB_WEBHOOK_ALLOWED_HOSTS")
            .unwrap_or_default()
            .split(',')
            .map(|host| {
                host.trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_ascii_lowercase()
            })
            .filter(|host| !host.is_empty())
            .collect();
        if let Some(bad) = webhook_allowed_hosts.iter().find(|host| {
            host.contains(['/', ':', ' ']) && host.parse::<std::net::IpAddr>().is_err()
        }) {
            return Err(ConfigError::new(
                "UHUB_WEBHOOK_ALLOWED_HOSTS",
                format!("`{bad}` is not a host name or address (no scheme, port or path)"),
            ));
        }

        let github_api_url = api_url(
            &get,
            "UHUB_GITHUB_API_URL",
            "https://ghe.example.org/api/v3",
        )?;
        let gitlab_url = api_url(&get, "UHUB_GITLAB_URL", "https://gitlab.example.org")?;

        let vault = match get("UHUB_VAULT_ADDR") {
            None => None,
            Some(address) => Some(VaultConfig {
                address,
                auth: vault_credentials(&get)?,
                mount: get("UHUB_VAULT_MOUNT").unwrap_or_else(|| "secret".to_owned()),
                prefix: get("UHUB_VAULT_PREFIX").unwrap_or_else(|| "uhub".to_owned()),
            }),
        };

        let timezone = match get("UHUB_TIMEZONE") {
            None => chrono_tz::Tz::UTC,
            Some(name) => name.parse().map_err(|_| {
                ConfigError::new(
                    "UHUB_TIMEZONE",
                    format!("`{name}` is not an IANA time zone such as Europe/Paris"),
                )
            })?,
        };

        let metrics_interval = match get("UHUB_METRICS_INTERVAL") {
            None => crate::DEFAULT_METRICS_INTERVAL,
            Some(text) => match text.trim().trim_end_matches('s').parse::<u64>() {
                Ok(seconds @ 1..=60) => std::time::Duration::from_secs(seconds),
                _ => {
                    return Err(ConfigError::new(
                        "UHUB_METRICS_INTERVAL",
                        format!("`{text}` is not a number of seconds from 1 to 60"),
                    ))
                }
            },
        };

        let docker_host = get("UHUB_DOCKER_HOST")
            .unwrap_or_else(|| services::engine::DEFAULT_DOCKER_HOST.to_owned());
        let docker_cert_path = get("UHUB_DOCKER_CERT_PATH").map(PathBuf::from);
        check_docker_transport(&docker_host, docker_cert_path.as_deref())?;

        // Compared with what scrapers send after `Bearer `: visible ASCII, nothing to trim.
        let metrics_token = secret(&get, "UHUB_METRICS_TOKEN", "UHUB_METRICS_TOKEN_FILE")?
            .map(|token| Secret::new(token.expose().trim().to_owned()));
        if let Some(token) = &metrics_token {
            if token.expose().len() < 16 || !token.expose().bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ConfigError::new(
                    "UHUB_METRICS_TOKEN",
                    "must be at least 16 visible ASCII characters (openssl rand -hex 32)",
                ));
            }
        }

        Ok(Config {
            bind,
            data_dir: PathBuf::from(
                get("UHUB_DATA_DIR").unwrap_or_else(|| DEFAULT_DATA_DIR.to_owned()),
            ),
            database_url: secret(&get, "UHUB_DATABASE_URL", "UHUB_DATABASE_URL_FILE")?,
            jwt_secret: secret(&get, "UHUB_JWT_SECRET", "UHUB_JWT_SECRET_FILE")?,
            seed_demo,
            log_filter: get("UHUB_LOG").unwrap_or_else(|| DEFAULT_LOG.to_owned()),
            log_format,
            site_dir: PathBuf::from(
                get("UHUB_SITE_DIR").unwrap_or_else(|| DEFAULT_SITE_DIR.to_owned()),
            ),
            scripts_dir: get("UHUB_SCRIPTS_DIR").map(PathBuf::from),
            master_key: secret(&get, "UHUB_MASTER_KEY", "UHUB_MASTER_KEY_FILE")?,
            max_concurrent_runs,
            max_runs_per_environment,
            max_runs_per_project,
            webhook_allowed_hosts,
            github_api_url,
            gitlab_url,
            ansible_playbook: get("UHUB_ANSIBLE_PLAYBOOK")
                .filter(|path| !path.trim().is_empty())
                .map(PathBuf::from),
            terraform: get("UHUB_TERRAFORM")
                .filter(|path| !path.trim().is_empty())
                .map(PathBuf::from),
            kubectl: get("UHUB_KUBECTL")
                .filter(|path| !path.trim().is_empty())
                .map(PathBuf::from),
            kube_allow_exec,
            terraform_risks: match get("UHUB_TERRAFORM_RISKS") {
                Some(text) => services::terraform::RiskPatterns::with_overrides(&text)
                    .map_err(|why| ConfigError::new("UHUB_TERRAFORM_RISKS", why))?,
                None => services::terraform::RiskPatterns::default(),
            },
            local_run_user: get("UHUB_LOCAL_RUN_USER").filter(|name| !name.trim().is_empty()),
            docker_host,
            docker_cert_path,
            public_url: get("UHUB_PUBLIC_URL"),
            vault,
            timezone,
            metrics_interval,
            metrics_token,
        })
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A secret from `NAME` or from the file named by `NAME_FILE` (Docker / Kubernetes secrets);
/// setting both is a mistake worth refusing.
fn secret(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    file_name: &'static str,
) -> Result<Option<Secret>, ConfigError> {
    match (get(name), get(file_name)) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            name,
            format!("set either {name} or {file_name}, not both"),
        )),
        (Some(value), None) => Ok(Some(Secret::new(value))),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError::new(file_name, format!("cannot read `{path}`: {e}")))?;
            let value = text.trim_end_matches(['\n', '\r']).to_owned();
            if value.is_empty() {
                return Err(ConfigError::new(file_name, format!("`{path}` is empty")));
            }
            Ok(Some(Secret::new(value)))
        }
        (None, None) => Ok(None),
    }
}

/// A Vault token or AppRole credentials, exactly one of the two.
fn vault_credentials(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<VaultCredentials, ConfigError> {
    let token = secret(get, "UHUB_VAULT_TOKEN", "UHUB_VAULT_TOKEN_FILE")?;
    let role_id = secret(get, "UHUB_VAULT_ROLE_ID", "UHUB_VAULT_ROLE_ID_FILE")?;
    let secret_id = secret(get, "UHUB_VAULT_SECRET_ID", "UHUB_VAULT_SECRET_ID_FILE")?;
    match (token, role_id, secret_id) {
        (Some(token), None, None) => Ok(VaultCredentials::Token(token)),
        (None, Some(role_id), Some(secret_id)) => Ok(VaultCredentials::AppRole {
            mount: get("UHUB_VAULT_APPROLE_MOUNT").unwrap_or_else(|| "approle".to_owned()),
            role_id,
            secret_id,
        }),
        (Some(_), _, _) => Err(ConfigError::new(
            "UHUB_VAULT_TOKEN",
            "give uHub either a Vault token or AppRole credentials, not both",
        )),
        (None, Some(_), None) => Err(ConfigError::new(
            "UHUB_VAULT_SECRET_ID",
            "UHUB_VAULT_ROLE_ID is set: AppRole also needs UHUB_VAULT_SECRET_ID (or _FILE)",
        )),
        (None, None, Some(_)) => Err(ConfigError::new(
            "UHUB_VAULT_ROLE_ID",
            "UHUB_VAULT_SECRET_ID is set: AppRole also needs UHUB_VAULT_ROLE_ID (or _FILE)",
        )),
        (None, None, None) => Err(ConfigError::new(
            "UHUB_VAULT_TOKEN",
            "UHUB_VAULT_ADDR is set: give uHub a Vault token (UHUB_VAULT_TOKEN or _FILE) or AppRole credentials (UHUB_VAULT_ROLE_ID and UHUB_VAULT_SECRET_ID, or their _FILE)",
        )),
    }
}

/// A Docker engine on another host is root on that host for whoever reaches its API: uHub
/// reaches it over TLS with a client certificate, never in clear. The address is read as the
/// docker backend will connect to it (`services::engine::docker::engine_address`).
fn check_docker_transport(
    host: &str,
    cert_path: Option<&std::path::Path>,
) -> Result<(), ConfigError> {
    use services::engine::docker::{engine_address, EngineAddress};
    let address = engine_address(host).map_err(|why| ConfigError::new("UHUB_DOCKER_HOST", why))?;
    match (address, cert_path) {
        (EngineAddress::Unix(_), Some(_)) => Err(ConfigError::new(
            "UHUB_DOCKER_CERT_PATH",
            "is set, but UHUB_DOCKER_HOST is not a tcp://host:port engine",
        )),
        (EngineAddress::Tcp { https: true, .. }, None) => Err(ConfigError::new(
            "UHUB_DOCKER_CERT_PATH",
            "UHUB_DOCKER_HOST asks for https: give the client certificate's directory (ca.pem, cert.pem, key.pem)",
        )),
        (EngineAddress::Tcp { loopback: false, .. }, None) => Err(ConfigError::new(
            "UHUB_DOCKER_HOST",
            format!("`{host}` is another host: reach its engine over TLS by setting UHUB_DOCKER_CERT_PATH to a directory with ca.pem, cert.pem and key.pem"),
        )),
        _ => Ok(()),
    }
}

/// An http(s) URL setting without credentials (`UHUB_GITHUB_API_URL`, `UHUB_GITLAB_URL`).
fn api_url(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    example: &str,
) -> Result<Option<String>, ConfigError> {
    let Some(url) = get(name).filter(|url| !url.trim().is_empty()) else {
        return Ok(None);
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let authority = rest.map(|r| r.split('/').next().unwrap_or_default());
    let usable = authority.is_some_and(|a| !a.is_empty() && !a.contains('@'))
        && !url.contains(char::is_whitespace);
    if !usable {
        return Err(ConfigError::new(
            name,
            format!("must be an http(s) URL without credentials, such as {example}"),
        ));
    }
    Ok(Some(url))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn nothing_set_gives_the_documented_defaults() -> Result<(), ConfigError> {
        let config = config(&[])?;
        assert_eq!(config.bind.to_string(), DEFAULT_BIND);
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert!(config.database_url.is_none());
        assert!(config.jwt_secret.is_none());
        assert!(!config.seed_demo);
        assert_eq!(config.log_format, LogFormat::Text);
        Ok(())
    }

    #[test]
    fn a_bad_bind_address_names_the_setting() {
        let error = config(&[("UHUB_BIND", "localhost")])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("UHUB_BIND: `localhost` is not an address like 127.0.0.1:3000")
        );
    }

    #[test]
    fn vault_needs_a_token_and_has_default_mount_and_prefix() -> Result<(), ConfigError> {
        let missing = config(&[("UHUB_VAULT_ADDR", "http://127.0.0.1:8200")]).err();
        assert_eq!(missing.map(|e| e.setting), Some("UHUB_VAULT_TOKEN"));
        let vault = config(&[
            ("UHUB_VAULT_ADDR", "http://127.0.0.1:8200"),
            ("UHUB_VAULT_TOKEN", "hvs.test"),
        ])?
        .vault
        .ok_or_else(|| ConfigError::new("UHUB_VAULT_ADDR", "not read"))?;
        assert_eq!(
            (vault.mount.as_str(), vault.prefix.as_str()),
            ("secret", "uhub")
        );
        assert_eq!(
            format!("{:?}", vault.auth),
            "Token(Secret(***))",
            "the token never shows"
        );
        Ok(())
    }

    #[test]
    fn vault_app_role_needs_both_halves_and_excludes_a_token() -> Result<(), ConfigError> {
        let address = ("UHUB_VAULT_ADDR", "http://127.0.0.1:8200");
        let half = config(&[address, ("UHUB_VAULT_ROLE_ID", "role")]).err();
        assert_eq!(half.map(|e| e.setting), Some("UHUB_VAULT_SECRET_ID"));
        let both = config(&[
            address,
            ("UHUB_VAULT_TOKEN", "hvs.test"),
            ("UHUB_VAULT_ROLE_ID", "role"),
            ("UHUB_VAULT_SECRET_ID", "secret-id-value"),
        ])
        .err();
        assert_eq!(both.map(|e| e.setting), Some("UHUB_VAULT_TOKEN"));
        let vault = config(&[
            address,
            ("UHUB_VAULT_ROLE_ID", "role"),
            ("UHUB_VAULT_SECRET_ID", "secret-id-value"),
        ])?
        .vault
        .ok_or_else(|| ConfigError::new("UHUB_VAULT_ADDR", "not read"))?;
        let shown = format!("{:?}", vault.auth);
        assert!(
            shown.contains("approle") && !shown.contains("secret-id-value"),
            "{shown}"
        );
        Ok(())
    }

    #[test]
    fn terraform_risks_change_the_defaults_kind_by_kind() -> Result<(), ConfigError> {
        let default_kinds = config(&[])?.terraform_risks.0.len();
        let changed = config(&[(
            "UHUB_TERRAFORM_RISKS",
            "dns=;storage=_bucket, _s3_ ;iam=_iam_",
        )])?
        .terraform_risks;
        let kinds: Vec<&str> = changed.0.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            kinds.len(),
            default_kinds,
            "dns removed, storage added: {kinds:?}"
        );
        assert!(kinds.contains(&"storage") && !kinds.contains(&"dns"));
        let iam = changed
            .0
            .iter()
            .find(|(k, _)| k == "iam")
            .map(|(_, w)| w.clone());
        assert_eq!(iam, Some(vec!["_iam_".to_owned()]));
        let bad = config(&[("UHUB_TERRAFORM_RISKS", "no equals sign")]).err();
        assert_eq!(bad.map(|e| e.setting), Some("UHUB_TERRAFORM_RISKS"));
        Ok(())
    }

    #[test]
    fn the_time_zone_is_an_iana_name() -> Result<(), ConfigError> {
        assert_eq!(config(&[])?.timezone, chrono_tz::Tz::UTC);
        assert_eq!(
            config(&[])?.metrics_interval,
            std::time::Duration::from_secs(10)
        );
        assert_eq!(
            config(&[("UHUB_METRICS_INTERVAL", "30")])?.metrics_interval,
            std::time::Duration::from_secs(30)
        );
        for wrong in ["0", "61", "fast"] {
            let error = config(&[("UHUB_METRICS_INTERVAL", wrong)]).err();
            assert_eq!(error.map(|e| e.setting), Some("UHUB_METRICS_INTERVAL"));
        }
        assert_eq!(
            config(&[("UHUB_TIMEZONE", "Europe/Paris")])?.timezone,
            chrono_tz::Europe::Paris
        );
        let error = config(&[("UHUB_TIMEZONE", "Mars/Olympus")]).err();
        assert_eq!(error.map(|e| e.setting), Some("UHUB_TIMEZONE"));
        Ok(())
    }

    #[test]
    fn a_remote_docker_engine_needs_tls() -> Result<(), ConfigError> {
        let remote = config(&[("UHUB_DOCKER_HOST", "tcp://runner.internal:2375")]).err();
        assert_eq!(remote.map(|e| e.setting), Some("UHUB_DOCKER_HOST"));
        assert!(config(&[("UHUB_DOCKER_HOST", "tcp://127.0.0.1:2375")]).is_ok());
        assert!(config(&[("UHUB_DOCKER_HOST", "tcp://[::1]:2375")]).is_ok());
        let tls = config(&[
            ("UHUB_DOCKER_HOST", "tcp://runner.internal:2376"),
            ("UHUB_DOCKER_CERT_PATH", "/run/secrets/docker-tls"),
        ])?;
        assert_eq!(
            tls.docker_cert_path,
            Some(PathBuf::from("/run/secrets/docker-tls"))
        );
        for sneaky in [
            "tcp://127.0.0.1:2375@evil.example:2375",
            "tcp://localhost:@evil.example:2375",
            "tcp://[::1]@evil.example:2375",
            "TCP://evil.example:2375",
            "http://evil.example:2375",
            "tcp://127.0.0.1.evil.example:2375",
            "tcp://127.0.0.1:2375/../x",
            "tcp://127.0.0.1:2375?x=1",
        ] {
            let refused = config(&[("UHUB_DOCKER_HOST", sneaky)]).err();
            assert_eq!(
                refused.map(|e| e.setting),
                Some("UHUB_DOCKER_HOST"),
                "{sneaky}"
            );
        }
        let https_without = config(&[("UHUB_DOCKER_HOST", "https://127.0.0.1:2376")]).err();
        assert_eq!(
            https_without.map(|e| e.setting),
            Some("UHUB_DOCKER_CERT_PATH")
        );
        let unix = config(&[("UHUB_DOCKER_CERT_PATH", "/x")]).err();
        assert_eq!(unix.map(|e| e.setting), Some("UHUB_DOCKER_CERT_PATH"));
        Ok(())
    }

    #[test]
    fn booleans_accept_the_usual_spellings() -> Result<(), ConfigError> {
        assert!(config(&[("UHUB_SEED_DEMO", "TRUE")])?.seed_demo);
        assert!(!config(&[("UHUB_SEED_DEMO", "0")])?.seed_demo);
        assert!(config(&[("UHUB_SEED_DEMO", "maybe")]).is_err());
        Ok(())
    }

    #[test]
    fn secrets_come_from_a_file_and_never_show_in_debug() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("jwt");
        std::fs::write(&path, "s3cret-value\n")?;
        let path = path.to_string_lossy().into_owned();
        let config = config(&[("UHUB_JWT_SECRET_FILE", &path)])?;
        assert_eq!(
            config.jwt_secret.as_ref().map(Secret::expose),
            Some("s3cret-value")
        );
        assert!(!format!("{config:?}").contains("s3cret"));
        Ok(())
    }

    #[test]
    fn a_secret_and_its_file_together_are_refused() {
        let error = config(&[
            ("UHUB_DATABASE_URL", "sqlite://x"),
            ("UHUB_DATABASE_URL_FILE", "/x"),
        ])
        .err();
        assert_eq!(error.map(|e| e.setting), Some("UHUB_DATABASE_URL"));
    }

    #[test]
    fn an_unreadable_secret_file_names_the_file_setting() {
        let error = config(&[("UHUB_JWT_SECRET_FILE", "/nonexistent/uhub-secret")]).err();
        assert_eq!(error.map(|e| e.setting), Some("UHUB_JWT_SECRET_FILE"));
    }
}
