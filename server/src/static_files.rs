//! Static files: the browser bundle under `/pkg` and the assets of `public/`, served by uhub
//! itself (no CDN), precompressed when the build made `.gz` / `.br` siblings.

use std::path::Path;

use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::Router;
use tower::ServiceBuilder;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;

/// Unhashed bundle names (a build made before hashing, tests' sites) change in place: browsers
/// must revalidate them; the `Last-Modified` / `ETag` answers make that a cheap 304.
const REVALIDATE: &str = "no-cache";
/// Fonts and icons are versioned by file name, the bundle by its content hash: they never
/// change in place.
const LONG_LIVED: &str = "public, max-age=31536000, immutable";
/// The files of `public/` served at the site's root: public, the same for everyone, revalidated
/// on use (`sw.js` above all must not be kept stale).
pub const SITE_ROOT_FILES: &[&str] = &[
    "/favicon.svg",
    "/manifest.webmanifest",
    "/sw.js",
    "/sw-register.js",
    "/offline.html",
];

/// What the application answers besides files: about someone (a page, a list, a log) or at
/// least not worth keeping; never stored by the browser or a cache on the way, so that Back
/// after logging out, or the next person on a shared computer, finds nothing.
const NOT_STORED: &str = "no-store";

/// The `Cache-Control` of an answer to `path` that did not set its own: files of the site's
/// root are revalidated, everything else is not stored.
pub fn default_cache_control(path: &str) -> HeaderValue {
    if SITE_ROOT_FILES.contains(&path) {
        HeaderValue::from_static(REVALIDATE)
    } else {
        HeaderValue::from_static(NOT_STORED)
    }
}

/// The bundle's name when the build did not hash it.
const UNHASHED_BUNDLE: &str = "uhub";

/// The bundle's file stem in `site_dir/pkg`: `uhub.<16 hex digits>` as `scripts/build.sh`
/// names the WASM, its script and the stylesheet, else `uhub`. Pages name the files from it. The
/// WASM may be there gzipped only (the container image keeps no raw copy).
pub fn bundle_name(site_dir: &Path) -> String {
    let Ok(entries) = std::fs::read_dir(site_dir.join("pkg")) else {
        return UNHASHED_BUNDLE.to_owned();
    };
    let mut hashed: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| {
            let stem = name
                .strip_suffix(".wasm")
                .or_else(|| name.strip_suffix(".wasm.gz"))?;
            Some(stem.to_owned())
        })
        .filter(|stem| is_hashed_bundle(stem))
        .collect();
    // Several builds in one directory: the last name in order is as good as any, and the
    // same at every start.
    hashed.sort();
    hashed.pop().unwrap_or_else(|| UNHASHED_BUNDLE.to_owned())
}

