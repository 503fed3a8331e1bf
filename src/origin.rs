//! Which web pages may use the server: a browser sends the page's origin with the WebSocket
//! upgrade of `/lpproto` and with its REST requests, and a page of another site must not drive
//! sessions in the user's name. The REST API answers the pages it accepts with CORS headers.

use std::sync::Arc;

use warp::Filter;
use warp::http::header::{self, HeaderValue};

use crate::App;

/// Whether a WebSocket upgrade with this `Origin` header (and `Host` header) may proceed.
/// Clients that are not browsers send no Origin and pass. With `allowed` empty, only the
/// server's own pages pass (the origin's host is the request's `Host`); `*` allows every origin.
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin.map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase()) else { return true };
    if allowed.is_empty() {
        let origin_host = origin.split_once("://").map(|(_, rest)| rest);
        return origin_host.is_some_and(|o| host.is_some_and(|h| o == h.trim().to_ascii_lowercase()));
    }
    allowed.iter().any(|a| a == "*" || *a == origin)
}

/// `ALLOWED_ORIGINS` as a list: comma-separated origins (`https://app.example.com`), compared
/// without letter case or a trailing slash; `*` for any. None when one is not an origin.
pub fn parse_origins(list: &str) -> Option<Vec<String>> {
    let origins: Vec<String> = list
        .split(',')
        .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
        .filter(|o| !o.is_empty())
        .collect();
    origins.iter().all(|o| o == "*" || is_origin(o)).then_some(origins)
}

/// `http://host[:port]` or `https://host[:port]`: a scheme and a host, no path.
fn is_origin(origin: &str) -> bool {
    let host = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    host.is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b)))
}

/// A request of a page whose origin may not use the server.
#[derive(Debug)]
pub struct OriginRefused;

impl warp::reject::Reject for OriginRefused {}

/// The request's `Origin` when it may use the server (None: not a browser); rejects with
/// [`OriginRefused`] otherwise, before anything is read or analysed.
fn checked_origin(
    app: Arc<App>,
) -> impl Filter<Extract = (Option<String>,), Error = warp::Rejection> + Clone + Send + Sync + 'static {
    warp::header::optional::<String>("origin").and(warp::header::optional::<String>("host")).and_then(
        move |origin: Option<String>, host: Option<String>| {
            let allowed = origin_allowed(origin.as_deref(), host.as_deref(), &app.config.allowed_origins);
            async move { if allowed { Ok(origin) } else { Err(warp::reject::custom(OriginRefused)) } }
        },
    )
}

/// `routes` (the REST API) for the pages of the accepted origins: their requests are answered
/// with `Access-Control-Allow-Origin`, CORS preflights (`OPTIONS`) are answered, and requests
/// of other pages are refused with `origin-not-allowed` (403).
pub fn with_cors(
    app: Arc<App>,
    routes: impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone + Send + Sync + 'static,
) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    let preflight = warp::options().and(checked_origin(app.clone())).map(|origin: Option<String>| {
        let mut response = allow(warp::reply::Response::default(), origin);
        *response.status_mut() = warp::http::StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, DELETE"));
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type, authorization"));
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        response
    });
    let answered = checked_origin(app)
        .and(routes)
        .map(|origin: Option<String>, response: warp::reply::Response| allow(response, origin));
    preflight.or(answered).unify()
}

/// Names `origin` as allowed to read `response` (nothing for requests without an Origin).
fn allow(mut response: warp::reply::Response, origin: Option<String>) -> warp::reply::Response {
    if let Some(value) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::VARY, HeaderValue::from_static("origin"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_of_other_sites_are_refused_unless_listed() {
        let host = Some("liveness.example.com:5003");
        // Not a browser: no Origin.
        assert!(origin_allowed(None, host, &[]));
        // The server's own page.
        assert!(origin_allowed(Some("http://liveness.example.com:5003"), host, &[]));
        assert!(origin_allowed(Some("HTTPS://Liveness.example.com:5003/"), host, &[]));
        // Another site.
        assert!(!origin_allowed(Some("https://evil.example.net"), host, &[]));
        assert!(!origin_allowed(Some("null"), host, &[]));
        let listed = parse_origins(" https://app.example.com/ ,https://kiosk.example.com").unwrap();
        assert_eq!(listed, vec!["https://app.example.com", "https://kiosk.example.com"]);
        assert!(origin_allowed(Some("https://app.example.com"), host, &listed));
        assert!(!origin_allowed(Some("http://liveness.example.com:5003"), host, &listed), "only the list");
        assert!(origin_allowed(Some("https://anything.example"), host, &parse_origins("*").unwrap()));
        for bad in ["app.example.com", "https://app.example.com/path", "ftp://x", "https://"] {
            assert_eq!(parse_origins(bad), None, "{bad}");
        }
        assert!(parse_origins("http://127.0.0.1:8080,https://[::1]:443").is_some());
    }
}
