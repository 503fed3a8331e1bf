//! The contract at `GET /openapi.json` against the real server: every operation it lists is
//! called (its success and some of its refusals), and `scripts/check-openapi.py` validates the
//! document with openapi-spec-validator (PyPI) and each real request and answer against its
//! schemas. The document and the exchanges are left in `target/openapi/` for reading.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{
    ADMIN_TOKEN, API_KEY, RedisServer, clip_jpegs, connect, fixture, frame, http_full, open, photo, receive, root,
    send, start,
};

/// `value` with its long strings (base64 images) cut to their start: they stay strings of the
/// same JSON shape.
fn shortened(value: &Value) -> Value {
    match value {
        Value::String(text) if text.len() > 64 => Value::String(format!("{}... ({} bytes)", &text[..32], text.len())),
        Value::Array(items) => Value::Array(items.iter().map(shortened).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), shortened(v))).collect()),
        other => other.clone(),
    }
}

/// The requests made and their answers, as `scripts/check-openapi.py` reads them.
struct Exchanges {
    address: SocketAddr,
    list: Vec<Value>,
}

impl Exchanges {
    /// Makes one request (a JSON body when `body` is given) and keeps it with its answer.
    async fn call(&mut self, method: &str, path: &str, headers: &[&str], body: Option<Value>) -> (u16, Value) {
        let bytes = body.as_ref().map(|b| b.to_string().into_bytes()).unwrap_or_default();
        // Boxed: the client's read buffer would otherwise sit in every caller's future.
        let (status, head, answer) = Box::pin(http_full(self.address, method, path, headers, &bytes)).await;
        let content_type = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type:").map(|v| v.trim().to_string()))
            .unwrap_or_default();
        let response = if content_type.starts_with("application/json") {
            serde_json::from_slice(&answer).unwrap_or_else(|err| {
                panic!("{method} {path}: JSON answer ({err}): {}", String::from_utf8_lossy(&answer))
            })
        } else {
            Value::Null
        };
        self.list.push(json!({
            "method": method, "path": path, "status": status, "content_type": content_type,
            "request": body.as_ref().map(shortened), "response": response,
        }));
        (status, response)
    }

    async fn post(&mut self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, &[], Some(body)).await
    }
}

/// Every REST endpoint once with each of its optional fields, and refused once.
async fn rest_endpoints(calls: &mut Exchanges) {
    let astronaut = fixture("astronaut.png");
    let closed = fixture("astronaut-eyes-closed.png");
    let answers = [
        calls.post("/detect", json!({"image": astronaut})).await,
        calls.post("/liveness", json!({"image": astronaut, "antispoofThreshold": 0.5})).await,
        calls.post("/antispoof", json!({"image": astronaut, "threshold": 0.5})).await,
        calls
            .post(
                "/face-match",
                json!({"idImage": photo("obama.jpg"), "selfieImage": photo("obama2.jpg"), "minConfidence": 0.5}),
            )
            .await,
        calls
            .post(
                "/verify",
                json!({"idImage": photo("obama.jpg"), "selfieImage": photo("obama2.jpg"),
                       "antispoofThreshold": 0.5, "minFaceMatchConfidence": 0.5}),
            )
            .await,
        calls
            .post(
                "/challenge/validate",
                json!({"challengeType": "blink", "baselineImage": astronaut, "challengeImage": closed,
                       "minEmotionChange": 10}),
            )
            .await,
        calls.post("/smile-check", json!({"image": astronaut, "threshold": 0.5})).await,
        calls.post("/blink-check", json!({"frames": [astronaut, closed, astronaut]})).await,
        calls.post("/blink-check", json!({"image": astronaut})).await,
        calls.post("/passive-monitor", json!({"frames": [astronaut, astronaut], "antispoofThreshold": 0.5})).await,
    ];
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "{answer}");
    }
    let (status, proof) = calls
        .post(
            "/face-match-proof",
            json!({"idImage": photo("obama.jpg"), "selfieImage": photo("obama2.jpg"), "minConfidence": 0.6,
                   "idBlinding": "12345", "selfieBlinding": "678"}),
        )
        .await;
    assert_eq!(status, 200, "{proof}");
    let check = json!({"proof": proof["proof"], "publicSignals": proof["publicSignals"], "verifyingKeyId": proof["verifyingKeyId"]});
    let (status, answer) = calls.post("/face-match-proof/verify", check).await;
    assert_eq!((status, answer["valid"].as_bool()), (200, Some(true)), "{answer}");
    let (status, answer) =
        calls.post("/face-match-proof/verify", json!({"proof": {}, "publicSignals": proof["publicSignals"]})).await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("invalid-proof")), "{answer}");
    let (status, answer) = calls.post("/detect", json!({"image": "not base64!"})).await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("bad-base64")), "{answer}");
    let (status, answer) = calls.post("/challenge/validate", json!({"challengeType": "nod_yes"})).await;
    assert_eq!((status, answer["field"].as_str()), (400, Some("challengeType")), "{answer}");
    let (status, _) = calls.post("/liveness", json!({"image": "A".repeat(4_100_000)})).await;
    assert_eq!(status, 413, "MAX_BODY_BYTES is 4000000 on this server");
}

