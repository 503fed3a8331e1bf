//! The REST API of seed 001 over real HTTP: every endpoint on real photos (the astronaut and
//! its renders, the demo clip, the face-matching photos of `scripts/fetch-fixtures.sh`), and
//! every kind of bad input answered with its code from the error table.

mod common;

use std::path::PathBuf;

use serde_json::{Value, json};

use common::{b64, clip_jpegs, fixture, photo, post_json, root, start};

fn number(value: &Value, field: &str) -> f64 {
    value[field].as_f64().unwrap_or_else(|| panic!("{field} is a number in {value}"))
}

fn assert_timed(value: &Value) {
    let ms = number(value, "processing_time_ms");
    assert!(ms > 0.0 && ms < 120_000.0, "{value}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detect_finds_the_one_face_and_none_in_a_face_free_photo() {
    let (address, _stop) = start(&[]).await;
    let (status, v) = post_json(address, "/detect", &json!({"image": fixture("astronaut.png")})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["face_count"], 1, "{v}");
    let face = &v["faces"][0];
    // The astronaut's face lies in the upper left quarter of the 512x512 photo.
    let (x, y, w) = (number(face, "x"), number(face, "y"), number(face, "width"));
    assert!((120.0..260.0).contains(&x) && (30.0..160.0).contains(&y) && (70.0..140.0).contains(&w), "{v}");
    assert!(number(face, "confidence") > 0.7, "{v}");
    assert_timed(&v);
    let (status, v) = post_json(address, "/detect", &json!({"image": fixture("coffee.png")})).await;
    assert_eq!((status, v["face_count"].as_u64()), (200, Some(0)), "{v}");
    assert_eq!(v["faces"], json!([]));
    // A data URL and a JPEG work too.
    let jpeg = format!("data:image/jpeg;base64,{}", photo("obama.jpg"));
    let (status, v) = post_json(address, "/detect", &json!({"image": jpeg})).await;
    assert_eq!((status, v["face_count"].as_u64()), (200, Some(1)), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liveness_and_antispoof_report_the_models_scores() {
    let (address, _stop) = start(&[]).await;
    let image = fixture("astronaut.png");
    let (status, v) = post_json(address, "/liveness", &json!({"image": image})).await;
    assert_eq!(status, 200, "{v}");
    let score = number(&v, "antispoof_score");
    assert!((0.0..=1.0).contains(&score), "{v}");
    assert_eq!(v["face_count"], 1);
    assert_eq!(v["is_real"], json!(score >= 0.5 && v["surface"]["is_real"] == json!(true)), "{v}");
    assert!(v["bounding_box"]["width"].as_i64().unwrap() > 50, "{v}");
    assert!(v["quality"]["blur"].is_number() && v["surface"]["reflectance"].is_string(), "{v}");
    assert_timed(&v);
    // The same photo against a threshold above its score is not real, with the spoof code.
    let (_, strict) = post_json(address, "/liveness", &json!({"image": image, "antispoofThreshold": 0.99})).await;
    assert_eq!(strict["is_real"], false, "{strict}");
    assert_eq!(strict["errors"], json!([10]), "{strict}");
    let (status, a) = post_json(address, "/antispoof", &json!({"image": image})).await;
    assert_eq!(status, 200, "{a}");
    assert!((number(&a, "antispoof_score") - score).abs() < 0.2, "one model pair, same crop: {a} vs {v}");
    assert_eq!(a["is_real"], json!(number(&a, "antispoof_score") >= 0.5));
    let (_, none) = post_json(address, "/liveness", &json!({"image": fixture("coffee.png")})).await;
    assert_eq!((none["is_real"].as_bool(), none["errors"].clone()), (Some(false), json!([1])), "{none}");
    assert!(none["antispoof_score"].is_null() && none["bounding_box"].is_null(), "{none}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn face_match_and_verify_tell_people_apart() {
    let (address, _stop) = start(&[]).await;
    // obama3.jpg scores 0.66 against obama.jpg; obama2.jpg 0.61, at the threshold.
    let (obama, obama3, biden) = (photo("obama.jpg"), photo("obama3.jpg"), photo("biden.jpg"));
    let (status, same) = post_json(address, "/face-match", &json!({"idImage": obama, "selfieImage": obama3})).await;
    assert_eq!(status, 200, "{same}");
    assert_eq!((same["matched"].as_bool(), same["id_face_extracted"].as_bool()), (Some(true), Some(true)), "{same}");
    assert_timed(&same);
    let (_, other) = post_json(address, "/face-match", &json!({"idImage": obama, "selfieImage": biden})).await;
    assert_eq!(other["matched"], false, "{other}");
    assert!(number(&same, "confidence") > number(&other, "confidence") + 0.05, "{same} {other}");
    // The caller's threshold decides.
    let (_, lenient) =
        post_json(address, "/face-match", &json!({"idImage": obama, "selfieImage": biden, "minConfidence": 0.1})).await;
    assert_eq!(lenient["matched"], true, "{lenient}");
    let (_, no_face) =
        post_json(address, "/face-match", &json!({"idImage": fixture("coffee.png"), "selfieImage": obama})).await;
    assert_eq!((no_face["matched"].as_bool(), no_face["id_face_extracted"].as_bool()), (Some(false), Some(false)));

    let (status, v) = post_json(address, "/verify", &json!({"idImage": obama3, "selfieImage": obama})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["faces_match"], true, "{v}");
    assert_eq!(v["verified"], json!(v["is_live"] == json!(true)), "{v}");
    assert!(number(&v, "antispoof_score") > 0.0, "{v}");
    assert_timed(&v);
    let (_, v) = post_json(address, "/verify", &json!({"idImage": biden, "selfieImage": obama})).await;
    assert_eq!((v["faces_match"].as_bool(), v["verified"].as_bool()), (Some(false), Some(false)), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenge_validate_runs_lvchallenge_on_the_two_images() {
    let (address, _stop) = start(&[]).await;
    let frames = clip_jpegs();
    // Frame 32 of the demo clip holds a 25-degree turn to the left, frame 0 is neutral.
    let (neutral, turned) = (b64(&frames[0]), b64(&frames[32]));
    let check = |baseline: &str, shown: &str, challenge: &str| json!({"baselineImage": baseline, "challengeImage": shown, "challengeType": challenge});
    let (status, v) = post_json(address, "/challenge/validate", &check(&neutral, &turned, "turn_left")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["passed"].as_bool(), v["baseline_calibrated"].as_bool()), (Some(true), Some(true)), "{v}");
    assert!(number(&v["challenge"], "yaw") - number(&v["baseline"], "yaw") > 15.0, "{v}");
    assert_timed(&v);
    for (shown, challenge) in [(&turned, "turn_right"), (&neutral, "turn_left"), (&turned, "look_up")] {
        let (_, v) = post_json(address, "/challenge/validate", &check(&neutral, shown, challenge)).await;
        assert_eq!(v["passed"], false, "{challenge}: {v}");
    }
    let astronaut = fixture("astronaut.png");
    let (_, v) = post_json(
        address,
        "/challenge/validate",
        &check(&astronaut, &fixture("astronaut-mouth-open.png"), "open_mouth"),
    )
    .await;
    assert_eq!(v["passed"], true, "{v}");
    assert!(number(&v["challenge"], "mouth_opened") > number(&v["baseline"], "mouth_opened"), "{v}");
    let (_, v) =
        post_json(address, "/challenge/validate", &check(&astronaut, &fixture("astronaut-eyes-closed.png"), "blink"))
            .await;
    assert_eq!(v["passed"], true, "{v}");
    let (_, v) = post_json(address, "/challenge/validate", &check(&astronaut, &astronaut, "smile")).await;
    assert_eq!(v["passed"], false, "no change is no smile: {v}");
    assert!(number(&v, "emotion_change").abs() < 1.0, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smile_blink_and_passive_monitor() {
    let (address, _stop) = start(&[]).await;
    let (open, closed) = (fixture("astronaut.png"), fixture("astronaut-eyes-closed.png"));
    for threshold in [0.3, 0.999_999] {
        let (status, v) = post_json(address, "/smile-check", &json!({"image": open, "threshold": threshold})).await;
        assert_eq!(status, 200, "{v}");
        let score = number(&v, "smile_score");
        assert!((0.0..=1.0).contains(&score), "{v}");
        assert_eq!(v["is_smiling"], json!(score >= threshold), "{v}");
    }
    let (_, v) = post_json(address, "/smile-check", &json!({"image": fixture("coffee.png")})).await;
    assert_eq!((v["is_smiling"].as_bool(), v["face_count"].as_u64()), (Some(false), Some(0)), "{v}");

    let blink = json!({"frames": [open, open, closed, closed, open]});
    let (status, v) = post_json(address, "/blink-check", &blink).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["blink_count"].as_u64(), v["blink_detected"].as_bool()), (Some(1), Some(true)), "{v}");
    assert_eq!(v["eyes_closed"], json!([false, false, true, true, false]), "{v}");
    assert_timed(&v);
    let (_, v) = post_json(address, "/blink-check", &json!({"frames": [open, open, open]})).await;
    assert_eq!(v["blink_count"], 0, "{v}");
    // Closed eyes that never open again are no blink.
    let (_, v) = post_json(address, "/blink-check", &json!({"frames": [open, closed]})).await;
    assert_eq!(v["blink_count"], 0, "{v}");

    let frames: Vec<String> = clip_jpegs().iter().take(40).step_by(2).map(|f| b64(f)).collect();
    let (status, v) = post_json(address, "/passive-monitor", &json!({"frames": frames})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["frames_analyzed"].as_u64(), v["face_frames"].as_u64()), (Some(20), Some(20)), "{v}");
    assert_eq!(v["antispoof_frames"], 10, "aggregated over lvantispoof's window of 10 frames: {v}");
    assert!(number(&v, "yaw_range") > 15.0, "the clip turns left in its first 40 frames: {v}");
    assert!((0.0..=1.0).contains(&number(&v, "surface_score")), "{v}");
    assert!(v["is_live"].is_boolean(), "{v}");
    assert_timed(&v);
}

type BadCase<'a> = (&'a str, Vec<u8>, u16, u16, Option<&'a str>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_their_codes_and_the_server_carries_on() {
    let (address, _stop) = start(&[("MAX_BODY_BYTES", "600000"), ("MAX_FRAME_BYTES", "300000")]).await;
    let image = fixture("astronaut-eyes-closed.png"); // 420 KB: over MAX_FRAME_BYTES
    let jpeg = b64(&clip_jpegs()[0]); // about 30 KB
    let empty = String::new();
    // (path, body, status, code, field)
    let cases: Vec<BadCase> = vec![
        ("/detect", b"{not json".to_vec(), 400, 1017, None),
        ("/detect", b"[1, 2]".to_vec(), 400, 1017, None),
        ("/detect", b"{}".to_vec(), 400, 1018, Some("image")),
        ("/detect", br#"{"image": 42}"#.to_vec(), 400, 1019, Some("image")),
        ("/detect", br#"{"image": "%%% not base64"}"#.to_vec(), 400, 1008, Some("image")),
        ("/detect", br#"{"image": "aGVsbG8gd29ybGQ="}"#.to_vec(), 400, 1021, Some("image")),
        ("/detect", json!({"image": empty}).to_string().into_bytes(), 400, 1021, Some("image")),
        (
            "/liveness",
            json!({"image": jpeg, "antispoofThreshold": 3}).to_string().into_bytes(),
            400,
            1019,
            Some("antispoofThreshold"),
        ),
        ("/face-match", json!({"idImage": jpeg}).to_string().into_bytes(), 400, 1018, Some("selfieImage")),
        (
            "/face-match",
            json!({"idImage": image[..200_000].to_string(), "selfieImage": jpeg}).to_string().into_bytes(),
            400,
            1021,
            Some("idImage"),
        ),
        (
            "/challenge/validate",
            json!({"baselineImage": jpeg, "challengeImage": jpeg, "challengeType": "fly"}).to_string().into_bytes(),
            400,
            1019,
            Some("challengeType"),
        ),
        (
            "/challenge/validate",
            json!({"baselineImage": jpeg, "challengeImage": jpeg, "challengeType": "nod_yes"}).to_string().into_bytes(),
            400,
            1019,
            Some("challengeType"),
        ),
        ("/blink-check", json!({"frames": []}).to_string().into_bytes(), 400, 1019, Some("frames")),
        ("/blink-check", json!({"frames": [jpeg, 7]}).to_string().into_bytes(), 400, 1019, Some("frames[1]")),
        ("/blink-check", json!({"frames": vec![jpeg.clone(); 65]}).to_string().into_bytes(), 413, 1020, None),
        ("/nothing-here", b"{}".to_vec(), 404, 1022, None),
        ("/detect", vec![b' '; 700_000], 413, 1020, None),
    ];
    for (path, body, status, code, field) in cases {
        let (got, bytes) = common::http(address, "POST", path, &body).await;
        let v: Value =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("{path}: {}", String::from_utf8_lossy(&bytes)));
        assert_eq!(
            (got, v["code"].as_u64()),
            (status, Some(code as u64)),
            "{path} {}: {v}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        );
        assert!(v["error"].is_string() && v["detail"].is_string(), "{v}");
        assert_eq!(v["field"].as_str(), field, "{v}");
    }
    // Frames of two sizes in one request.
    let (status, v) = post_json(address, "/blink-check", &json!({"frames": [jpeg, photo("obama.jpg")]})).await;
    assert_eq!((status, v["code"].as_u64(), v["field"].as_str()), (400, Some(1011), Some("frames[1]")), "{v}");
    let (status, bytes) = common::http(address, "GET", "/detect", b"").await;
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!((status, v["code"].as_u64()), (405, Some(1022)), "{v}");
    // After all that the server still answers.
    let (status, v) = post_json(address, "/detect", &json!({"image": jpeg})).await;
    assert_eq!((status, v["face_count"].as_u64()), (200, Some(1)), "{v}");
}

/// Every file under `dir`.
fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_process_leaves_nothing_of_onnx_runtime_in_the_home_directory() {
    let home = std::env::temp_dir().join(format!("lpserver-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let port = common::free_port();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_lpserver"))
        .env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join(".cache"))
        // GStreamer's plugin registry is a cache of its own, not ONNX Runtime's.
        .env("GST_REGISTRY", std::env::temp_dir().join(format!("lpserver-registry-{}.bin", std::process::id())))
        .env_remove("ORT_DISABLE_TELEMETRY")
        .env("LIVENESS_JWT_SECRET", common::KEY)
        .env("OPEN_SESSIONS", "1")
        .env("PORT", port.to_string())
        .spawn()
        .expect("lpserver runs");
    let address: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let up = common::wait_listening(address).await;
    // A detection loads ONNX Runtime and runs a model in the server's process.
    let answer =
        if up { Some(post_json(address, "/detect", &json!({"image": fixture("astronaut.png")})).await) } else { None };
    let _ = server.kill();
    let _ = server.wait();
    let written = files_under(&home);
    let _ = std::fs::remove_dir_all(&home);
    let (status, v) = answer.expect("lpserver listens");
    assert_eq!((status, v["face_count"].as_u64()), (200, Some(1)), "{v}");
    assert!(written.is_empty(), "ONNX Runtime wrote under HOME: {written:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_bombs_and_truncated_images_are_refused_before_decoding() {
    let (address, _stop) = start(&[]).await;
    let bomb = b64(&common::jpeg_bomb(4096));
    let frames: Vec<String> = (0..64).map(|_| bomb.clone()).collect();
    let (status, v) = post_json(address, "/passive-monitor", &json!({"frames": frames})).await;
    assert_eq!((status, v["error"].as_str(), v["field"].as_str()), (400, Some("bad-image"), Some("frames[0]")), "{v}");
    assert!(v["detail"].as_str().unwrap_or("").contains("4096x4096"), "{v}");
    // A whole image passes, a truncated one does not.
    let png = std::fs::read(root().join("tests/fixtures/astronaut.png")).unwrap();
    let (status, _) = post_json(address, "/detect", &json!({"image": b64(&png)})).await;
    assert_eq!(status, 200);
    let (status, v) = post_json(address, "/detect", &json!({"image": b64(&png[..png.len() - 20])})).await;
    assert_eq!((status, v["error"].as_str()), (400, Some("bad-image")), "{v}");
    assert!(v["detail"].as_str().unwrap_or("").contains("truncated"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_listed_origins_get_cors_and_others_are_refused() {
    let (address, _stop) = common::start(&[("ALLOWED_ORIGINS", "https://app.example.com")]).await;
    let body = serde_json::json!({"image": "not an image"}).to_string();
    let request = |origin: &'static str, method: &'static str| {
        let body = body.clone();
        async move {
            let headers: Vec<String> = [format!("Origin: {origin}"), "Access-Control-Request-Method: POST".into()]
                .into_iter()
                .take(if method == "OPTIONS" { 2 } else { 1 })
                .collect();
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            let (status, head, body) = common::http_full(address, method, "/detect", &headers, body.as_bytes()).await;
            (status, head.to_ascii_lowercase(), String::from_utf8_lossy(&body).to_string())
        }
    };
    // A listed page: answered (here: its image is refused), with CORS headers.
    let (status, head, _) = request("https://app.example.com", "POST").await;
    assert_eq!(status, 400);
    assert!(head.contains("access-control-allow-origin: https://app.example.com"), "{head}");
    let (status, head, _) = request("https://app.example.com", "OPTIONS").await;
    assert_eq!(status, 204, "{head}");
    assert!(head.contains("access-control-allow-methods: get, post, delete"), "{head}");
    // Another site's page: refused before its request is read, and its preflight too.
    for method in ["POST", "OPTIONS"] {
        let (status, head, body) = request("https://evil.example.net", method).await;
        assert_eq!(status, 403, "{method}: {head}");
        assert!(body.contains("origin-not-allowed"), "{body}");
        assert!(!head.contains("access-control-allow-origin"), "{head}");
    }
    // A backend sends no Origin: no CORS, no refusal.
    let (status, head, _) = common::http_full(address, "POST", "/detect", &[], body.as_bytes()).await;
    assert_eq!(status, 400);
    assert!(!head.to_ascii_lowercase().contains("access-control-allow-origin"), "{head}");
    // The web client's files (module, CSS, strings) for a listed page and the server's own
    // carry CORS, so that an integrator's page loads the component from the server; another
    // site's page gets the public file without it, and its browser refuses the module.
    let own = format!("http://{address}");
    for file in ["/static/liveness-check.js", "/static/lpclient.js", "/static/liveness-check.css", "/static/strings.js"]
    {
        for (origin, allowed) in
            [("https://app.example.com", true), (own.as_str(), true), ("https://evil.example.net", false)]
        {
            let header = format!("Origin: {origin}");
            let (status, head, _) = common::http_full(address, "GET", file, &[header.as_str()], b"").await;
            let head = head.to_ascii_lowercase();
            assert_eq!(status, 200, "{file}: {head}");
            let granted = head.contains(&format!("access-control-allow-origin: {origin}"));
            assert_eq!(granted, allowed, "{file} for {origin}: {head}");
            assert!(head.contains("vary: origin"), "{head}");
        }
    }
}
