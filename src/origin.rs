//! Which web pages may open `/lpproto`: a browser sends the page's origin with the WebSocket
//! upgrade, and a page of another site must not drive sessions in the user's name.

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
/// without letter case or a trailing slash.
pub fn parse_origins(list: &str) -> Vec<String> {
    list.split(',').map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase()).filter(|o| !o.is_empty()).collect()
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
        let listed = parse_origins(" https://app.example.com/ ,https://kiosk.example.com");
        assert_eq!(listed, vec!["https://app.example.com", "https://kiosk.example.com"]);
        assert!(origin_allowed(Some("https://app.example.com"), host, &listed));
        assert!(!origin_allowed(Some("http://liveness.example.com:5003"), host, &listed), "only the list");
        assert!(origin_allowed(Some("https://anything.example"), host, &parse_origins("*")));
    }
}
