//! lpserver's logs: `tracing` events on standard error, filtered by `RUST_LOG` (default
//! `info`), as text lines or one JSON object a line (`LOG_FORMAT=json`). Each connection has a
//! span (`connection`, with the client's address) and each session one inside it (`session`,
//! with the session id and a hash of the user key); every session ends with one `session
//! ended` event with its outcome, codes and duration; the warnings and errors of a session's
//! pipeline are forwarded with the element that posted them.
//!
//! Nothing biometric and no secret is logged: no frame, no face measure, no token, no API
//! key, and users appear only as [`user_hash`].

use sha2::Digest;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    /// `LOG_FORMAT`: `text` (the default) or `json`.
    pub fn parse(value: Option<&str>) -> Result<LogFormat, String> {
        match value.map(str::trim) {
            None | Some("") | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(format!("LOG_FORMAT={other:?} is not valid: text or json")),
        }
    }
}

/// Installs the subscriber for the process; `filter` is `RUST_LOG` (default `info`).
pub fn init(format: LogFormat, filter: Option<&str>) -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    let filter = match filter.map(str::trim) {
        Some(spec) if !spec.is_empty() => {
            EnvFilter::try_new(spec).map_err(|err| format!("RUST_LOG={spec:?} is not valid: {err}"))?
        }
        _ => EnvFilter::new("info"),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
    };
    installed.map_err(|err| format!("logging: {err}"))
}

/// A user key as the logs show it: 12 hex digits of its SHA-256, enough to follow one user's
/// sessions, not to read the reference or the address back.
pub fn user_hash(key: &str) -> String {
    let digest = sha2::Sha256::digest(key.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_hashes() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("json")), Ok(LogFormat::Json));
        assert!(LogFormat::parse(Some("xml")).unwrap_err().contains("text or json"));
        let hash = user_hash("rp:shop:alice");
        assert_eq!(hash.len(), 12);
        assert_ne!(hash, user_hash("rp:shop:bob"));
    }
}
