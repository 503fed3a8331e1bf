//! Helpers of lpserver's tests: a server on a free port, a plain HTTP/1.1 client, the demo
//! clip's frames and a real `redis-server` of the test's own.
#![allow(dead_code)]

use std::path::PathBuf;

use gst::prelude::*;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `redis-server` on a unix socket in a scratch folder, without dumps; killed on drop.
pub struct RedisServer {
    child: Option<Child>,
    dir: std::path::PathBuf,
}

impl RedisServer {
    /// Starts a server; returns it and its URL.
    pub fn start() -> (RedisServer, String) {
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("lpserver-redis-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = RedisServer { child: None, dir };
        server.restart();
        let url = format!("unix://{}", server.socket().display());
        (server, url)
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    /// Kills the server (its data is gone with it).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A new, empty server on the same socket (the old one killed first).
    pub fn restart(&mut self) {
        self.kill();
        let socket = self.socket();
        let _ = std::fs::remove_file(&socket);
        let child = Command::new("redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "no", "--unixsocket"])
            .arg(&socket)
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs (apt-get install redis-server)");
        self.child = Some(child);
        // The socket file appears at bind(), before the server listens: wait for a connection.
        let mut listening = false;
        for _ in 0..500 {
            if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
                listening = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(listening, "redis-server does not listen on {}", socket.display());
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// LPProto over a real WebSocket client.

use futures_util::{SinkExt, StreamExt};
use lpserver::protocol::Message;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn open(address: std::net::SocketAddr) -> Socket {
    let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/lpproto")).await.expect("connects");
    socket
}

pub async fn send(socket: &mut Socket, message: &str) {
    socket.send(WsMessage::Text(message.into())).await.expect("sends");
}

/// The next LPProto message, skipping heartbeats; None when the socket closed.
pub async fn receive(socket: &mut Socket) -> Option<Message> {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(60), socket.next()).await.expect("an answer within 60 s");
        match next {
            Some(Ok(WsMessage::Text(text))) => {
                let message = Message::parse(&text).expect("the server speaks LPProto");
                if message.command != "HEARTBEAT" {
                    return Some(message);
                }
            }
            Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

pub async fn connect(socket: &mut Socket, extra: &str) -> Message {
    send(socket, &format!("CONNECT\nversion:1.0\n{extra}\n")).await;
    receive(socket).await.expect("an answer to CONNECT")
}

pub fn frame(jpeg: &[u8]) -> String {
    use base64::Engine;
    format!("FRAME\ncontent-type:image/x-jpeg-base64\n\n{}", base64::engine::general_purpose::STANDARD.encode(jpeg))
}

pub const KEY: &str = "lpserver-test-secret-0123456789abcdef";
/// The API key of the relying party `shop` on the test servers (and of `bank`).
pub const API_KEY: &str = "shop-api-key-0123456789abcdef0123456789";
pub const OTHER_API_KEY: &str = "bank-api-key-0123456789abcdef0123456789";
/// The test servers' ADMIN_TOKEN.
pub const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";

/// The demo clip is a render: it has no sensor noise, its still lead-in repeats frames, and
/// the tests send it from one encoder at one quality. It is also a recording: its movements
/// come at fixed times, which only prompts released as soon as the head is neutral follow,
/// and no screen lights it. Servers that are to pass its sessions switch those three stream
/// checks, the hold before each prompt and the screen flash off (tests/lpproto.rs checks that the defaults flag it and that a looped recording fails
/// them).
pub const RENDERED_CLIP: [(&str, &str); 8] = [
    ("MIN_SENSOR_NOISE", "0"),
    ("REQUIRE_VARYING_JPEG", "0"),
    ("MAX_DUPLICATE_SHARE", "1"),
    ("PROMPT_HOLD_MIN_MS", "0"),
    ("PROMPT_HOLD_MAX_MS", "0"),
    ("NO_FLASH_PROMPT_HOLD_MIN_MS", "0"),
    ("NO_FLASH_PROMPT_HOLD_MAX_MS", "0"),
    ("FLASH", "0"),
];

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Starts a server on a free port with `vars` over the test defaults; returns its address and
/// the sender that stops it.
pub async fn start(vars: &[(&str, &str)]) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let mut all: Vec<(String, String)> = vec![
        ("LIVENESS_JWT_SECRET".into(), KEY.into()),
        ("MIN_AGE".into(), "0".into()),
        ("OPEN_SESSIONS".into(), "1".into()),
    ];
    all.extend(RENDERED_CLIP.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    all.push(("API_KEYS".into(), format!("shop:{API_KEY},bank:{OTHER_API_KEY}")));
    all.push(("ADMIN_TOKEN".into(), ADMIN_TOKEN.into()));
    // Tests open many anonymous sessions from 127.0.0.1, one address: the attempts policy
    // would cool it down after three. Tests of the policy set their own bounds.
    all.push(("POLICY_ATTEMPTS".into(), "100".into()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // The server's own pages are those of the port it was given.
    all.push(("PUBLIC_ORIGIN".into(), format!("http://{address}")));
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config =
        lpserver::config::Config::from_lookup(|name| all.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("test configuration");
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
    assert_eq!(frames.len(), 180);
    frames
}

/// One HTTP/1.1 request over a fresh connection; returns the status and the body.
pub async fn http(address: std::net::SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    http_with(address, method, path, &[], body).await
}

/// Like [`http`], with extra header lines (`Name: value`).
pub async fn http_with(
    address: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let (status, _, body) = http_full(address, method, path, headers, body).await;
    (status, body)
}

/// Like [`http_with`]; also returns the answer's head (status line and headers).
pub async fn http_full(
    address: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connects");
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("writes");
    // A refused request may be answered before the whole body is read.
    let _ = stream.write_all(body).await;
    read_answer(&mut stream).await
}

/// Sends `request` as it is (head and body) and reads the answer's status and body.
pub async fn http_raw(address: std::net::SocketAddr, request: &[u8]) -> (u16, Vec<u8>) {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connects");
    let _ = stream.write_all(request).await;
    let (status, _, body) = read_answer(&mut stream).await;
    (status, body)
}

/// Reads an HTTP answer: its status, head and body.
async fn read_answer(stream: &mut tokio::net::TcpStream) -> (u16, String, Vec<u8>) {
    use tokio::io::AsyncReadExt;
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
    (status, head, body)
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

/// POSTs `body` as JSON with an extra header line and reads the JSON answer.
pub async fn post_json_with(
    address: std::net::SocketAddr,
    path: &str,
    header: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let (status, bytes) = http_with(address, "POST", path, &[header], body.to_string().as_bytes()).await;
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

/// `POST /v1/sessions` as the relying party `shop`, for `user`: the status and the answer.
pub async fn create_session(address: std::net::SocketAddr, user: &str) -> (u16, serde_json::Value) {
    let auth = format!("Authorization: Bearer {API_KEY}");
    post_json_with(address, "/v1/sessions", &auth, &serde_json::json!({ "userReference": user })).await
}

/// A session of `shop`'s `user` created on `address`, then CONNECTed with its client token
/// on `socket`: CONNECT's answer.
pub async fn connect_user(socket: &mut Socket, address: std::net::SocketAddr, user: &str) -> Message {
    let (status, created) = create_session(address, user).await;
    assert_eq!(status, 201, "{created}");
    let token = created["clientToken"].as_str().expect("a client token");
    connect(socket, &format!("session-token:{token}\n")).await
}

/// The clip's frame rate: a session's clock is the server's, so frames sent faster than the
/// clip was filmed would shorten its pauses (a movement sooner after its prompt than
/// `reaction-min` is a wrong movement), and how much would depend on the machine's speed.
pub const CLIP_FPS: u64 = 10;

/// A tick for each frame sent, `fps` a second at most.
pub fn camera_pace(fps: u64) -> tokio::time::Interval {
    let mut pace = tokio::time::interval(Duration::from_millis(1000 / fps));
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    pace
}

/// How many times a clip is played over before a test gives up on its verdict.
const CLIP_PASSES: usize = 4;

/// Sends `frames` until the session ends, at most [`CLIP_FPS`] a second, as a camera would,
/// from the start again when they run out (a session that a loaded machine stretched, or that
/// retried a challenge, is still decided; at most [`CLIP_PASSES`] times); its last answer
/// (SUCCESS or the verdict's ERROR).
pub async fn run_clip(socket: &mut Socket, frames: &[Vec<u8>]) -> Message {
    run_clip_at(socket, frames, CLIP_FPS).await
}

/// [`run_clip`] at `fps` frames a second at most.
pub async fn run_clip_at(socket: &mut Socket, frames: &[Vec<u8>], fps: u64) -> Message {
    let mut pace = camera_pace(fps);
    let mut last = None;
    for jpeg in frames.iter().cycle().take(frames.len() * CLIP_PASSES) {
        pace.tick().await;
        send(socket, &frame(jpeg)).await;
        let answer = receive(socket).await.expect("an answer to every FRAME");
        if answer.command != "STATS" {
            return answer;
        }
        last = Some(answer);
    }
    panic!("the frames, played {CLIP_PASSES} times, ended before the session; the last STATS: {last:?}");
}

/// `GET /v1/sessions/{id}/result` with `api_key`: the status and the answer.
pub async fn fetch_result(address: std::net::SocketAddr, id: &str, api_key: &str) -> (u16, serde_json::Value) {
    fetch_result_at(address, &format!("/v1/sessions/{id}/result"), api_key).await
}

/// Like [`fetch_result`], with the measurements the token leaves out (`?details=true`).
pub async fn fetch_result_details(address: std::net::SocketAddr, id: &str, api_key: &str) -> (u16, serde_json::Value) {
    fetch_result_at(address, &format!("/v1/sessions/{id}/result?details=true"), api_key).await
}

async fn fetch_result_at(address: std::net::SocketAddr, path: &str, api_key: &str) -> (u16, serde_json::Value) {
    let auth = format!("Authorization: Bearer {api_key}");
    let (status, bytes) = http_with(address, "GET", path, &[&auth], b"").await;
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

/// The claims of a token signed with the test key; panics when it does not verify.
pub fn verify(token: &str) -> serde_json::Value {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_aud = false;
    jsonwebtoken::decode::<serde_json::Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(KEY.as_bytes()),
        &validation,
    )
    .expect("the token verifies with the server's key")
    .claims
}

/// What a pipeline run gave: the buffers of its appsink named `out` (if any) and the bus
/// messages.
#[derive(Debug)]
pub struct Run {
    pub buffers: Vec<gst::Buffer>,
    pub messages: Vec<gst::Message>,
}

impl Run {
    /// The structures of the element messages called `name`.
    pub fn element_messages(&self, name: &str) -> Vec<gst::Structure> {
        self.messages
            .iter()
            .filter_map(|m| match m.view() {
                gst::MessageView::Element(e) => e.structure().filter(|s| s.name() == name).map(|s| s.to_owned()),
                _ => None,
            })
            .collect()
    }
}

/// Runs `launch` to EOS, `setup` called on the pipeline first; an error message ends it with
/// the error's text.
pub fn run_pipeline(launch: &str, setup: impl FnOnce(&gst::Pipeline)) -> Result<Run, String> {
    lpserver::init_gstreamer().unwrap();
    let pipeline = gst::parse::launch(launch).map_err(|e| e.to_string())?.downcast::<gst::Pipeline>().unwrap();
    let buffers = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    if let Some(sink) = pipeline.by_name("out").and_then(|e| e.downcast::<gst_app::AppSink>().ok()) {
        let buffers = buffers.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if let Some(buffer) = sample.buffer_owned() {
                        buffers.lock().unwrap().push(buffer);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
    }
    setup(&pipeline);
    let bus = pipeline.bus().unwrap();
    let mut messages = Vec::new();
    // A failed start posts its error message, which ends the loop below.
    let _ = pipeline.set_state(gst::State::Playing);
    let outcome = loop {
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_seconds(120)) else {
            break Err("no EOS within 120 s".to_string());
        };
        match msg.view() {
            gst::MessageView::Eos(_) => break Ok(()),
            gst::MessageView::Error(err) => break Err(format!("{} ({:?})", err.error(), err.debug())),
            _ => messages.push(msg),
        }
    };
    let _ = pipeline.set_state(gst::State::Null);
    outcome?;
    let buffers = std::mem::take(&mut *buffers.lock().unwrap());
    Ok(Run { buffers, messages })
}

/// Frames and span of a WebM file decoded by GStreamer: (frames, last end - first start).
pub fn decode_webm(path: &std::path::Path) -> (usize, gst::ClockTime) {
    let launch = format!("filesrc location={} ! matroskademux ! vp8dec ! appsink name=out sync=false", path.display());
    let run = run_pipeline(&launch, |_| {}).expect("the WebM decodes");
    let first = run.buffers.first().and_then(|b| b.pts()).expect("timed frames");
    let last = run.buffers.last().map(|b| b.pts().unwrap() + b.duration().unwrap_or_default()).unwrap();
    (run.buffers.len(), last - first)
}

/// The folder of the plugin this test run built (target/debug), for command-line tools.
pub fn plugin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent().and_then(|deps| deps.parent()).expect("build folder").to_path_buf()
}

/// A fresh scratch folder for one test (`name` tells which).
pub fn scratch(name: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("lv-test-{}-{n}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A 16x16 JPEG whose header declares `side`x`side` pixels: a decompression bomb of 1-2 KB.
pub fn jpeg_bomb(side: u16) -> Vec<u8> {
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode(&[128u8; 16 * 16 * 3], 16, 16, image::ExtendedColorType::Rgb8)
        .unwrap();
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline SOF0 marker");
    // SOF0: marker, length (2), precision (1), height (2), width (2).
    jpeg[sof + 5..sof + 7].copy_from_slice(&side.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&side.to_be_bytes());
    jpeg
}

/// A TCP port free on 127.0.0.1 a moment ago, for a server started as a process.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until something listens on `address` (at most 10 s); whether it does.
pub async fn wait_listening(address: std::net::SocketAddr) -> bool {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The `lpserver` binary as a process on a free port of 127.0.0.1, with the test key and
/// `vars` in its environment and its standard error to `stderr`; waits until it listens.
pub async fn spawn_lpserver(vars: &[(&str, &str)], stderr: Stdio) -> (Child, std::net::SocketAddr) {
    let port = free_port();
    let server = Command::new(env!("CARGO_BIN_EXE_lpserver"))
        .env("LIVENESS_JWT_SECRET", KEY)
        .env("PORT", port.to_string())
        .envs(RENDERED_CLIP)
        .envs(vars.iter().copied())
        .stderr(stderr)
        .spawn()
        .expect("lpserver runs");
    let address: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    assert!(wait_listening(address).await, "lpserver listens on {address}");
    (server, address)
}

/// A server process, stopped when the test ends, passed or not (a process left running would
/// hold the test's output open).
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `bytes` in standard base64, as the REST API takes images.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A file of `tests/fixtures`, in base64.
pub fn fixture(name: &str) -> String {
    b64(&std::fs::read(root().join("tests/fixtures").join(name)).unwrap_or_else(|err| panic!("{name}: {err}")))
}

/// A photo of `scripts/fetch-fixtures.sh` (run by `make test`), in base64.
pub fn photo(name: &str) -> String {
    let path: PathBuf = root().join(".cache/fixtures/face_recognition").join(name);
    b64(&std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}: run scripts/fetch-fixtures.sh", path.display())))
}

/// A binary of another package of the workspace (`lpload` of liveness-tools), built by
/// `cargo build --workspace` (`make test` builds first) into the folder the tests run from.
pub fn workspace_bin(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/<test> beside target/<profile>/<name>
    let path = exe.parent().and_then(|deps| deps.parent()).expect("the target folder").join(name);
    assert!(path.exists(), "{} is missing: build the workspace first (cargo build --workspace)", path.display());
    path
}
