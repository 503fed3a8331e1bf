//! `lpserver`: the web front of gst-liveness. It will speak LPProto over WebSocket and a REST
//! API, feeding frames into pipelines built from the `liveness` plugin's elements.

fn main() {
    println!("lpserver {}", env!("CARGO_PKG_VERSION"));
}
