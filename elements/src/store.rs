//! How a session is kept in Redis, shared by `lvvideoglue` (writes), `lvvideogluesrc` (reads)
//! and lpserver (deletes).
//!
//! A session is one Redis stream, key `liveness:session:<session id in hex>`: the id is
//! hex-encoded, so no character of it (`*`, `:`, spaces ...) can name or match another key.
//! Each frame is one entry with the fields
//!
//! | field      | value                                                      |
//! |------------|------------------------------------------------------------|
//! | `kind`     | `frame`                                                    |
//! | `pts`      | presentation timestamp in ns (decimal), as the frame had   |
//! | `duration` | buffer duration in ns, absent when the frame had none      |
//! | `width`    | frame width in pixels                                      |
//! | `height`   | frame height in pixels                                     |
//! | `jpeg`     | the frame as JPEG                                          |
//! | `faces`    | the FaceMeta as JSON (`{"width", "height", "faces": [...]}`), absent without one |
//!
//! and the end of a session (verdict or end of stream) adds an entry `kind` = `summary` whose
//! `summary` field is JSON: `reason` (`verdict` or `eos`), `verdict` (lvchallenge's verdict
//! fields, or null), and the `stored`, `dropped` and `skipped` frame counts. Every write sets
//! the key's time to live again, so a session disappears `ttl` seconds after its last entry.

use std::collections::HashMap;
use std::time::Duration;

use liveness_core::face::FaceFrame;

/// Namespace of the session keys.
pub const SESSION_KEY_PREFIX: &str = "liveness:session";

/// Connect, read and write timeout of every Redis call: a Redis that hangs costs a frame at
/// most this long.
pub const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// `namespace:<id in lowercase hex>`: `id` cannot reach a key outside its own.
pub fn hex_key(namespace: &str, id: &str) -> String {
    let mut key = String::with_capacity(namespace.len() + 1 + id.len() * 2);
    key.push_str(namespace);
    key.push(':');
    for b in id.bytes() {
        key.push_str(&format!("{b:02x}"));
    }
    key
}

/// The Redis key of session `id`.
pub fn session_key(id: &str) -> String {
    hex_key(SESSION_KEY_PREFIX, id)
}

/// `url` without a password, for messages.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("Redis at {url}: {source}")]
    Redis { url: String, source: redis::RedisError },
    #[error("stored entry {id} is not valid: {detail}")]
    BadEntry { id: String, detail: String },
}

/// One stored frame.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFrame {
    pub pts_ns: u64,
    pub duration_ns: Option<u64>,
    pub width: u32,
    pub height: u32,
    pub jpeg: Vec<u8>,
    /// The FaceMeta as JSON, as stored.
    pub faces_json: Option<Vec<u8>>,
}

impl StoredFrame {
    /// The FaceMeta read back; an error names what in the JSON is wrong.
    pub fn faces(&self) -> Option<Result<FaceFrame, serde_json::Error>> {
        self.faces_json.as_deref().map(serde_json::from_slice)
    }
}

/// One entry of a session's stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Frame(StoredFrame),
    /// The summary's JSON text.
    Summary(String),
}

/// A blocking connection to one Redis server.
pub struct Store {
    url: String,
    connection: redis::Connection,
}

impl Store {
    /// Connects and checks that the server answers (`PING`), within [`IO_TIMEOUT`].
    pub fn connect(url: &str) -> Result<Store, StoreError> {
        let err = |source| StoreError::Redis { url: redacted(url), source };
        let client = redis::Client::open(url).map_err(err)?;
        let mut connection = client.get_connection_with_timeout(IO_TIMEOUT).map_err(err)?;
        connection.set_read_timeout(Some(IO_TIMEOUT)).map_err(err)?;
        connection.set_write_timeout(Some(IO_TIMEOUT)).map_err(err)?;
        redis::cmd("PING").query::<String>(&mut connection).map_err(err)?;
        Ok(Store { url: redacted(url), connection })
    }

    fn error(&self, source: redis::RedisError) -> StoreError {
        StoreError::Redis { url: self.url.clone(), source }
    }

    /// Appends a frame to session `key` and sets the key to expire `ttl_s` seconds from now,
    /// in one transaction.
    pub fn append_frame(&mut self, key: &str, frame: &StoredFrame, ttl_s: u64) -> Result<(), StoreError> {
        let mut xadd = redis::cmd("XADD");
        xadd.arg(key)
            .arg("*")
            .arg("kind")
            .arg("frame")
            .arg("pts")
            .arg(frame.pts_ns)
            .arg("width")
            .arg(frame.width)
            .arg("height")
            .arg(frame.height)
            .arg("jpeg")
            .arg(&frame.jpeg);
        if let Some(duration) = frame.duration_ns {
            xadd.arg("duration").arg(duration);
        }
        if let Some(faces) = &frame.faces_json {
            xadd.arg("faces").arg(faces);
        }
        self.append(key, xadd, ttl_s)
    }

    /// Appends the session's summary (JSON text).
    pub fn append_summary(&mut self, key: &str, summary: &str, ttl_s: u64) -> Result<(), StoreError> {
        let mut xadd = redis::cmd("XADD");
        xadd.arg(key).arg("*").arg("kind").arg("summary").arg("summary").arg(summary);
        self.append(key, xadd, ttl_s)
    }

