//! A small Kubernetes API server for the tests: no real one can be installed here (none in
//! Debian, PyPI or npm), so this TLS server answers the few requests uHub's cluster check and
//! `kubectl get` make — `/version`, `/api`, `/apis`, `/api/v1`, a namespace, its pods and
//! `SelfSubjectRulesReview` — with bodies taken from the Kubernetes API reference (v1.31), and
//! refuses any request without the expected bearer token (401, as a real server does). Its
//! certificates are made by `openssl` for the test: a CA, a server certificate for 127.0.0.1
//! signed by it, and another CA nothing is signed by (to show a TLS mismatch). The real client,
//! `kubectl`, is the test command's. Every request is recorded (method, path and query, whether
//! the token was right).
//!
//! Self-contained (no `crate::` paths) so the browser tests include it too.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio_rustls::rustls;

/// The namespace the fake cluster has (others are 404).
pub const NAMESPACE: &str = "payments";

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub authorized: bool,
}

#[derive(Clone)]
struct Shared {
    token: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// The running server and its certificates; stopped when dropped.
pub struct FakeCluster {
    pub url: String,
    pub token: String,
    /// PEM of the CA that signed the server's certificate.
    pub ca_pem: String,
    /// PEM of a CA that signed nothing here.
    pub other_ca_pem: String,
    /// SHA-256 fingerprint of `ca_pem` as `openssl x509 -fingerprint -sha256` prints it.
    pub ca_fingerprint: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for FakeCluster {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeCluster {
    /// What was asked so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .map(|seen| seen.clone())
            .unwrap_or_default()
    }

    /// Stops answering (connections are refused from now on).
    pub fn stop(&self) {
        self.server.abort();
    }

    /// A kubeconfig for this cluster: the context `uhub` (namespace [`NAMESPACE`]) with `token`,
    /// trusting `ca_pem`, plus a second context `other` so that choosing matters.
    pub fn kubeconfig(&self, token: &str, ca_pem: &str) -> String {
        use base64::Engine as _;
        let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: uhub\nclusters:\n- name: fake\n  cluster:\n    server: {url}\n    certificate-authority-data: {ca}\nusers:\n- name: deployer\n  user:\n    token: {token}\n- name: admin\n  user:\n    token: admin-token-never-chosen\ncontexts:\n- name: uhub\n  context:\n    cluster: fake\n    user: deployer\n    namespace: {NAMESPACE}\n- name: other\n  context:\n    cluster: fake\n    user: admin\n    namespace: kube-system\n",
            url = self.url
        )
    }
}

pub fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (Debian's openssl package)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA (`<name>.key`, `<name>.pem`) in `dir`.
pub fn make_ca(dir: &Path, name: &str) -> PathBuf {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    dir.join(format!("{name}.pem"))
}

/// A certificate `<name>.pem` with its key `<name>.key` in `dir`, signed by the CA `<ca>` made
/// by [`make_ca`], with the X.509 `extensions` (`openssl x509 -extfile` lines).
pub fn issue(dir: &Path, ca: &str, name: &str, extensions: &str) -> PathBuf {
    let ext = format!("{name}.ext");
    std::fs::write(dir.join(&ext), extensions).expect("extensions");
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let cert = format!("{name}.pem");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "2",
            "-extfile",
            &ext,
        ],
    );
    dir.join(cert)
}

/// Starts the server on a free loopback port; requests must carry `Bearer <token>`.
pub async fn start(token: &str) -> FakeCluster {
    let dir = tempfile::tempdir().expect("certificates directory");
    let path = dir.path();
    let ca = make_ca(path, "uhub-test-ca");
    let other_ca = make_ca(path, "uhub-other-ca");
    issue(
        path,
        "uhub-test-ca",
        "server",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    );
    let fingerprint = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(&ca)
        .output()
        .expect("openssl fingerprint");
    let ca_fingerprint = String::from_utf8_lossy(&fingerprint.stdout)
        .trim()
        .rsplit('=')
        .next()
        .unwrap_or_default()
        .to_owned();

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certificates: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(path.join("server.pem"))
            .expect("server certificate")
            .collect::<Result<_, _>>()
            .expect("server certificate");
    let key = PrivateKeyDer::from_pem_file(path.join("server.key")).expect("server key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(certificates, key)
    .expect("server TLS configuration");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let port = tcp.local_addr().expect("address").port();
    let shared = Shared {
        token: token.to_owned(),
        seen: Arc::new(Mutex::new(Vec::new())),
    };
    let app = Router::new()
        .route("/version", get(version))
        .route("/api", get(api_versions))
        .route("/apis", get(api_groups))
        .route("/api/v1", get(core_resources))
        .route("/api/v1/namespaces/{namespace}", get(namespace))
        .route("/api/v1/namespaces/{namespace}/pods", get(pods))
        .route(
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            post(rules_review),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            authenticate,
        ))
        .with_state(shared.clone());
    let listener = TlsListener { tcp, acceptor };
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    FakeCluster {
        url: format!("https://127.0.0.1:{port}"),
        token: token.to_owned(),
        ca_pem: std::fs::read_to_string(&ca).expect("CA"),
        other_ca_pem: std::fs::read_to_string(&other_ca).expect("other CA"),
        ca_fingerprint,
        seen: shared.seen,
        server,
        _dir: dir,
    }
}

