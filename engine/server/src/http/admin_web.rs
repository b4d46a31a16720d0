//! The owner's admin web app (`web/`, built by `npm run build` into `web/dist`), served under
//! `/admin`, and `/` leading to it.
//!
//! Design decision: the built files are read from a folder (`ADMIN_WEB_DIR`, default
//! `web/dist`) once at start-up into memory, not embedded into the binary. Embedding would
//! make every `cargo build` and `cargo test` need Node and a finished web build; reading a
//! folder keeps the Rust build independent of the web build (the scripts run both), and
//! serving from memory means a request never touches the disk, so no request path can reach
//! a file outside the build (a path is only ever looked up in the map of files read at
//! start). Rebuilding the admin takes effect on the next start.
//!
//! Any `/admin/...` path that is not a built file gets `index.html`, so the app's own routes
//! (`/admin/reservations`, …) survive a reload; missing `/admin/assets/...` files stay 404s.
//! Pages carry a strict Content-Security-Policy: scripts only from this origin, so a caller's
//! "name" that is really `<script>` could never run even if a page failed to escape it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

/// Where the app lives; `/` redirects here.
pub const ADMIN_PATH: &str = "/admin/";

/// The policy for the app's pages: everything from this origin only. Styles may be inline
/// because the dialog primitives set `style` on elements; scripts may not.
const ADMIN_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Largest built file read (the whole build is a few hundred KiB; this bounds a mistake such
/// as pointing `ADMIN_WEB_DIR` at a folder of recordings).
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Most files read from the build folder.
const MAX_FILES: usize = 2_000;

/// The built admin app, read into memory at start-up.
#[derive(Debug, Default)]
pub struct AdminWeb {
    /// Relative path (`index.html`, `assets/index-3f2a.js`) → file contents.
    files: HashMap<String, Bytes>,
    /// Why the app is not available (shown on `/admin/` instead of the app).
    missing: Option<String>,
}

impl AdminWeb {
    /// Reads every file under `dir`. A missing or unbuilt folder is not an error: the server
    /// still runs its API and phone lines, and `/admin/` says how to build the app.
    pub fn load(dir: &Path) -> AdminWeb {
        let mut files = HashMap::new();
        if let Err(reason) = read_tree(dir, dir, &mut files) {
            return AdminWeb::unavailable(reason);
        }
        if !files.contains_key("index.html") {
            return AdminWeb::unavailable(format!(
                "{} has no index.html: build the admin with `npm ci && npm run build` in web/ \
                 (scripts/run.sh does), or point ADMIN_WEB_DIR at the build",
                dir.display()
            ));
        }
        AdminWeb {
            files,
            missing: None,
        }
    }

    fn unavailable(reason: String) -> AdminWeb {
        AdminWeb {
            files: HashMap::new(),
            missing: Some(reason),
        }
    }

    /// `None` when the app is built and served; otherwise why not.
    pub fn missing(&self) -> Option<&str> {
        self.missing.as_deref()
    }

    /// What `/admin/<tail>` answers.
    fn lookup(&self, tail: &str) -> Served {
        if let Some(reason) = &self.missing {
            let page = format!(
                "<!doctype html><meta charset=utf-8><title>Vartalaap admin</title>\
                 <p>The admin web app is not available: {}</p>",
                escape_html(reason)
            );
            return Served {
                status: StatusCode::SERVICE_UNAVAILABLE,
                name: "unavailable.html".into(),
                body: Bytes::from(page),
            };
        }
        match self.files.get_key_value(tail) {
            Some((name, body)) => Served::ok(name, body),
            None if tail.starts_with("assets/") => Served {
                status: StatusCode::NOT_FOUND,
                name: "missing.txt".into(),
                body: Bytes::from_static(b"not found"),
            },
            // A route of the app itself (/admin/calls/…): the app decides what to show.
            None => match self.files.get_key_value("index.html") {
                Some((name, body)) => Served::ok(name, body),
                None => Served {
                    status: StatusCode::NOT_FOUND,
                    name: "missing.txt".into(),
                    body: Bytes::from_static(b"not found"),
                },
            },
        }
    }
}

/// One answer from the admin folder, before it becomes an HTTP response.
#[derive(Debug)]
struct Served {
    status: StatusCode,
    /// The file's relative name; its extension decides the content type.
    name: String,
    body: Bytes,
}

impl Served {
    fn ok(name: &str, body: &Bytes) -> Served {
        Served {
            status: StatusCode::OK,
            name: name.to_string(),
            body: body.clone(),
        }
    }

    /// Built assets have content hashes in their names and never change, so they may be
    /// cached for good; the page that names them is always fetched fresh (the edge's
    /// `no-store`).
    fn immutable(&self) -> bool {
        self.status == StatusCode::OK && self.name.starts_with("assets/")
    }

    fn into_response(self) -> Response {
        let immutable = self.immutable();
        let mut reply = Response::new(self.body.into());
        *reply.status_mut() = self.status;
        let headers = reply.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(&self.name)),
        );
        if immutable {
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
        }
        with_csp(reply)
    }
}

