//! The browser client: static files from `web/`, built into the binary (no build step, no
//! files to install beside it). `/` is the page; `/static/<name>` its script and style.

use warp::http::header::{CACHE_CONTROL, CONTENT_TYPE};

pub const INDEX_HTML: &str = include_str!("../web/index.html");

const ASSETS: &[(&str, &str, &str)] = &[
    ("lpclient.js", "text/javascript; charset=utf-8", include_str!("../web/lpclient.js")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../web/app.js")),
    ("style.css", "text/css; charset=utf-8", include_str!("../web/style.css")),
];

/// The asset called `name`, with its content type.
pub fn asset(name: &str) -> Option<warp::reply::Response> {
    let (_, content_type, body) = ASSETS.iter().find(|(file, _, _)| *file == name)?;
    let mut response = warp::reply::Response::new((*body).into());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, warp::http::HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, warp::http::HeaderValue::from_static("no-cache"));
    Some(response)
}
