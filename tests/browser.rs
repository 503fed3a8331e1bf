//! The browser page at `/` in headless Chromium: a fake camera plays the demo clip, the page
//! gets a relying party's session token in its address, speaks LPProto to a real server and
//! must reach SUCCESS (and the relying party the same verdict), with the seed 002 beeps played
//! and a screenshot of the verdict left in `target/test-artifacts/browser-verdict.png`.
//! Chromium is driven through its DevTools protocol over a WebSocket.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use gst::prelude::*;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use common::{root, start, verify};

/// The demo clip as a Y4M file for Chromium's fake camera, slowed to 7 frames a second so
/// that the page, which sends a frame whenever the previous answer is in, sees each held pose
/// for the 15 frames lvchallenge asks for even in a debug build, while each movement still
/// begins within lvchallenge's 3 s reaction window after its prompt (about 2 s at this pace).
fn y4m_clip(dir: &Path) -> PathBuf {
    lpserver::init_gstreamer().unwrap();
    let out = dir.join("clip.y4m");
    let launch = format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=I420 ! y4menc ! filesink location={}",
        root().join("tests/fixtures/demo-session.webm").display(),
        out.display()
    );
    let pipeline = gst::parse::launch(&launch).unwrap().downcast::<gst::Pipeline>().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let msg =
        bus.timed_pop_filtered(gst::ClockTime::from_seconds(60), &[gst::MessageType::Eos, gst::MessageType::Error]);
    assert!(matches!(msg.map(|m| m.type_()), Some(gst::MessageType::Eos)), "y4m clip written");
    pipeline.set_state(gst::State::Null).unwrap();
    let mut data = std::fs::read(&out).unwrap();
    let header_end = data.iter().position(|b| *b == b'\n').unwrap();
    let header = String::from_utf8_lossy(&data[..header_end]).to_string();
    let slowed: Vec<String> =
        header.split(' ').map(|t| if t.starts_with('F') { "F7:1".to_string() } else { t.to_string() }).collect();
    assert!(header.contains(" F30:1"), "{header}");
    data.splice(..header_end, slowed.join(" ").into_bytes());
    std::fs::write(&out, data).unwrap();
    out
}

struct Browser {
    child: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromium() -> &'static str {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|name| Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("chromium is installed (apt-get install chromium)")
}

