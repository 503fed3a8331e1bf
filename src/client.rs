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
    Ok(create_session_with_id(ws_url, api_key, user).await?.1)
}

/// [`create_session`], with the session's id: (`sessionId`, `clientToken`).
pub async fn create_session_with_id(ws_url: &str, api_key: &str, user: &str) -> Result<(String, String), String> {
    let body = serde_json::json!({ "userReference": user }).to_string();
    let (status, created) = http(ws_url, "POST", "/v1/sessions", api_key, &body).await?;
    match (status, created["sessionId"].as_str(), created["clientToken"].as_str()) {
        (201, Some(id), Some(token)) => Ok((id.to_string(), token.to_string())),
        _ => Err(format!("POST /v1/sessions: {status} {created}")),
    }
}

/// A relying party's `GET /v1/sessions/{id}/result?details=true` on the server of `ws_url`:
/// the status and the answer.
pub async fn session_result(ws_url: &str, api_key: &str, id: &str) -> Result<(u16, serde_json::Value), String> {
    http(ws_url, "GET", &format!("/v1/sessions/{id}/result?details=true"), api_key, "").await
}

/// One HTTP/1.1 request with `api_key` to the server of `ws_url`: the status and the JSON answer.
async fn http(
    ws_url: &str,
    method: &str,
    path: &str,
    api_key: &str,
    body: &str,
) -> Result<(u16, serde_json::Value), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = ws_url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .ok_or_else(|| format!("{ws_url}: not a ws:// URL"))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {api_key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(host).await.map_err(|err| format!("{host}: {err}"))?;
    stream.write_all(request.as_bytes()).await.map_err(|err| format!("{host}: {err}"))?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.map_err(|err| format!("{host}: {err}"))?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").ok_or("no HTTP answer")?;
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or("no HTTP status")?;
    Ok((status, serde_json::from_str(body).unwrap_or_default()))
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