/// A relying party's session: created, abandoned by its client, its result fetched; a lift.
async fn relying_party(calls: &mut Exchanges) {
    let key = format!("Authorization: Bearer {API_KEY}");
    let (status, _) = calls.call("POST", "/v1/sessions", &[], Some(json!({"userReference": "alice"}))).await;
    assert_eq!(status, 401);
    let (status, created) = calls.call("POST", "/v1/sessions", &[&key], Some(json!({"userReference": "alice"}))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["sessionId"].as_str().expect("a session id").to_string();
    let result = format!("/v1/sessions/{id}/result");
    let (status, _) = calls.call("GET", &result, &[&key], None).await;
    assert_eq!(status, 409, "a created session has no result yet");
    let mut socket = open(calls.address).await;
    let token = created["clientToken"].as_str().expect("a client token");
    assert_eq!(connect(&mut socket, &format!("session-token:{token}\n")).await.command, "CONNECTED");
    drop(socket);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, answer) = calls.call("GET", &result, &[&key], None).await;
        if status == 200 {
            assert_eq!(answer["isOk"], false, "{answer}");
            break;
        }
        assert!(status == 409 && Instant::now() < deadline, "{status} {answer}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = calls.call("GET", &result, &[&key], None).await;
    assert_eq!(status, 404, "a result is fetched once");
    let admin = format!("Authorization: Bearer {ADMIN_TOKEN}");
    let lift = json!({"relyingParty": "shop", "userReference": "alice"});
    let (status, answer) = calls.call("POST", "/v1/admin/final-failures/lift", &[&admin], Some(lift.clone())).await;
    assert_eq!((status, answer["lifted"].as_bool()), (200, Some(false)), "{answer}");
    let (status, _) = calls.call("POST", "/v1/admin/final-failures/lift", &[&key], Some(lift)).await;
    assert_eq!(status, 401);
}

/// A stored LPProto session of a few frames: its video, then its removal.
async fn stored_session(calls: &mut Exchanges) {
    let mut socket = open(calls.address).await;
    assert_eq!(connect(&mut socket, "session-id:contract-1\n").await.command, "CONNECTED");
    for jpeg in clip_jpegs().iter().take(3) {
        send(&mut socket, &frame(jpeg)).await;
        assert_eq!(receive(&mut socket).await.expect("an answer").command, "STATS");
    }
    drop(socket);
    let admin = format!("Authorization: Bearer {ADMIN_TOKEN}");
    let (status, _) = calls.call("GET", "/sessions/contract-1/video", &[], None).await;
    assert_eq!(status, 401);
    let (status, _) = calls.call("GET", "/sessions/contract-1/video?draw=maybe", &[&admin], None).await;
    assert_eq!(status, 400);
    // The session's pipeline drains into Redis after the client left.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _) = calls.call("GET", "/sessions/contract-1/video?draw=1", &[&admin], None).await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no video: {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, _) = calls.call("DELETE", "/sessions/contract-1", &[&admin], None).await;
    assert_eq!(status, 204);
    let (status, answer) = calls.call("DELETE", "/sessions/contract-1", &[&admin], None).await;
    assert_eq!(status, 404, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_describes_every_real_answer() {
    let (_redis, url) = RedisServer::start();
    let keys = common::scratch("contract-zk-keys");
    let setup =
        std::process::Command::new(env!("CARGO_BIN_EXE_lpserver")).args(["zk-setup", "--out"]).arg(&keys).output();
    assert!(setup.expect("lpserver runs").status.success());
    let keys = keys.to_str().expect("a UTF-8 path");
    let vars =
        [("REDIS_URL", url.as_str()), ("STORE_FRAMES", "1"), ("MAX_BODY_BYTES", "4000000"), ("ZK_KEYS_DIR", keys)];
    let (address, _stop) = start(&vars).await;
    let mut calls = Exchanges { address, list: Vec::new() };
    let (status, document) = calls.call("GET", "/openapi.json", &[], None).await;
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{document}");
    for (path, status) in [("/health", 200), ("/ready", 200), ("/metrics", 200)] {
        assert_eq!(calls.call("GET", path, &[], None).await.0, status, "{path}");
    }
    Box::pin(rest_endpoints(&mut calls)).await;
    Box::pin(relying_party(&mut calls)).await;
    Box::pin(stored_session(&mut calls)).await;

    let dir = root().join("target/openapi");
    std::fs::create_dir_all(&dir).expect("target/openapi");
    let (spec, exchanges) = (dir.join("openapi.json"), dir.join("exchanges.json"));
    std::fs::write(&spec, serde_json::to_vec_pretty(&document).expect("json")).expect("writes");
    std::fs::write(&exchanges, serde_json::to_vec_pretty(&calls.list).expect("json")).expect("writes");
    let validator = root().join(".cache/openapi-validator");
    assert!(validator.is_dir(), "{} is missing: run scripts/fetch-openapi-validator.sh", validator.display());
    let checked = std::process::Command::new("python3")
        .arg(root().join("scripts/check-openapi.py"))
        .args([&spec, &exchanges])
        .output()
        .expect("python3 runs");
    let report = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success(),
        "the contract does not hold:\n{report}{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(report.contains(" 0 failures"), "{report}");
}