/// `uhub.` and 16 lowercase hex digits.
fn is_hashed_bundle(stem: &str) -> bool {
    stem.strip_prefix("uhub.").is_some_and(|hash| {
        hash.len() == 16
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// A file of `/pkg` whose name carries the bundle's hash (`uhub.<hash>.wasm`, `.js`, `.css`,
/// and their `.gz` / `.br` siblings).
fn is_hashed_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.get(..21).is_some_and(is_hashed_bundle) && name.as_bytes().get(21) == Some(&b'.')
}

/// The files of `dir`, their `.br` / `.gz` siblings answered to browsers that accept them.
fn precompressed(dir: &Path) -> ServeDir {
    ServeDir::new(dir).precompressed_br().precompressed_gzip()
}

/// Mounts `dir` at `prefix` with the given `Cache-Control`.
fn mount(
    router: Router<AppState>,
    prefix: &str,
    dir: &Path,
    cache_control: &'static str,
) -> Router<AppState> {
    let files = precompressed(dir);
    router.nest_service(
        prefix,
        ServiceBuilder::new()
            .layer(SetResponseHeaderLayer::overriding(
                CACHE_CONTROL,
                HeaderValue::from_static(cache_control),
            ))
            .service(files),
    )
}

/// `/pkg/*` (JS, WASM, CSS: `immutable` when hashed, else revalidated), `/fonts/*`, `/icons/*`
/// and the files of the site's root (`SITE_ROOT_FILES`).
pub fn router(site_dir: &Path) -> Router<AppState> {
    let bundle = Router::new()
        .nest_service("/pkg", precompressed(&site_dir.join("pkg")))
        .layer(axum::middleware::from_fn(bundle_cache_control));
    let router = mount(bundle, "/fonts", &site_dir.join("fonts"), LONG_LIVED);
    let router = mount(router, "/icons", &site_dir.join("icons"), LONG_LIVED);
    router.merge(root_files(site_dir))
}

/// `Cache-Control` of a `/pkg` answer: a year for a hashed name, revalidation otherwise (and
/// for errors: a name missing today may exist after the next deployment).
async fn bundle_cache_control(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let hashed = is_hashed_file(request.uri().path());
    let mut response = next.run(request).await;
    let value = if hashed && response.status().is_success() {
        LONG_LIVED
    } else {
        REVALIDATE
    };
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static(value));
    response
}

/// The files of the site's root, each on its own route. Leptos' file fallback
/// (`file_and_error_handler_with_context`) served them once: it gives a file it finds a reactive
/// owner whose parent is whatever owner the worker thread had last, and reading the request's
/// context from there reached an owner being dropped and locked the thread for good (a browser
/// test's server hung so). With these routes every file of the site has one, and the
/// application's fallback renders only the 404 page (`not_found_page`). Their `Cache-Control`
/// is `default_cache_control`'s; they are small and have no precompressed copies (the
/// compression layer answers for them).
fn root_files<S: Clone + Send + Sync + 'static>(site_dir: &Path) -> Router<S> {
    SITE_ROOT_FILES.iter().fold(Router::new(), |router, path| {
        let file = site_dir.join(path.trim_start_matches('/'));
        router.route_service(path, ServeFile::new(file))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_at_the_sites_root_is_known_as_one() {
        let public = Path::new(env!("CARGO_MANIFEST_DIR")).join("../public");
        let entries = std::fs::read_dir(&public).expect("public/");
        let mut files: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
            .map(|entry| format!("/{}", entry.file_name().to_string_lossy()))
            .collect();
        files.sort();
        let mut known = SITE_ROOT_FILES.to_vec();
        known.sort_unstable();
        assert_eq!(files, known, "public/'s root against SITE_ROOT_FILES");
    }

    /// Each file of the site's root is answered by its own route, never by the application's
    /// fallback (see `root_files`): a router without one serves them all.
    #[tokio::test]
    async fn the_sites_root_files_are_served_without_the_fallback() -> std::io::Result<()> {
        use tower::ServiceExt;
        let site = tempfile::tempdir()?;
        for path in SITE_ROOT_FILES {
            std::fs::write(
                site.path().join(path.trim_start_matches('/')),
                path.as_bytes(),
            )?;
        }
        for path in SITE_ROOT_FILES {
            let request = axum::http::Request::get(*path)
                .body(axum::body::Body::empty())
                .map_err(std::io::Error::other)?;
            let answer = root_files::<()>(site.path())
                .oneshot(request)
                .await
                .map_err(std::io::Error::other)?;
            assert_eq!(answer.status(), axum::http::StatusCode::OK, "{path}");
            let body = axum::body::to_bytes(answer.into_body(), 1 << 16)
                .await
                .map_err(std::io::Error::other)?;
            assert_eq!(&body[..], path.as_bytes(), "{path}");
        }
        Ok(())
    }

    #[test]
    fn only_the_builds_hashed_names_are_immutable() {
        for hashed in [
            "/pkg/uhub.0123456789abcdef.wasm",
            "/pkg/uhub.0123456789abcdef.js",
            "/pkg/uhub.0123456789abcdef.css.gz",
        ] {
            assert!(is_hashed_file(hashed), "{hashed}");
        }
        for plain in [
            "/pkg/uhub.wasm",
            "/pkg/uhub.0123456789ABCDEF.wasm",
            "/pkg/uhub.0123456789abcde.wasm",
            "/pkg/uhub.0123456789abcdef0.wasm",
            "/pkg/xuhub.0123456789abcdef.wasm",
            "/pkg/uhub.0123456789abcdefwasm",
            "/pkg/uhub.0123456789abcdef.wasm/",
            "/pkg/uhub.é123456789abcdef.wasm",
        ] {
            assert!(!is_hashed_file(plain), "{plain}");
        }
    }

    #[test]
    fn the_bundle_is_found_by_its_hashed_name_or_falls_back() -> std::io::Result<()> {
        let site = tempfile::tempdir()?;
        assert_eq!(bundle_name(site.path()), "uhub", "no pkg directory");
        let pkg = site.path().join("pkg");
        std::fs::create_dir_all(&pkg)?;
        std::fs::write(pkg.join("uhub.wasm"), b"")?;
        std::fs::write(pkg.join("uhub.0123456789ABCDEF.wasm"), b"")?;
        assert_eq!(bundle_name(site.path()), "uhub");
        std::fs::write(pkg.join("uhub.0123456789abcdef.wasm"), b"")?;
        std::fs::write(pkg.join("uhub.0123456789abcdef.wasm.gz"), b"")?;
        assert_eq!(bundle_name(site.path()), "uhub.0123456789abcdef");
        // Gzipped only, as in the container image.
        std::fs::remove_file(pkg.join("uhub.0123456789abcdef.wasm"))?;
        assert_eq!(bundle_name(site.path()), "uhub.0123456789abcdef");
        Ok(())
    }
}
