//! The client side of LPProto for the tools that drive a server (`lpload`, `lpeval`): a
//! WebSocket connection and reading its next message, and a relying party's call that
//! creates a session.

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::protocol::Message;

/// A client's WebSocket connection to `/lpproto`.
pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next LPProto message that is not a heartbeat; None when the socket closed or sent
/// something that is not LPProto.
pub async fn receive(socket: &mut Socket) -> Option<Message> {
    loop {
        match socket.next().await? {
            Ok(WsMessage::Text(text)) => match Message::parse(&text) {
                Ok(m) if m.command == "HEARTBEAT" => continue,
                Ok(m) => return Some(m),
                Err(_) => return None,
            },
            Ok(WsMessage::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// What a relying party's backend does before a user's browser connects: `POST /v1/sessions`
/// for `user` with `api_key` on the server of `ws_url` (`ws://host:port/lpproto`). Returns the
/// session's client token, for CONNECT's `session-token`.
pub async fn create_session(ws_url: &str, api_key: &str, user: &str) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = ws_url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .ok_or_else(|| format!("{ws_url}: not a ws:// URL"))?;
    let body = serde_json::json!({ "userReference": user }).to_string();
    let request = format!(
        "POST /v1/sessions HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {api_key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(host).await.map_err(|err| format!("{host}: {err}"))?;
    stream.write_all(request.as_bytes()).await.map_err(|err| format!("{host}: {err}"))?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.map_err(|err| format!("{host}: {err}"))?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").ok_or("no HTTP answer")?;
    let created: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    match (head.starts_with("HTTP/1.1 201"), created["clientToken"].as_str()) {
        (true, Some(token)) => Ok(token.to_string()),
        _ => Err(format!("POST /v1/sessions: {} {body}", head.lines().next().unwrap_or(""))),
    }
}

/// The command line of a tool as `--name value` pairs; `--help` or `-h` prints `help` and
/// exits.
pub fn option_pairs(help: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            println!("{help}");
            std::process::exit(0);
        }
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        pairs.push((arg, value));
    }
    Ok(pairs)
}