type Devtools = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Sends one DevTools command and returns its result, skipping events.
async fn call(devtools: &mut Devtools, id: u64, method: &str, params: Value) -> Value {
    let request = json!({"id": id, "method": method, "params": params});
    devtools.send(WsMessage::Text(request.to_string().into())).await.expect("sends to DevTools");
    loop {
        let next = tokio::time::timeout(Duration::from_secs(30), devtools.next()).await.expect("DevTools answers");
        let Some(Ok(WsMessage::Text(text))) = next else { panic!("DevTools closed: {next:?}") };
        let value: Value = serde_json::from_str(&text).unwrap();
        if value["id"] == json!(id) {
            assert!(value["error"].is_null(), "{method}: {value}");
            return value["result"].clone();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_reaches_success_in_chromium() {
    let dir = std::env::temp_dir().join(format!("lpserver-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let clip = y4m_clip(&dir);
    // Relying-party sessions only: the test is the relying party's backend.
    let (address, _stop) =
        start(&[("CHALLENGE_SEQUENCE", "turn_left,look_up,turn_right"), ("OPEN_SESSIONS", "0")]).await;
    let (status, created) = common::create_session(address, "page-user").await;
    assert_eq!(status, 201, "{created}");
    let (session_id, client_token) = (created["sessionId"].as_str().unwrap(), created["clientToken"].as_str().unwrap());

    let profile = dir.join("profile");
    let _browser = Browser {
        child: Command::new(chromium())
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                "--autoplay-policy=no-user-gesture-required",
                "--remote-debugging-port=0",
                "--window-size=800,1000",
            ])
            .arg(format!("--use-file-for-fake-video-capture={}", clip.display()))
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts"),
    };
    // Chromium writes the port it chose into the profile.
    let port_file = profile.join("DevToolsActivePort");
    let started = Instant::now();
    let port: u16 = loop {
        if let Some(port) = std::fs::read_to_string(&port_file).ok().and_then(|t| t.lines().next()?.parse().ok()) {
            break port;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "chromium opened no DevTools port");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let devtools_address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let (_, list) = common::http(devtools_address, "GET", "/json/list", b"").await;
    let targets: Value = serde_json::from_slice(&list).unwrap();
    let page = targets
        .as_array()
        .and_then(|t| t.iter().find(|t| t["type"] == "page"))
        .and_then(|t| t["webSocketDebuggerUrl"].as_str())
        .expect("a page target")
        .to_string();
    let (mut devtools, _) = tokio_tungstenite::connect_async(page).await.expect("DevTools WebSocket");

    let url = format!("http://{address}/?autostart#session-token={client_token}");
    call(&mut devtools, 1, "Page.navigate", json!({"url": url})).await;
    let started = Instant::now();
    let mut id = 2;
    let state = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        id += 1;
        let result = call(
            &mut devtools,
            id,
            "Runtime.evaluate",
            json!({"returnByValue": true, "expression": "JSON.stringify({verdict: document.body.dataset.verdict || null, \
                state: document.body.dataset.state || null, beeps: window.lpBeeps || [], \
                status: (document.getElementById('status') || {}).textContent, \
                token: (document.getElementById('token') || {}).value || ''})"}),
        )
        .await;
        let state: Value =
            result["result"]["value"].as_str().and_then(|s| serde_json::from_str(s).ok()).unwrap_or(Value::Null);
        if !state["verdict"].is_null() || started.elapsed() > Duration::from_secs(150) {
            break state;
        }
    };
    // The screenshot is taken whatever the verdict, to show what went wrong.
    let shot = call(&mut devtools, id + 1, "Page.captureScreenshot", json!({"format": "png"})).await;
    let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
    let artefacts = root().join("target/test-artifacts");
    std::fs::create_dir_all(&artefacts).unwrap();
    std::fs::write(artefacts.join("browser-verdict.png"), &png).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real screenshot");

    assert_eq!(state["verdict"], "success", "{state}");
    let beeps: Vec<u64> = state["beeps"].as_array().unwrap().iter().filter_map(|b| b.as_u64()).collect();
    assert_eq!(beeps.iter().filter(|b| **b == 880).count(), 3, "one 880 Hz beep per completed challenge: {beeps:?}");
    assert!(beeps.iter().filter(|b| **b == 440).count() >= 3, "a 440 Hz beep when each pose is seen: {beeps:?}");
    // The token on the page is the server's, signed with its key, and says the check passed.
    let token = state["token"].as_str().unwrap();
    let claims = verify(token);
    assert_eq!(claims["isOk"], true, "{claims}");
    // The relying party's backend fetches the same verdict, bound to its session and to it.
    let (status, result) = common::fetch_result(address, session_id, common::API_KEY).await;
    assert_eq!((status, &result["isOk"]), (200, &json!(true)), "{result}");
    let claims = verify(result["token"].as_str().unwrap());
    assert_eq!((claims["sub"].as_str(), claims["aud"].as_str()), (Some(session_id), Some("shop")), "{claims}");
    // The token left the address bar once used.
    let href =
        call(&mut devtools, id + 2, "Runtime.evaluate", json!({"expression": "location.href", "returnByValue": true}))
            .await;
    assert!(!href["result"]["value"].as_str().unwrap_or("").contains(client_token), "{href}");

    // The same page on a server that takes anonymous sessions (OPEN_SESSIONS=1): it connects
    // without a token.
    let (open_address, _stop_open) = start(&[("OPEN_SESSIONS", "1")]).await;
    call(&mut devtools, id + 3, "Page.navigate", json!({"url": format!("http://{open_address}/?autostart")})).await;
    let opened = Instant::now();
    let mut id = id + 4;
    let running = loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        id += 1;
        let expression = "document.body.dataset.state || ''";
        let state =
            call(&mut devtools, id, "Runtime.evaluate", json!({"expression": expression, "returnByValue": true})).await;
        let state = state["result"]["value"].as_str().unwrap_or("").to_string();
        if state == "running" || opened.elapsed() > Duration::from_secs(30) {
            break state;
        }
    };
    assert_eq!(running, "running", "the anonymous session started");
    let _ = std::fs::remove_dir_all(&dir);
}
