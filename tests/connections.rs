//! Every TCP connection is bounded from its first byte (lpserver::listener): idle connections
//! and slow senders are closed at `HEADER_TIMEOUT_MS`, an address holds at most
//! `MAX_CONNECTIONS_PER_IP`, the server at most `MAX_CONNECTIONS` (closing the longest-waiting
//! for room), and it keeps serving when it runs out of file descriptors.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A connection to `address` from the loopback address `source` (127.0.0.x).
async fn connect_from(source: [u8; 4], address: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind((source, 0).into())?;
    socket.connect(address).await
}

/// Reads until the server closes the connection (at most `limit`); how long after `opened`
/// it closed, or None when it stayed open.
async fn closed_after(mut stream: TcpStream, opened: Instant, limit: Duration) -> Option<Duration> {
    let mut sink = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut sink)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(opened.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// The resident memory of this process, in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Asks `GET /health` every 50 ms until `stop` turns true; the slowest answer, and how many
/// did not come.
async fn probe_health(address: SocketAddr, stop: tokio::sync::watch::Receiver<bool>) -> (Duration, usize, usize) {
    let (mut slowest, mut missed, mut asked) = (Duration::ZERO, 0, 0);
    while !*stop.borrow() {
        let started = Instant::now();
        let answer = tokio::time::timeout(Duration::from_secs(5), common::http(address, "GET", "/health", b"")).await;
        asked += 1;
        match answer {
            Ok((200, _)) => slowest = slowest.max(started.elapsed()),
            _ => missed += 1,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (slowest, missed, asked)
}

/// One `GET /health`: its status, or None when the connection fails or closes without an
/// answer (as a server out of descriptors closes the connections it cannot serve).
async fn health_once(address: SocketAddr) -> Option<u16> {
    let attempt = async {
        let mut stream = TcpStream::connect(address).await.ok()?;
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: lpserver\r\nConnection: close\r\n\r\n").await.ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        String::from_utf8_lossy(&answer).split_whitespace().nth(1)?.parse().ok()
    };
    tokio::time::timeout(Duration::from_secs(2), attempt).await.ok().flatten()
}

const HEADER_TIMEOUT: Duration = Duration::from_millis(1000);

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_and_a_slowloris_are_closed_while_health_keeps_answering() {
    // The test holds both ends of each connection: on a machine whose open-file limit cannot
    // take 2,000 of them, it holds as many as the limit allows (and says so below).
    let limit = lpserver::listener::raise_open_files_limit();
    let (idle_count, slow_count, max_connections) = match limit >= 6000 {
        true => (2000u32, 200u32, 600u32),
        false => {
            let room = (limit.saturating_sub(200) / 3) as u32;
            (room, room / 10, room)
        }
    };
    let max_connections = max_connections.to_string();
    let vars =
        [("HEADER_TIMEOUT_MS", "1000"), ("MAX_CONNECTIONS", &max_connections), ("MAX_CONNECTIONS_PER_IP", "100")];
    let (address, _stop) = common::start(&vars).await;
    // The server is up (its models loaded) once it answers.
    assert_eq!(common::http(address, "GET", "/health", b"").await.0, 200);
    let rss_before = rss_mib();
    let (stop_probe, probe_stopped) = tokio::sync::watch::channel(false);
    let probe = tokio::spawn(probe_health(address, probe_stopped));

    // 2,000 idle connections from 20 addresses (100 each, the per-address bound), and a
    // slowloris: 200 connections from 2 more, each sending a header line every 300 ms.
    let mut idle = Vec::new();
    for i in 0..idle_count {
        let source = [127, 0, 0, 10 + (i / 100) as u8];
        let opened = Instant::now();
        let stream = connect_from(source, address).await.expect("the kernel takes the connection");
        idle.push(tokio::spawn(closed_after(stream, opened, Duration::from_secs(30))));
    }
    let mut slow = Vec::new();
    for i in 0..slow_count {
        let source = [127, 0, 0, 40 + (i / 100) as u8];
        let opened = Instant::now();
        let mut stream = connect_from(source, address).await.expect("the kernel takes the connection");
        slow.push(tokio::spawn(async move {
            let _ = stream.write_all(b"GET /health HTTP/1.1\r\nHost: lpserver\r\n").await;
            let deadline = opened + Duration::from_secs(30);
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(300)).await;
                if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                    return Some(opened.elapsed());
                }
                let mut sink = [0u8; 256];
                if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::ZERO, stream.read(&mut sink)).await {
                    return Some(opened.elapsed());
                }
            }
            None
        }));
    }
    let rss_held = rss_mib();

    let mut idle_open = Vec::new();
    for task in idle {
        idle_open.push(task.await.expect("the idle reader"));
    }
    let mut slow_open = Vec::new();
    for task in slow {
        slow_open.push(task.await.expect("the slow writer"));
    }
    let _ = stop_probe.send(true);
    let (slowest, missed, asked) = probe.await.expect("the probe");
    let still_open = idle_open.iter().chain(&slow_open).filter(|t| t.is_none()).count();
    let longest = idle_open.iter().chain(&slow_open).flatten().max().copied().unwrap_or_default();
    let slowloris_longest = slow_open.iter().flatten().max().copied().unwrap_or_default();
    println!(
        "{idle_count} idle + {slow_count} slowloris (open-file limit {limit}): {still_open} left open; longest held {longest:?} (slowloris {slowloris_longest:?}); \
         /health {asked} asked, {missed} unanswered, slowest {slowest:?}; RSS {rss_before:.0} -> {rss_held:.0} MiB"
    );
    assert_eq!(still_open, 0, "every idle and slow connection is closed");
    assert!(longest < HEADER_TIMEOUT + Duration::from_secs(2), "closed within the header timeout: {longest:?}");
    assert!(slowloris_longest >= HEADER_TIMEOUT / 2, "header lines do not keep a connection, yet it got its time");
    assert_eq!(missed, 0, "/health answered throughout");
    assert!(slowest < Duration::from_secs(1), "/health within 1 s: {slowest:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_address_past_its_bound_is_answered_429_on_plain_http_too() {
    let (address, _stop) = common::start(&[("MAX_CONNECTIONS_PER_IP", "2")]).await;
    let _a = connect_from([127, 0, 0, 7], address).await.unwrap();
    let _b = connect_from([127, 0, 0, 7], address).await.unwrap();
    let mut third = connect_from([127, 0, 0, 7], address).await.unwrap();
    third.write_all(b"GET /health HTTP/1.1\r\nHost: lpserver\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), third.read_to_string(&mut answer)).await;
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.contains("\"error\":\"too-many-connections\"") && answer.contains("\"code\":1031"), "{answer}");
    // Another address is not affected.
    let (status, _) = common::http(address, "GET", "/health", b"").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_server_closes_the_longest_idle_connection_and_refuses_when_none_is_idle() {
    let (address, _stop) = common::start(&[("MAX_CONNECTIONS", "3"), ("MAX_CONNECTIONS_PER_IP", "0")]).await;
    // Three connections that send nothing: each new one closes the longest-waiting.
    let opened = Instant::now();
    let first = connect_from([127, 0, 0, 8], address).await.unwrap();
    let first = tokio::spawn(closed_after(first, opened, Duration::from_secs(30)));
    let _second = connect_from([127, 0, 0, 8], address).await.unwrap();
    let _third = connect_from([127, 0, 0, 8], address).await.unwrap();
    let (status, _) = common::http(address, "GET", "/health", b"").await;
    assert_eq!(status, 200, "a new request gets room");
    let closed = first.await.unwrap();
    assert!(closed.is_some_and(|t| t < Duration::from_secs(5)), "the oldest idle connection made room: {closed:?}");

    // Three live LPProto connections are never closed for room: the next is refused with 503.
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(common::open(address).await);
    }
    let (status, head, body) = common::http_full(address, "GET", "/health", &[], b"").await;
    let body: serde_json::Value = serde_json::from_slice(&body).expect("a JSON error");
    assert_eq!((status, body["error"].as_str(), body["code"].as_u64()), (503, Some("server-full"), Some(1037)));
    assert!(head.to_ascii_lowercase().contains("retry-after: 1"), "{head}");
    drop(sockets);
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_file_descriptors_the_server_says_so_keeps_its_loop_and_recovers() {
    // A process limit of 256 open files and a connection bound above it; 400 connections that
    // send nothing, all open long before their 10 s header timeout: accept runs out.
    let port = common::free_port();
    let command = format!("ulimit -n 256 && exec {}", env!("CARGO_BIN_EXE_lpserver"));
    let log = common::scratch("fd-exhaustion").join("lpserver.log");
    let server = std::process::Command::new("sh")
        .args(["-c", &command])
        .env("LIVENESS_JWT_SECRET", common::KEY)
        .env("PORT", port.to_string())
        .env("OPEN_SESSIONS", "1")
        .env("MAX_CONNECTIONS", "5000")
        .env("MAX_CONNECTIONS_PER_IP", "0")
        .env("HEADER_TIMEOUT_MS", "10000")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("lpserver runs");
    let server = common::KillOnDrop(server);
    let address: SocketAddr = ([127, 0, 0, 1], port).into();
    assert!(common::wait_listening(address).await, "lpserver listens");
    let flooded = Instant::now();
    let mut flood = Vec::new();
    for _ in 0..400 {
        if let Ok(stream) = connect_from([127, 0, 0, 9], address).await {
            flood.push(stream);
        }
    }
    let flood_took = flooded.elapsed();
    // The header timeout closes the admitted ones and the loop takes connections again:
    // /health answers while the flood's sockets are still held by the client.
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut answered = None;
    while answered.is_none() && Instant::now() < deadline {
        if health_once(address).await == Some(200) {
            answered = Some(flooded.elapsed());
        } else {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    drop(flood);
    // Five seconds after the last accept error, /ready no longer reports it (the report itself
    // is unit-tested on the listener with its clock).
    tokio::time::sleep(lpserver::listener::TROUBLE_SHOWN + Duration::from_secs(1)).await;
    let (_, later) = common::http(address, "GET", "/ready", b"").await;
    let later: serde_json::Value = serde_json::from_slice(&later).unwrap_or_default();
    drop(server);
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    let errors = log.lines().filter(|l| l.contains("accept failed") && l.contains("open files")).count();
    println!(
        "out of descriptors: flood of 400 in {flood_took:?}; {errors} accept-error lines; /health again after {answered:?}; /ready after {later}"
    );
    assert!(answered.is_some(), "/health answers again while the flood is held");
    assert!(errors >= 1, "the accept error is logged: {log}");
    assert!(errors <= 60, "at most once a second: {errors}");
    assert_eq!(later["accept"], "ok", "{later}");
}
