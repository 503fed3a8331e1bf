//! LPProto (seed 000): text WebSocket messages of a command line, `name:value` header lines,
//! an empty line and a body. Lines end in `\n` or `\r\n`; header names are case-insensitive
//! and spaces around values are ignored.

use crate::errors::ErrorCode;

/// Protocol version the server speaks.
pub const VERSION: &str = "1.0";

/// One LPProto message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub command: String,
    /// Header names in lower case, in order of appearance.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Why a message could not be read or answered: the code, and the header concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoError {
    pub code: ErrorCode,
    pub header: Option<String>,
    pub detail: String,
    /// For `cooldown`: when to try again.
    pub retry_after_ms: Option<u64>,
}

impl ProtoError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        ProtoError { code, header: None, detail: detail.into(), retry_after_ms: None }
    }

    pub fn header(code: ErrorCode, header: &str, detail: impl Into<String>) -> Self {
        ProtoError { code, header: Some(header.to_string()), detail: detail.into(), retry_after_ms: None }
    }

    /// The ERROR message that answers it.
    pub fn to_message(&self) -> Message {
        let mut message = Message::new("ERROR").with_header("error", &self.code.code().to_string());
        if let Some(header) = &self.header {
            message = message.with_header("header", header);
        }
        if let Some(ms) = self.retry_after_ms {
            message = message.with_header("retry-after-ms", &ms.to_string());
        }
        message.with_header("reason", &self.detail.replace(['\r', '\n'], " "))
    }
}

impl Message {
    pub fn new(command: &str) -> Self {
        Message { command: command.to_string(), headers: Vec::new(), body: String::new() }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    pub fn with_body(mut self, content_type: &str, body: String) -> Self {
        self.headers.push(("content-type".to_string(), content_type.to_string()));
        self.body = body;
        self
    }

    /// The value of header `name` (case-insensitive), the first if repeated.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value of header `name`, or the missing-header error.
    pub fn require(&self, name: &str) -> Result<&str, ProtoError> {
        self.header(name).ok_or_else(|| {
            ProtoError::header(ErrorCode::MissingHeader, name, format!("{} needs `{name}`", self.command))
        })
    }

    /// Reads one message.
    pub fn parse(text: &str) -> Result<Message, ProtoError> {
        let mut rest = text;
        let mut next_line = || -> Option<&str> {
            if rest.is_empty() {
                return None;
            }
            let (line, tail) = match rest.find('\n') {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, ""),
            };
            rest = tail;
            Some(line.strip_suffix('\r').unwrap_or(line))
        };
        let command = next_line().unwrap_or("").trim();
        if command.is_empty() || !command.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
            return Err(ProtoError::new(ErrorCode::Malformed, "the first line must be a command such as CONNECT"));
        }
        let mut message = Message::new(command);
        while let Some(line) = next_line() {
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(ProtoError::new(ErrorCode::Malformed, format!("header line without `:`: {line:.60}")));
            };
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(ProtoError::new(ErrorCode::Malformed, format!("bad header name in: {line:.60}")));
            }
            message.headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
        message.body = rest.to_string();
        Ok(message)
    }

    /// The message as text, `\n` line ends.
    pub fn encode(&self) -> String {
        let mut text = self.command.clone();
        text.push('\n');
        for (name, value) in &self.headers {
            text.push_str(name);
            text.push(':');
            text.push_str(value);
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.body);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_seed_examples_with_either_line_end() {
        let m = Message::parse("CONNECT\nversion:1.0\nheartbeat:1000\n\n").unwrap();
        assert_eq!(m.command, "CONNECT");
        assert_eq!((m.header("version"), m.header("Heartbeat")), (Some("1.0"), Some("1000")));
        let m = Message::parse("FRAME\r\ncontent-type:image/x-jpeg-base64\r\n\r\n/9j/4AAQ").unwrap();
        assert_eq!((m.header("content-type"), m.body.as_str()), (Some("image/x-jpeg-base64"), "/9j/4AAQ"));
        // "version: 1.0" as the seed's CONNECTED example writes it.
        let m = Message::parse("CONNECTED\nsession-id:623e1bbc\nversion: 1.0").unwrap();
        assert_eq!(m.header("version"), Some("1.0"));
        assert_eq!(m.body, "");
        assert_eq!(Message::parse("HEARTBEAT").unwrap().command, "HEARTBEAT");
    }

    #[test]
    fn round_trips() {
        let m = Message::new("STATS").with_header("x-a", "1").with_body("application/json", "{\"isOk\":false}".into());
        assert_eq!(Message::parse(&m.encode()).unwrap(), m);
        // A body may hold blank lines and colons.
        let m = Message::new("SUCCESS").with_body("application/jwt", "a:b\n\nc".into());
        assert_eq!(Message::parse(&m.encode()).unwrap().body, "a:b\n\nc");
    }

    #[test]
    fn malformed_messages_are_refused_with_their_code() {
        for text in ["", "\n\n", "connect\n\n", "CONNECT now\n", "CONNECT\nversion 1.0\n\n", "CONNECT\n:1\n\n"] {
            assert_eq!(Message::parse(text).unwrap_err().code, ErrorCode::Malformed, "{text:?}");
        }
        let m = Message::parse("FRAME\n\n").unwrap();
        let err = m.require("content-type").unwrap_err();
        assert_eq!((err.code, err.header.as_deref()), (ErrorCode::MissingHeader, Some("content-type")));
        let answer = err.to_message();
        assert_eq!((answer.command.as_str(), answer.header("error")), ("ERROR", Some("1005")));
    }
}
