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
