//! What an operator sees of a running lpserver: `GET /metrics` scraped after real sessions
//! over LPProto, a refused one and REST calls.

mod common;

use common::{clip_jpegs, connect, frame, http, open, receive, send, start};

/// The value of the sample `name{labels}` (labels as written by the encoder, or none) in an
/// OpenMetrics text, 0 when it is absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(address: std::net::SocketAddr) -> String {
    let (status, body) = http(address, "GET", "/metrics", b"").await;
    assert_eq!(status, 200);
    String::from_utf8(body).expect("text")
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_sessions_frames_elements_refusals_and_requests() {
    let frames = clip_jpegs();
    let (address, _stop) =
        start(&[("CHALLENGE_SEQUENCE", "turn_left,look_up,turn_right"), ("MAX_SESSIONS", "1")]).await;
    let before = scrape(address).await;
    assert!(before.ends_with("# EOF\n"), "OpenMetrics text: {before}");
    assert_eq!(sample(&before, "lpserver_frames_total"), 0.0);

    let mut socket = open(address).await;
    assert_eq!(connect(&mut socket, "").await.command, "CONNECTED");
    // The one place is taken: a second session is told busy.
    let mut second = open(address).await;
    assert_eq!(connect(&mut second, "").await.header("error"), Some("1023"));
    let during = scrape(address).await;
    assert_eq!(sample(&during, "lpserver_sessions_active"), 1.0);
    let mut answered = 0.0;
    let mut pace = common::camera_pace(common::CLIP_FPS);
    for jpeg in &frames {
        pace.tick().await;
        send(&mut socket, &frame(jpeg)).await;
        answered += 1.0;
        if receive(&mut socket).await.expect("an answer").command == "SUCCESS" {
            break;
        }
    }
    // A REST call refused for its body, and a path nobody serves.
    assert_eq!(http(address, "POST", "/liveness", b"[]").await.0, 400);
    assert_eq!(http(address, "GET", "/no/such/path/here", b"").await.0, 404);

    let after = scrape(address).await;
    assert_eq!(sample(&after, r#"lpserver_sessions_finished_total{outcome="passed",code=""}"#), 1.0, "{after}");
    assert_eq!(sample(&after, "lpserver_frames_total"), answered);
    assert_eq!(sample(&after, "lpserver_frame_seconds_count"), answered);
    // Every analysed frame went through the analysis gate once.
    assert_eq!(sample(&after, "lpserver_frame_wait_seconds_count"), answered);
    assert!(sample(&after, "lpserver_frame_seconds_sum") > 0.0);
    for element in ["lvfacedetect", "lvlandmarks", "lvantispoof", "lvsurfaceanalysis", "lvchallenge"] {
        let count = sample(&after, &format!(r#"lpserver_element_seconds_count{{element="{element}"}}"#));
        assert_eq!(count, answered, "{element}");
    }
    assert_eq!(sample(&after, r#"lpserver_refusals_total{api="lpproto",code="busy"}"#), 1.0);
    assert_eq!(sample(&after, r#"lpserver_http_requests_total{path="/liveness",method="POST",status="400"}"#), 1.0);
    assert_eq!(sample(&after, r#"lpserver_http_requests_total{path="other",method="GET",status="404"}"#), 1.0);
    assert_eq!(sample(&after, r#"lpserver_http_requests_total{path="/metrics",method="GET",status="200"}"#), 2.0);

    // Every series the Grafana dashboard of deploy/ queries is one the server exposes.
    let dashboard = std::fs::read_to_string(common::root().join("deploy/grafana-lpserver.json")).unwrap();
    let queried: std::collections::BTreeSet<&str> = dashboard
        .match_indices("lpserver_")
        .map(|(at, _)| {
            let rest = &dashboard[at..];
            &rest[..rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len())]
        })
        .collect();
    assert!(queried.len() >= 7, "{queried:?}");
    for name in queried {
        assert!(after.lines().any(|line| line.starts_with(name)), "the dashboard queries {name}, not exposed");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_names_each_dependency_and_health_only_says_the_process_answers() {
    let (address, _stop) = start(&[]).await;
    let (status, body) = http(address, "GET", "/ready", b"").await;
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ready"], true);
    // The analysis chain ran a frame at start: elements, ONNX Runtime and models are there.
    assert_eq!((body["onnx_runtime"].as_str(), body["pipeline"].as_str()), (Some("ok"), Some("ok")), "{body}");
    assert_eq!(body["attempts_store"], "memory");
    let (status, body) = http(address, "GET", "/health", b"").await;
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_answers_503_naming_what_failed_when_onnx_runtime_is_missing() {
    let missing = "/nonexistent/libonnxruntime.so.1.32.0";
    let vars = [("ORT_DYLIB_PATH", missing), ("OPEN_SESSIONS", "1")];
    let (mut server, address) = common::spawn_lpserver(&vars, std::process::Stdio::null()).await;
    let (ready, ready_body) = http(address, "GET", "/ready", b"").await;
    let (health, _) = http(address, "GET", "/health", b"").await;
    let _ = server.kill();
    let _ = server.wait();
    let body: serde_json::Value = serde_json::from_slice(&ready_body).unwrap();
    assert_eq!((ready, &body["ready"]), (503, &serde_json::json!(false)), "{body}");
    assert_eq!(health, 200, "the process answers all the same");
    let onnx_runtime = body["onnx_runtime"].as_str().unwrap_or_default();
    assert!(onnx_runtime.contains(missing) && onnx_runtime.contains("ORT_DYLIB_PATH"), "{body}");
    assert!(body["pipeline"].as_str().is_some_and(|p| p != "ok"), "{body}");
    assert_eq!(body["attempts_store"], "memory", "what works is said to work: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_follow_connections_and_sessions_and_hold_nothing_biometric_or_secret() {
    let (mut redis, url) = common::RedisServer::start();
    let api_keys = format!("shop:{}", common::API_KEY);
    let vars = [
        ("API_KEYS", api_keys.as_str()),
        ("ADMIN_TOKEN", common::ADMIN_TOKEN),
        ("CHALLENGE_SEQUENCE", "turn_left,look_up,turn_right"),
        ("MIN_AGE", "0"),
        ("REDIS_URL", url.as_str()),
        ("STORE_FRAMES", "1"),
        ("LOG_FORMAT", "json"),
        ("RUST_LOG", "info"),
    ];
    let (mut server, address) = common::spawn_lpserver(&vars, std::process::Stdio::piped()).await;
    let reference = "alice.liddell@example.com";
    let (status, created) = common::create_session(address, reference).await;
    assert_eq!(status, 201, "{created}");
    let client_token = created["clientToken"].as_str().unwrap().to_string();
    let mut socket = open(address).await;
    assert_eq!(connect(&mut socket, &format!("session-token:{client_token}\n")).await.command, "CONNECTED");
    let verdict = common::run_clip(&mut socket, &clip_jpegs()).await;
    assert_eq!(verdict.command, "SUCCESS");
    drop(socket);
    let (_, result) = common::fetch_result(address, created["sessionId"].as_str().unwrap(), common::API_KEY).await;
    let verdict_token = result["token"].as_str().expect("the backend's token").to_string();
    // A second session loses its Redis half-way: lvvideoglue's warning reaches the log.
    let (_, created) = common::create_session(address, "bob").await;
    let mut socket = open(address).await;
    let token = created["clientToken"].as_str().unwrap();
    assert_eq!(connect(&mut socket, &format!("session-token:{token}\n")).await.command, "CONNECTED");
    let frames = clip_jpegs();
    for (i, jpeg) in frames[..20].iter().enumerate() {
        if i == 5 {
            redis.kill();
        }
        send(&mut socket, &frame(jpeg)).await;
        receive(&mut socket).await.expect("an answer");
    }
    drop(socket);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // SAFETY: kill only sends a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(server.id() as i32, libc::SIGTERM) }, 0);
    let status = server.wait().expect("lpserver exits");
    let mut log = String::new();
    std::io::Read::read_to_string(&mut server.stderr.take().unwrap(), &mut log).unwrap();
    assert!(status.success(), "{status:?}\n{log}");

    let lines: Vec<serde_json::Value> =
        log.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"))).collect();
    let message = |line: &serde_json::Value| line["fields"]["message"].as_str().unwrap_or_default().to_string();
    let ended: Vec<&serde_json::Value> = lines.iter().filter(|l| message(l) == "session ended").collect();
    assert_eq!(ended.len(), 2, "{log}");
    let first = ended[0];
    assert_eq!(first["fields"]["outcome"], "passed", "{first}");
    assert!(first["fields"]["duration_ms"].as_u64().unwrap() > 1000, "{first}");
    // The session's span names the session, the user's hash and the address.
    let span = &first["span"];
    assert_eq!(span["name"], "connection");
    assert_eq!(span["remote"], "127.0.0.1");
    assert_eq!(span["user"].as_str().map(str::len), Some(12), "{first}");
    assert_eq!(span["session"].as_str().map(str::len), Some(36), "{first}");
    let warned = lines.iter().any(|l| l["level"] == "WARN" && message(l).starts_with("pipeline warning"));
    assert!(warned, "lvvideoglue's warning is forwarded: {log}");
    // Nothing that identifies the person or opens the session is in the log.
    for secret in [reference, client_token.as_str(), verdict_token.as_str(), common::API_KEY, common::KEY] {
        assert!(!log.contains(secret), "the log holds {secret:.20}...");
    }
    assert!(log.lines().all(|line| line.len() < 4000), "no frame data in the log");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_labels_stay_bounded_and_a_metrics_token_guards_them() {
    let token = "metrics-token-0123456789";
    let (address, _stop) = start(&[("METRICS_TOKEN", token)]).await;
    // 300 requests with invented methods (and one of 8 KB) become one `other` series.
    for n in 0..300 {
        let _ = http(address, &format!("INVENTED{n}"), "/health", b"").await;
    }
    let _ = http(address, &"X".repeat(8192), "/health", b"").await;
    let (status, body) = http(address, "GET", "/metrics", b"").await;
    let body: serde_json::Value = serde_json::from_slice(&body).expect("a JSON error");
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")), "{body}");
    let bearer = format!("Authorization: Bearer {token}");
    let (status, text) = common::http_with(address, "GET", "/metrics", &[bearer.as_str()], b"").await;
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&text);
    let series: Vec<&str> =
        text.lines().filter(|l| l.starts_with("lpserver_http_requests_total{") && l.contains("/health")).collect();
    assert!(!series.is_empty() && series.iter().all(|l| l.contains(r#"method="other""#)), "{series:?}");
    assert!(series.len() <= 2, "one series a status: {series:?}");
}