/// TLS over a TCP listener for `axum::serve`; a failed handshake (a client that does not
/// trust the certificate) is skipped.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, address)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, address);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// A `Status` object, as the API server answers errors.
fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    (
        code,
        Json(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code.as_u16(),
        })),
    )
        .into_response()
}

async fn authenticate(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let expected = format!("Bearer {}", shared.token);
    let authorized = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str());
    if let Ok(mut seen) = shared.seen.lock() {
        seen.push(Seen {
            method: method.to_string(),
            target: uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            authorized,
        });
    }
    if !authorized {
        return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    next.run(request).await
}

async fn version() -> Json<Value> {
    Json(json!({
        "major": "1", "minor": "31", "gitVersion": "v1.31.2",
        "gitCommit": "5864a4677267e6adeae276ad85882a8714d69d9d", "gitTreeState": "clean",
        "buildDate": "2024-10-22T20:28:14Z", "goVersion": "go1.22.8", "compiler": "gc",
        "platform": "linux/amd64",
    }))
}

async fn api_versions() -> Json<Value> {
    Json(json!({
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
    }))
}

async fn api_groups() -> Json<Value> {
    Json(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}))
}

async fn core_resources() -> Json<Value> {
    Json(json!({
        "kind": "APIResourceList", "groupVersion": "v1",
        "resources": [
            {"name": "namespaces", "singularName": "namespace", "namespaced": false, "kind": "Namespace",
             "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": ["ns"]},
            {"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod",
             "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
             "shortNames": ["po"], "categories": ["all"]},
        ],
    }))
}

async fn namespace(UrlPath(name): UrlPath<String>) -> Response {
    if name != NAMESPACE {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("namespaces \"{name}\" not found"),
        );
    }
    Json(json!({
        "kind": "Namespace", "apiVersion": "v1",
        "metadata": {"name": NAMESPACE, "uid": "6b1c2f3e-1d2a-4c5b-9e8f-0a1b2c3d4e5f",
                     "resourceVersion": "412", "creationTimestamp": "2026-11-02T08:00:00Z",
                     "labels": {"kubernetes.io/metadata.name": NAMESPACE}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }))
    .into_response()
}

async fn pods(UrlPath(name): UrlPath<String>) -> Response {
    if name != NAMESPACE {
        return status(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!("pods is forbidden: User \"deployer\" cannot list resource \"pods\" in API group \"\" in the namespace \"{name}\""),
        );
    }
    let pod = |pod: &str| {
        json!({
            "metadata": {"name": pod, "namespace": NAMESPACE, "uid": format!("uid-{pod}"),
                         "resourceVersion": "1001", "creationTimestamp": "2026-12-01T09:00:00Z",
                         "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "registry.example.org/web:1.4"}]},
            "status": {"phase": "Running"},
        })
    };
    Json(json!({
        "kind": "PodList", "apiVersion": "v1",
        "metadata": {"resourceVersion": "1002"},
        "items": [pod("web-1"), pod("web-2")],
    }))
    .into_response()
}

async fn rules_review(Json(review): Json<Value>) -> Json<Value> {
    let namespace = review["spec"]["namespace"].as_str().unwrap_or_default();
    let rules = if namespace == NAMESPACE {
        json!([
            {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods", "pods/log"]},
            {"verbs": ["get", "patch"], "apiGroups": ["apps"], "resources": ["deployments"]},
            {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectrulesreviews"]},
        ])
    } else {
        json!([])
    };
    Json(json!({
        "kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": {"namespace": namespace},
        "status": {"resourceRules": rules, "nonResourceRules": [
            {"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/version"]},
        ], "incomplete": false},
    }))
}

async fn not_found(uri: Uri) -> Response {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!(
            "the server could not find the requested resource ({})",
            uri.path()
        ),
    )
}
