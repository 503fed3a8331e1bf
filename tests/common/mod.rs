//! Helpers of lpserver's tests: a server on a free port, a plain HTTP/1.1 client, the demo
//! clip's frames and a real `redis-server` of the test's own.
#![allow(dead_code)]

use std::path::PathBuf;

use gst::prelude::*;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `redis-server` on a unix socket in a scratch folder, without dumps; killed on drop.
pub struct RedisServer {
    child: Child,
    dir: std::path::PathBuf,
}

impl RedisServer {
    /// Starts a server; returns it and its URL.
    pub fn start() -> (RedisServer, String) {
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("lpserver-redis-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("redis.sock");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "no", "--unixsocket"])
            .arg(&socket)
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs (apt-get install redis-server)");
        for _ in 0..200 {
            if socket.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(socket.exists(), "redis-server did not open {}", socket.display());
        (RedisServer { child, dir }, format!("unix://{}", socket.display()))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub const KEY: &str = "lpserver-test-secret-0123456789abcdef";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Starts a server on a free port with `vars` over the test defaults; returns its address and
/// the sender that stops it.
pub async fn start(vars: &[(&str, &str)]) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let mut all: Vec<(String, String)> =
        vec![("LIVENESS_JWT_SECRET".into(), KEY.into()), ("MIN_AGE".into(), "0".into())];
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config =
        lpserver::config::Config::from_lookup(|name| all.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("test configuration");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(lpserver::serve(config, listener, async {
        let _ = stopped.await;
    }));
    (address, stop)
}

/// The frames of the bundled demo clip (turn left, look up, turn right), as JPEG.
pub fn clip_jpegs() -> Vec<Vec<u8>> {
    lpserver::init_gstreamer().unwrap();
    let launch = format!(
        "filesrc location={} ! decodebin ! videoconvert ! jpegenc quality=90 ! appsink name=out sync=false",
        root().join("tests/fixtures/demo-session.webm").display()
    );
    let pipeline = gst::parse::launch(&launch).unwrap().downcast::<gst::Pipeline>().unwrap();
    let sink = pipeline.by_name("out").unwrap().downcast::<gst_app::AppSink>().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut frames = Vec::new();
    while let Ok(sample) = sink.pull_sample() {
        frames.push(sample.buffer().unwrap().map_readable().unwrap().to_vec());
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(frames.len(), 144);
    frames
}

/// One HTTP/1.1 request over a fresh connection; returns the status and the body.
pub async fn http(address: std::net::SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connects");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("writes");
    // A refused request may be answered before the whole body is read.
    let _ = stream.write_all(body).await;
    // Read to the end of the body: Content-Length when given (not every server closes the
    // connection), else to the close.
    let mut response = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut chunk = [0u8; 65536];
    let (split, head) = loop {
        if let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&response[..split]).to_string();
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                .and_then(|v| v.parse::<usize>().ok());
            if length.is_some_and(|length| response.len() >= split + 4 + length) {
                break (split, head);
            }
        }
        let read = tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await.expect("an answer within 120 s");
        match read {
            Ok(0) | Err(_) => {
                let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP head");
                break (split, String::from_utf8_lossy(&response[..split]).to_string());
            }
            Ok(n) => response.extend_from_slice(&chunk[..n]),
        }
    };
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status");
    let mut body = response[split + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
    out
}

/// POSTs `body` as JSON and reads the JSON answer.
pub async fn post_json(
    address: std::net::SocketAddr,
    path: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let (status, bytes) = http(address, "POST", path, body.to_string().as_bytes()).await;
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|err| panic!("{path}: answer is not JSON ({err}): {}", String::from_utf8_lossy(&bytes)));
    (status, value)
}

/// The claims of a token signed with the test key; panics when it does not verify.
pub fn verify(token: &str) -> serde_json::Value {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<serde_json::Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(KEY.as_bytes()),
        &validation,
    )
    .expect("the token verifies with the server's key")
    .claims
}
