//! The REST API bounded like LPProto: decompression bombs refused from their header on every
//! image endpoint, a bound on each endpoint's body read as a stream, a bound on the requests
//! in flight, a time for the body; the server's memory measured throughout (its peak resident
//! set, `VmHWM`).

mod common;

use std::net::SocketAddr;
use std::process::Stdio;

use serde_json::{Value, json};

/// The peak and current resident set of process `pid`, in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmHWM:"), field("VmRSS:"))
}

async fn post(address: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    let (status, body) = common::http(address, "POST", path, body.to_string().as_bytes()).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Every image endpoint with every image field a bomb.
fn bomb_requests(bomb: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("/detect", json!({ "image": bomb })),
        ("/liveness", json!({ "image": bomb })),
        ("/antispoof", json!({ "image": bomb })),
        ("/smile-check", json!({ "image": bomb })),
        ("/face-match", json!({ "idImage": bomb, "selfieImage": bomb })),
        ("/verify", json!({ "idImage": bomb, "selfieImage": bomb })),
        ("/challenge/validate", json!({ "challengeType": "smile", "baselineImage": bomb, "challengeImage": bomb })),
        ("/blink-check", json!({ "frames": [bomb, bomb] })),
        ("/passive-monitor", json!({ "frames": [bomb] })),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn bombs_and_floods_are_refused_before_decoding_within_300_mib() {
    let (server, address) = common::spawn_lpserver(&[("OPEN_SESSIONS", "1")], Stdio::null()).await;
    let server = common::KillOnDrop(server);
    let pid = server.0.id();
    assert_eq!(common::http(address, "GET", "/health", b"").await.0, 200);
    let (_, at_start) = memory_mib(pid);

    // The 1.6 KB JPEG declaring 4096x4096 on each image endpoint.
    let bomb = common::b64(&common::jpeg_bomb(4096));
    for (path, body) in bomb_requests(&bomb) {
        let (status, answer) = post(address, path, &body).await;
        assert_eq!((status, answer["error"].as_str()), (400, Some("bad-image")), "{path}: {answer}");
        // Refused from its header: too few bytes for its size, or (a frame of a list) more
        // pixels than MAX_FRAME_PIXELS.
        let detail = answer["detail"].as_str().unwrap_or("");
        assert!(detail.contains("decompression bomb") || detail.contains("allowed"), "{path}: {answer}");
    }

    // 64 frames declaring 1080p in 1.6 KB each, four requests at once.
    let frame = common::b64(&common::jpeg_bomb(1080));
    let frames = json!({ "frames": vec![frame; 64] });
    let answers = futures_util::future::join_all((0..4).map(|_| post(address, "/blink-check", &frames))).await;
    for (status, answer) in &answers {
        assert_eq!((*status, answer["error"].as_str()), (400, Some("bad-image")), "{answer}");
        assert_eq!(answer["field"], "frames[0]", "refused at the first header: {answer}");
    }

    // 30 bodies of 15 MiB at once: the places in flight (ANALYSIS_THREADS, 4 here) read theirs
    // and refuse the oversized image; the others are told 429 `busy` before their body is read.
    let big = json!({ "frames": ["A".repeat(15 << 20)] }).to_string().into_bytes();
    let floods = (0..30).map(|_| common::http_full(address, "POST", "/blink-check", &[], &big));
    let answers = futures_util::future::join_all(floods).await;
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for (status, head, body) in &answers {
        *statuses.entry(*status).or_default() += 1;
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        match status {
            429 => {
                assert_eq!(body["error"], "busy", "{body}");
                assert!(head.to_ascii_lowercase().contains("retry-after: 1"), "{head}");
            }
            400 => assert_eq!(body["error"], "bad-image", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let (peak, now) = memory_mib(pid);
    drop(server);
    println!(
        "REST bombs and 30 x 15 MiB: answers {statuses:?}; server RSS {at_start:.0} MiB at start, {now:.0} after, peak {peak:.0}"
    );
    assert!(statuses.get(&429).is_some_and(|n| *n >= 20), "most of the flood is refused unread: {statuses:?}");
    assert!(peak < 300.0, "the server's peak resident set stays under 300 MiB: {peak:.0} MiB");
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_are_bounded_per_endpoint_chunked_ones_too_and_must_arrive_in_time() {
    let (address, _stop) = common::start(&[("MAX_FRAME_BYTES", "65536"), ("BODY_TIMEOUT_MS", "500")]).await;
    // /detect takes one image: 64 KiB in base64 and 64 KiB of JSON.
    let limit = 65536usize.div_ceil(3) * 4 + 65536;
    let over = json!({ "image": "A".repeat(limit) }).to_string();
    let (status, body) = common::http(address, "POST", "/detect", over.as_bytes()).await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, body["error"].as_str()), (413, Some("body-too-large")), "{body}");

    // A chunked body is read and counted as it comes.
    let small = json!({ "image": common::b64(&common::jpeg_bomb(4096)) }).to_string();
    let chunked = format!("{:x}\r\n{small}\r\n0\r\n\r\n", small.len());
    let (status, body) = common::http_raw(
        address,
        format!("POST /detect HTTP/1.1\r\nHost: lpserver\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunked}")
            .as_bytes(),
    )
    .await;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert_eq!((status, body["error"].as_str()), (400, Some("bad-image")), "read whole, then judged: {body}");
    let flood = format!("{:x}\r\n{}\r\n", limit + 1, "A".repeat(limit + 1));
    let (status, body) = common::http_raw(
        address,
        format!("POST /detect HTTP/1.1\r\nHost: lpserver\r\nTransfer-Encoding: chunked\r\n\r\n{flood}").as_bytes(),
    )
    .await;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert_eq!((status, body["error"].as_str()), (413, Some("body-too-large")), "{body}");

    // A body announced and never sent.
    let (status, body) =
        common::http_raw(address, b"POST /detect HTTP/1.1\r\nHost: lpserver\r\nContent-Length: 100\r\n\r\n{\"image\":")
            .await;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert_eq!(
        (status, body["error"].as_str(), body["code"].as_u64()),
        (408, Some("body-timeout"), Some(1038)),
        "{body}"
    );
}
