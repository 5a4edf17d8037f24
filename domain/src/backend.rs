//! Execution backends: where a run is carried out. Which ones production accepts is a policy rule.

crate::string_enum! {
    /// How a project's runs are executed (SPEC.md: local, docker, webhook in v1; ssh, k8s,
    /// serverless later).
    pub enum ExecutionBackend ("execution backend") {
        Local => "local",
        Docker => "docker",
        Webhook => "webhook",
        Ssh => "ssh",
        K8s => "k8s",
        Serverless => "serverless",
    }
}

impl ExecutionBackend {
    /// Backends that isolate a run from the uHub host: the only ones allowed in production and,
    /// for `ops`, in staging.
    pub fn is_isolated(self) -> bool {
        matches!(
            self,
            ExecutionBackend::Docker | ExecutionBackend::K8s | ExecutionBackend::Webhook
        )
    }
}

crate::string_enum! {
    /// The shape of the webhook call: a generic signed POST, or a CI system's trigger API.
    pub enum WebhookPreset ("webhook preset") {
        Generic => "generic",
        GithubActions => "github_actions",
        GitlabPipeline => "gitlab_pipeline",
    }
}

/// A project's `execution_backend_config`: limits and targets, never a secret. Tokens and signing
/// keys live in the project's secrets and are named here, not copied.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    /// Default container image (docker) when a job's action names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// A run still going after this many seconds is stopped as `timed_out`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 86400))]
    pub timeout_seconds: Option<u32>,
    /// CPU limit of a container, in CPUs (0.5 = half a core).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Memory limit of a container, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 4))]
    pub memory_mb: Option<u32>,
    /// Process limit of a container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub pids_limit: Option<u32>,
    /// Containers get no network unless this is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<bool>,
    /// Where webhook runs are sent (http or https, without credentials in the URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_preset: Option<WebhookPreset>,
    /// The name of the project secret that holds the webhook's token or signing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret_name: Option<String>,
    /// How long a triggered webhook run waits for its target's final callback before it is
    /// `timed_out` (900 s by default). The wait holds no execution slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 86400))]
    pub callback_timeout_seconds: Option<u32>,
}

/// How long a webhook run waits for its callback unless the project says otherwise.
pub const DEFAULT_CALLBACK_TIMEOUT_SECONDS: u32 = 900;

impl BackendConfig {
    /// The field at fault and why, if the configuration could not be used as it is.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let field = |name: &'static str, why: &str| Err((name, why.to_owned()));
        if self
            .image
            .as_deref()
            .is_some_and(|i| i.trim().is_empty() || i.contains(char::is_whitespace))
        {
            return field(
                "execution_backend_config.image",
                "an image reference is one word",
            );
        }
        if self
            .timeout_seconds
            .is_some_and(|t| !(1..=86_400).contains(&t))
        {
            return field(
                "execution_backend_config.timeout_seconds",
                "must be between 1 and 86400",
            );
        }
        if self
            .cpus
            .is_some_and(|c| !(c.is_finite() && c > 0.0 && c <= 256.0))
        {
            return field(
                "execution_backend_config.cpus",
                "must be above 0 and at most 256",
            );
        }
        if self.memory_mb.is_some_and(|m| m < 4) {
            return field(
                "execution_backend_config.memory_mb",
                "must be at least 4 MiB",
            );
        }
        if self.pids_limit == Some(0) {
            return field("execution_backend_config.pids_limit", "must be at least 1");
        }
        if let Some(url) = &self.webhook_url {
            if let Err(why) = crate::link::check_url(url, &["http", "https"]) {
                return field("execution_backend_config.webhook_url", why);
            }
        }
        if self
            .callback_timeout_seconds
            .is_some_and(|t| !(1..=86_400).contains(&t))
        {
            return field(
                "execution_backend_config.callback_timeout_seconds",
                "must be between 1 and 86400",
            );
        }
        if let Some(name) = &self.webhook_secret_name {
            if !crate::link::is_secret_name(name) {
                return field(
                    "execution_backend_config.webhook_secret_name",
                    "a secret name is letters, digits and _ (for example GITHUB_TOKEN)",
                );
            }
        }
        Ok(())
    }
}