fn with_csp(mut reply: Response) -> Response {
    reply.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(ADMIN_CSP),
    );
    reply
}

fn read_tree(root: &Path, dir: &Path, files: &mut HashMap<String, Bytes>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "could not read {} ({e}): build the admin with `npm ci && npm run build` in web/ \
             (scripts/run.sh does), or point ADMIN_WEB_DIR at the build",
            dir.display()
        )
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("could not read {}: {e}", dir.display()))?;
        let path: PathBuf = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| format!("could not read {}: {e}", path.display()))?;
        if kind.is_dir() {
            read_tree(root, &path, files)?;
        } else if kind.is_file() {
            let size = entry.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
            if size > MAX_FILE_BYTES || files.len() >= MAX_FILES {
                return Err(format!(
                    "{} does not look like the admin build (a file over {MAX_FILE_BYTES} bytes \
                     or more than {MAX_FILES} files)",
                    root.display()
                ));
            }
            let bytes = std::fs::read(&path)
                .map_err(|e| format!("could not read {}: {e}", path.display()))?;
            let Ok(relative) = path.strip_prefix(root) else {
                continue;
            };
            let key = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.insert(key, Bytes::from(bytes));
        }
        // Symlinks and other special files are skipped: the build has none.
    }
    Ok(())
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /` → the admin; `GET /admin` → `/admin/`; `GET /admin/...` → the app.
pub fn routes(
    admin: Arc<AdminWeb>,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let root = warp::path::end()
        .and(warp::get().or(warp::head()).unify())
        .map(|| redirect(ADMIN_PATH));
    // warp matches `/admin` and `/admin/` alike; only the bare one is redirected, so the
    // app's relative URLs always resolve under `/admin/`.
    let app = warp::path("admin")
        .and(warp::path::full())
        .and(warp::path::tail())
        .and(warp::get().or(warp::head()).unify())
        .map(move |full: warp::path::FullPath, tail: warp::path::Tail| {
            if full.as_str() == "/admin" {
                redirect(ADMIN_PATH)
            } else {
                admin.lookup(tail.as_str()).into_response()
            }
        });
    root.or(app).unify()
}

fn redirect(to: &'static str) -> Response {
    let mut reply = StatusCode::SEE_OTHER.into_response();
    reply
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built() -> (tempfile::TempDir, AdminWeb) {
        let dir = tempfile::tempdir().unwrap();
        let dist = dir.path().join("dist");
        std::fs::create_dir_all(dist.join("assets")).unwrap();
        std::fs::write(dist.join("index.html"), "<div id=root></div>").unwrap();
        std::fs::write(dist.join("assets/app-1a2b.js"), "console.log(1)").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "outside").unwrap();
        let admin = AdminWeb::load(&dist);
        (dir, admin)
    }

    #[test]
    fn built_files_are_served_with_their_type_and_app_routes_get_the_page() {
        let (_dir, admin) = built();
        assert!(admin.missing().is_none());
        let script = admin.lookup("assets/app-1a2b.js");
        assert_eq!(script.status, StatusCode::OK);
        assert_eq!(content_type(&script.name), "text/javascript; charset=utf-8");
        assert!(script.immutable());
        for route in ["", "reservations", "calls/abc"] {
            let page = admin.lookup(route);
            assert_eq!(page.status, StatusCode::OK, "{route}");
            assert_eq!(page.name, "index.html");
            assert!(
                !page.immutable(),
                "the page naming the assets must not be cached"
            );
        }
        assert_eq!(admin.lookup("assets/gone.js").status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn paths_outside_the_build_are_never_read() {
        let (_dir, admin) = built();
        for path in [
            "../secret.txt",
            "%2e%2e/secret.txt",
            "assets/../../secret.txt",
        ] {
            assert_ne!(&admin.lookup(path).body[..], b"outside", "{path}");
        }
    }

    #[test]
    fn an_unbuilt_admin_says_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        let admin = AdminWeb::load(&dir.path().join("dist"));
        assert!(admin.missing().unwrap().contains("npm ci && npm run build"));
        let page = admin.lookup("");
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(std::str::from_utf8(&page.body).unwrap().contains("npm ci"));
    }

    #[test]
    fn the_reason_shown_on_the_page_is_escaped() {
        assert_eq!(escape_html("<b>&\""), "&lt;b&gt;&amp;&quot;");
    }
}
