//! `405 Method Not Allowed` with the `Allow` header RFC 9110 requires.
//!
//! Why from the OpenAPI document: the methods a path answers are already listed there (and a
//! test checks the router serves exactly what is documented), so `Allow` cannot drift from
//! either. A request whose path matches a documented path but whose method is not listed gets
//! the 405; anything else falls through to the other routes' rejections (401, 404, …).

use std::sync::OnceLock;

use warp::http::header::{ALLOW, HeaderValue};
use warp::http::{Method, StatusCode};
use warp::path::FullPath;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::error::ApiError;

/// One documented path, split into segments; `None` stands for a `{parameter}`.
struct DocumentedPath {
    segments: Vec<Option<String>>,
    methods: Vec<Method>,
}

impl DocumentedPath {
    fn matches(&self, path: &str) -> bool {
        let mut given = path.trim_start_matches('/').split('/');
        let mut want = self.segments.iter();
        loop {
            match (given.next(), want.next()) {
                (None, None) => return true,
                (Some(g), Some(Some(literal))) if g == literal => {}
                (Some(g), Some(None)) if !g.is_empty() => {}
                _ => return false,
            }
        }
    }

    /// The `Allow` value: the documented methods, in the document's order.
    fn allow(&self) -> String {
        let names: Vec<&str> = self.methods.iter().map(Method::as_str).collect();
        names.join(", ")
    }
}

fn documented_paths() -> &'static [DocumentedPath] {
    static PATHS: OnceLock<Vec<DocumentedPath>> = OnceLock::new();
    PATHS.get_or_init(|| {
        let Some(paths) = super::openapi_document()["paths"].as_object() else {
            return Vec::new();
        };
        paths
            .iter()
            .map(|(template, operations)| DocumentedPath {
                segments: template
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| (!s.starts_with('{')).then(|| s.to_string()))
                    .collect(),
                methods: operations
                    .as_object()
                    .map(|ops| {
                        ops.keys()
                            .filter_map(|m| {
                                Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok()
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect()
    })
}

/// The documented methods of `path`, as an `Allow` value, when `method` is not one of them.
fn refused(method: &Method, path: &str) -> Option<String> {
    let mut allowed: Vec<&DocumentedPath> = documented_paths()
        .iter()
        .filter(|p| p.matches(path))
        .collect();
    // A literal segment beats a parameter (`/api/jobs/dead` over `/api/jobs/{id}`).
    allowed.sort_by_key(|p| std::cmp::Reverse(p.segments.iter().flatten().count()));
    let best = allowed.first()?;
    (!best.methods.contains(method)).then(|| best.allow())
}

/// Answers a documented path called with an undocumented method; rejects (404) otherwise so
/// the other routes' rejections decide the reply.
pub fn method_not_allowed() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::method()
        .and(warp::path::full())
        .and_then(|method: Method, path: FullPath| async move {
            let Some(allow) = refused(&method, path.as_str()) else {
                return Err(warp::reject::not_found());
            };
            let mut response = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "{method} is not allowed on {}; allowed: {allow}",
                    path.as_str()
                ),
            )
            .into_response();
            if let Ok(value) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(ALLOW, value);
            }
            Ok(response)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_the_documented_methods_of_the_matching_path() {
        assert_eq!(refused(&Method::GET, "/health"), None);
        assert_eq!(refused(&Method::TRACE, "/health").as_deref(), Some("GET"));
        let reservation = refused(&Method::DELETE, "/api/reservations/7").unwrap();
        assert!(
            reservation.contains("GET") && reservation.contains("PATCH"),
            "{reservation}"
        );
        assert_eq!(refused(&Method::PATCH, "/api/reservations/7"), None);
        assert_eq!(
            refused(&Method::POST, "/api/jobs/dead").as_deref(),
            Some("GET")
        );
    }

    #[test]
    fn undocumented_paths_are_left_to_the_router() {
        assert_eq!(refused(&Method::TRACE, "/nope"), None);
        assert_eq!(refused(&Method::TRACE, "/api/reservations/7/extra"), None);
        assert_eq!(refused(&Method::TRACE, "/api/reservations//cancel"), None);
    }
}
