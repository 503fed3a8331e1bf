//! Which web pages may use the server: a browser sends the page's origin with the WebSocket
//! upgrade of `/lpproto` and with its REST requests, and a page of another site must not drive
//! sessions in the user's name. The REST API answers the pages it accepts with CORS headers.

use std::sync::Arc;

use warp::Filter;
use warp::http::header::{self, HeaderValue};

use crate::App;

/// Whether a request with this `Origin` header may use the server. Clients that are not
/// browsers send no Origin and pass; the server's own pages (`own`: `PUBLIC_ORIGIN`) always
/// pass; others when `allowed` lists them or holds `*`. The request's `Host` plays no part: a
/// page of another name that resolves to the server (DNS rebinding) is another origin.
pub fn origin_allowed(origin: Option<&str>, own: &[String], allowed: &[String]) -> bool {
    let Some(origin) = origin.map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase()) else { return true };
    own.contains(&origin) || allowed.iter().any(|a| a == "*" || *a == origin)
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
    warp::header::optional::<String>("origin").and_then(move |origin: Option<String>| {
        let config = &app.config;
        let allowed = origin_allowed(origin.as_deref(), &config.own_origins, &config.allowed_origins);
        async move { if allowed { Ok(origin) } else { Err(warp::reject::custom(OriginRefused)) } }
    })
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
/// A static file of the web client (the module, its CSS and strings) for a page of `origin`:
/// with `Access-Control-Allow-Origin` when the origin may use the server (its own pages and
/// `ALLOWED_ORIGINS`), so that an integrator's page loads the component from here; without it
/// for others, whose browsers then refuse the module. The files are public either way.
pub fn static_file(response: warp::reply::Response, origin: Option<String>, app: &App) -> warp::reply::Response {
    let config = &app.config;
    match origin {
        Some(origin) if origin_allowed(Some(&origin), &config.own_origins, &config.allowed_origins) => {
            allow(response, Some(origin))
        }
        _ => {
            let mut response = response;
            response.headers_mut().insert(header::VARY, HeaderValue::from_static("origin"));
            response
        }
    }
}

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
        let own = vec!["https://liveness.example.com".to_string()];
        // Not a browser: no Origin.
        assert!(origin_allowed(None, &own, &[]));
        // The server's own page, whatever the letter case or a trailing slash.
        assert!(origin_allowed(Some("https://liveness.example.com"), &own, &[]));
        assert!(origin_allowed(Some("HTTPS://Liveness.example.com/"), &own, &[]));
        // Another site, or another name resolving to the server (DNS rebinding): its Host
        // header would match its Origin, and plays no part.
        assert!(!origin_allowed(Some("https://evil.example.net"), &own, &[]));
        assert!(!origin_allowed(Some("http://rebound.example.net:5003"), &own, &[]));
        assert!(!origin_allowed(Some("http://liveness.example.com"), &own, &[]), "another scheme is another origin");
        assert!(!origin_allowed(Some("null"), &own, &[]));
        let listed = parse_origins(" https://app.example.com/ ,https://kiosk.example.com").unwrap();
        assert_eq!(listed, vec!["https://app.example.com", "https://kiosk.example.com"]);
        assert!(origin_allowed(Some("https://app.example.com"), &own, &listed));
        assert!(origin_allowed(Some("https://liveness.example.com"), &own, &listed), "its own pages as well");
        assert!(!origin_allowed(Some("https://other.example.com"), &own, &listed));
        assert!(origin_allowed(Some("https://anything.example"), &own, &parse_origins("*").unwrap()));
        for bad in ["app.example.com", "https://app.example.com/path", "ftp://x", "https://"] {
            assert_eq!(parse_origins(bad), None, "{bad}");
        }
        assert!(parse_origins("http://127.0.0.1:8080,https://[::1]:443").is_some());
    }
}
