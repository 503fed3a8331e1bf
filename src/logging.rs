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

/// A user key as the logs show it: 12 hex digits of its HMAC-SHA256 under `secret`
/// (`LOG_HASH_KEY`), enough to follow one user's sessions; without the secret nobody can
/// recompute it from a list of references or addresses.
pub fn user_hash(secret: &[u8], key: &str) -> String {
    use hmac::Mac;
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) else { return String::new() };
    mac.update(key.as_bytes());
    mac.finalize().into_bytes().iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// The secret of [`user_hash`]: `LOG_HASH_KEY`, or 32 random bytes from the operating system.
pub fn log_hash_secret(configured: Option<&str>) -> Vec<u8> {
    use rand::TryRngCore;
    if let Some(key) = configured {
        return key.as_bytes().to_vec();
    }
    let mut bytes = vec![0u8; 32];
    if rand::rngs::OsRng.try_fill_bytes(&mut bytes).is_err() {
        // Without randomness the hashes still hide the references from anyone without the
        // process's memory: a key from the clock and the process.
        let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
        bytes = sha2::Sha256::digest(seed.as_bytes()).to_vec();
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_hashes() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("json")), Ok(LogFormat::Json));
        assert!(LogFormat::parse(Some("xml")).unwrap_err().contains("text or json"));
        let key = b"log-hash-key-0123456789";
        let hash = user_hash(key, "rp:shop:alice");
        assert_eq!(hash.len(), 12);
        assert_eq!(hash, user_hash(key, "rp:shop:alice"), "one user, one name under one key");
        assert_ne!(hash, user_hash(key, "rp:shop:bob"));
        assert_ne!(hash, user_hash(b"another-key-0123456789", "rp:shop:alice"), "keyed");
        // Not the plain SHA-256 of the reference, which a dictionary would recover.
        let plain: String = sha2::Sha256::digest(b"rp:shop:alice").iter().take(6).map(|b| format!("{b:02x}")).collect();
        assert_ne!(hash, plain);
        assert_ne!(log_hash_secret(None), log_hash_secret(None), "a random key each start");
        assert_eq!(log_hash_secret(Some("configured-key-0123")), b"configured-key-0123");
    }
}