    fn append(&mut self, key: &str, xadd: redis::Cmd, ttl_s: u64) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.atomic().add_command(xadd).ignore().cmd("EXPIRE").arg(key).arg(ttl_s).ignore();
        pipe.query::<()>(&mut self.connection).map_err(|e| self.error(e))
    }

    /// Up to `count` entries of session `key` after entry `after` (from the start when None),
    /// with their entry ids.
    pub fn read(&mut self, key: &str, after: Option<&str>, count: usize) -> Result<Vec<(String, Record)>, StoreError> {
        let start = after.map(|id| format!("({id}")).unwrap_or_else(|| "-".into());
        let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(key)
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(count)
            .query(&mut self.connection)
            .map_err(|e| self.error(e))?;
        reply.ids.into_iter().map(|entry| Ok((entry.id.clone(), parse_entry(&entry.id, entry.map)?))).collect()
    }

    /// Whether session `key` holds anything.
    pub fn exists(&mut self, key: &str) -> Result<bool, StoreError> {
        redis::cmd("EXISTS").arg(key).query::<u32>(&mut self.connection).map(|n| n > 0).map_err(|e| self.error(e))
    }

    /// Removes session `key`; false when there was nothing to remove.
    pub fn delete(&mut self, key: &str) -> Result<bool, StoreError> {
        redis::cmd("DEL").arg(key).query::<u32>(&mut self.connection).map(|n| n > 0).map_err(|e| self.error(e))
    }
}

fn parse_entry(id: &str, mut map: HashMap<String, redis::Value>) -> Result<Record, StoreError> {
    let bad = |detail: String| StoreError::BadEntry { id: id.to_string(), detail };
    let mut bytes = |name: &str| -> Option<Vec<u8>> {
        match map.remove(name)? {
            redis::Value::BulkString(b) => Some(b),
            redis::Value::SimpleString(s) => Some(s.into_bytes()),
            _ => None,
        }
    };
    let kind = bytes("kind").ok_or_else(|| bad("no kind field".into()))?;
    match kind.as_slice() {
        b"summary" => {
            let summary = bytes("summary").ok_or_else(|| bad("no summary field".into()))?;
            String::from_utf8(summary).map(Record::Summary).map_err(|_| bad("summary is not UTF-8".into()))
        }
        b"frame" => {
            fn number<T: std::str::FromStr>(value: Option<Vec<u8>>) -> Option<T> {
                std::str::from_utf8(&value?).ok()?.parse().ok()
            }
            let pts_ns = number(bytes("pts")).ok_or_else(|| bad("no valid pts".into()))?;
            let width = number(bytes("width")).ok_or_else(|| bad("no valid width".into()))?;
            let height = number(bytes("height")).ok_or_else(|| bad("no valid height".into()))?;
            let duration_ns = number(bytes("duration"));
            let jpeg = bytes("jpeg").ok_or_else(|| bad("no jpeg field".into()))?;
            let faces_json = bytes("faces");
            Ok(Record::Frame(StoredFrame { pts_ns, duration_ns, width, height, jpeg, faces_json }))
        }
        other => Err(bad(format!("unknown kind {:?}", String::from_utf8_lossy(other)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_keys_hold_no_character_of_the_id() {
        assert_eq!(session_key("ab"), "liveness:session:6162");
        assert_eq!(session_key("*"), "liveness:session:2a");
        assert_eq!(session_key("a:b"), "liveness:session:613a62");
        // Distinct ids give distinct keys, and no key is a prefix pattern of another.
        assert_ne!(session_key("a"), session_key("a "));
        for id in ["x*", "x?", "x[ab]", "x\\", "x\r\nDEL y", "ü"] {
            let key = session_key(id);
            assert!(key[SESSION_KEY_PREFIX.len() + 1..].bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
        }
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(redacted("redis://:secret@host:6379/0"), "redis://***@host:6379/0");
        assert_eq!(redacted("redis://user:secret@host"), "redis://***@host");
        assert_eq!(redacted("unix:///run/redis.sock"), "unix:///run/redis.sock");
    }

    #[test]
    fn entries_without_their_fields_are_refused() {
        let entry = |fields: &[(&str, &[u8])]| {
            fields.iter().map(|(k, v)| (k.to_string(), redis::Value::BulkString(v.to_vec()))).collect()
        };
        let frame = parse_entry(
            "1-0",
            entry(&[("kind", b"frame"), ("pts", b"40"), ("width", b"4"), ("height", b"2"), ("jpeg", b"\xff\xd8")]),
        )
        .unwrap();
        assert!(matches!(frame, Record::Frame(StoredFrame { pts_ns: 40, width: 4, height: 2, .. })));
        assert!(parse_entry("1-0", entry(&[("kind", b"frame"), ("pts", b"x")])).is_err());
        assert!(parse_entry("1-0", entry(&[("kind", b"movie")])).is_err());
        assert!(parse_entry("1-0", entry(&[])).is_err());
    }
}
