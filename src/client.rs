//! The client side of LPProto for the tools that drive a server (`lpload`, `lpeval`): a
//! WebSocket connection and reading its next message.

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
